"""Issue 30's "done when", against the loopback cloud: a world of 200 customers plans GDAP,
consent and offboarding changes per customer; apply killed at random points and run again ends
with no duplicates; injected drift is reported; an offboarded customer's access is gone and
evidenced. Also counts the Graph calls GDAP adds per customer (issue 30 item 8)."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from partner_apps import exitcodes
from partner_apps.customers import entra_roles
from partner_apps.customers import region as region_module
from partner_apps.sandbox.customer_world import CustomerWorld, open_customer_world
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

CUSTOMERS = 200
GDAP_PATH = "/tenantRelationships/delegatedAdminRelationships"


@pytest.fixture
def big(tmp_path: Path) -> Iterator[CustomerWorld]:
    with open_customer_world(tmp_path / "world", us=CUSTOMERS, eu=1, lifetime=600.0) as opened:
        yield opened


def _gdap_calls(cw: CustomerWorld, start: int) -> Counter[str]:
    return Counter(
        r.method for r in cw.cloud.requests[start:] if r.service == "graph" and GDAP_PATH in r.path
    )


def _apply_killed(cw: CustomerWorld, rng: random.Random) -> None:
    """One apply killed after a random number of GDAP outcome lines (the write was made)."""
    real = region_module.AuditLog.write
    budget = {"left": rng.randint(1, 60)}

    def killed(self: Any, record: Any) -> None:
        if record.get("phase") == "outcome":
            budget["left"] -= 1
            if budget["left"] == 0:
                raise KeyboardInterrupt
        real(self, record)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(region_module.AuditLog, "write", killed)
        cw.run("customers", "apply", "--stack", "us", "--workers", "4")


def test_two_hundred_customers_gdap_consent_offboarding_kills_and_drift(
    big: CustomerWorld, tmp_path: Path
) -> None:
    cw = big
    rng = random.Random(30)  # a fixed seed: the same "random" kill points on every run
    allow_gdap_writes(cw)
    leaving = cw.customers["us"][-3:]
    use_file(
        cw,
        tmp_path,
        {
            "gdap": {"templates": {"consent": template()}, "default": "consent"},
            "customers": {tenant: {"state": "offboard"} for tenant in leaving},
        },
    )
    # Plan: every customer gets its relationship (create + lock) and its consents; the three
    # leaving ones their offboarding. Nothing is written.
    start = len(cw.cloud.requests)
    code, document = plan(cw)
    assert code == exitcodes.CHANGES
    assert cw.writes() == []
    staying = [t for t in cw.customers["us"] if t not in leaving]
    for tenant in staying:
        assert kinds(by_tenant(document)[tenant])[:2] == ["gdap-create", "gdap-lock"]
        assert "consent" in kinds(by_tenant(document)[tenant])
    for tenant in leaving:
        assert by_tenant(document)[tenant]["offboard"] is True
        # Nothing of ours can be read there (no consent yet): the consents' removal (a consent
        # already absent counts as removed) and the relationship's termination.
        assert set(kinds(by_tenant(document)[tenant])) == {
            "offboard-delete-consent",
            "gdap-terminate",
        }
    plan_calls = _gdap_calls(cw, start)
    # GDAP in plan: the region's listing of every relationship (all statuses, 300 a page) on top
    # of the active listing the consent plan already made; no per-customer call before the
    # managed relationship is active.
    assert plan_calls["GET"] <= 2 * (CUSTOMERS // 300 + 1) + 2 * CUSTOMERS

    # Apply, killed at random points, then run again until it is done.
    for _ in range(3):
        _apply_killed(cw, rng)
    assert cw.run("customers", "apply", "--stack", "us", "--workers", "4").code == exitcodes.OK
    for relationship in partner(cw).relationships:
        if relationship["status"] == "approvalPending":
            approve(cw.cloud, cw.world.regions["us"].tenant_id, relationship["id"])
    start = len(cw.cloud.requests)
    for _ in range(2):
        _apply_killed(cw, rng)
    assert cw.run("customers", "apply", "--stack", "us", "--workers", "4").code == exitcodes.OK
    assert set(Counter(cw.cloud.gdap_creates).values()) == {1}
    assert len(cw.cloud.gdap_creates) == len(staying)
    assert set(Counter(cw.cloud.gdap_assignment_creates).values()) == {1}
    assert len(cw.cloud.gdap_assignment_creates) == len(staying)
    code, document = plan(cw)
    assert code == exitcodes.OK, [
        (c["name"], c["actions"], c.get("gdap")) for c in document["customers"] if c["actions"]
    ]

    # Drift: a role removed out of band, auto-extend switched off: reported with cause and fix.
    drifted = staying[7]
    mine = next(
        r
        for r in partner(cw).relationships
        if r["customer"]["tenantId"] == drifted and r["displayName"].startswith("consent-")
    )
    assignment = partner(cw).access_assignments[mine["id"]][0]
    assignment["accessDetails"]["unifiedRoles"] = [
        {"roleDefinitionId": entra_roles.BY_NAME["Cloud Application Administrator"]}
    ]
    mine["autoExtendDuration"] = "PT0S"
    code, document = plan(cw)
    assert code == exitcodes.CHANGES
    customer = by_tenant(document)[drifted]
    assert sorted(kinds(customer)) == ["gdap-auto-extend", "gdap-change-assignment"]
    assert all(a["note"] for a in customer["actions"])
    assert [c for c in document["customers"] if c["actions"]] == [customer]

    # The offboarded customers: no access left, evidenced by verify and the audit.
    audit = [
        json.loads(line)
        for line in (cw.audit_dir / "us-audit.jsonl").read_text("utf-8").splitlines()
    ]
    records = [x for x in audit if x.get("phase") == "offboarding"]
    assert sorted(x["tenantId"] for x in records) == sorted(leaving)
    for tenant in leaving:
        statuses = {
            r["status"] for r in partner(cw).relationships if r["customer"]["tenantId"] == tenant
        }
        assert statuses <= {"terminated", "terminationRequested"}
    assert GROUP in json.dumps(document)
