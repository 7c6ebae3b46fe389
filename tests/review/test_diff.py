"""The Markdown diff of two sets of plans (partner_apps/review/commands/diff.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from partner_apps import exitcodes
from partner_apps.review.changes import properties
from partner_apps.review.commands import diff
from partner_apps.review.plan import document as pf
from partner_apps.review.plan import values
from partner_apps.review.reports import diff as diff_report
from partner_apps.review.reports import diff_regions as regions
from partner_apps.review.reports.model import Paragraph, Report, to_markdown
from tests import golden

from .conftest import (
    DIRECTORY_READ_WRITE_ALL_ROLE,
    PLANS,
    graph_application_access,
    owner,
    resources,
    stacks,
    write_plans,
)
from .test_golden_reports import _reviewed_change


def _run(
    base: Path, head: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str]:
    status = diff.main([str(base), str(head), *extra])
    return status, capsys.readouterr().out


def _section(text: str, heading: str) -> str:
    return text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_a_plan_compared_with_itself_has_no_changes(
    plan_dirs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = plan_dirs(lambda document: None)
    status, text = _run(base, head, capsys)
    assert status == 0
    assert "No changes." in text
    assert "## Changes by region" not in text


def test_adding_a_high_privilege_graph_permission_names_it_for_every_region(
    plan_dirs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    apps: set[str] = set()

    def add_directory_read_write(document: dict[str, Any]) -> None:
        key, access = graph_application_access(document)
        apps.add(key)
        access["inputs"]["roleIds"] = sorted(
            [*access["inputs"]["roleIds"], DIRECTORY_READ_WRITE_ALL_ROLE]
        )

    base, head = plan_dirs(add_directory_read_write)
    _, text = _run(base, head, capsys)
    (key,) = apps
    lines = [
        line
        for line in _section(text, "Permissions").splitlines()
        if "Directory.ReadWrite.All" in line
    ]
    assert len(lines) == 1, "one line for the change, gathered across regions"
    line = lines[0]
    assert f"`{key}`" in line
    assert "adds `Directory.ReadWrite.All`" in line
    assert "application" in line
    assert "high privilege" in line
    assert f"in {values.join_words(stacks())}" in line
    # The per-region detail names the id too.
    assert "(Directory.ReadWrite.All, application)" in _section(text, "Changes by region")


def test_removing_a_protected_resource_comes_first_under_its_heading(
    plan_dirs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    removed: list[str] = []

    def remove_vault(document: dict[str, Any]) -> None:
        if document["stack"] != stacks()[0]:
            return
        vault = next(r for r in resources(document, pf.VAULT) if r["protect"])
        removed.append(vault["name"])
        document["resources"].remove(vault)

    base, head = plan_dirs(remove_vault)
    status, text = _run(base, head, capsys, "--fail-on-protected")
    assert status == diff.EXIT_PROTECTED == exitcodes.PROTECTED == 41
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[0] == "## ⚠ Protected resources deleted or replaced"
    first = _section(text, "⚠ Protected resources deleted or replaced")
    assert f"**{stacks()[0]}**: deletes protected `{pf.VAULT}` `{removed[0]}`" in first


def test_a_changed_credential_expiry_is_listed_under_secrets(
    plan_dirs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    def extend(document: dict[str, Any]) -> None:
        for password in resources(document, pf.PASSWORD):
            password["inputs"]["endDate"] = "2029-01-31T00:00:00Z"
        for secret in resources(document, pf.VAULT_SECRET):
            secret["inputs"]["properties"]["attributes"]["expires"] = 1864512000  # 2029-01-31

    base, head = plan_dirs(extend)
    _, text = _run(base, head, capsys)
    secrets = _section(text, "Credentials, secrets and Key Vault")
    assert "→ 2029-01-31" in secrets
    assert "client secret: expiry" in secrets
    assert "Key Vault secret" in secrets
    # Every argument of an application password forces a new secret.
    assert "replaced because `endDate` changes" in text


def test_scope_consent_path_and_redirect_changes_are_named(
    plan_dirs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(document: dict[str, Any]) -> None:
        for application in resources(document, pf.APPLICATION):
            scopes = application["inputs"].get("api", {}).get("oauth2PermissionScopes", [])
            for scope in scopes:
                scope["id"] = "00000000-0000-4000-8000-00000000beef"
            web = application["inputs"].setdefault("web", {})
            web["redirectUris"] = [*web.get("redirectUris", []), "https://new.example/callback"]
        members = resources(document, pf.GROUP_MEMBER)
        document["resources"].remove(members[0])

    base, head = plan_dirs(change)
    _, text = _run(base, head, capsys)
    consent = _section(text, "Consent path and exposed API")
    assert "changes the id of scope" in consent
    assert "CannotDeleteOrUpdateEnabledEntitlement" in consent
    assert "leaves AdminAgents" in consent
    assert "adds redirect URI `https://new.example/callback`" in consent


def test_new_and_resolved_policy_violations_are_reported(
    plan_dirs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    def violate(document: dict[str, Any]) -> None:
        urn = resources(document, pf.APPLICATION)[0]["urn"]
        document["violations"] = [
            {
                "policy": "azuread-application-implicit-grant-disabled",
                "severity": "high",
                "enforcementLevel": "mandatory",
                "urn": urn,
                "message": "implicit grant is on",
            }
        ]

    base, head = plan_dirs(violate)
    _, text = _run(base, head, capsys)
    policy = _section(text, "Policy results")
    assert "new mandatory violation of `azuread-application-implicit-grant-disabled`" in policy
    _, reverse = _run(head, base, capsys)
    assert "resolves `azuread-application-implicit-grant-disabled`" in reverse


def test_a_new_stack_is_all_creates(
    plan_dirs: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = plan_dirs(lambda document: None)
    (base / f"{stacks()[0]}.json").unlink()
    _, text = _run(base, head, capsys)
    assert "New stack: every resource is created." in text
    assert "joins AdminAgents" in text


def test_output_is_byte_identical_across_runs_and_writes_a_file(
    plan_dirs: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(document: dict[str, Any]) -> None:
        _key, access = graph_application_access(document)
        access["inputs"]["roleIds"] = [*access["inputs"]["roleIds"], DIRECTORY_READ_WRITE_ALL_ROLE]

    base, head = plan_dirs(change)
    _, first = _run(base, head, capsys)
    _, second = _run(base, head, capsys)
    assert first == second
    out = tmp_path / "diff.md"
    status, printed = _run(base, head, capsys, "--out", str(out))
    assert status == 0
    assert out.read_text(encoding="utf-8") == first
    assert "updated" in printed


def test_property_changes_are_leaf_level_and_infer_replacement() -> None:
    old = {"endDate": "2027-10-01T00:00:00Z", "web": {"redirectUris": ["https://a"]}}
    new = {"endDate": "2028-10-01T00:00:00Z", "web": {"redirectUris": ["https://a", "https://b"]}}
    changes = properties.property_changes(old, new)
    assert [c.path for c in changes] == ["endDate", "web.redirectUris"]
    assert properties.forces_replacement(pf.PASSWORD, "endDate")
    assert not properties.forces_replacement(pf.APPLICATION, "web.redirectUris")
    described = Report("t", (Paragraph(regions.describe(changes[1])),))
    assert to_markdown(described).endswith("\n\n`web.redirectUris`: adds `https://b`\n")


def test_ignored_properties_do_not_count_as_changes(
    plan_dirs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    def change_ignored(document: dict[str, Any]) -> None:
        for resource in document["resources"]:
            if "requiredResourceAccesses" in resource.get("ignoreChanges", []):
                resource["inputs"]["requiredResourceAccesses"] = [
                    {"resourceAppId": "x", "resourceAccesses": []}
                ]

    base, head = plan_dirs(change_ignored)
    _, text = _run(base, head, capsys)
    assert "No changes." in text


def test_help_describes_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        diff.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "BASE" in out.upper()
    for code in (
        exitcodes.CONFIG,
        exitcodes.PROTECTED,
        exitcodes.PREVIEW_FAILED,
        exitcodes.BREAKING_SCOPE,
        exitcodes.WEAKENED,
    ):
        assert f"  {code:>3}  " in out, f"exit code {code} missing from partner-apps diff --help"
    # Only its own codes: none of preview-json's or the sam token's.
    assert f"  {exitcodes.UNCOVERED:>3}  " not in out
    assert f"  {exitcodes.TOKEN_EXPIRED:>3}  " not in out


def test_missing_plans_are_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert diff.main([str(tmp_path / "nope"), str(tmp_path)]) == exitcodes.CONFIG
    assert "error" in capsys.readouterr().err


def test_owner_helper_finds_the_app(plan_dirs: Any) -> None:
    # Guards the test helpers themselves against a plan shape they do not understand.
    base, _ = plan_dirs(lambda document: None)
    document = pf.read_json(base / f"{stacks()[0]}.json")
    assert owner(document, resources(document, pf.APPLICATION)[0]) in document["apps"]


def _fail_head(head: Path, stack: str) -> None:
    """The head's preview of ``stack`` failed: an error file instead of its plan."""
    (head / f"{stack}.json").unlink()
    document = pf.error_document(
        "partner-apps",
        stack,
        "invalid configuration (1 problem):\n"
        f"  Pulumi.{stack}.yaml: partner-apps:region.location: 'x' is outside region '{stack}'",
    )
    (head / f"{stack}{pf.ERROR_SUFFIX}").write_text(json.dumps(document), encoding="utf-8")


def test_a_stack_whose_head_preview_failed_is_reported_as_failed_not_deleted(
    plan_dirs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = plan_dirs(lambda document: None)
    failed = stacks()[0]
    _fail_head(head, failed)
    status, text = _run(base, head, capsys)
    assert status == 0
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[0] == "## ⚠ Previews that failed"
    first = _section(text, "⚠ Previews that failed")
    assert f"- **{failed}**: preview failed: invalid configuration (1 problem):" in first
    assert f"Pulumi.{failed}.yaml: partner-apps:region.location" in first
    assert f"| {failed} (**preview failed**) | — | — | — | — |" in _section(text, "Summary")
    assert "**Deleted" not in text
    assert "Stack removed" not in text
    assert "## ⚠ Protected resources deleted or replaced" not in text
    assert "No changes." not in text.split("## Changes by region", 1)[0]


def test_fail_on_protected_does_not_pass_a_failed_preview(
    plan_dirs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = plan_dirs(lambda document: None)
    _fail_head(head, stacks()[0])
    status = diff.main([str(base), str(head), "--fail-on-protected"])
    assert status == diff.EXIT_PREVIEW_FAILED == exitcodes.PREVIEW_FAILED == 42
    assert f"error: preview failed for {stacks()[0]}" in capsys.readouterr().err


def test_a_stack_whose_base_preview_failed_is_compared_with_nothing(
    plan_dirs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    head, base = plan_dirs(lambda document: None)  # the failed file goes into "base"
    _fail_head(base, stacks()[0])
    status, text = _run(base, head, capsys, "--fail-on-protected")
    assert status == 0
    assert "The base's preview failed" in text
    assert f"- **{stacks()[0]} (base)**: preview failed: invalid configuration" in text


def _with_policies(document: dict[str, Any], levels: dict[str, str]) -> None:
    document["policies"] = [
        {"name": name, "severity": "low", "enforcementLevel": level}
        for name, level in sorted(levels.items())
    ]


def test_an_enforcement_level_change_is_reported_per_region(
    documents: dict[str, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    levels = {"azuread-application-password-prefer-certificate": "advisory", "other": "mandatory"}
    for document in documents.values():
        _with_policies(document, levels)
    base = write_plans(tmp_path / "base", documents)
    changed = stacks()[-1]
    _with_policies(
        documents[changed],
        {**levels, "azuread-application-password-prefer-certificate": "disabled"},
    )
    head = write_plans(tmp_path / "head", documents)
    status, text = _run(base, head, capsys)
    assert status == 0
    assert "**No changes.**" not in text, "a disabled policy is a change"
    policy = _section(text, "⚠ Policy config loosened")
    assert (
        f"- **{changed}**: `azuread-application-password-prefer-certificate` enforcement "
        "advisory → disabled (**weaker**)"
    ) in policy
    assert "`other`" not in policy
    assert _run(base, head, capsys, "--fail-on-weakened")[0] == diff.EXIT_WEAKENED
    reverse_status, reverse = _run(head, base, capsys, "--fail-on-weakened")
    assert reverse_status == 0, "a stronger enforcement is no weakening"
    assert "enforcement disabled → advisory" in _section(reverse, "Policy config")
    assert "weaker" not in reverse


def _set_property(document: dict[str, Any], policy: str, prop: str, value: Any) -> None:
    for entry in document["policies"]:
        if entry["name"] == policy:
            entry.setdefault("properties", {})[prop] = value
            return
    raise AssertionError(f"{policy} is not in the plan's policies")


def test_a_loosened_allow_list_is_a_change_even_when_no_resource_changes(
    documents: dict[str, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The PR that allow-lists RoleManagement.ReadWrite.Directory and drops it from the
    high-privilege list changes no resource, and must not read as "No changes."."""
    base = write_plans(tmp_path / "base", documents)
    changed = stacks()[-1]
    allow, high = "azuread-required-access-allow-list", "azuread-required-access-high-privilege"
    permission = "Microsoft Graph/RoleManagement.ReadWrite.Directory"
    document = documents[changed]
    policies = {entry["name"]: entry for entry in document["policies"]}
    allowed = list(policies[allow]["properties"]["allowedApplicationPermissions"])
    _set_property(document, allow, "allowedApplicationPermissions", [*allowed, permission])
    listed = policies[high]["properties"]["highPrivilegePermissions"]
    _set_property(
        document, high, "highPrivilegePermissions", [p for p in listed if p != permission]
    )
    head = write_plans(tmp_path / "head", documents)

    status, text = _run(base, head, capsys, "--fail-on-weakened")
    assert status == diff.EXIT_WEAKENED == exitcodes.WEAKENED == 44, text
    assert "**No changes.**" not in text
    section = _section(text, "⚠ Policy config loosened")
    assert (
        f"- **{changed}**: `{allow}` `allowedApplicationPermissions` adds `{permission}` "
        "(**weaker**)"
    ) in section
    assert (
        f"- **{changed}**: `{high}` `highPrivilegePermissions` removes `{permission}` (**weaker**)"
    ) in section


def test_a_changed_tenant_or_owner_is_shown_at_the_top_of_the_region(
    documents: dict[str, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_plans(tmp_path / "base", documents)
    changed = stacks()[-1]
    region = documents[changed]["region"]
    old_owner = region["owners"][-1]
    region["owners"] = [*region["owners"][:-1], "0f0e0d0c-0b0a-4909-8807-060504030201"]
    head = write_plans(tmp_path / "head", documents)
    status, text = _run(base, head, capsys)
    assert status == 0
    assert "**No changes.**" not in text
    section = _section(text, "⚠ Stack identity changes")
    assert f"- **{changed}**: owners: " in section
    assert f"`{old_owner}`" in section
    assert "`0f0e0d0c-0b0a-4909-8807-060504030201`" in section
    region_part = text.split(f"### {changed}\n", 1)[1]
    assert region_part.lstrip().startswith("**⚠ Stack identity changes**"), region_part[:200]


def test_a_replaced_client_secret_changes_the_key_vault_secret_value(
    plan_dirs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    rotated: list[str] = []

    def rotate(document: dict[str, Any]) -> None:
        password = resources(document, pf.PASSWORD)[0]
        password["inputs"]["displayName"] = "rotated"
        rotated.append(password["urn"])

    base, head = plan_dirs(rotate)
    _, text = _run(base, head, capsys)
    document = pf.read_json(base / f"{stacks()[0]}.json")
    holder = next(
        r for r in resources(document, pf.VAULT_SECRET) if rotated[0] in r["dependencies"]
    )
    name = holder["inputs"]["secretName"]
    secrets = _section(text, "Credentials, secrets and Key Vault")
    assert (
        f"Key Vault secret `{name}`: value changes (the replaced client secret's new value)"
    ) in secrets
    by_region = _section(text, "Changes by region")
    detail = by_region.split(f"`{holder['name']}`", 1)[1]
    assert detail.splitlines()[1].strip() == "- `properties.value`: secret value changes"
    summary = _section(text, "Summary")
    assert f"| {stacks()[0]} | 0 | 1 | 1 | 0 |" in summary


def _scopes(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        scope
        for application in resources(document, pf.APPLICATION)
        for scope in application["inputs"].get("api", {}).get("oauth2PermissionScopes", [])
    ]


def _rename(document: dict[str, Any]) -> None:
    """What a changed scope value does: its derived id changes, the old scope goes."""
    for scope in _scopes(document):
        scope["value"] = "portal.access"
        scope["id"] = "00000000-0000-4000-8000-00000000beef"


def test_renaming_an_enabled_scope_fails_the_diff(
    plan_dirs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    base, head = plan_dirs(_rename)
    status = diff.main([str(base), str(head), "--fail-on-protected"])
    captured = capsys.readouterr()
    assert status == diff.EXIT_BREAKING_SCOPE == exitcodes.BREAKING_SCOPE == 43
    assert "an enabled scope would be removed or renamed in one step" in captured.err
    assert "stops exposing scope `user_impersonation`" in captured.err
    consent = _section(captured.out, "Consent path and exposed API")
    assert "every client that requires it loses access" in consent
    # Without the flag the diff only reports it.
    assert diff.main([str(base), str(head)]) == 0


def test_disabling_a_scope_first_then_renaming_it_passes(
    tmp_path: Path, documents: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The deliberate two-step change: disable in one deployment, rename in the next."""
    enabled = write_plans(tmp_path / "enabled", documents)
    for document in documents.values():
        for scope in _scopes(document):
            scope["enabled"] = False
    disabled = write_plans(tmp_path / "disabled", documents)
    for document in documents.values():
        _rename(document)
    renamed = write_plans(tmp_path / "renamed", documents)
    assert diff.main([str(enabled), str(disabled), "--fail-on-protected"]) == 0
    assert "disables scope `user_impersonation`" in capsys.readouterr().out
    assert diff.main([str(disabled), str(renamed), "--fail-on-protected"]) == 0
    assert "stops exposing scope `user_impersonation`" in capsys.readouterr().out


def test_a_new_finding_on_several_resources_is_one_line_with_a_count(
    documents: dict[str, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = stacks()[0]
    every = list(documents[stack]["violations"])
    certificate = "azuread-application-password-prefer-certificate"
    findings = [f for f in every if f["policy"] == certificate]
    assert len(findings) == 3
    documents[stack]["violations"] = [f for f in every if f["policy"] != certificate]
    base = write_plans(tmp_path / "base", documents)
    documents[stack]["violations"] = every
    head = write_plans(tmp_path / "head", documents)
    _, text = _run(base, head, capsys)
    lines = [line for line in _section(text, "Policy results").splitlines() if "new " in line]
    assert len(lines) == 1, lines
    assert f"- **{stack}**: new advisory violation of " in lines[0]
    assert " on 3 resources (" in lines[0]
    assert lines[0].count("uses a client secret") == 1


def _many_new_apps(document: dict[str, Any], count: int) -> None:
    stack, project = document["stack"], document["project"]
    for index in range(count):
        name = f"{stack}-bulk-app-{index:03d}"
        component = f"urn:pulumi:{stack}::{project}::{pf.APP_COMPONENT}::{name}"
        application = (
            f"urn:pulumi:{stack}::{project}::{pf.APP_COMPONENT}${pf.APPLICATION}::{name}-app"
        )
        document["resources"] += [
            {
                "urn": component,
                "type": pf.APP_COMPONENT,
                "name": name,
                "custom": False,
                "inputs": {},
                "outputs": {},
            },
            {
                "urn": application,
                "type": pf.APPLICATION,
                "name": f"{name}-app",
                "custom": True,
                "parent": component,
                "inputs": {"displayName": f"Bulk app {index}"},
                "outputs": {},
            },
        ]


def test_the_summary_of_a_400_app_change_fits_a_pull_request_comment(
    documents: dict[str, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_plans(tmp_path / "base", documents)
    for document in documents.values():
        _many_new_apps(document, 400)
    head = write_plans(tmp_path / "head", documents)
    summary_path = tmp_path / "summary.md"
    status, _ = _run(
        base,
        head,
        capsys,
        "--out",
        str(tmp_path / "diff.md"),
        "--summary-out",
        str(summary_path),
        "--full-report-url",
        "https://ci.example/run/1",
    )
    assert status == 0
    full = (tmp_path / "diff.md").read_text(encoding="utf-8")
    summary = summary_path.read_text(encoding="utf-8")
    assert len(full) > 60_000, "the full diff of 800 new apps is beyond a PR comment"
    assert len(summary) < 20_000, f"summary.md is {len(summary)} characters"
    assert "## Summary" in summary
    counts = _section(summary, "Summary")
    for stack in stacks():
        assert f"| {stack} | 800 |" in counts, counts
    apps = _section(summary, "Apps added or removed")
    assert apps.count("\n- ") <= diff_report.SUMMARY_LINES + 1
    assert "more in [the full report](https://ci.example/run/1)." in apps
    assert "## Changes by region" not in summary
    assert "[the full report](https://ci.example/run/1)" in summary.rsplit("\n\n", 1)[-1]


def test_a_new_region_matches_its_golden_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pull request that adds a region: its identity and policy config are what to review."""
    first = stacks()[0]
    documents = {
        stack: json.loads((PLANS / f"{stack}.json").read_text(encoding="utf-8"))
        for stack in stacks()
    }
    base = write_plans(tmp_path / "base", {first: documents[first]})
    head = write_plans(tmp_path / "head", documents)
    out, page, data = tmp_path / "diff.md", tmp_path / "diff.html", tmp_path / "diff.json"
    argv = [str(base), str(head), "--out", str(out), "--html-out", str(page)]
    status = diff.main([*argv, "--json-out", str(data)])
    capsys.readouterr()
    assert status == exitcodes.OK
    markdown = out.read_text(encoding="utf-8")
    golden.check("diff/new-region.md", markdown)
    golden.check("diff/new-region.html", page.read_text(encoding="utf-8"))
    golden.check("diff/new-region.json", data.read_text(encoding="utf-8"))
    # What the new region is comes first, before any list of resources, and is no alarm.
    new = f"## New region {stacks()[1]}"
    assert markdown.index(new) < markdown.index("## Summary"), "the new region's identity first"
    region = markdown.split(new, 1)[1].split("\n## ", 1)[0]
    assert "tenant: `" in region
    assert "| Policy | Enforcement | Config |" in region
    assert "⚠" not in region, "a new region's identity is not an alarm"
    assert "**" not in region, "a new region's identity is not an alarm"
    assert "**Stack identity**" not in markdown


def test_the_json_document_is_versioned_and_holds_the_change_model(
    plan_dirs: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def add_directory_read_write(document: dict[str, Any]) -> None:
        _, access = graph_application_access(document)
        access["inputs"]["roleIds"] = sorted(
            [*access["inputs"]["roleIds"], DIRECTORY_READ_WRITE_ALL_ROLE]
        )

    base, head = plan_dirs(add_directory_read_write)
    data = tmp_path / "diff.json"
    assert diff.main([str(base), str(head), "--json-out", str(data)]) == exitcodes.OK
    capsys.readouterr()
    document = json.loads(data.read_text(encoding="utf-8"))
    assert (document["kind"], document["version"]) == ("partner-apps/changes", 1), data
    for stack in document["stacks"]:
        (update,) = [r for r in stack["resources"] if r["op"] == "update"]
        (prop,) = update["properties"]
        assert prop["path"] == "roleIds", f"{stack['stack']}: {update['urn']}"
        assert DIRECTORY_READ_WRITE_ALL_ROLE in prop["new"]
        assert any(
            f["section"] == "permissions" and f["text"].startswith("adds Directory.ReadWrite.All")
            for f in stack["facts"]
        ), stack["facts"]


def test_the_reviewed_change_as_json_matches_its_golden_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The JSON renderer of the golden diff (its Markdown and HTML: test_golden_reports.py)."""
    documents = {
        stack: json.loads((PLANS / f"{stack}.json").read_text(encoding="utf-8"))
        for stack in stacks()
    }
    base = write_plans(tmp_path / "base", documents)
    for document in documents.values():
        _reviewed_change(document)
    head = write_plans(tmp_path / "head", documents)
    data = tmp_path / "diff.json"
    status = diff.main([str(base), str(head), "--json-out", str(data), "--fail-on-weakened"])
    capsys.readouterr()
    assert status == exitcodes.WEAKENED
    golden.check("diff/diff.json", data.read_text(encoding="utf-8"))
    document = json.loads(data.read_text(encoding="utf-8"))
    assert document["weakened"] is True
    weaker = [c for s in document["stacks"] for c in s["policyConfig"] if c["weaker"]]
    assert weaker, "the loosened allow-list and the disabled policy are marked weaker"
