"""customers apply of GDAP changes and offboarding (issue 30 items 3, 4): killed anywhere and run
again it ends with no duplicate relationship or assignment; a role-set migration terminates the
old relationship once the new one is active; offboarding removes our access in the documented
order, then verify and the audit show it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from partner_apps import exitcodes
from partner_apps.customers import region as region_module
from partner_apps.sandbox.customer_world import CustomerWorld
from partner_apps.sandbox.fakecloud.gdap import approve
from tests.customers.test_customers_gdap_plan import (
    GROUP,
    allow_gdap_writes,
    by_tenant,
    kinds,
    partner,
    plan,
    template,
    use_file,
)

DEFAULT = {"gdap": {"templates": {"consent": template()}, "default": "consent"}}


def _approve_all(cw: CustomerWorld) -> None:
    for relationship in partner(cw).relationships:
        if relationship["status"] == "approvalPending":
            approve(cw.cloud, cw.world.regions["us"].tenant_id, relationship["id"])


def _audit(cw: CustomerWorld) -> list[dict[str, Any]]:
    path = cw.audit_dir / "us-audit.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def _apply(cw: CustomerWorld) -> int:
    return cw.run("customers", "apply", "--stack", "us", "--workers", "1").code


@pytest.mark.parametrize("kill_at", [1, 2, 3, 4, 6, 9])
def test_apply_killed_at_any_write_and_run_again_makes_no_duplicates(
    cw: CustomerWorld, tmp_path: Path, kill_at: int
) -> None:
    allow_gdap_writes(cw)
    use_file(cw, tmp_path, DEFAULT)
    real = region_module.AuditLog.write
    seen = {"gdap": 0}

    def killed(self: Any, record: Any) -> None:
        # Killed right after the kill_at-th GDAP write reached Graph, before its outcome line.
        if record.get("phase") == "outcome" and record.get("app") == "gdap":
            seen["gdap"] += 1
            if seen["gdap"] == kill_at:
                raise KeyboardInterrupt
        real(self, record)

    for phase in ("before approval", "after approval"):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(region_module.AuditLog, "write", killed)
            cw.run("customers", "apply", "--stack", "us", "--workers", "1")
        assert _apply(cw) == exitcodes.OK, phase
        if phase == "before approval":
            _approve_all(cw)
            seen["gdap"] = 0
    assert _apply(cw) == exitcodes.OK
    assert plan(cw)[0] == exitcodes.OK
    names = Counter(cw.cloud.gdap_creates)
    assert set(names.values()) == {1}, names
    assert len(names) == len(cw.customers["us"])
    assignments = Counter(cw.cloud.gdap_assignment_creates)
    assert set(assignments.values()) == {1}, assignments
    # Every intent was resolved or has its outcome.
    lines = _audit(cw)
    closed = {x["intentId"] for x in lines if x.get("phase") in ("outcome", "resolution")}
    assert {x["intentId"] for x in lines if x.get("phase") == "intent"} <= closed


def test_a_role_set_migration_terminates_the_old_relationship_once_the_new_is_active(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    allow_gdap_writes(cw)
    use_file(cw, tmp_path, DEFAULT)
    tenant = cw.customers["us"][0]
    report = cw.run("customers", "apply", "--stack", "us").out
    assert "## GDAP approval links" in report
    assert "granularAdminRelationships/" in report
    _approve_all(cw)
    assert _apply(cw) == exitcodes.OK
    old = {
        r["displayName"]
        for r in partner(cw).relationships
        if r["displayName"].startswith("consent-")
    }
    # The template loses Privileged Role Administrator: a new relationship, then the old goes.
    narrower = template(groups={GROUP: ["Cloud Application Administrator"]})
    use_file(cw, tmp_path, {"gdap": {"templates": {"consent": narrower}, "default": "consent"}})
    _, document = plan(cw)
    customer = by_tenant(document)[tenant]
    assert kinds(customer)[:2] == ["gdap-create", "gdap-lock"]
    assert "role-set migration" in customer["actions"][0]["note"]
    assert "gdap-terminate" not in kinds(customer)  # not before the new one is active
    assert _apply(cw) == exitcodes.OK
    _approve_all(cw)
    _, document = plan(cw)
    customer = by_tenant(document)[tenant]
    assert kinds(customer) == ["gdap-add-assignment", "gdap-terminate"]
    assert customer["actions"][1]["resourceAppId"] in old
    assert _apply(cw) == exitcodes.OK
    statuses = {
        r["displayName"]: r["status"]
        for r in partner(cw).relationships
        if r["customer"]["tenantId"] == tenant
    }
    ended = [
        n for n, s in statuses.items() if n in old and s in ("terminated", "terminationRequested")
    ]
    assert len(ended) == 1
    assert plan(cw)[0] == exitcodes.OK


def test_without_the_write_permission_plan_says_blocked_and_apply_writes_no_gdap(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    # apps.yaml asks for the write permission, but the partner admin has not consented again
    # since: the SAM app's token in the partner tenant has DelegatedAdminRelationship.Read.All only.
    for stack in ("us", "eu"):
        app = cw.cloud.find_app(cw.world.regions[stack].sam.client_id)
        app.delegated["https://graph.microsoft.com"].discard(
            "DelegatedAdminRelationship.ReadWrite.All"
        )
    use_file(cw, tmp_path, DEFAULT)
    code, document = plan(cw)
    assert code == exitcodes.CUSTOMERS_FAILED
    customer = by_tenant(document)[cw.customers["us"][0]]
    assert customer["blocked"] == ["DelegatedAdminRelationship.ReadWrite.All"]
    assert "sam consent" in customer["fix"]
    result = cw.run("customers", "apply", "--stack", "us", "--output", "json")
    assert result.code == exitcodes.CUSTOMERS_FAILED
    assert cw.cloud.gdap_creates == []


def test_offboarding_removes_our_access_in_order_then_verify_and_the_audit_show_it(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    allow_gdap_writes(cw)
    gone, kept = cw.customers["us"][:2]
    assert _apply(cw) == exitcodes.OK  # consented everywhere first
    use_file(cw, tmp_path, {"customers": {gone: {"state": "offboard"}}})
    before = len(cw.writes())
    code, document = plan(cw)
    assert code == exitcodes.CHANGES
    assert len(cw.writes()) == before
    customer = by_tenant(document)[gone]
    order = kinds(customer)
    assert customer["offboard"] is True
    documented = [
        "offboard-remove-app-role",
        "offboard-remove-grant",
        "offboard-delete-principal",
        "offboard-delete-consent",
        "gdap-terminate",
    ]
    # Our apps' removals in the documented order, then the SAM app's own (its grants are what
    # the removals are made with), then the consents and the relationship.
    ours = [a["action"] for a in customer["actions"] if a["app"] != "partner-center-sam"]
    assert ours == sorted(ours, key=documented.index)
    graph_part = [
        a
        for a in customer["actions"]
        if a["action"].startswith("offboard-") and a["action"] != "offboard-delete-consent"
    ]
    sam_from = next(i for i, a in enumerate(graph_part) if a["app"] == "partner-center-sam")
    assert all(a["app"] == "partner-center-sam" for a in graph_part[sam_from:])
    assert order[-1] == "gdap-terminate"
    # The SAM app's own service principal goes last of the principals.
    principals = [
        a["app"] for a in customer["actions"] if a["action"] == "offboard-delete-principal"
    ]
    assert principals[-1] == "partner-center-sam"
    assert kinds(by_tenant(document)[kept]) == []
    # Before the apply, verify says the offboarded customer still has access.
    early = cw.run("customers", "verify", "--stack", "us", "--output", "json")
    assert early.code == exitcodes.CUSTOMERS_FAILED
    assert {r["cause"] for r in json.loads(early.out)["results"] if r["tenantId"] == gone} >= {
        "offboarded, but the app still gets a token in this tenant"
    }
    assert _apply(cw) == exitcodes.OK
    for client_id in cw.client_ids["us"].values():
        assert cw.principals(gone, client_id) == []
    assert cw.grants(gone) == []
    assert cw.tenant(cw.world.regions["us"].tenant_id).application_consents.get(gone, []) == []
    statuses = {r["status"] for r in partner(cw).relationships if r["customer"]["tenantId"] == gone}
    assert statuses <= {"terminated", "terminationRequested"}
    records = [x for x in _audit(cw) if x.get("phase") == "offboarding"]
    assert len(records) == 1
    assert records[0]["tenantId"] == gone
    assert records[0]["when"]
    removed = Counter(item["action"] for item in records[0]["removed"])
    assert removed["offboard-delete-consent"] == len(cw.client_ids["us"])
    assert removed["gdap-terminate"] == 1
    verified = cw.run("customers", "verify", "--stack", "us", "--output", "json")
    assert verified.code == exitcodes.OK, verified.out
    results = json.loads(verified.out)["results"]
    leaving = {r["app"]: r["state"] for r in results if r["tenantId"] == gone}
    assert leaving == {**dict.fromkeys(cw.client_ids["us"], "offboarded"), "gdap": "offboarded"}
    assert {r["state"] for r in results if r["tenantId"] == kept} == {"verified"}
    # The kept customer is untouched, and a second apply changes nothing.
    assert cw.principals(kept, cw.client_ids["us"]["partner-portal-api"])
    assert _apply(cw) == exitcodes.OK
    assert len([x for x in _audit(cw) if x.get("phase") == "offboarding"]) == 1
    # No secret in any report, progress line or audit line.
    shown = "\n".join(cw.world.texts) + (cw.audit_dir / "us-audit.jsonl").read_text("utf-8")
    assert not [secret for secret in cw.cloud.minted if secret in shown]


def test_gdap_writes_whose_answers_are_lost_are_made_once(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    from partner_apps.sandbox.fakecloud.state import Fault

    allow_gdap_writes(cw)
    use_file(cw, tmp_path, DEFAULT)
    path = "delegatedAdminRelationships"
    cw.cloud.faults += [
        Fault("graph", "POST", path, action="lose", times=1),
        Fault("graph", "POST", "/requests", action="lose", times=1),
    ]
    assert _apply(cw) == exitcodes.OK
    _approve_all(cw)
    cw.cloud.faults.append(Fault("graph", "POST", "/accessAssignments", action="lose", times=1))
    assert _apply(cw) == exitcodes.OK
    assert set(Counter(cw.cloud.gdap_creates).values()) == {1}
    assert set(Counter(cw.cloud.gdap_assignment_creates).values()) == {1}
    assert len(cw.cloud.gdap_assignment_creates) == len(cw.customers["us"])
    assert plan(cw)[0] == exitcodes.OK


def test_gdap_writes_throttled_or_failing_are_retried_and_made_once(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    """Graph's throttling (429 with Retry-After, "Microsoft Graph throttling guidance") and
    transient 5xx on every GDAP write: the run waits or retries, and each relationship and
    access assignment exists once."""
    from partner_apps.sandbox.fakecloud.state import Fault

    allow_gdap_writes(cw)
    use_file(cw, tmp_path, DEFAULT)
    path = "delegatedAdminRelationships"
    cw.cloud.faults += [
        Fault("graph", "POST", path, status=429, headers={"Retry-After": "1"}, times=1),
        Fault("graph", "POST", "/requests", status=503, times=1),
    ]
    assert _apply(cw) == exitcodes.OK
    _approve_all(cw)
    cw.cloud.faults += [
        Fault("graph", "POST", "/accessAssignments", status=429, headers={"Retry-After": "1"}),
        Fault("graph", "POST", "/accessAssignments", status=502, times=1),
    ]
    assert _apply(cw) == exitcodes.OK
    unserved = [(f.method, f.path_contains, f.status) for f in cw.cloud.faults if f.times]
    assert unserved == [], f"faults the run never met: {unserved}"
    assert set(Counter(cw.cloud.gdap_creates).values()) == {1}
    assert set(Counter(cw.cloud.gdap_assignment_creates).values()) == {1}
    assert len(cw.cloud.gdap_assignment_creates) == len(cw.customers["us"])
    assert plan(cw)[0] == exitcodes.OK


def test_auto_extend_refused_on_an_active_relationship_names_partner_center_as_the_fix(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    """The Graph update page's reading (only a created relationship changes): the write fails
    for that customer with the fix; Partner Center's reading is the other tests' default."""
    allow_gdap_writes(cw)
    off = template(autoExtendDuration="PT0S")
    use_file(cw, tmp_path, {"gdap": {"templates": {"consent": off}, "default": "consent"}})
    assert _apply(cw) == exitcodes.OK
    _approve_all(cw)
    assert _apply(cw) == exitcodes.OK
    use_file(cw, tmp_path, DEFAULT)  # the template now auto-extends
    cw.cloud.gdap_auto_extend_active = False
    result = cw.run("customers", "apply", "--stack", "us", "--output", "json")
    assert result.code == exitcodes.CUSTOMERS_FAILED
    failed = [c for c in json.loads(result.out)["customers"] if c.get("cause")]
    assert len(failed) == len(cw.customers["us"])
    assert all("Partner Center" in c["fix"] for c in failed)
    cw.cloud.gdap_auto_extend_active = True
    assert _apply(cw) == exitcodes.OK
    assert plan(cw)[0] == exitcodes.OK


def test_a_reviewed_plan_is_refused_once_the_customer_file_changed(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    allow_gdap_writes(cw)
    use_file(cw, tmp_path, DEFAULT)
    reviewed = tmp_path / "us-plan.json"
    result = cw.run("customers", "plan", "--stack", "us", "--output", "json")
    reviewed.write_text(result.out, encoding="utf-8")
    assert json.loads(result.out)["inputs"]["customersYamlSha256"]
    use_file(cw, tmp_path, {**DEFAULT, "customers": {cw.customers["us"][0]: {"state": "offboard"}}})
    refused = cw.run("customers", "apply", "--stack", "us", "--plan", str(reviewed))
    assert refused.code == exitcodes.PLAN_CHANGED
    assert "customers/us.yaml changed since the plan was made" in refused.err
    assert cw.writes() == []
