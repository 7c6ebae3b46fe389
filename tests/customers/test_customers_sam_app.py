"""The Secure Application Model app in the customer tenants: its own consent comes first, and each
permission apps.yaml declares for it is one the commands need (the loopback Graph checks the
delegated token's ``scp`` per call, as Graph does)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from partner_apps import exitcodes
from partner_apps.sandbox.customer_world import CustomerWorld, sam_scopes
from partner_apps.sandbox.world import SAM
from tests.conftest import ROOT, copy_project, edit_yaml


def _without(cw: CustomerWorld, tmp_path: Path, *permissions: str) -> None:
    """A project whose SAM app lacks ``permissions``, admin-consented as such in the partner
    tenants (so its tokens there and its consent in the customers lack them too)."""
    project = tmp_path / "project"
    project.mkdir()
    copy_project(project)

    def drop(document: dict[str, Any]) -> None:
        sam = document["apps"][SAM]
        before = len(sam["permissions"])
        sam["permissions"] = [p for p in sam["permissions"] if p["permission"] not in permissions]
        assert len(sam["permissions"]) == before - len(permissions), permissions

    edit_yaml(project / "apps.yaml", drop)
    cw.project_dir = project
    for region in cw.world.regions.values():
        app = cw.cloud.find_app(region.sam.client_id)
        assert app is not None
        app.delegated = sam_scopes(project)


def test_a_customer_the_sam_app_cannot_read_yet_is_planned_as_empty(cw: CustomerWorld) -> None:
    result = cw.run("customers", "plan", "--stack", "us", "--output", "json")
    assert result.code == exitcodes.CHANGES, result.out
    plan = json.loads(result.out)
    assert plan["apps"][0]["app"] == SAM
    assert plan["apps"][0]["secureApplicationModel"] is True
    sam_grants = {g["permission"] for g in plan["apps"][0]["grants"]}
    # Partner-tenant-only permissions are never granted in a customer.
    assert "DelegatedAdminRelationship.Read.All" not in sam_grants
    assert "DelegatedAdminRelationship.ReadWrite.All" not in sam_grants
    assert "Application.ReadWrite.All" in sam_grants
    for customer in plan["customers"]:
        assert customer["read"] is False, customer["tenantId"]
        consents = [a["app"] for a in customer["actions"] if a["action"] == "consent"]
        assert consents[0] == SAM, customer["tenantId"]
    markdown = cw.run("customers", "plan", "--stack", "us").out
    assert "not read yet" in markdown
    assert "`Application.ReadWrite.All` | delegated | **high**" in markdown


@pytest.mark.parametrize(
    ("permission", "refused"),
    [
        ("Application.ReadWrite.All", "reading"),
        ("AppRoleAssignment.ReadWrite.All", "assigning"),
    ],
)
def test_each_graph_permission_of_the_sam_app_is_needed(
    cw: CustomerWorld, tmp_path: Path, permission: str, refused: str
) -> None:
    _without(cw, tmp_path, permission)
    result = cw.run("customers", "apply", "--stack", "us", "--output", "json")
    assert result.code != exitcodes.OK, result.out
    outcomes = json.loads(result.out)["customers"]
    assert len(outcomes) == len(cw.customers["us"])
    for outcome in outcomes:
        assert "Graph refused" in outcome["cause"], outcome
        assert refused in outcome["cause"], outcome


def test_the_sam_app_needs_delegated_grant_writes_to_repair_a_grant(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    tenant = cw.customers["us"][0]
    web = cw.principals(tenant, cw.client_ids["us"]["partner-portal-web"])[0]
    grant = next(g for g in cw.grants(tenant) if g["clientId"] == web["id"])
    grant["scope"] = "openid"  # someone narrowed it in the customer tenant
    full = cw.project_dir
    _without(cw, tmp_path, "DelegatedPermissionGrant.ReadWrite.All")
    # The consent was made with the full set: take the permission away in the tenant too.
    sam = cw.principals(tenant, cw.client_ids["us"][SAM])[0]
    for item in cw.grants(tenant):
        if item["clientId"] == sam["id"]:
            item["scope"] = item["scope"].replace("DelegatedPermissionGrant.ReadWrite.All", "")
    result = cw.run("customers", "apply", "--stack", "us", "--output", "json")
    assert result.code != exitcodes.OK
    failed = [c for c in json.loads(result.out)["customers"] if c.get("cause")]
    assert [c["tenantId"] for c in failed] == [tenant]
    assert "Graph refused extending a delegated grant" in failed[0]["cause"]
    cw.project_dir = full


def test_the_gdap_list_needs_delegated_admin_relationship_read(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    # .ReadWrite.All reads relationships too (Graph's permissions tables): both must go.
    _without(
        cw,
        tmp_path,
        "DelegatedAdminRelationship.Read.All",
        "DelegatedAdminRelationship.ReadWrite.All",
    )
    result = cw.run("customers", "plan", "--stack", "us")
    assert result.code == exitcodes.PARTNER_CENTER, result.err
    assert "DelegatedAdminRelationship.Read.All" in result.err
    assert cw.cloud.consent_posts == []


def test_only_the_sam_app_whose_token_is_used_is_consented_in_customers() -> None:
    from partner_apps.customers.desired import desired_apps
    from partner_apps.sam.target import load_apps

    apps = dict(load_apps(ROOT))
    apps["second-sam"] = {**apps[SAM], "displayName": "Another SAM app"}
    outputs = {"apps": {key: {"clientId": f"client-{key}"} for key in apps}}
    chosen = desired_apps("us", apps, outputs, sam_app=SAM)
    assert [(app.key, app.bootstrap) for app in chosen] == [
        (SAM, True),
        ("partner-portal-api", False),
        ("partner-portal-web", False),
    ]
    # --app narrows the partner-managed apps, never the SAM app's own consent.
    narrowed = desired_apps("us", apps, outputs, ["partner-portal-api"], sam_app=SAM)
    assert [app.key for app in narrowed] == [SAM, "partner-portal-api"]
