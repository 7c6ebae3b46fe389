"""The audit report across every region stack (partner_apps/review/audit.py)."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from partner_apps import exitcodes
from partner_apps.review import audit, evidence
from partner_apps.review.judge import check_plan
from partner_apps.review.plan import document as pf
from partner_apps.review.plan import verify_results
from tests import golden

from .conftest import (
    DIRECTORY_READ_WRITE_ALL_ROLE,
    PLANS,
    ROOT,
    graph_application_access,
    owner,
    plan_document,
    rejudged,
    resources,
    stacks,
    write_plans,
)

CONSENT = golden.GOLDEN / "audit" / "consent-results"
AS_OF = dt.date(2026, 12, 1)
PINNED = audit.Provenance(
    commit="0123456789abcdef0123456789abcdef01234567",
    dirty=False,
    pack_name="csp-partner-apps",
    pack_version="0.0.0-test",
    pack_digest="sha256:0000-test",
    generator="tests@example.invalid",
    generated_at="2026-12-01T12:00:00Z",
)


def _data(
    catalog: pf.Catalog, documents: dict[str, dict[str, Any]], **kwargs: Any
) -> dict[str, Any]:
    """The audit of ``documents``, dated and attributed deterministically unless told otherwise."""
    plans = [pf.plan_from_document(documents[s]) for s in sorted(documents)]
    kwargs.setdefault("as_of", AS_OF)
    kwargs.setdefault("provenance", PINNED)
    return audit.audit_data(plans, catalog, **kwargs)


def test_every_permission_of_every_app_in_every_region_has_a_row(
    catalog: pf.Catalog, documents: dict[str, dict[str, Any]]
) -> None:
    data = _data(catalog, documents)
    rows = {(p["stack"], p["app"], p["permission"], p["type"]) for p in data["permissions"]}
    for stack, document in documents.items():
        for key, app in document["apps"].items():
            for permission in app["permissions"]:
                assert (stack, key, permission["permission"], permission["type"]) in rows
    for row in data["permissions"]:
        assert row["reason"], row


def test_policies_by_stack_show_pass_and_fail(
    catalog: pf.Catalog, documents: dict[str, dict[str, Any]]
) -> None:
    first = stacks()[0]
    urn = resources(documents[first], pf.APPLICATION)[0]["urn"]
    documents[first]["violations"] = [
        {
            "policy": "azuread-application-redirect-uris-https",
            "severity": "high",
            "enforcementLevel": "mandatory",
            "urn": urn,
            "message": "not HTTPS",
        }
    ]
    data = _data(catalog, documents)
    row = next(
        p for p in data["policies"] if p["policy"] == "azuread-application-redirect-uris-https"
    )
    assert row["results"][first] == {
        "status": "fail",
        "violations": 1,
        "enforcementLevel": row["enforcementLevel"],
    }
    for other in stacks()[1:]:
        assert row["results"][other]["status"] == "pass"
    markdown = audit.render_markdown(data)
    assert "| `azuread-application-redirect-uris-https` |" in markdown
    assert "**fail** (1)" in markdown


def test_a_plan_that_lists_its_policies_is_the_source_of_passes(
    catalog: pf.Catalog, documents: dict[str, dict[str, Any]]
) -> None:
    for document in documents.values():
        document["policies"] = [
            {"name": "only-policy", "severity": "high", "enforcementLevel": "mandatory"}
        ]
    data = _data(catalog, documents)
    assert data["policySource"] == "plan"
    listed = {p["policy"] for p in data["policies"]}
    assert "only-policy" in listed
    # A violated policy is listed even when the plans' own list lacks it.
    assert {v["policy"] for v in data["violations"]} <= listed
    assert "azuread-application-multi-tenant" not in listed


def test_credentials_and_secrets_carry_expiry_dates_and_status(
    catalog: pf.Catalog, documents: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _data(catalog, documents, as_of=dt.date(2100, 1, 1))
    assert data["credentials"]
    assert data["secrets"]
    for credential in data["credentials"]:
        assert credential["endDate"][:4].isdigit()
        assert credential["status"] == "expired"
    assert all(s["expires"] for s in data["secrets"])
    assert all(s["status"] == "expired" for s in data["secrets"])
    # Expiry status is on by default: without an evaluation date it is today (UTC).
    monkeypatch.setattr(evidence, "today_utc", lambda: dt.date(2100, 1, 1))
    undated = _data(catalog, documents, as_of=None)
    assert undated["asOf"] == "2100-01-01"
    assert all(c["status"] == "expired" for c in undated["credentials"])


def test_a_permission_only_one_region_has_is_listed_as_a_difference(
    catalog: pf.Catalog, documents: dict[str, dict[str, Any]]
) -> None:
    first = stacks()[0]
    key, access = graph_application_access(documents[first])
    access["inputs"]["roleIds"] = [*access["inputs"]["roleIds"], DIRECTORY_READ_WRITE_ALL_ROLE]
    data = _data(catalog, documents)
    difference = next(
        d for d in data["regionDifferences"] if "Directory.ReadWrite.All" in d["permission"]
    )
    assert difference["app"] == key
    assert difference["presentIn"] == [first]
    assert difference["missingIn"] == stacks()[1:]


def test_cli_writes_markdown_json_and_html_byte_identically(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The time the audit is made is its one run-dependent field: pinned as a rerun would pin it.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795262400")
    plans = write_plans(tmp_path / "plans", {s: plan_document(s) for s in stacks()})
    first, second = tmp_path / "one", tmp_path / "two"
    assert audit.main([str(plans), "--out-dir", str(first)]) == 0
    assert audit.main([str(plans), "--out-dir", str(second)]) == 0
    for name in ("audit.md", "audit.json", "audit.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    document = json.loads((first / "audit.json").read_text(encoding="utf-8"))
    assert [s["stack"] for s in document["stacks"]] == stacks()
    assert "<table>" in (first / "audit.html").read_text(encoding="utf-8")
    assert "permission grants" in capsys.readouterr().out


def test_html_escapes_what_the_plan_says(
    catalog: pf.Catalog, documents: dict[str, dict[str, Any]]
) -> None:
    first = stacks()[0]
    key = next(iter(documents[first]["apps"]))
    documents[first]["apps"][key]["permissions"][0]["reason"] = "<script>alert(1)</script>"
    page = audit.render_html(_data(catalog, documents))
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_mandatory_violations_can_fail_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    documents = {s: plan_document(s) for s in stacks()}
    document = documents[stacks()[0]]
    # A real violation, recorded as the preview would: the resource uses the default provider,
    # and the plan's list is the pack's own finding (the audit judges it again and agrees).
    del resources(document, pf.APPLICATION)[0]["provider"]
    document["violations"] = rejudged(document)
    assert any(v["policy"] == "stack-explicit-providers" for v in document["violations"])
    plans = write_plans(tmp_path / "plans", documents)
    status = audit.main([str(plans), "--stdout", "--fail-on-mandatory"])
    assert status == exitcodes.POLICY_VIOLATED == 40
    assert "stack-explicit-providers" in capsys.readouterr().out


def test_bad_options_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        audit.main([str(PLANS), "--format", "pdf"])
    with pytest.raises(SystemExit):
        audit.main([str(PLANS), "--as-of", "tomorrow"])
    assert "pdf" in capsys.readouterr().err


def test_help_describes_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        audit.main(["--help"])
    assert exit_info.value.code == 0
    assert "audit report" in capsys.readouterr().out


def test_a_disabled_policy_and_region_enforcement_come_from_each_plan(
    catalog: pf.Catalog, documents: dict[str, dict[str, Any]]
) -> None:
    first, *rest = stacks()
    for document in documents.values():
        document["violations"] = []
        document["policies"] = [
            {"name": "policy-a", "severity": "high", "enforcementLevel": "mandatory"},
            {"name": "policy-b", "severity": "low", "enforcementLevel": "advisory"},
        ]
    documents[first]["policies"][0]["enforcementLevel"] = "disabled"
    data = _data(catalog, documents)
    assert data["policySource"] == "plan"
    row_a, row_b = data["policies"]
    assert row_a["enforcementLevel"] == "varies"
    assert row_a["results"][first] == {
        "status": "disabled",
        "enforcementLevel": "disabled",
        "violations": 0,
    }
    assert all(row_a["results"][s]["status"] == "pass" for s in rest)
    assert row_b["enforcementLevel"] == "advisory"
    markdown = audit.render_markdown(data)
    cells = " | ".join(["disabled", *("pass (mandatory)" for _ in rest)])
    assert f"| `policy-a` | high | varies | {cells} |" in markdown
    assert "| `policy-b` | low | advisory | " + " | ".join("pass" for _ in stacks()) in markdown
    assert ">disabled<" in audit.render_html(data)


def test_a_failed_preview_is_listed_and_fails_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, *rest = stacks()
    plans = write_plans(tmp_path / "plans", {s: plan_document(s) for s in rest})
    error = pf.error_document("partner-apps", first, "invalid configuration (1 problem):\n  x: y")
    (plans / f"{first}{pf.ERROR_SUFFIX}").write_text(json.dumps(error), encoding="utf-8")
    out = tmp_path / "audit"
    assert audit.main([str(plans), "--out-dir", str(out)]) == 0
    assert f"{first}: preview failed: invalid configuration" in capsys.readouterr().err
    markdown = (out / "audit.md").read_text(encoding="utf-8")
    section = markdown.split("## ⚠ Previews that failed\n", 1)[1].split("\n## ", 1)[0]
    assert f"- `{first}`: preview failed: invalid configuration (1 problem):" in section
    assert f"| `{first}` | — | — | — | — | — | **preview failed** |" in markdown
    document = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    entry = next(s for s in document["stacks"] if s["stack"] == first)
    assert entry["previewFailed"].startswith("invalid configuration")
    assert {p["results"][first]["status"] for p in document["policies"]} == {"preview failed"}
    assert "preview failed" in (out / "audit.html").read_text(encoding="utf-8")
    # Nothing shows the failed stack passes: --fail-on-mandatory does not pass it.
    assert audit.main([str(plans), "--stdout", "--fail-on-mandatory"]) == exitcodes.POLICY_VIOLATED


# --------------------------------------------------------------------------------------------
# Dated and attributable
# --------------------------------------------------------------------------------------------


def test_the_report_states_its_date_commit_and_pack(
    catalog: pf.Catalog, documents: dict[str, dict[str, Any]]
) -> None:
    data = _data(catalog, documents)
    assert data["asOf"] == "2026-12-01"
    assert data["commit"] == PINNED.commit
    assert data["policyPack"] == {
        "name": "csp-partner-apps",
        "version": "0.0.0-test",
        "digest": "sha256:0000-test",
    }
    assert (data["generator"], data["generatedAt"]) == (PINNED.generator, PINNED.generated_at)
    markdown = audit.render_markdown(data)
    assert "Evaluated as of 2026-12-01 (UTC)." in markdown
    assert f"| Commit | `{PINNED.commit}` |" in markdown
    assert (
        "| Policy pack | `csp-partner-apps` version 0.0.0-test source `sha256:0000-test` |"
        in markdown
    )
    assert "| Generated by | tests@example.invalid |" in markdown
    assert "| Generated at | 2026-12-01T12:00:00Z (UTC) |" in markdown
    assert "`partner-apps audit --as-of 2026-12-01 --warn-days 60`" in markdown
    dirty = _data(catalog, documents, provenance=replace(PINNED, dirty=True))
    assert "(dirty: the work tree has uncommitted changes)" in audit.render_markdown(dirty)
    unknown = _data(catalog, documents, provenance=replace(PINNED, commit="unknown", dirty=None))
    assert "| Commit | unknown (not a git checkout) |" in audit.render_markdown(unknown)


def test_outside_a_git_checkout_the_commit_is_unknown(tmp_path: Path) -> None:
    assert audit.git_commit(tmp_path) == ("unknown", None)


def test_a_git_checkout_gives_its_commit_and_whether_it_is_dirty(tmp_path: Path) -> None:
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    # No commit yet: nothing to name.
    assert audit.git_commit(tmp_path) == ("unknown", None)
    (tmp_path / "file.txt").write_text("one\n", encoding="utf-8")
    subprocess.run([*git, "add", "file.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert audit.git_commit(tmp_path) == (head, False)
    (tmp_path / "new.txt").write_text("untracked\n", encoding="utf-8")
    assert audit.git_commit(tmp_path) == (head, True)
    (tmp_path / "new.txt").unlink()
    (tmp_path / "file.txt").write_text("two\n", encoding="utf-8")
    assert audit.git_commit(tmp_path) == (head, True)


def test_the_pack_version_comes_from_pulumi_policy_yaml(tmp_path: Path) -> None:
    document = yaml.safe_load(audit.pack_file().read_text(encoding="utf-8"))
    assert audit.pack_version() == str(document["version"])
    assert audit.pack_version(tmp_path / "missing.yaml") == "unknown"
    assert audit.detect_provenance(tmp_path).pack_name == "csp-partner-apps"


def test_a_rerun_with_the_printed_date_reproduces_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The time the audit is made is pinned as a rerun pins it (SOURCE_DATE_EPOCH).
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795262400")
    plans = write_plans(tmp_path / "plans", {s: plan_document(s) for s in stacks()})
    first, second = tmp_path / "one", tmp_path / "two"
    assert audit.main([str(plans), "--out-dir", str(first)]) == 0
    markdown = (first / "audit.md").read_text(encoding="utf-8")
    printed = re.search(r"Evaluated as of (\d{4}-\d{2}-\d{2}) \(UTC\)", markdown)
    assert printed is not None
    assert printed.group(1) == audit.today_utc().isoformat()
    assert audit.main([str(plans), "--out-dir", str(second), "--as-of", printed.group(1)]) == 0
    for name in ("audit.md", "audit.json", "audit.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_expiry_status_flags_what_expires_within_the_warning_window(
    catalog: pf.Catalog, documents: dict[str, dict[str, Any]]
) -> None:
    end = _data(catalog, documents)["credentials"][0]["endDate"]
    soon = dt.date.fromisoformat(end) - dt.timedelta(days=10)
    data = _data(catalog, documents, as_of=soon, warn_days=30)
    assert {c["status"] for c in data["credentials"] if c["endDate"] == end} == {
        "expires in 10 days"
    }
    assert "**expires in 10 days**" in audit.render_markdown(data)


# --------------------------------------------------------------------------------------------
# Per region: owners, scopes, known clients, redirect URIs, vault network and role assignments
# --------------------------------------------------------------------------------------------


def _region_section(markdown: str, stack: str) -> str:
    return markdown.split(f"\n## Region {stack}\n", 1)[1].split("\n## ", 1)[0]


def test_owners_of_registrations_and_service_principals_are_listed_per_region(
    catalog: pf.Catalog, documents: dict[str, dict[str, Any]]
) -> None:
    first, *rest = stacks()
    new_owner = "11111111-2222-4333-8444-555555555555"
    application = resources(documents[first], pf.APPLICATION)[0]
    key = owner(documents[first], application)
    application["inputs"]["owners"] = [*application["inputs"]["owners"], new_owner]
    data = _data(catalog, documents)
    row = next(a for a in data["apps"] if a["app"] == key and a["stack"] == first)
    assert new_owner in row["owners"]
    assert new_owner not in row["servicePrincipalOwners"]
    assert row["servicePrincipalOwners"]
    markdown = audit.render_markdown(data)
    assert new_owner in _region_section(markdown, first)
    for other in rest:
        assert new_owner not in _region_section(markdown, other)


def test_scopes_known_clients_and_redirect_uris_are_listed_per_region(
    catalog: pf.Catalog, documents: dict[str, dict[str, Any]]
) -> None:
    data = _data(catalog, documents)
    markdown = audit.render_markdown(data)
    for stack in stacks():
        section = _region_section(markdown, stack)
        apps = [a for a in data["apps"] if a["stack"] == stack]
        for app in apps:
            for scope in app["scopes"]:
                assert f"| `{app['app']}` | `{scope['value']}` |" in section
            for client in app["knownClients"]:
                assert client["clientId"] in section
            for uri in app["redirectUris"]:
                assert f"`{uri}`" in section
    assert any(a["scopes"] for a in data["apps"])
    assert any(a["knownClients"] for a in data["apps"])
    assert any(a["redirectUris"] for a in data["apps"])


def test_vault_network_rules_and_role_assignments_are_listed_per_region(
    catalog: pf.Catalog, documents: dict[str, dict[str, Any]]
) -> None:
    first = stacks()[0]
    vault = resources(documents[first], pf.VAULT)[0]
    properties = vault["inputs"]["properties"]
    properties["publicNetworkAccess"] = "Enabled"
    properties["networkAcls"] = {
        "bypass": "AzureServices",
        "defaultAction": "Allow",
        "ipRules": [{"value": "203.0.113.0/24"}],
    }
    data = _data(catalog, documents)
    entry = next(v for v in data["vaults"] if v["stack"] == first)
    assert entry["publicNetworkAccess"] == "Enabled"
    assert entry["defaultAction"] == "Allow"
    assert entry["bypass"] == "AzureServices"
    assert entry["ipRules"] == ["203.0.113.0/24"]
    assignments = resources(documents[first], pf.ROLE_ASSIGNMENT)
    assert {r["principalId"] for r in entry["roleAssignments"]} == {
        a["inputs"]["principalId"] for a in assignments
    }
    assert all(r["role"].startswith("Key Vault") for r in entry["roleAssignments"])
    section = _region_section(audit.render_markdown(data), first)
    assert "| Enabled | Allow | AzureServices | `203.0.113.0/24` |" in section
    for assignment in entry["roleAssignments"]:
        assert f"`{assignment['principalId']}`" in section
        assert assignment["role"] in section


# --------------------------------------------------------------------------------------------
# Customer consent results (hook)
# --------------------------------------------------------------------------------------------


def test_without_consent_results_the_report_says_none_were_given(
    catalog: pf.Catalog, documents: dict[str, dict[str, Any]]
) -> None:
    data = _data(catalog, documents)
    assert data["consentResults"] == {"given": False}
    assert "No customer consent results given." in audit.render_markdown(data)


def test_consent_results_show_their_latest_state_per_region(
    tmp_path: Path, catalog: pf.Catalog, documents: dict[str, dict[str, Any]]
) -> None:
    folder = tmp_path / "consent"
    shutil.copytree(CONSENT, folder)
    (folder / "broken.json").write_text("{", encoding="utf-8")
    (folder / "latin-1.json").write_bytes(b'{"stack": "caf\xe9"}')
    consent = audit.load_consent_results(folder)
    latest = {(r["stack"], r["customer"], r["app"]): r["state"] for r in consent["results"]}
    assert latest[("eu", "contoso-customer-a.example", "partner-portal-api")] == "consented"
    assert latest[("eu", "contoso-customer-b.example", "partner-portal-api")] == "missing"
    assert [p.split(":")[0] for p in consent["problems"]] == ["broken.json", "latin-1.json"]
    markdown = audit.render_markdown(_data(catalog, documents, consent=consent))
    section = markdown.split("\n## Customer consent results\n", 1)[1]
    assert "### Consent in eu" in section
    assert "Latest state: 2 consented, 1 failed, 1 missing, 1 verified." in section
    assert "→ run `partner-apps customers apply --stack eu`" in section
    assert "| `contoso-customer-b.example` | `partner-portal-api` | **missing** |" in section
    assert "No consent results for this region." in section.split("### Consent in us", 1)[1]
    assert "broken.json" in section


def test_verify_results_of_another_version_are_refused_naming_the_file(tmp_path: Path) -> None:
    """One reader of the verify results: a file of a version it does not know is listed as a
    problem (named), not misread; the writer's own document reads back."""
    folder = tmp_path / "consent"
    folder.mkdir()
    result = {"customer": "contoso-customer-a.example", "app": "partner-portal-api"}
    current = verify_results.verify_document(
        "eu", "2026-11-30T08:00:00Z", None, [{**result, "state": "verified"}]
    )
    (folder / "eu.json").write_text(json.dumps(current), encoding="utf-8")
    future = {**current, "stack": "us", verify_results.VERSION_KEY: 9}
    (folder / "us.json").write_text(json.dumps(future), encoding="utf-8")
    consent = audit.load_consent_results(folder)
    assert consent["problems"] == [
        "us.json: verifyResultsVersion 9 is not one this reader knows (1)"
    ]
    assert [(r["stack"], r["state"]) for r in consent["results"]] == [("eu", "verified")]


def test_cli_reads_consent_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert audit.main([str(PLANS), "--stdout", "--consent-results", str(CONSENT)]) == 0
    assert "### Consent in eu" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# One report model: the Markdown and the HTML carry the same content
# --------------------------------------------------------------------------------------------

_CODE = re.compile(r"(`+) ?(.*?) ?\1")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


_EMPHASIS = re.compile(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])")


def _md_plain(text: str) -> str:
    plain = _CODE.sub(r"\2", text).replace("**", "")
    return _EMPHASIS.sub(r"\1", plain).replace("\\|", "|").strip()


def _markdown_outline(markdown: str) -> dict[str, list[Any]]:
    outline: dict[str, list[Any]] = {"headings": [], "rows": [], "text": []}
    fenced = False
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            fenced = not fenced
        elif fenced or not stripped or re.fullmatch(r"\|(---\|)+", stripped):
            continue
        elif stripped.startswith(("<details>", "</details>")):
            continue  # a fold: <details> in both renderers, its summary is not content
        elif heading := re.match(r"(#+) (.*)", line):
            outline["headings"].append((len(heading.group(1)), _md_plain(heading.group(2))))
        elif stripped.startswith("|"):
            cells = _CELL_SPLIT.split(stripped)[1:-1]
            outline["rows"].append([_md_plain(c) for c in cells])
        else:
            item = stripped.removeprefix("- ").removeprefix("> ")
            outline["text"].append(_md_plain(item))
    return outline


class _Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.outline: dict[str, list[Any]] = {"headings": [], "rows": [], "text": []}
        self.tags: list[str] = []
        self.buffer = ""
        self.row: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li" and "li" in self.tags and self.buffer.strip():
            # A nested list: its parent item's own text comes first, as in the Markdown.
            self.outline["text"].append(self.buffer.strip())
        self.tags.append(tag)
        if tag in ("th", "td", "p", "li", "blockquote", "h1", "h2", "h3", "h4"):
            self.buffer = ""
        elif tag == "tr":
            self.row = []

    def handle_endtag(self, tag: str) -> None:
        self.tags.pop()
        if "nav" in self.tags or tag == "nav":
            self.buffer = ""  # the HTML's contents: links to the headings, not content of its own
        elif tag in ("th", "td"):
            self.row.append(self.buffer.strip())
        elif tag == "tr":
            self.outline["rows"].append(self.row)
        elif tag in ("p", "li", "blockquote") and "pre" not in self.tags:
            if self.buffer.strip():
                self.outline["text"].append(self.buffer.strip())
            self.buffer = ""
        elif tag in ("h1", "h2", "h3", "h4"):
            self.outline["headings"].append((int(tag[1]), self.buffer.strip()))

    def handle_data(self, data: str) -> None:
        if "pre" not in self.tags and "style" not in self.tags and "title" not in self.tags:
            self.buffer += data


def _html_outline(page: str) -> dict[str, list[Any]]:
    parser = _Outline()
    parser.feed(page)
    return parser.outline


def test_the_html_audit_opens_with_a_verdict_and_its_contents(catalog: pf.Catalog) -> None:
    """What matters first: the verdict, then links to every part; stack names are identities,
    not alarms (code, never bold red)."""
    data = _full_data(catalog)
    page = audit.render_html(data)
    body = page.split("<h1>", 1)[1]
    verdict, rest = body.split("</p>", 1)[0], body.split("</p>", 1)[1]
    assert "<strong>Verdict: action needed</strong>" in verdict
    assert "1 preview failed" in verdict, verdict
    assert rest.lstrip().startswith('<nav aria-label="Contents">'), rest[:200]
    nav = rest.split("</nav>", 1)[0]
    for title in ("About this audit", "Policies", "Credentials", "Customer consent results"):
        anchor = re.search(rf'<a href="#([a-z0-9-]+)">{title}</a>', nav)
        assert anchor, f"audit.html contents: no link to {title!r}"
        assert f'<section id="{anchor.group(1)}">' in page, f"audit.html: no section {title!r}"
    failed = data["stacks"][0]["stack"]
    assert f"<li><strong>{failed}</strong>" not in page
    assert f"<li><code>{failed}</code>: preview failed" in page
    clean = _data(catalog, {s: plan_document(s) for s in stacks()})
    assert "Verdict: nothing needs action" in audit.render_markdown(clean) or (
        "Verdict: action needed" in audit.render_markdown(clean)
    )


def _full_data(catalog: pf.Catalog) -> dict[str, Any]:
    """Every section of the audit: a failed preview, a violation, consent results."""
    first, *rest = stacks()
    documents = {s: plan_document(s) for s in rest}
    plans = [pf.plan_from_document(documents[s]) for s in rest]
    failure = pf.PreviewFailure("partner-apps", first, "invalid configuration:\n  x: y | <z>")
    return audit.audit_data(
        plans,
        catalog,
        as_of=AS_OF,
        provenance=PINNED,
        failures=[failure],
        consent=audit.load_consent_results(CONSENT),
    )


def test_markdown_and_html_carry_the_same_headings_tables_and_text(catalog: pf.Catalog) -> None:
    for data in (_full_data(catalog), _data(catalog, {s: plan_document(s) for s in stacks()})):
        markdown = _markdown_outline(audit.render_markdown(data))
        page = _html_outline(audit.render_html(data))
        assert markdown["headings"] == page["headings"]
        assert markdown["rows"] == page["rows"]
        assert markdown["text"] == page["text"]
        titles = [title for _, title in markdown["headings"]]
        for title in ("About this audit", "Policies", "Credentials", "Key Vault secrets"):
            assert title in titles
        assert any(title.startswith("Region ") for title in titles)


# --------------------------------------------------------------------------------------------
# Golden files (tests/fixtures/golden/README.md: regenerate with UPDATE_GOLDEN=1)
# --------------------------------------------------------------------------------------------


def test_the_audit_of_the_recorded_plans_matches_its_golden_files(catalog: pf.Catalog) -> None:
    plans, failures = pf.load_results([PLANS])
    data = audit.audit_data(
        plans,
        catalog,
        as_of=AS_OF,
        provenance=PINNED,
        failures=failures,
        consent=audit.load_consent_results(CONSENT),
        # Judged again as the command does (tests/review/test_judge.py checks they agree).
        checks=[check_plan(plan, ROOT) for plan in plans],
    )
    golden.check("audit/audit.md", audit.render_markdown(data))
    golden.check("audit/audit.html", audit.render_html(data))
    golden.check("audit/audit.json", audit.render_json(data))


def test_a_missing_consent_results_folder_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = audit.main([str(PLANS), "--stdout", "--consent-results", str(tmp_path / "none")])
    assert status == exitcodes.CONFIG == 3
    assert "error: --consent-results" in capsys.readouterr().err


def test_no_secret_value_reaches_the_audit(tmp_path: Path) -> None:
    canary = "CANARY-audit-secret-7f3a1c"
    documents = {s: plan_document(s) for s in stacks()}
    for document in documents.values():
        for secret in resources(document, pf.VAULT_SECRET):
            secret["inputs"]["properties"]["value"] = canary
        for password in resources(document, pf.PASSWORD):
            password["outputs"]["value"] = canary
    plans = write_plans(tmp_path / "plans", documents)
    out = tmp_path / "audit"
    assert audit.main([str(plans), "--out-dir", str(out), "--as-of", "2026-12-01"]) == 0
    for name in ("audit.md", "audit.json", "audit.html"):
        assert canary not in (out / name).read_text(encoding="utf-8"), name
