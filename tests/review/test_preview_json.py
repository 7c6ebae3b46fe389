"""Markdown from a real `pulumi preview --json` (partner_apps/review/commands/preview_json.py).

The fixtures follow Pulumi's documented JSON: ``display.PreviewDigest`` (``steps`` of ``op``,
``urn``, ``oldState``/``newState`` as ``apitype.ResourceV3``, ``diffReasons``, ``replaceReasons``,
``detailedDiff`` of ``{kind, inputDiff}``), and the engine event stream (``resourcePreEvent``
metadata with ``diffKind``, ``policyEvent``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import uuid
from pathlib import Path

import pytest

from partner_apps import exitcodes
from partner_apps.review.changes import coverage as cov
from partner_apps.review.changes import preview_read as read
from partner_apps.review.changes import preview_steps as steps
from partner_apps.review.changes.model import ResourceChange, marked
from partner_apps.review.commands import preview_json as pj
from partner_apps.review.plan import document as pf
from partner_apps.review.reports import preview_json as report
from partner_apps.review.reports.model import BulletList, ListItem, Report, code, text, to_markdown
from tests import golden

from .conftest import PLANS, PREVIEWS

DIGEST = PREVIEWS / "us-digest.json"
REPLACEMENT_STEPS = PREVIEWS / "eu-replacement-steps.json"
EVENTS = PREVIEWS / "us-events.ndjson"
PROGRAM_FAILED = PREVIEWS / "us-program-failed.json"
MANDATORY = PREVIEWS / "us-mandatory-violation.json"
NO_CHANGES = PREVIEWS / "us-no-changes.json"


def _markdown(path: Path, catalog: pf.Catalog, *, with_plan: bool = True) -> str:
    preview = read.parse_preview(path.read_text(encoding="utf-8"), str(path))
    contexts = {p.stack: p for p in pf.load_plans([PLANS])} if with_plan else {}
    return report.render_preview(preview, catalog, contexts)


def _section(text: str, heading: str) -> str:
    return text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_digest_steps_become_create_update_replace_and_delete(catalog: pf.Catalog) -> None:
    preview = read.parse_preview(DIGEST.read_text(encoding="utf-8"))
    changes, _ = steps.resource_changes(preview.steps)
    ops = {c.op for c in changes}
    assert ops == {"create", "update", "replace", "delete"}
    # The root stack's "same" step is not a change.
    assert all(c.type != pf.STACK_TYPE for c in changes)
    replaced = next(c for c in changes if c.op == "replace")
    assert replaced.replace_reasons
    assert not replaced.inferred


def test_update_of_role_ids_names_the_permission(catalog: pf.Catalog) -> None:
    text = _markdown(DIGEST, catalog)
    permissions = _section(text, "Permissions")
    line = next(line for line in permissions.splitlines() if "Directory.ReadWrite.All" in line)
    assert "adds `Directory.ReadWrite.All`" in line
    assert "application" in line
    assert "high privilege" in line
    assert "`roleIds[0]`: added `19dbc75e-c2e2-444c-a770-ec69d8559fc7`" in text


def test_update_of_inline_required_resource_accesses_flags_a_retired_api(
    catalog: pf.Catalog,
) -> None:
    text = _markdown(DIGEST, catalog)
    line = next(
        line
        for line in _section(text, "Permissions").splitlines()
        if "Windows Azure Active Directory" in line
    )
    assert "retired API" in line
    assert "`requiredResourceAccesses[2]`: added" in text


def test_replace_and_delete_steps(catalog: pf.Catalog) -> None:
    text = _markdown(DIGEST, catalog)
    assert text.index("## ⚠ Protected resources deleted or replaced") < text.index("## Summary")
    protected = _section(text, "⚠ Protected resources deleted or replaced")
    assert "deletes protected `azure-native:keyvault:Secret`" in protected
    assert "leaves AdminAgents" in _section(text, "Consent path and exposed API")
    secrets = _section(text, "Credentials, secrets and Key Vault")
    assert "client secret: expiry 2027-10-01 → 2028-10-01" in secrets
    assert (
        "replaced because `displayName`, `endDate`, `rotateWhenChanged`, `startDate` changes"
        in text
    )
    assert "(forces replacement)" in text
    # The secret value change is shown as a change, never as a value.
    assert "`properties.value`: secret value changes" in text


def test_replacement_steps_and_sames_collapse_to_one_replace(catalog: pf.Catalog) -> None:
    text = _markdown(REPLACEMENT_STEPS, catalog)
    protected = _section(text, "⚠ Protected resources deleted or replaced")
    assert "replaces protected `azure-native:keyvault:Vault`" in protected
    assert "because `vaultName` changes" in protected
    assert "removes protection from" in protected
    summary = _section(text, "Summary")
    assert "| 0 | 1 | 1 | 0 |" in summary
    assert "`kv-cspapps-eu-01` → `kv-cspapps-eu-02`" in text


def test_policy_results_come_from_the_plan_or_are_said_to_be_missing(
    catalog: pf.Catalog,
) -> None:
    without_plan = _markdown(REPLACEMENT_STEPS, catalog, with_plan=False)
    assert "carries no policy results" in _section(without_plan, "Policy results")
    assert "No recorded plan given" in without_plan
    with_plan = _markdown(REPLACEMENT_STEPS, catalog)
    assert "carries no policy results" not in with_plan
    # They are the offline plan's results, not the preview's, and the Markdown says so.
    policy = _section(with_plan, "Policy results")
    assert policy.lstrip().startswith("Results for eu come from the offline plan (`--plan`")
    assert "not from this preview" in policy
    assert "offline plan" not in _section(_markdown(EVENTS, catalog), "Policy results")


def test_engine_events_carry_policy_violations(catalog: pf.Catalog) -> None:
    text = _markdown(EVENTS, catalog, with_plan=False)
    policy = _section(text, "Policy results")
    assert "mandatory violation of `azuread-required-access-allow-list`" in policy
    assert "adds `Directory.ReadWrite.All`" in _section(text, "Permissions")


def test_detailed_diff_paths_are_split_like_the_engine() -> None:
    assert steps.split_path("properties.attributes.expires") == [
        "properties",
        "attributes",
        "expires",
    ]
    assert steps.split_path("requiredResourceAccesses[2].resourceAccesses[0].id") == [
        "requiredResourceAccesses",
        2,
        "resourceAccesses",
        0,
        "id",
    ]
    assert steps.split_path('tags["cost.center"]') == ["tags", "cost.center"]


def test_a_raw_secret_in_a_state_never_reaches_the_markdown(
    catalog: pf.Catalog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    canary = "CANARY-preview-secret-9f8e7d"
    document = json.loads(DIGEST.read_text(encoding="utf-8"))
    for step in document["steps"]:
        for key in ("oldState", "newState"):
            state = step.get(key)
            if state and state.get("type") == pf.PASSWORD:
                state["outputs"]["value"] = canary
                state["additionalSecretOutputs"] = ["value"]
                state["inputs"]["displayName"] = f"copy of {canary}"
    preview = read.parse_preview(json.dumps(document))
    assert canary not in report.render_preview(preview, catalog, {})
    # Nor the HTML or the JSON: every renderer reads the one scrubbed preview.
    given = tmp_path / "preview.json"
    given.write_text(json.dumps(document), encoding="utf-8")
    page, data = tmp_path / "preview.html", tmp_path / "changes.json"
    pj.main([str(given), "--html-out", str(page), "--json-out", str(data)])
    capsys.readouterr()
    assert canary not in page.read_text(encoding="utf-8"), page
    assert canary not in data.read_text(encoding="utf-8"), data


def test_not_a_preview_is_an_error() -> None:
    with pytest.raises(pf.PlanError, match="neither"):
        read.parse_preview('{"resources": []}', "x.json")
    with pytest.raises(pf.PlanError, match="not JSON"):
        read.parse_preview("{oops\n", "x.json")


def test_a_preview_file_that_is_not_utf_8_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preview = tmp_path / "preview.json"
    preview.write_bytes(b'{"steps": [], "diagnostics": [{"message": "caf\xe9"}]}')
    assert pj.main([str(preview), "--plan", str(PLANS)]) == pj.EXIT_INPUT == exitcodes.CONFIG
    err = capsys.readouterr().err
    assert f"error: {preview}: not UTF-8 (byte 0xe9 at offset" in err, err
    assert "Traceback" not in err


def test_cli_reads_standard_input_and_writes_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(DIGEST.read_text(encoding="utf-8")))
    out = tmp_path / "preview.md"
    status = pj.main(["--plan", str(PLANS), "--out", str(out), "--fail-on-protected"])
    assert status == pj.EXIT_PROTECTED == exitcodes.PROTECTED == 41
    assert out.read_text(encoding="utf-8").startswith("# Preview changes")
    assert "us: " in capsys.readouterr().out
    assert pj.main([str(DIGEST), "--plan", str(PLANS)]) == 0
    first = capsys.readouterr().out
    assert pj.main([str(DIGEST), "--plan", str(PLANS)]) == 0
    assert capsys.readouterr().out == first


def test_help_describes_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        pj.main(["--help"])
    assert exit_info.value.code == 0
    assert "pulumi preview --json" in capsys.readouterr().out


def test_a_failed_offline_preview_in_plan_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error = pf.error_document("partner-apps", "us", "invalid configuration (1 problem):\n  x: y")
    (tmp_path / f"us{pf.ERROR_SUFFIX}").write_text(json.dumps(error), encoding="utf-8")
    assert pj.main([str(DIGEST), "--plan", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "The offline preview of us failed (`--plan`: invalid configuration (1 problem):)" in text
    assert "No recorded plan given" not in text


# --------------------------------------------------------------------------------------------
# Failed previews: error diagnostics (pkg/backend/display/json.go keeps every non-debug,
# non-ephemeral diagnostic as {urn, message (prefix folded in), severity})
# --------------------------------------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = pj.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_an_engine_error_with_no_steps_is_a_failed_preview(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, text, err = _run(capsys, str(PROGRAM_FAILED), "--plan", str(PLANS))
    assert status == pj.EXIT_PREVIEW_FAILED == exitcodes.PREVIEW_FAILED == 42
    assert "the preview failed: Program failed with an unhandled exception" in err
    assert "No changes." not in text
    assert "Nothing is listed: the preview failed before the engine planned any change" in text
    assert "Stacks compared: us (the preview failed)." in text
    failed = _section(text, "⚠ Preview failed")
    assert "The engine reported 2 errors" in failed
    # The message is shown without its "error: " prefix, its traceback fenced.
    assert "- **us**: Program failed with an unhandled exception:" in failed
    assert "partner-apps:region.adminAgentsGroup: required" in failed
    assert "- **us**: preview failed" in failed
    # The failure comes first, before any other section.
    assert text.index("## ⚠ Preview failed") == text.index("\n## ") + 1
    assert text.index("## ⚠ Preview failed") < text.index("**Nothing is listed")


def test_a_mandatory_violation_in_a_digest_is_a_failed_preview_with_its_changes(
    catalog: pf.Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    preview = read.parse_preview(MANDATORY.read_text(encoding="utf-8"))
    assert preview.failed
    assert preview.violations is None
    status, text, _ = _run(capsys, str(MANDATORY), "--plan", str(PLANS))
    assert status == pj.EXIT_PREVIEW_FAILED
    failed = _section(text, "⚠ Preview failed")
    assert "- **us**: preview failed" in failed
    # The digest has no policy events: the Markdown says where the failing policy is found.
    assert "leaves policy violations out" in failed
    assert "`--event-log FILE`" in failed
    assert "adds `Directory.ReadWrite.All`" in _section(text, "Permissions")
    warnings = _section(text, "Warnings from the preview")
    assert "on `us-azuread`" in warnings
    assert "deprecated setting" in warnings
    assert "No changes." not in text


def test_a_mandatory_policy_event_fails_the_preview(capsys: pytest.CaptureFixture[str]) -> None:
    preview = read.parse_preview(EVENTS.read_text(encoding="utf-8"))
    assert [v.policy for v in preview.mandatory_violations] == [
        "azuread-required-access-allow-list"
    ]
    assert [d.message for d in preview.errors] == ["preview failed"]
    status, text, _ = _run(capsys, str(EVENTS))
    assert status == pj.EXIT_PREVIEW_FAILED
    failed = _section(text, "⚠ Preview failed")
    assert "1 error and 1 mandatory policy violation" in failed
    assert "see **Policy results** below" in failed
    # The event log names the policy, so no hint about the digest leaving it out.
    assert "leaves policy violations out" not in failed


def test_a_preview_without_changes_or_errors_still_says_no_changes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, text, _ = _run(capsys, str(NO_CHANGES), "--plan", str(PLANS))
    assert status == pj.EXIT_OK
    assert "**No changes.**" in text
    assert "Preview failed" not in text
    bare = read.parse_preview('{"changeSummary": {}, "duration": 1}')
    assert not bare.steps
    assert not bare.failed


def test_empty_input_is_a_failed_preview_not_no_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "preview.json"
    empty.write_text("", encoding="utf-8")
    out = tmp_path / "preview.md"
    status, _stdout, err = _run(capsys, str(empty), "--out", str(out))
    assert status == pj.EXIT_PREVIEW_FAILED
    text = out.read_text(encoding="utf-8")
    assert "`pulumi preview` printed nothing" in _section(text, "⚠ Preview failed")
    assert "No changes." not in text
    assert "printed nothing" in err


def test_warnings_alone_do_not_fail_the_preview() -> None:
    document = json.loads(NO_CHANGES.read_text(encoding="utf-8"))
    document["diagnostics"] = [
        {"message": "warning: something to know\n", "severity": "warning"},
        {"message": "stdout of the program\n", "severity": "info"},
        {"message": "debug noise", "severity": "debug"},
    ]
    preview = read.parse_preview(json.dumps(document))
    assert not preview.failed
    assert [(d.severity, d.message) for d in preview.diagnostics] == [
        ("warning", "something to know"),
        ("info", "stdout of the program"),
    ]


def test_a_raw_secret_in_an_error_message_never_reaches_the_markdown(
    catalog: pf.Catalog,
) -> None:
    canary = "CANARY-diagnostic-secret-5c4b3a"
    document = json.loads(DIGEST.read_text(encoding="utf-8"))
    for step in document["steps"]:
        state = step.get("newState")
        if state and state.get("type") == pf.PASSWORD:
            state["outputs"]["value"] = canary
            state["additionalSecretOutputs"] = ["value"]
    document["diagnostics"] = [
        {"urn": step["urn"], "message": f"error: rejected value {canary}\n", "severity": "error"}
    ]
    preview = read.parse_preview(json.dumps(document))
    assert preview.failed
    text = report.render_preview(preview, catalog, {})
    assert canary not in text
    assert "rejected value [secret]" in text


def test_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        pj.main(["--help"])
    out = capsys.readouterr().out
    for status in (exitcodes.CONFIG, exitcodes.PROTECTED, exitcodes.PREVIEW_FAILED):
        assert f"  {status:>3}  " in out, f"exit code {status} missing from --help"
    assert f"  {exitcodes.UNCOVERED:>3}  --fail-on-uncovered" in out
    # Only its own codes: none of the diff's or the sam token's.
    assert f"  {exitcodes.WEAKENED:>3}  " not in out
    assert f"  {exitcodes.TOKEN_EXPIRED:>3}  " not in out


# --------------------------------------------------------------------------------------------
# Policy results coverage
# --------------------------------------------------------------------------------------------


def test_changes_the_offline_plan_never_evaluated_are_named_with_a_count(
    catalog: pf.Catalog,
) -> None:
    text = _markdown(DIGEST, catalog)
    section = _section(text, "⚠ Policy results do not cover this preview")
    assert text.index("## ⚠ Policy results do not cover") < text.index("## Policy results")
    assert "- **us**: policy results do not cover 5 changes:" in section
    lines = section.splitlines()
    # Permissions by name: a new application role id, and an inline required access.
    assert any(
        "`us-partner-portal-api-access-microsoft-graph`" in line
        and "requests `Directory.ReadWrite.All` (Microsoft Graph, application)" in line
        for line in lines
    )
    assert any(
        "`us-partner-center-sam-app`" in line and "requests `User.Read` (Windows Azure" in line
        for line in lines
    )
    # A resource the plan does not have at all.
    assert any(
        "creates `us-partner-center-sam-access-graph-extra`" in line
        and "not in the offline plan; it requests `User.Read` (Microsoft Graph, delegated)" in line
        for line in lines
    )
    # Permissions the plan already requests (inline or by ApplicationApiAccess) are covered.
    assert not any("user_impersonation" in line for line in lines)


def test_a_plan_that_holds_the_preview_changes_covers_them(catalog: pf.Catalog) -> None:
    preview = read.parse_preview(DIGEST.read_text(encoding="utf-8"))
    plan = next(p for p in pf.load_plans([PLANS]) if p.stack == "us")
    changes, _ = steps.resource_changes(preview.steps)
    # The plan recorded from the head: every changed resource as the preview's new state.
    by_urn = plan.by_urn()
    by_urn.update({c.urn: c.new for c in changes if c.new is not None})
    head = dataclasses.replace(plan, resources=tuple(sorted(by_urn.values(), key=lambda r: r.urn)))
    assert (
        cov.coverage(preview, steps.resource_changes(preview.steps)[0], catalog, {"us": head}) == {}
    )
    assert "do not cover" not in report.render_preview(preview, catalog, {"us": head})


def test_the_previews_own_policy_results_are_authoritative(catalog: pf.Catalog) -> None:
    preview = read.parse_preview(EVENTS.read_text(encoding="utf-8"))
    contexts = {p.stack: p for p in pf.load_plans([PLANS])}
    assert cov.coverage(preview, steps.resource_changes(preview.steps)[0], catalog, contexts) == {}
    text = report.render_preview(preview, catalog, contexts)
    assert "do not cover" not in text
    assert "offline plan" not in _section(text, "Policy results")
    assert "mandatory violation of `azuread-required-access-allow-list`" in text


def test_fail_on_uncovered_exits_uncovered(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = _run(capsys, str(DIGEST), "--plan", str(PLANS), "--fail-on-uncovered")
    assert status == pj.EXIT_UNCOVERED == exitcodes.UNCOVERED == 45
    assert "do not cover 5 changes in us" in err
    # Without the option the warning is shown and the exit status is unchanged.
    status, text, _ = _run(capsys, str(DIGEST), "--plan", str(PLANS), "--out", str(tmp_path / "x"))
    assert status == 0
    assert "us: policy results do not cover 5 changes" in text
    # Without a plan there are no offline results to cover anything.
    assert _run(capsys, str(DIGEST), "--fail-on-uncovered")[0] == 0
    # A failed preview is reported as failed first.
    assert (
        _run(capsys, str(MANDATORY), "--plan", str(PLANS), "--fail-on-uncovered")[0]
        == exitcodes.PREVIEW_FAILED
    )


# --------------------------------------------------------------------------------------------
# Ids of the offline plan (made up by its mocks) are labelled
# --------------------------------------------------------------------------------------------


def test_ids_only_the_offline_plan_made_up_are_labelled() -> None:
    preview = read.parse_preview(DIGEST.read_text(encoding="utf-8"))
    plan = next(p for p in pf.load_plans([PLANS]) if p.stack == "us")
    mock = sorted(plan.assigned_at_deploy)[0]
    engine = "0000000a-000a-4000-8000-0000000a0001"  # an application id in the preview's states
    both = dataclasses.replace(plan, assigned_at_deploy=plan.assigned_at_deploy | {engine})
    assigned = report.offline_ids(preview, {"us": both})
    assert mock in assigned
    assert engine not in assigned, "an id the preview's own states hold is the engine's"
    items = BulletList(
        (
            ListItem(text("client ", code(mock))),
            ListItem(text("application ", code(f"/applications/{engine}"))),
        )
    )
    labelled = to_markdown(Report("t", (report.labelled(items, assigned),)))
    assert mock not in labelled
    assert "- client (assigned at deploy)" in labelled
    # The preview's own value is the engine's, not a mock: it stays.
    assert f"`/applications/{engine}`" in labelled


def test_the_preview_markdown_shows_no_id_the_offline_plan_made_up(catalog: pf.Catalog) -> None:
    contexts = {p.stack: p for p in pf.load_plans([PLANS])}
    assigned = set().union(*(p.assigned_at_deploy for p in contexts.values()))
    assert assigned
    for path in sorted(PREVIEWS.iterdir()):
        text = report.render_preview(
            read.parse_preview(path.read_text(encoding="utf-8")), catalog, contexts
        )
        assert not [guid for guid in assigned if guid in text.lower()], path.name


def test_a_value_holding_a_made_up_id_is_not_judged_against_the_real_one(
    catalog: pf.Catalog,
) -> None:
    preview = read.parse_preview(DIGEST.read_text(encoding="utf-8"))
    plan = next(p for p in pf.load_plans([PLANS]) if p.stack == "us")
    changes, _ = steps.resource_changes(preview.steps)
    secret = next(c for c in changes if c.type == pf.VAULT_SECRET and c.op == "update")
    planned = plan.by_urn()[secret.urn]
    assert cov.uncovered(secret, planned, catalog, {}) != []
    # The plan's value holds an id its mocks made up: the real preview's differs by nature.
    recorded = steps.value_at(planned.inputs, ["properties", "attributes", "expires"])
    mock = "2266bc0b-6de6-5b74-9757-97d035436cf8"
    inputs = dict(planned.inputs)
    inputs["properties"] = {
        **inputs["properties"],
        "attributes": {**inputs["properties"]["attributes"], "expires": f"{recorded} {mock}"},
    }
    masked = dataclasses.replace(planned, inputs=inputs)
    assert cov.uncovered(secret, masked, catalog, {}, frozenset({mock})) == []


def test_access_to_an_own_api_is_compared_by_its_scope_ids_not_its_client_id(
    catalog: pf.Catalog,
) -> None:
    plan = next(p for p in pf.load_plans([PLANS]) if p.stack == "us")
    own = next(
        r
        for r in plan.resources
        if r.type == pf.API_ACCESS and r.inputs["apiClientId"] in plan.assigned_at_deploy
    )
    # The real preview names the API by its real client id, which the plan cannot know.
    real = dataclasses.replace(own, inputs={**own.inputs, "apiClientId": str(uuid.uuid4())})
    change = ResourceChange(urn=own.urn, op="update", old=own, new=real, inferred=False)
    grants = cov.app_grants(plan, catalog)
    missing = cov.uncovered(change, own, catalog, grants, plan.assigned_at_deploy)
    assert [marked(item) for item in missing] == []
    more = dataclasses.replace(
        real,
        inputs={
            **real.inputs,
            "scopeIds": [*real.inputs["scopeIds"], "1" * 8 + "-1111-4111-8111-" + "1" * 12],
        },
    )
    change = dataclasses.replace(change, new=more)
    missing = cov.uncovered(change, own, catalog, grants, plan.assigned_at_deploy)
    assert [marked(item) for item in missing] == [
        f"`{own.name}` (`{own.type}`) requests `11111111-1111-4111-8111-111111111111` "
        "(an API of this project, delegated)"
    ]


# --------------------------------------------------------------------------------------------
# Golden files: every recorded preview, with the recorded plans as context
# --------------------------------------------------------------------------------------------

GOLDEN_PREVIEWS = sorted(path.name for path in PREVIEWS.iterdir() if path.is_file())


@pytest.mark.parametrize("name", GOLDEN_PREVIEWS)
def test_the_preview_json_report_matches_its_golden_files(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, page, data = tmp_path / "preview.md", tmp_path / "preview.html", tmp_path / "p.json"
    argv = [str(PREVIEWS / name), "--plan", str(PLANS), "--out", str(out)]
    pj.main([*argv, "--html-out", str(page), "--json-out", str(data)])
    capsys.readouterr()
    stem = name.split(".", 1)[0]
    golden.check(f"preview-json/{stem}.md", out.read_text(encoding="utf-8"))
    golden.check(f"preview-json/{stem}.html", page.read_text(encoding="utf-8"))
    golden.check(f"preview-json/{stem}.json", data.read_text(encoding="utf-8"))
    document = json.loads(data.read_text(encoding="utf-8"))
    assert (document["kind"], document["version"]) == ("partner-apps/changes", 1), name
    passed = {DIGEST.name, NO_CHANGES.name, REPLACEMENT_STEPS.name}
    assert document["preview"]["failed"] == (name not in passed), name
