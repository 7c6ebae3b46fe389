"""Loading plans, masking secrets (review/plan/document.py) and analysing a stack (analysis)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from partner_apps.review.analysis import views as pa
from partner_apps.review.plan import document as pf
from partner_apps.review.plan import values, vocabulary
from partner_apps.review.reports import markdown as md

from .conftest import (
    PLANS,
    graph_application_access,
    owner,
    plan_document,
    resources,
    stacks,
)


def test_fixture_plans_cover_more_than_one_region() -> None:
    assert len(stacks()) >= 2


def test_parse_urn_splits_stack_project_type_and_name() -> None:
    urn = (
        "urn:pulumi:us::partner-apps::partner-apps:index:PartnerManagedApp"
        "$azuread:index/application:Application::us-partner-portal-api-app"
    )
    parsed = pf.parse_urn(urn)
    assert parsed is not None
    assert (parsed.stack, parsed.project, parsed.name) == (
        "us",
        "partner-apps",
        "us-partner-portal-api-app",
    )
    assert parsed.type == "azuread:index/application:Application"
    assert parsed.ancestor_types == ("partner-apps:index:PartnerManagedApp",)
    assert pf.parse_urn("not-a-urn") is None


def test_every_fixture_app_is_found_with_its_resources(catalog: pf.Catalog) -> None:
    for stack in stacks():
        document = plan_document(stack)
        view = pa.analyze(pf.plan_from_document(document), catalog)
        assert {app.key for app in view.apps} == set(document["apps"])
        for app in view.apps:
            assert app.application_urn, f"{stack}/{app.key}: no application found"
            assert app.permissions, f"{stack}/{app.key}: no permission found"


def test_permissions_are_named_through_the_catalog_with_their_reason(
    catalog: pf.Catalog,
) -> None:
    document = plan_document(stacks()[0])
    key, _ = graph_application_access(document)
    app = pa.analyze(pf.plan_from_document(document), catalog).app(key)
    assert app is not None
    declared = {
        (p["permission"], p["type"]): p["reason"]
        for p in document["apps"][key]["permissions"]
        if p["api"] == "Microsoft Graph"
    }
    graph = {(r.permission, r.kind): r for r in app.permissions if r.api == "Microsoft Graph"}
    assert set(graph) == set(declared)
    for (value, kind), row in graph.items():
        assert row.known
        assert row.reason == (declared[(value, kind)] or pa.NO_REASON)
        permission = catalog.by_id(row.api_id, row.permission_id, row.kind)
        assert permission is not None
        assert permission.risk == row.risk


def test_an_id_the_catalog_does_not_know_is_shown_raw_as_high_risk(catalog: pf.Catalog) -> None:
    document = plan_document(stacks()[0])
    _, access = graph_application_access(document)
    unknown = "0badc0de-0000-4000-8000-000000000000"
    access["inputs"]["roleIds"] = [*access["inputs"]["roleIds"], unknown]
    rows = [
        r
        for app in pa.analyze(pf.plan_from_document(document), catalog).apps
        for r in app.permissions
        if r.permission_id == unknown
    ]
    assert len(rows) == 1
    assert rows[0].permission == unknown
    assert rows[0].risk == "high"
    assert not rows[0].known
    assert "unknown (not in catalog)" in rows[0].labels()


def test_a_scope_of_another_app_in_the_plan_is_named_after_that_app(
    catalog: pf.Catalog,
) -> None:
    document = plan_document(stacks()[0])
    view = pa.analyze(pf.plan_from_document(document), catalog)
    in_plan = [(app.key, r) for app in view.apps for r in app.permissions if r.in_plan_api]
    assert in_plan, "the fixtures have a client that requires a scope of an API in the plan"
    for client, row in in_plan:
        api = view.app(row.in_plan_api or "")
        assert api is not None
        assert row.permission in {s.value for s in api.scopes}
        assert row.known
        assert row.kind == "delegated"
        declared = {
            (s["app"], s["scope"]) for s in document["apps"][client].get("requiredScopes", [])
        }
        assert (api.key, row.permission) in declared


def test_inline_required_resource_accesses_are_read_too(catalog: pf.Catalog) -> None:
    document = plan_document(stacks()[0])
    application = resources(document, pf.APPLICATION)[0]
    key = owner(document, application)
    application["inputs"]["requiredResourceAccesses"] = [
        {
            "resourceAppId": "00000003-0000-0000-c000-000000000000",
            "resourceAccesses": [{"id": "19dbc75e-c2e2-444c-a770-ec69d8559fc7", "type": "Role"}],
        }
    ]
    app = pa.analyze(pf.plan_from_document(document), catalog).app(key or "")
    assert app is not None
    row = next(r for r in app.permissions if r.permission == "Directory.ReadWrite.All")
    assert row.kind == "application"
    assert row.high_privilege
    assert row.reason == pa.UNDECLARED


def test_admin_agents_credentials_and_secrets_belong_to_their_app(catalog: pf.Catalog) -> None:
    document = plan_document(stacks()[0])
    view = pa.analyze(pf.plan_from_document(document), catalog)
    for app in view.apps:
        assert app.in_admin_agents, app.key
        assert app.credentials, app.key
        assert all(c.end_date[:4].isdigit() for c in app.credentials)
        assert all(s.app == app.key for s in app.secrets)
    assert view.vaults
    assert view.vaults[0].secrets
    assert any(s.app for s in view.vaults[0].secrets)


def test_secret_values_are_masked_when_a_plan_is_read() -> None:
    document = plan_document(stacks()[0])
    canary = "CANARY-do-not-print-4f1c"
    password = resources(document, pf.PASSWORD)[0]
    password["outputs"]["value"] = canary
    password["additionalSecretOutputs"] = ["value"]
    secret = resources(document, pf.VAULT_SECRET)[0]
    secret["inputs"]["properties"]["value"] = canary + "-kv"
    envelope = {
        vocabulary.SECRET_ENVELOPE_KEY: vocabulary.SECRET_ENVELOPE_SIG,
        "value": canary + "-wrapped",
    }
    document["outputs"]["leaked"] = envelope
    # A raw secret copied into a place nothing marks secret is scrubbed as well.
    resources(document, pf.APPLICATION)[0]["inputs"]["notes"] = f"value is {canary}"
    plan = pf.plan_from_document(document)
    text = repr(plan)
    assert canary not in text
    assert pf.SECRET in text


def test_a_secret_marked_unknown_is_left_unknown() -> None:
    document = plan_document(stacks()[0])
    changed = resources(document, pf.PASSWORD)[0]
    changed["outputs"]["value"] = "[unknown]"
    password = pf.plan_from_document(document).by_urn()[changed["urn"]]
    assert password.outputs["value"] == "[unknown]"


def test_load_plans_reads_a_folder_by_stack_and_skips_other_json(tmp_path: Path) -> None:
    for path in PLANS.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "audit.json").write_text('{"auditVersion": 1}', encoding="utf-8")
    plans = pf.load_plans([tmp_path])
    assert [p.stack for p in plans] == stacks()


def test_a_failed_preview_is_loaded_as_a_failure_not_a_plan(tmp_path: Path) -> None:
    first, *rest = stacks()
    for stack in rest:
        (tmp_path / f"{stack}.json").write_text(
            (PLANS / f"{stack}.json").read_text(encoding="utf-8"), encoding="utf-8"
        )
    error = pf.error_document("partner-apps", first, "invalid configuration (1 problem):\n  x")
    (tmp_path / f"{first}{pf.ERROR_SUFFIX}").write_text(json.dumps(error), encoding="utf-8")
    plans, failures = pf.load_results([tmp_path])
    assert [p.stack for p in plans] == rest
    assert [(f.project, f.stack) for f in failures] == [("partner-apps", first)]
    assert failures[0].text == "preview failed: invalid configuration (1 problem):\n  x"
    assert [p.stack for p in pf.load_plans([tmp_path])] == rest
    # Given as a file, too; and a plan next to an error file for the same stack is an error.
    assert pf.load_results([tmp_path / f"{first}{pf.ERROR_SUFFIX}"]) == ([], failures[:1])
    with pytest.raises(pf.PlanError, match="also comes from"):
        pf.load_results([tmp_path, PLANS / f"{first}.json"])


def test_a_plan_of_another_version_is_refused_naming_the_file(tmp_path: Path) -> None:
    """One reader of the plan file: a plan written by another format version is not misread."""
    document = plan_document(stacks()[0])
    document["planVersion"] = 99
    path = tmp_path / "us.json"
    path.write_text(pf.dumps(document), encoding="utf-8")
    with pytest.raises(pf.PlanError, match=rf"^{re.escape(str(path))}: planVersion 99 is not"):
        pf.load_results([path])
    document["planVersion"] = pf.PLAN_VERSION
    path.write_text(pf.dumps(document), encoding="utf-8")
    assert [plan.stack for plan in pf.load_results([path])[0]] == [document["stack"]]


def test_the_stack_policy_list_comes_from_the_plan_else_the_pack() -> None:
    document = plan_document(stacks()[0])
    document.pop("policies", None)
    document["violations"] = []
    listed, source = pf.stack_policies(pf.plan_from_document(document))
    assert source == "pack"
    assert listed
    name = sorted(listed)[0]
    document["policies"] = [{"name": name, "severity": "low", "enforcementLevel": "disabled"}]
    listed, source = pf.stack_policies(pf.plan_from_document(document))
    assert source == "plan"
    assert list(listed) == [name]
    assert pf.policy_status(listed[name], 0) == "disabled"
    assert pf.policy_status(listed[name], 2) == "fail"
    assert pf.policy_status(None, 0) == "not run"


def test_unreadable_plans_raise_an_error_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "us.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(pf.PlanError, match=r"us\.json"):
        pf.load_plans([broken])
    with pytest.raises(pf.PlanError, match="not a plan"):
        pf.plan_from_document({"stack": "us"}, "x.json")
    broken.write_bytes(b'{"stack": "caf\xe9"}')
    with pytest.raises(pf.PlanError, match=r"us\.json: not UTF-8 \(byte 0xe9 at offset 14\)"):
        pf.load_plans([broken])


def test_the_same_stack_twice_is_an_error(tmp_path: Path) -> None:
    first = PLANS / f"{stacks()[0]}.json"
    copy_path = tmp_path / "copy.json"
    copy_path.write_text(first.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(pf.PlanError, match="also comes from"):
        pf.load_plans([first, copy_path])


def test_a_provider_in_another_tenant_is_flagged(catalog: pf.Catalog) -> None:
    document = plan_document(stacks()[0])
    provider: dict[str, Any] = next(
        r for r in document["resources"] if r["type"].startswith("pulumi:providers:")
    )
    provider["inputs"]["tenantId"] = "00000000-0000-4000-8000-00000000dead"
    view = pa.analyze(pf.plan_from_document(copy.deepcopy(document)), catalog)
    assert any("00000000-0000-4000-8000-00000000dead" in note for note in view.notes)


def test_markdown_helpers_escape_table_cells_and_backticks() -> None:
    assert md.cell("a|b\nc") == "a\\|b c"
    assert md.code("x`y") == "``x`y``"
    assert values.join_words(["eu", "us"]) == "eu and us"
    assert values.join_words(["a", "b", "c"]) == "a, b and c"
    assert values.format_unix(1822435200) == "2027-10-02"
    assert values.format_date("2027-10-01T00:00:00Z") == "2027-10-01"


def test_a_whole_secret_output_object_keeps_its_inputs_readable(catalog: pf.Catalog) -> None:
    document = plan_document(stacks()[0])
    secret = resources(document, pf.VAULT_SECRET)[0]
    secret["additionalSecretOutputs"] = ["properties"]
    secret["outputs"]["properties"] = {"value": "CANARY-object-secret", "contentType": "x"}
    plan = pf.plan_from_document(document)
    resource = plan.by_urn()[secret["urn"]]
    assert resource.outputs["properties"] == pf.SECRET
    assert resource.inputs["properties"]["value"] == pf.SECRET
    assert (
        resource.inputs["properties"]["contentType"]
        == secret["inputs"]["properties"]["contentType"]
    )
    view = pa.analyze(plan, catalog)
    row = next(s for v in view.vaults for s in v.secrets if s.urn == secret["urn"])
    assert row.expires[:4].isdigit()


def test_a_client_id_known_only_after_apply_is_matched_through_dependencies(
    catalog: pf.Catalog,
) -> None:
    document = plan_document(stacks()[0])
    before = pa.analyze(pf.plan_from_document(copy.deepcopy(document)), catalog)
    expected = {
        (app.key, r.in_plan_api, r.permission)
        for app in before.apps
        for r in app.permissions
        if r.in_plan_api
    }
    for application in resources(document, pf.APPLICATION):
        application["outputs"]["clientId"] = "[unknown]"
    for access in resources(document, pf.API_ACCESS):
        if access["inputs"]["apiClientId"] not in {
            "00000003-0000-0000-c000-000000000000",
            "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd",
            "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        }:
            access["inputs"]["apiClientId"] = "[unknown]"
    after = pa.analyze(pf.plan_from_document(document), catalog)
    found = {
        (app.key, r.in_plan_api, r.permission)
        for app in after.apps
        for r in app.permissions
        if r.in_plan_api
    }
    assert found == expected


def test_the_recorded_component_urn_names_the_app_not_the_resource_name(
    catalog: pf.Catalog,
) -> None:
    """A component whose name does not follow ``<stack>-<key>`` (an aliased or renamed one)
    still belongs to its app: the plan records each app's component URN."""
    document = plan_document("us")
    old = document["apps"]["partner-portal-api"]["componentUrn"]
    assert old.endswith("::us-partner-portal-api"), old
    new = old.removesuffix("us-partner-portal-api") + "legacy-portal-api"
    text = json.dumps(document).replace(f'"{old}"', f'"{new}"')
    renamed = json.loads(text)
    assert renamed["apps"]["partner-portal-api"]["componentUrn"] == new
    view = pa.analyze(pf.plan_from_document(renamed), catalog)
    assert {app.key for app in view.apps} == set(document["apps"]), (
        "apps.partner-portal-api.componentUrn: the app must be found by its recorded URN"
    )
    app = view.app("partner-portal-api")
    assert app is not None
    assert app.application_urn, "us/partner-portal-api: its application was not found"
