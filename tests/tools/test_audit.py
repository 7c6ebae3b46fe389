"""The audit report across every region stack (tools/audit.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from tools import audit
from tools import plan_format as pf

from .conftest import (
    DIRECTORY_READ_WRITE_ALL_ROLE,
    PLANS,
    graph_application_access,
    plan_document,
    resources,
    stacks,
    write_plans,
)

AS_OF = dt.date(2026, 12, 1)
PINNED = audit.Provenance(
    commit="0123456789abcdef0123456789abcdef01234567",
    dirty=False,
    pack_name="csp-partner-apps",
    pack_version="0.0.0-test",
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
    monkeypatch.setattr(audit, "today_utc", lambda: dt.date(2100, 1, 1))
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
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
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
    document["violations"] = [
        {
            "policy": "stack-explicit-providers",
            "severity": "high",
            "enforcementLevel": "mandatory",
            "urn": resources(document, pf.APPLICATION)[0]["urn"],
            "message": "default provider",
        }
    ]
    plans = write_plans(tmp_path / "plans", documents)
    status = audit.main([str(plans), "--stdout", "--fail-on-mandatory"])
    assert status == 1
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
    assert f"- **{first}**: preview failed: invalid configuration (1 problem):" in section
    assert f"| `{first}` | — | — | — | — | — | **preview failed** |" in markdown
    document = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    entry = next(s for s in document["stacks"] if s["stack"] == first)
    assert entry["previewFailed"].startswith("invalid configuration")
    assert {p["results"][first]["status"] for p in document["policies"]} == {"preview failed"}
    assert "preview failed" in (out / "audit.html").read_text(encoding="utf-8")
    # Nothing shows the failed stack passes: --fail-on-mandatory does not pass it.
    assert audit.main([str(plans), "--stdout", "--fail-on-mandatory"]) == 1
