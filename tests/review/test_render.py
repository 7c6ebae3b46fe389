"""The reviewer Markdown of one stack (partner_apps/review/reports/stack.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from partner_apps.review.analysis.views import Id
from partner_apps.review.plan import document as pf
from partner_apps.review.plan import vocabulary
from partner_apps.review.reports import ids
from partner_apps.review.reports import stack as render
from partner_apps.review.reports.model import Span, code, to_json, to_markdown
from tests import golden

from .conftest import PLANS, plan_document, resources, stacks, write_plans

# How the report explains the label (the Markdown of ``render.assigned_note()``).
ASSIGNED_NOTE = (
    "Client, object and resource ids shown as *(assigned at deploy)* are not known yet: the "
    "offline preview made them up, and Entra ID and Azure assign the real ones at deploy."
)


def _markdown(stack: str, catalog: pf.Catalog) -> str:
    return render.render_plan(plan_document(stack), catalog)


@pytest.mark.parametrize("stack", stacks())
def test_every_app_shows_its_permissions_with_reasons_and_settings(
    stack: str, catalog: pf.Catalog
) -> None:
    document = plan_document(stack)
    text = render.render_plan(document, catalog)
    for key, app in document["apps"].items():
        section = text.split(f"### `{key}`", 1)[1].split("\n### ", 1)[0]
        for permission in app["permissions"]:
            assert f"`{permission['permission']}`" in section, (key, permission)
            if permission["reason"]:
                assert permission["reason"] in section
        for label in (
            "Sign-in audience",
            "Identifier URIs",
            "Redirect URIs",
            "AdminAgents member",
            "Known client apps",
        ):
            assert f"| {label} |" in section
        assert "#### Credentials" in section


def test_the_markdown_has_policy_results_key_vault_and_a_diagram(catalog: pf.Catalog) -> None:
    text = _markdown(stacks()[0], catalog)
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings[:4] == ["At a glance", "Policy results", "Apps", headings[3]]
    assert headings[3].startswith("Key Vault")
    assert "Diagram" in headings
    diagram = text.split("```mermaid", 1)[1].split("```", 1)[0]
    assert "flowchart" in diagram
    assert "AdminAgents" in diagram
    assert "Key Vault" in diagram
    assert "-->|member of|" in diagram


def test_violations_are_listed_with_their_policy_and_message(catalog: pf.Catalog) -> None:
    document = plan_document(stacks()[0])
    urn = resources(document, pf.APPLICATION)[0]["urn"]
    document["violations"] = [
        {
            "policy": "azuread-application-redirect-uris-https",
            "severity": "high",
            "enforcementLevel": "mandatory",
            "urn": urn,
            "message": "redirect URI http://localhost is not HTTPS",
        }
    ]
    text = render.render_plan(document, catalog)
    assert "azuread-application-redirect-uris-https" in text
    assert "redirect URI http://localhost is not HTTPS" in text
    assert "1 mandatory policy violation(s) block this stack" in text


def test_the_same_finding_on_several_resources_is_one_row_with_a_count(
    catalog: pf.Catalog,
) -> None:
    document = plan_document(stacks()[0])
    findings = [
        v
        for v in document["violations"]
        if v["policy"] == "azuread-application-password-prefer-certificate"
    ]
    assert len(findings) == 3, "the recorded plans have one client-secret advisory per app"
    text = render.render_plan(document, catalog)
    rows = [
        line
        for line in text.splitlines()
        if line.startswith("| advisory |") and "prefer-certificate" in line
    ]
    assert len(rows) == 1, rows
    assert "(3 resources)" in rows[0]
    assert rows[0].count("uses a client secret") == 1
    for finding in findings:
        assert f"`{finding['urn'].rsplit('::', 1)[-1]}`" in rows[0]


def test_a_disabled_policy_shows_as_disabled_with_the_region_enforcement(
    catalog: pf.Catalog,
) -> None:
    document = plan_document(stacks()[0])
    document["violations"] = []
    document["policies"] = [
        {"name": "policy-a", "severity": "high", "enforcementLevel": "disabled"},
        {"name": "policy-b", "severity": "low", "enforcementLevel": "advisory"},
        {"name": "policy-c", "severity": "low", "enforcementLevel": "mandatory"},
    ]
    text = render.render_plan(document, catalog)
    assert "| Policy | Severity | Enforcement | Result |" in text
    assert "| `policy-a` | high | disabled | disabled |" in text
    assert "| `policy-b` | low | advisory | pass |" in text
    assert "| `policy-c` | low | mandatory | pass |" in text
    assert "2 of 2 enabled policies pass; 1 disabled by the region's policy config." in text


def test_output_is_byte_identical_and_independent_of_resource_order(
    catalog: pf.Catalog,
) -> None:
    document = plan_document(stacks()[0])
    first = render.render_plan(document, catalog)
    document["resources"].reverse()
    document["apps"] = dict(reversed(list(document["apps"].items())))
    assert render.render_plan(document, catalog) == first


def test_no_string_the_plan_marks_secret_reaches_the_markdown(catalog: pf.Catalog) -> None:
    document = plan_document(stacks()[0])
    canary = "CANARY-0123456789-secret"
    for password in resources(document, pf.PASSWORD):
        password["outputs"]["value"] = canary
        password["additionalSecretOutputs"] = ["value"]
    for secret in resources(document, pf.VAULT_SECRET):
        secret["inputs"]["properties"]["value"] = canary
    document["outputs"]["token"] = {
        vocabulary.SECRET_ENVELOPE_KEY: vocabulary.SECRET_ENVELOPE_SIG,
        "value": canary,
    }
    text = render.render_plan(document, catalog)
    assert canary not in text


def test_an_unknown_permission_is_flagged_high_risk(catalog: pf.Catalog) -> None:
    document = plan_document(stacks()[0])
    access = resources(document, pf.API_ACCESS)[0]
    access["inputs"]["scopeIds"] = [
        *access["inputs"].get("scopeIds", []),
        "0badc0de-0000-4000-8000-000000000001",
    ]
    text = render.render_plan(document, catalog)
    line = next(
        line for line in text.splitlines() if "0badc0de-0000-4000-8000-000000000001" in line
    )
    assert "unknown (not in catalog)" in line
    assert "**high**" in line


def test_cli_writes_one_markdown_per_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plans = write_plans(tmp_path / "plans", {s: plan_document(s) for s in stacks()})
    out = tmp_path / "out"
    assert render.main([str(plans), "--out-dir", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"{s}.md" for s in stacks()]
    printed = capsys.readouterr().out
    for stack in stacks():
        assert printed.count(f"{stack}: ") == 1


def test_cli_prints_to_stdout_and_reports_missing_plans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = stacks()[0]
    assert render.main([str(PLANS / f"{stack}.json"), "--stdout"]) == 0
    assert capsys.readouterr().out.startswith(f"# Stack `{stack}`")
    assert render.main([str(tmp_path)]) == 2
    assert "no plan found" in capsys.readouterr().err


def test_help_describes_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        render.main(["--help"])
    assert exit_info.value.code == 0
    assert "reviewer Markdown" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# Ids the offline preview made up are labelled, never shown as if real
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", stacks())
def test_the_plan_records_the_ids_the_mocks_made_up(stack: str) -> None:
    document = plan_document(stack)
    assigned = set(document["assignedAtDeploy"])
    for resource in resources(document, pf.APPLICATION):
        assert resource["outputs"]["clientId"] in assigned
        assert resource["outputs"]["objectId"] in assigned
    for resource in resources(document, pf.SERVICE_PRINCIPAL):
        assert resource["outputs"]["objectId"] in assigned
    # Values from the config or the program are not made up: the tenant, the pinned AdminAgents
    # group, scope ids, API and permission ids.
    assert document["region"]["tenantId"] not in assigned
    for resource in resources(document, pf.GROUP_MEMBER):
        assert resource["inputs"]["groupObjectId"] not in assigned
        assert resource["inputs"]["memberObjectId"] in assigned
    for resource in resources(document, pf.PERMISSION_SCOPE):
        assert resource["inputs"].get("scopeId") not in assigned
    own = {r["outputs"]["clientId"] for r in resources(document, pf.APPLICATION)}
    for resource in resources(document, pf.API_ACCESS):
        # Access to one of our own APIs names its made-up client id; Microsoft's are real.
        api = resource["inputs"]["apiClientId"]
        assert (api in assigned) == (api in own)
        assert not set(resource["inputs"].get("roleIds", [])) & assigned


@pytest.mark.parametrize("stack", stacks())
def test_made_up_ids_are_labelled_as_assigned_at_deploy(stack: str, catalog: pf.Catalog) -> None:
    document = plan_document(stack)
    text = render.render_plan(document, catalog)
    diagram = text.split("```mermaid", 1)[1].split("```", 1)[0]
    outside = text.replace(diagram, "")
    for guid in document["assignedAtDeploy"]:
        assert guid not in outside, guid
    assert ASSIGNED_NOTE in text
    assert "| Client id | (assigned at deploy) |" in text
    assert "| Service principal | object id assigned at deploy (app role" in text
    # Known clients that are our own apps name the app, not a made-up client id.
    if "(client id assigned at deploy)" not in text:
        assert "| Known client apps | — |" in text
    # Ids that are real stay: the partner tenant and the API app ids of permissions.
    assert document["region"]["tenantId"] in text


def test_a_plan_without_the_record_shows_ids_as_they_are(catalog: pf.Catalog) -> None:
    document = plan_document(stacks()[0])
    del document["assignedAtDeploy"]
    text = render.render_plan(document, catalog)
    client_id = resources(document, pf.APPLICATION)[0]["outputs"]["clientId"]
    assert f"`{client_id}`" in text
    assert ASSIGNED_NOTE not in text


def test_made_up_ids_are_labelled_from_values_not_from_rendered_text() -> None:
    """A made-up id reads "(assigned at deploy)" whole, or in place inside another value; the
    typed ids say so themselves; nothing else is touched."""
    guid = "2266bc0b-6de6-5b74-9757-97d035436cf8"
    values = ids.Values(frozenset({guid}))
    assert values.code(guid.upper()) == Span("text", ids.ASSIGNED)
    assert values.code(f"/applications/{guid}") == code("/applications/(assigned at deploy)")
    assert values.text(f"c {guid}") == "c (assigned at deploy)"
    assert ids.Values(frozenset()).code(guid) == code(guid)
    assert ids.id_span(Id(guid, assigned_at_deploy=True)) == Span("text", ids.ASSIGNED)
    assert ids.id_span(Id(guid)) == code(guid)
    assert ids.id_span(None) == code("(known after apply)")


def test_wide_or_private_vault_ip_rules_are_shown_as_a_risk(catalog: pf.Catalog) -> None:
    """Config and the network-access policy refuse these; a plan recorded anyway flags them."""
    document = plan_document(stacks()[0])
    (vault,) = resources(document, pf.VAULT)
    properties = vault["inputs"]["properties"]
    properties["publicNetworkAccess"] = "Enabled"
    properties["networkAcls"] = {
        "defaultAction": "Deny",
        "ipRules": [{"value": "0.0.0.0/0"}, {"value": "10.0.0.0/8"}, {"value": "203.0.113.7/32"}],
    }
    text = render.render_plan(document, catalog)
    rows = {line.split(" | ")[0]: line for line in text.splitlines() if "ipRules[" in line}
    assert "**⚠ risk**: admits every IPv4 address" in rows["| `networkAcls.ipRules[0].value`"]
    assert "a private range (RFC 1918)" in rows["| `networkAcls.ipRules[1].value`"]
    assert "risk" not in rows["| `networkAcls.ipRules[2].value`"]
    properties["networkAcls"]["defaultAction"] = "Allow"
    text = render.render_plan(document, catalog)
    assert "**⚠ risk**: reachable from any network" in text


@pytest.mark.parametrize("stack", stacks())
def test_the_stack_report_document_matches_its_golden_json(stack: str, catalog: pf.Catalog) -> None:
    """The typed document the Markdown and HTML are rendered from, as JSON (golden file)."""
    report = render.plan_report(plan_document(stack), catalog)
    rendered = to_json(report)
    golden.check(f"render/{stack}.json", rendered)
    document = json.loads(rendered)
    assert document["title"] == ["Stack ", {"code": stack}, " — partner-apps"]
    # One document, every rendering: the Markdown golden file is rendered from the same one.
    assert to_markdown(report) == (golden.GOLDEN / f"render/{stack}.md").read_text("utf-8")


def test_the_region_identity_is_labelled_not_styled_as_an_alarm(catalog: pf.Catalog) -> None:
    """The HTML colours bold list items as alarms: a region's identity fields are labels."""
    page = render.render_plan_html(plan_document(stacks()[0]), catalog)
    for name in ("Region", "Partner tenant", "Subscription", "Location", "Production"):
        assert f"<li><b>{name}:</b> " in page, f"{stacks()[0]}.html: {name} label"
        assert f"<strong>{name}:</strong>" not in page, f"{stacks()[0]}.html: {name} in red"
