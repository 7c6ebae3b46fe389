"""customers plan with GDAP templates (issue 30 items 2, 5): relationships to create and lock,
access assignments, auto-extend, role-set migration, drift and expiries; plan writes nothing."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from partner_apps import exitcodes
from partner_apps.customers import entra_roles
from partner_apps.sandbox.customer_world import CustomerWorld
from partner_apps.sandbox.fakecloud.gdap import approve

GROUP = "11111111-2222-3333-4444-555555555555"
READERS = "66666666-7777-8888-9999-000000000000"
CONSENT_ROLES = ["Cloud Application Administrator", "Privileged Role Administrator"]


def template(**extra: Any) -> dict[str, Any]:
    return {"groups": {GROUP: list(CONSENT_ROLES)}, "autoExtendDuration": "P180D", **extra}


def use_file(cw: CustomerWorld, tmp_path: Path, document: dict[str, Any]) -> None:
    """This region's customers/us.yaml, in a copy of the world's project."""
    project = tmp_path / "project"
    if not project.exists():
        shutil.copytree(cw.project_dir, project)
        cw.project_dir = project
    (project / "customers").mkdir(exist_ok=True)
    (project / "customers" / "us.yaml").write_text(yaml.safe_dump(document))


def allow_gdap_writes(cw: CustomerWorld) -> None:
    """The SAM app with DelegatedAdminRelationship.ReadWrite.All consented in the partner tenant
    (apps.yaml asks only for .Read.All today: the lead adds it, see the report)."""
    for stack in ("us", "eu"):
        app = cw.cloud.find_app(cw.world.regions[stack].sam.client_id)
        app.delegated["https://graph.microsoft.com"].add("DelegatedAdminRelationship.ReadWrite.All")


def plan(cw: CustomerWorld) -> tuple[int, dict[str, Any]]:
    result = cw.run("customers", "plan", "--stack", "us", "--output", "json")
    assert result.out, result.err
    return result.code, json.loads(result.out)


def by_tenant(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["tenantId"]: c for c in document["customers"]}


def kinds(customer: dict[str, Any]) -> list[str]:
    return [a["action"] for a in customer["actions"]]


def partner(cw: CustomerWorld) -> Any:
    return cw.tenant(cw.world.regions["us"].tenant_id)


def test_a_template_for_all_customers_plans_create_and_lock_and_writes_nothing(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    allow_gdap_writes(cw)
    use_file(cw, tmp_path, {"gdap": {"templates": {"consent": template()}, "default": "consent"}})
    code, document = plan(cw)
    assert code == exitcodes.CHANGES
    assert cw.writes() == []
    for tenant in cw.customers["us"]:
        customer = by_tenant(document)[tenant]
        gdap = [a for a in customer["actions"] if a["app"] == "gdap"]
        assert [a["action"] for a in gdap] == ["gdap-create", "gdap-lock"]
        assert gdap[0]["values"] == sorted(CONSENT_ROLES)
        assert gdap[0]["resourceAppId"].startswith("consent-")
        assert len(gdap[0]["resourceAppId"]) <= 50
        # The seeded relationship (made by hand) is reported, not touched.
        assert [r["managed"] for r in customer["gdap"]["relationships"]] == [False]
        # The consents go on through the existing active relationship.
        assert "consent" in kinds(customer)


def test_a_customer_without_a_relationship_gets_one_and_its_consents_wait(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    allow_gdap_writes(cw)
    tenant = cw.customers["us"][0]
    partner(cw).relationships = [
        r for r in partner(cw).relationships if r["customer"]["tenantId"] != tenant
    ]
    use_file(cw, tmp_path, {"gdap": {"templates": {"consent": template()}, "default": "consent"}})
    code, document = plan(cw)
    assert code == exitcodes.CHANGES
    customer = by_tenant(document)[tenant]
    assert kinds(customer) == ["gdap-create", "gdap-lock"]
    assert "consent" in {a["action"] for a in customer["waiting"]}
    assert customer["read"] is False
    assert tenant not in {e["tenantId"] for e in document["excluded"]}
    assert cw.writes() == []


def _ours(cw: CustomerWorld, tenant: str, *, status: str = "active") -> dict[str, Any]:
    """Apply the GDAP part once and have the customer approve: the managed relationship."""
    assert cw.run("customers", "apply", "--stack", "us").code in (exitcodes.OK,)
    mine = next(
        r
        for r in partner(cw).relationships
        if r["customer"]["tenantId"] == tenant and r["displayName"].startswith("consent-")
    )
    if status == "active":
        approve(cw.cloud, cw.world.regions["us"].tenant_id, mine["id"])
    return dict(mine)


def test_after_approval_the_assignments_follow_and_a_clean_world_plans_nothing(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    allow_gdap_writes(cw)
    use_file(cw, tmp_path, {"gdap": {"templates": {"consent": template()}, "default": "consent"}})
    tenant = cw.customers["us"][0]
    _ours(cw, tenant)
    _, document = plan(cw)
    customer = by_tenant(document)[tenant]
    assert kinds(customer) == ["gdap-add-assignment"], customer
    assert customer["actions"][0]["values"] == sorted(CONSENT_ROLES)
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    code, document = plan(cw)
    assert code == exitcodes.OK, document["summary"]
    customer = by_tenant(document)[tenant]
    assert kinds(customer) == []
    assert customer["gdap"]["findings"] == []
    # The others wait for their customers' approval: said, with the link, and nothing to do.
    other = by_tenant(document)[cw.customers["us"][1]]
    assert other["gdap"]["approvalLinks"][0].startswith(
        "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/"
    )


def test_out_of_band_drift_shows_its_cause_and_fix(cw: CustomerWorld, tmp_path: Path) -> None:
    allow_gdap_writes(cw)
    use_file(
        cw,
        tmp_path,
        {
            "gdap": {
                "templates": {
                    "consent": template(groups={GROUP: CONSENT_ROLES, READERS: ["Global Reader"]})
                },
                "default": "consent",
            }
        },
    )
    tenant = cw.customers["us"][0]
    mine = _ours(cw, tenant)
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    # Out of band: a role taken from a group, the readers' assignment deleted, an extra group,
    # auto-extend switched off.
    assignments = partner(cw).access_assignments[mine["id"]]
    admins = next(a for a in assignments if a["accessContainer"]["accessContainerId"] == GROUP)
    admins["accessDetails"]["unifiedRoles"] = [
        {"roleDefinitionId": entra_roles.BY_NAME["Cloud Application Administrator"]}
    ]
    assignments[:] = [
        a for a in assignments if a["accessContainer"]["accessContainerId"] != READERS
    ]
    assignments.append(
        {
            "id": "extra-assignment",
            "status": "active",
            "accessContainer": {"accessContainerId": "99999999-0000-0000-0000-000000000009"},
            "accessDetails": {
                "unifiedRoles": [{"roleDefinitionId": entra_roles.BY_NAME["Global Reader"]}]
            },
            "@odata.etag": 'W/"x"',
        }
    )
    relationship = next(r for r in partner(cw).relationships if r["id"] == mine["id"])
    relationship["autoExtendDuration"] = "PT0S"
    before = len(cw.writes())
    _, document = plan(cw)
    assert len(cw.writes()) == before
    customer = by_tenant(document)[tenant]
    notes = {a["action"]: a.get("note", "") for a in customer["actions"]}
    assert set(notes) == {
        "gdap-add-assignment",
        "gdap-change-assignment",
        "gdap-remove-assignment",
        "gdap-auto-extend",
    }
    assert "missing Privileged Role Administrator" in notes["gdap-change-assignment"]
    assert "switched off" in notes["gdap-auto-extend"]
    # apply fixes all of it; the next plan is clean again.
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    _, document = plan(cw)
    assert kinds(by_tenant(document)[tenant]) == []


def test_a_relationship_expiring_soon_without_auto_extend_is_reported(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    allow_gdap_writes(cw)
    use_file(
        cw,
        tmp_path,
        {
            "gdap": {
                "templates": {"consent": template(autoExtendDuration="PT0S")},
                "default": "consent",
                "expiryWarningDays": 30,
            }
        },
    )
    first, second = cw.customers["us"][:2]
    now = cw.world.clock[0]
    seeded = next(r for r in partner(cw).relationships if r["customer"]["tenantId"] == first)
    seeded["endDateTime"] = (now + timedelta(days=10)).isoformat()
    _, document = plan(cw)
    findings = by_tenant(document)[first]["gdap"]["findings"]
    assert any("expires on" in f["cause"] and "within 30 days" in f["cause"] for f in findings)
    assert not by_tenant(document)[second]["gdap"]["findings"]


def test_the_plan_report_has_a_gdap_section_offboarding_and_a_forwardable_summary(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    allow_gdap_writes(cw)
    tenant, leaving = cw.customers["us"][:2]
    admin = template(
        groups={GROUP: [*CONSENT_ROLES, "Global Administrator"]},
        autoExtendDuration="PT0S",
        allowGlobalAdministrator=True,
        globalAdministratorReason="tenant migration project, until 2027-03",
    )
    use_file(
        cw,
        tmp_path,
        {
            "gdap": {"templates": {"consent": template(), "admin": admin}, "default": "consent"},
            "customers": {tenant: {"template": "admin"}, leaving: {"state": "offboard"}},
        },
    )
    result = cw.run("customers", "plan", "--stack", "us")
    assert result.code == exitcodes.CHANGES, result.err
    report = result.out
    assert "## GDAP relationships" in report
    assert f"### Customer US 0001 (`{tenant}`)" in report
    assert "⚠ Global Administrator" in report
    assert "## Offboarding" in report
    assert "remove the Partner Center consent" in report
    assert "## For each customer's change manager" in report
    assert "Your partner requests an admin relationship (GDAP) with the roles" in report
    # Nothing that changes between runs, apart from the dated plan time, and no secret.
    assert "CANARY" not in report
    again = cw.run("customers", "plan", "--stack", "us").out

    def undated(text: str) -> list[str]:
        # The plan's time (generatedAt) is its one dated field.
        return [
            line for line in text.splitlines() if "generated" not in line and "planned" not in line
        ]

    assert undated(report) == undated(again)


def test_a_relationship_terminated_out_of_band_is_replaced_under_a_new_name(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    allow_gdap_writes(cw)
    use_file(cw, tmp_path, {"gdap": {"templates": {"consent": template()}, "default": "consent"}})
    tenant = cw.customers["us"][0]
    mine = _ours(cw, tenant)
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    relationship = next(r for r in partner(cw).relationships if r["id"] == mine["id"])
    relationship["status"] = "terminated"  # by the customer, in the Microsoft 365 admin center
    _, document = plan(cw)
    customer = by_tenant(document)[tenant]
    assert kinds(customer)[:2] == ["gdap-create", "gdap-lock"]
    assert customer["actions"][0]["resourceAppId"] == f"{mine['displayName']}-2"
    assert {"status": "terminated", "managed": True}.items() <= next(
        r for r in customer["gdap"]["relationships"] if r["id"] == mine["id"]
    ).items()


def test_an_extra_grant_of_our_apps_is_reported_with_its_fix(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    allow_gdap_writes(cw)
    use_file(cw, tmp_path, {"gdap": {"templates": {"consent": template()}, "default": "consent"}})
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    tenant = cw.customers["us"][0]
    web = cw.client_ids["us"]["partner-portal-web"]
    web_sp = cw.principals(tenant, web)[0]["id"]
    grant = next(g for g in cw.grants(tenant) if g["clientId"] == web_sp)
    grant["scope"] += " Mail.Read"  # out of band: a scope apps.yaml does not ask for
    _, document = plan(cw)
    findings = by_tenant(document)[tenant]["gdap"]["findings"]
    assert any(
        "partner-portal-web holds delegated" in f["cause"]
        and "Mail.Read" in f["cause"]
        and "--prune" in f["fix"]
        for f in findings
    ), findings
