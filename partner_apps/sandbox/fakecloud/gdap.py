"""Graph ``tenantRelationships/delegatedAdminRelationships`` in a partner tenant: GDAP
relationships, their requests, access assignments and long-running operations.

Each behaviour names its source (Microsoft Graph v1.0 reference pages; README.md, "Microsoft
Graph", lists them). Where the pages are silent the behaviour says [silent] and which reading the
fake takes; ``Cloud`` switches run the other.

States (Graph ``delegatedAdminRelationshipStatus``): a relationship is ``created`` by POST,
``approvalPending`` after the ``lockForApproval`` request, ``active`` once the customer approves
(``approve``: the test plays the customer's Global Administrator opening the approval link),
``terminationRequested`` after the ``terminate`` request and ``terminated`` at the next read,
``expired`` past its ``endDateTime`` (``expire``). An access assignment is ``pending`` when
created and ``active`` at the next read; DELETE makes it ``deleting``, gone at the next read
(Graph ``delegatedAdminAccessAssignmentStatus``: pending, active, deleting, deleted, error).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from .state import Cloud, PartnerTenant

Response = tuple[int, dict[str, str], bytes]

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
# Graph "delegatedAdminRelationship": autoExtendDuration "Supported values are: P0D, PT0S, P180D".
AUTO_EXTEND_VALUES = ("P0D", "PT0S", "P180D")
_DAYS = re.compile(r"^P([0-9]+)D$")
_YEARS = re.compile(r"^P([12])Y$")
# Statuses in which a relationship no longer changes.
ENDED = ("terminated", "expired")


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    content = {"Content-Type": "application/json", **(headers or {})}
    return status, content, json.dumps(body).encode()


@dataclass(frozen=True)
class Call:
    """One request to ``.../delegatedAdminRelationships``: ``rest`` is the path below it."""

    partner: PartnerTenant
    method: str
    rest: list[str]
    query: dict[str, str]
    document: dict[str, Any]
    headers: dict[str, str]


def _error(status: int, code: str, message: str) -> Response:
    return _json(status, {"error": {"code": code, "message": message}})


def _days(duration: str) -> int | None:
    """Days of an ISO-8601 duration Graph accepts (``P<n>D`` or ``P1Y``/``P2Y``), else None."""
    found = _DAYS.match(duration)
    if found:
        return int(found.group(1))
    years = _YEARS.match(duration)
    return 365 * int(years.group(1)) if years else None


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _roles(document: dict[str, Any]) -> list[str]:
    details = document.get("accessDetails") or {}
    return [
        str(role.get("roleDefinitionId", "")).lower()
        for role in (details.get("unifiedRoles") or [])
        if isinstance(role, dict)
    ]


class Relationships:
    """The GDAP part of one Graph server (shares the cloud's lock and state)."""

    def __init__(self, cloud: Cloud, base: str) -> None:
        self.cloud = cloud
        self.base = base

    # -- helpers -------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.cloud.gdap_now()

    def _etag(self) -> str:
        self.cloud.gdap_etags += 1
        return f'W/"{self.cloud.gdap_etags}"'

    def _url(self, *parts: str) -> str:
        root = f"{self.base}/v1.0/tenantRelationships/delegatedAdminRelationships"
        return "/".join([root, *parts])

    @staticmethod
    def _find(partner: PartnerTenant, relationship_id: str) -> dict[str, Any] | None:
        return next((r for r in partner.relationships if r["id"] == relationship_id), None)

    def _settle(self, partner: PartnerTenant) -> None:
        """What happens between two reads: a requested termination completes, a pending access
        assignment becomes active and a deleting one is gone, a running operation advances, an
        active relationship past its end expires (Graph's statuses; the timing is [silent]: one
        read later is this fake's reading, and the product re-reads until it sees the end state)."""
        now = self._now()
        for relationship in partner.relationships:
            if relationship["status"] in ("terminationRequested", "terminating"):
                relationship["status"] = "terminated"
                relationship["endDateTime"] = _stamp(now)
                relationship["@odata.etag"] = self._etag()
            end = relationship.get("endDateTime")
            if relationship["status"] == "active" and end and _parse(end) <= now:
                if relationship.get("autoExtendDuration") == "P180D":
                    # Partner Center: an auto-extended GDAP "rolls forward by six months".
                    relationship["endDateTime"] = _stamp(_parse(end) + timedelta(days=180))
                else:
                    relationship["status"] = "expired"
            assignments = partner.access_assignments.get(relationship["id"], [])
            for assignment in list(assignments):
                if assignment["status"] == "pending" and relationship["status"] == "active":
                    assignment["status"] = "active"
                    assignment["@odata.etag"] = self._etag()
                elif assignment["status"] == "deleting":
                    assignments.remove(assignment)
        for operation in self.cloud.gdap_operations.values():
            if operation["status"] == "notStarted":
                operation["status"] = "running"
            elif operation["status"] == "running":
                operation["status"] = "succeeded"
                target = operation.pop("_apply", None)
                if target is not None:
                    assignment, roles = target
                    assignment["accessDetails"] = {
                        "unifiedRoles": [{"roleDefinitionId": r} for r in roles]
                    }
                    assignment["@odata.etag"] = self._etag()

    def _if_match(self, headers: dict[str, str], item: dict[str, Any]) -> Response | None:
        """Graph's update and delete of a relationship or an access assignment require
        ``If-Match`` with the last known ETag ("Required" on each page). The answer to a missing
        or stale one is [silent]: 412 Precondition Failed (HTTP's answer to a failed If-Match,
        RFC 9110) is this fake's."""
        sent = next((v for k, v in headers.items() if k.lower() == "if-match"), None)
        if sent is None or sent != item.get("@odata.etag"):
            return _error(412, "PreconditionFailed", "The If-Match header is missing or stale.")
        return None

    # -- dispatch ------------------------------------------------------------------------------

    def __call__(self, call: Call) -> Response:
        with self.cloud.lock:
            if call.method == "GET":
                self._settle(call.partner)
            if not call.rest:
                if call.method == "POST":
                    return self._create(call.partner, call.document)
                return self._list(call.partner, call.query)
            relationship = self._find(call.partner, call.rest[0])
            if relationship is None:
                return _error(404, "Request_ResourceNotFound", "No such relationship.")
            below = call.rest[1:2]
            if not below:
                return self._one(call, relationship)
            if below == ["requests"] and len(call.rest) == 2 and call.method == "POST":
                return self._request(relationship, call.document)
            if below == ["accessAssignments"]:
                return self._assignments(call, relationship)
            if below == ["operations"] and call.method == "GET":
                return self._operation(relationship, call.rest[2:])
            return _error(405, "MethodNotAllowed", f"{call.method} is not supported here.")

    def _one(self, call: Call, relationship: dict[str, Any]) -> Response:
        if call.method == "GET":
            return _json(200, relationship)
        if call.method == "PATCH":
            return self._update(relationship, call.document, call.headers)
        if call.method == "DELETE":
            return self._delete(call.partner, relationship, call.headers)
        return _error(405, "MethodNotAllowed", f"{call.method} is not supported here.")

    def _operation(self, relationship: dict[str, Any], rest: list[str]) -> Response:
        """Graph "Get delegatedAdminRelationshipOperation": status notStarted, running,
        succeeded (``longRunningOperationStatus``)."""
        found = self.cloud.gdap_operations.get(rest[0]) if len(rest) == 1 else None
        if found is None or found["relationshipId"] != relationship["id"]:
            return _error(404, "Request_ResourceNotFound", "No such operation.")
        return _json(200, {k: v for k, v in found.items() if not k.startswith("_")})

    def _list(self, partner: PartnerTenant, query: dict[str, str]) -> Response:
        """``GET`` the partner's relationships, every status unless ``$filter=status eq
        'active'`` (Graph "List delegatedAdminRelationships": ``$filter``, ``$top`` ≤ 300,
        ``@odata.nextLink``)."""
        wanted = query.get("$filter", "")
        items = [
            r
            for r in partner.relationships
            if "status eq 'active'" not in wanted
            or self.cloud.ignore_relationship_filter
            or r.get("status") == "active"
        ]
        top = min(int(query.get("$top", "300") or 300), 300)
        start = int(query.get("$skiptoken", "0") or 0)
        body: dict[str, Any] = {"value": items[start : start + top]}
        if start + top < len(items):
            following = {"$top": str(top), "$skiptoken": str(start + top), "$filter": wanted}
            body["@odata.nextLink"] = f"{self._url()}?{urlencode(following)}"
        return _json(200, body)

    def _create(self, partner: PartnerTenant, document: dict[str, Any]) -> Response:
        """Graph "Create delegatedAdminRelationship": displayName required, at most 50
        characters, unique across the partner's relationships; duration between P1D and P2Y;
        accessDetails required; autoExtendDuration P0D, PT0S or P180D (default PT0S). 201 with
        status ``created``, an ``@odata.etag`` and a Location header. A duplicate name's answer
        is [silent]: 409 Conflict here. A Global Administrator relationship with auto-extend is
        refused (Partner Center "Expire granular relationships and extend GDAP": such a GDAP is
        not auto-extended); the code is [silent]: 400 here."""
        name = str(document.get("displayName", ""))
        duration = str(document.get("duration", ""))
        days = _days(duration)
        roles = _roles(document)
        extend = str(document.get("autoExtendDuration", "PT0S"))
        if not name or len(name) > 50:
            return _error(400, "BadRequest", "displayName is required, at most 50 characters.")
        if any(r["displayName"] == name for r in partner.relationships):
            return _error(409, "Conflict", "A relationship with this displayName exists.")
        if days is None or not 1 <= days <= 730:
            return _error(400, "BadRequest", "duration must be between P1D and P2Y.")
        if not roles:
            return _error(400, "BadRequest", "accessDetails.unifiedRoles is required.")
        if extend not in AUTO_EXTEND_VALUES:
            return _error(400, "BadRequest", "autoExtendDuration must be P0D, PT0S or P180D.")
        if GLOBAL_ADMINISTRATOR in roles and extend == "P180D":
            return _error(400, "BadRequest", "Global Administrator cannot be auto-extended.")
        now = self._now()
        relationship_id = f"{uuid.uuid4()}-{uuid.uuid4()}"
        relationship: dict[str, Any] = {
            "id": relationship_id,
            "displayName": name,
            "duration": duration,
            "customer": dict(document.get("customer") or {}),
            "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in roles]},
            "status": "created",
            "autoExtendDuration": extend,
            "createdDateTime": _stamp(now),
            "lastModifiedDateTime": _stamp(now),
            "activatedDateTime": None,
            "endDateTime": None,
            "@odata.etag": self._etag(),
        }
        partner.relationships.append(relationship)
        partner.access_assignments[relationship_id] = []
        self.cloud.gdap_creates.append(name)
        return _json(201, relationship, {"Location": self._url(relationship_id)})

    def _update(
        self, relationship: dict[str, Any], document: dict[str, Any], headers: dict[str, str]
    ) -> Response:
        """Graph "Update delegatedAdminRelationship": If-Match required; "A relationship can
        only be updated if it's in the created status"; 200 with the relationship. Changing only
        ``autoExtendDuration`` of an **active** one: the Graph page says created only, while
        Partner Center ("Manage GDAP Autoextend") lets partners switch auto-extend on active
        relationships; ``Cloud.gdap_auto_extend_active`` (default True) takes Partner Center's
        reading, False the Graph page's (400), and the product reports that answer as the fix
        "switch auto-extend on in Partner Center"."""
        refused = self._if_match(headers, relationship)
        if refused is not None:
            return refused
        only_extend = set(document) == {"autoExtendDuration"}
        status = relationship["status"]
        if status != "created" and not (
            only_extend and status == "active" and self.cloud.gdap_auto_extend_active
        ):
            return _error(400, "BadRequest", f"A relationship in status {status} cannot change.")
        if "autoExtendDuration" in document:
            extend = str(document["autoExtendDuration"])
            if extend not in AUTO_EXTEND_VALUES:
                return _error(400, "BadRequest", "autoExtendDuration must be P0D, PT0S or P180D.")
            roles = _roles(relationship)
            if GLOBAL_ADMINISTRATOR in roles and extend == "P180D":
                return _error(400, "BadRequest", "Global Administrator cannot be auto-extended.")
            relationship["autoExtendDuration"] = extend
        for key in ("displayName", "duration", "accessDetails", "customer"):
            if key in document:
                relationship[key] = document[key]
        relationship["lastModifiedDateTime"] = _stamp(self._now())
        relationship["@odata.etag"] = self._etag()
        return _json(200, relationship)

    def _delete(
        self, partner: PartnerTenant, relationship: dict[str, Any], headers: dict[str, str]
    ) -> Response:
        """Graph "Delete delegatedAdminRelationship": only a relationship in ``created`` status
        (one never sent for approval); 204."""
        refused = self._if_match(headers, relationship)
        if refused is not None:
            return refused
        if relationship["status"] != "created":
            return _error(400, "BadRequest", "Only a created relationship can be deleted.")
        partner.relationships.remove(relationship)
        return 204, {}, b""

    def _request(self, relationship: dict[str, Any], document: dict[str, Any]) -> Response:
        """Graph "Create requests" (delegatedAdminRelationshipRequest): ``lockForApproval``
        (created -> approvalPending) or ``terminate`` (active -> terminationRequested); 201 with
        the request and a Location header. Another action or a status the action does not
        apply to: 400 (the code is [silent])."""
        action = str(document.get("action", ""))
        status = relationship["status"]
        if action == "lockForApproval" and status == "created":
            relationship["status"] = "approvalPending"
        elif action == "terminate" and status == "active":
            relationship["status"] = "terminationRequested"
            self.cloud.gdap_terminations.append(relationship["displayName"])
        else:
            return _error(400, "BadRequest", f"{action!r} does not apply to status {status}.")
        relationship["@odata.etag"] = self._etag()
        now = _stamp(self._now())
        request = {
            "id": str(uuid.uuid4()),
            "action": action,
            "status": "created",
            "createdDateTime": now,
            "lastModifiedDateTime": now,
        }
        location = self._url(relationship["id"], "requests", request["id"])
        return _json(201, request, {"Location": location})

    def _assignments(self, call: Call, relationship: dict[str, Any]) -> Response:
        """Graph "Create accessAssignments" (201, status pending, Location), "Update
        delegatedAdminAccessAssignment" (If-Match; 202 with Location of a long-running operation
        and Retry-After, or 200 when nothing changes), "Delete delegatedAdminAccessAssignment"
        (If-Match; 204)."""
        assignments = call.partner.access_assignments.setdefault(relationship["id"], [])
        rest = call.rest[2:]
        if not rest and call.method == "GET":
            return _json(200, {"value": assignments})
        if not rest and call.method == "POST":
            return self._create_assignment(relationship, assignments, call.document)
        assignment = next((a for a in assignments if rest and a["id"] == rest[0]), None)
        if assignment is None or len(rest) != 1:
            return _error(404, "Request_ResourceNotFound", "No such access assignment.")
        if call.method == "GET":
            return _json(200, assignment)
        refused = self._if_match(call.headers, assignment)
        if refused is not None:
            return refused
        if call.method == "DELETE":
            assignment["status"] = "deleting"
            return 204, {}, b""
        if call.method == "PATCH":
            return self._change_assignment(relationship, assignment, call.document)
        return _error(405, "MethodNotAllowed", f"{call.method} is not supported here.")

    def _create_assignment(
        self,
        relationship: dict[str, Any],
        assignments: list[dict[str, Any]],
        document: dict[str, Any],
    ) -> Response:
        """An assignment's roles must be roles of its relationship and the relationship must be
        active (the customer approved those roles); both answers are [silent]: 400 here. A
        second assignment of one security group in a relationship: [silent], 409 here (the
        product never sends one: it reads the assignments first)."""
        if relationship["status"] != "active":
            return _error(400, "BadRequest", "The relationship is not active.")
        roles = _roles(document)
        if not roles or not set(roles) <= set(_roles(relationship)):
            return _error(400, "BadRequest", "Roles must be roles of the relationship.")
        container = dict(document.get("accessContainer") or {})
        group = str(container.get("accessContainerId", "")).lower()
        if any(
            str(a["accessContainer"]["accessContainerId"]).lower() == group for a in assignments
        ):
            return _error(409, "Conflict", "This security group already has an assignment.")
        now = _stamp(self._now())
        assignment_id = str(uuid.uuid4())
        assignment: dict[str, Any] = {
            "id": assignment_id,
            "status": "pending",
            "accessContainer": container,
            "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in roles]},
            "createdDateTime": now,
            "lastModifiedDateTime": now,
            "@odata.etag": self._etag(),
        }
        assignments.append(assignment)
        self.cloud.gdap_assignment_creates.append((relationship["id"], group))
        location = self._url(relationship["id"], "accessAssignments", assignment_id)
        return _json(201, assignment, {"Location": location})

    def _change_assignment(
        self, relationship: dict[str, Any], assignment: dict[str, Any], document: dict[str, Any]
    ) -> Response:
        roles = _roles(document)
        if not roles or not set(roles) <= set(_roles(relationship)):
            return _error(400, "BadRequest", "Roles must be roles of the relationship.")
        if sorted(roles) == sorted(_roles(assignment)):
            return _json(200, assignment)
        operation_id = str(uuid.uuid4())
        now = _stamp(self._now())
        self.cloud.gdap_operations[operation_id] = {
            "id": operation_id,
            "operationType": "delegatedAdminAccessAssignmentUpdate",
            "status": "notStarted",
            "data": "",
            "createdDateTime": now,
            "lastModifiedDateTime": now,
            "relationshipId": relationship["id"],
            "_apply": (assignment, roles),
        }
        location = self._url(relationship["id"], "operations", operation_id)
        return _json(202, {}, {"Location": location, "Retry-After": "10"})


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def approve(cloud: Cloud, partner_tenant: str, relationship_id: str) -> None:
    """The customer's Global Administrator approves (Partner Center "Customer approval of
    partner GDAP request"): approvalPending -> active, activatedDateTime now, endDateTime now +
    duration (Graph: "endDateTime = activatedDateTime + duration")."""
    with cloud.lock:
        partner = cloud.partners[partner_tenant]
        relationship = next(r for r in partner.relationships if r["id"] == relationship_id)
        if relationship["status"] != "approvalPending":
            raise ValueError(f"relationship {relationship_id} is {relationship['status']}")
        now = cloud.gdap_now()
        days = _days(str(relationship["duration"])) or 0
        relationship["status"] = "active"
        relationship["activatedDateTime"] = _stamp(now)
        relationship["endDateTime"] = _stamp(now + timedelta(days=days))
        cloud.gdap_etags += 1
        relationship["@odata.etag"] = f'W/"{cloud.gdap_etags}"'
