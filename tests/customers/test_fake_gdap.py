"""The loopback fake's GDAP relationships as Graph documents them (issue 30 item 7): states,
requests, access assignments, long-running operations, If-Match."""

from __future__ import annotations

import json
from typing import Any

from partner_apps.sandbox.fakecloud.gdap import Call, Relationships, approve
from partner_apps.sandbox.fakecloud.state import Cloud, PartnerTenant

PARTNER = "p0000000-0000-0000-0000-000000000001"
CUSTOMER = "c0000000-0000-0000-0000-000000000001"
CAA = "158c047a-c907-4556-b7ef-446551a6b5f7"
PRA = "e8611ab8-c189-46e8-94e1-60213ab1f814"
GA = "62e90394-69f5-4237-9190-012177145e10"
GROUP = "11111111-2222-3333-4444-555555555555"


def _fake() -> tuple[Cloud, Relationships, PartnerTenant]:
    cloud = Cloud()
    cloud.tenant(PARTNER, "Partner")
    return cloud, Relationships(cloud, "https://graph.test"), cloud.partners[PARTNER]


def _send(
    fake: Relationships,
    partner: PartnerTenant,
    method: str,
    *rest: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    status, answer_headers, payload = fake(
        Call(partner, method, list(rest), {}, body or {}, headers or {})
    )
    return status, answer_headers, json.loads(payload) if payload else None


def _roles(*ids: str) -> dict[str, Any]:
    return {"unifiedRoles": [{"roleDefinitionId": i} for i in ids]}


def _create(fake: Relationships, partner: PartnerTenant, **extra: Any) -> dict[str, Any]:
    body = {
        "displayName": "consent-abc123-c0000000",
        "duration": "P730D",
        "customer": {"tenantId": CUSTOMER},
        "accessDetails": _roles(CAA, PRA),
        "autoExtendDuration": "P180D",
        **extra,
    }
    status, headers, created = _send(fake, partner, "POST", body=body)
    assert status == 201, created
    assert headers["Location"].endswith(created["id"])
    return dict(created)


def test_a_relationship_goes_created_approval_pending_active_terminated() -> None:
    cloud, fake, partner = _fake()
    created = _create(fake, partner)
    assert created["status"] == "created"
    status, _, _ = _send(fake, partner, "POST", created["id"], "requests", body={"action": "x"})
    assert status == 400
    status, headers, request = _send(
        fake, partner, "POST", created["id"], "requests", body={"action": "lockForApproval"}
    )
    assert (status, request["action"], request["status"]) == (201, "lockForApproval", "created")
    assert "/requests/" in headers["Location"]
    assert _send(fake, partner, "GET", created["id"])[2]["status"] == "approvalPending"
    approve(cloud, PARTNER, created["id"])
    active = _send(fake, partner, "GET", created["id"])[2]
    assert active["status"] == "active"
    assert active["activatedDateTime"]
    assert active["endDateTime"]
    status, _, _ = _send(
        fake, partner, "POST", created["id"], "requests", body={"action": "terminate"}
    )
    assert status == 201
    # terminationRequested, then terminated at the next read.
    assert _send(fake, partner, "GET", created["id"])[2]["status"] == "terminated"


def test_creation_refuses_what_graph_refuses() -> None:
    _, fake, partner = _fake()
    _create(fake, partner)
    for extra in (
        {"displayName": "consent-abc123-c0000000"},  # the name is taken
        {"displayName": "x" * 51},
        {"displayName": "other", "duration": "P731D"},
        {"displayName": "other", "autoExtendDuration": "P90D"},
        {"displayName": "other", "accessDetails": _roles(GA)},  # GA with auto-extend
    ):
        body = {
            "displayName": "other",
            "duration": "P730D",
            "accessDetails": _roles(CAA),
            "autoExtendDuration": "P180D",
            **extra,
        }
        status, _, answer = _send(fake, partner, "POST", body=body)
        assert status in (400, 409), (extra, answer)
    assert len(partner.relationships) == 1


def test_update_needs_if_match_and_only_auto_extend_changes_once_active() -> None:
    cloud, fake, partner = _fake()
    created = _create(fake, partner)
    assert _send(fake, partner, "PATCH", created["id"], body={"duration": "P30D"})[0] == 412
    etag = {"If-Match": created["@odata.etag"]}
    status, _, updated = _send(
        fake, partner, "PATCH", created["id"], body={"duration": "P30D"}, headers=etag
    )
    assert (status, updated["duration"]) == (200, "P30D")
    _send(fake, partner, "POST", created["id"], "requests", body={"action": "lockForApproval"})
    approve(cloud, PARTNER, created["id"])
    current = _send(fake, partner, "GET", created["id"])[2]
    etag = {"If-Match": current["@odata.etag"]}
    assert (
        _send(fake, partner, "PATCH", created["id"], body={"duration": "P9D"}, headers=etag)[0]
        == 400
    )
    status, _, updated = _send(
        fake, partner, "PATCH", created["id"], body={"autoExtendDuration": "PT0S"}, headers=etag
    )
    assert (status, updated["autoExtendDuration"]) == (200, "PT0S")
    # The Graph page's reading: an active relationship does not change at all.
    cloud.gdap_auto_extend_active = False
    etag = {"If-Match": updated["@odata.etag"]}
    body = {"autoExtendDuration": "P180D"}
    assert _send(fake, partner, "PATCH", created["id"], body=body, headers=etag)[0] == 400


def test_access_assignments_pending_active_changed_by_an_operation_and_deleted() -> None:
    cloud, fake, partner = _fake()
    created = _create(fake, partner)
    body = {
        "accessContainer": {"accessContainerId": GROUP, "accessContainerType": "securityGroup"},
        "accessDetails": _roles(CAA),
    }
    # Not before the customer approved.
    assert _send(fake, partner, "POST", created["id"], "accessAssignments", body=body)[0] == 400
    _send(fake, partner, "POST", created["id"], "requests", body={"action": "lockForApproval"})
    approve(cloud, PARTNER, created["id"])
    outside = {**body, "accessDetails": _roles(GA)}
    assert _send(fake, partner, "POST", created["id"], "accessAssignments", body=outside)[0] == 400
    status, headers, assignment = _send(
        fake, partner, "POST", created["id"], "accessAssignments", body=body
    )
    assert (status, assignment["status"]) == (201, "pending")
    assert headers["Location"].endswith(assignment["id"])
    assert _send(fake, partner, "POST", created["id"], "accessAssignments", body=body)[0] == 409
    listed = _send(fake, partner, "GET", created["id"], "accessAssignments")[2]["value"]
    assert [a["status"] for a in listed] == ["active"]
    etag = {"If-Match": listed[0]["@odata.etag"]}
    change = {"accessDetails": _roles(CAA, PRA)}
    path = (created["id"], "accessAssignments", assignment["id"])
    status, headers, _ = _send(fake, partner, "PATCH", *path, body=change, headers=etag)
    assert status == 202
    assert headers["Retry-After"] == "10"
    operation = headers["Location"].rsplit("/", 1)[1]
    seen = [
        _send(fake, partner, "GET", created["id"], "operations", operation)[2]["status"]
        for _ in range(2)
    ]
    assert seen == ["running", "succeeded"]
    changed = _send(fake, partner, "GET", *path)[2]
    assert {r["roleDefinitionId"] for r in changed["accessDetails"]["unifiedRoles"]} == {CAA, PRA}
    assert _send(fake, partner, "DELETE", *path)[0] == 412
    status, _, _ = _send(
        fake, partner, "DELETE", *path, headers={"If-Match": changed["@odata.etag"]}
    )
    assert status == 204
    assert _send(fake, partner, "GET", created["id"], "accessAssignments")[2]["value"] == []
