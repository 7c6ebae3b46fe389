"""GDAP writes in the partner tenant (Graph ``tenantRelationships/delegatedAdminRelationships``)
and the Partner Center consent removal of offboarding: the wire side of ``lifecycle.py``.

Every write is idempotent against a run killed halfway: a create looks the relationship up by
its display name first (unique per partner, Graph "Create delegatedAdminRelationship"), an
access assignment is added only for a group without one, and a removal whose object is already
gone counts as done. Updates and deletes send the ETag read a moment before as ``If-Match``
(required by Graph's update and delete pages); an access assignment update is a long-running
operation (202 with ``Location`` and ``Retry-After``) polled until it succeeds or fails.

Needs ``DelegatedAdminRelationship.ReadWrite.All`` (delegated) for the SAM app: every GDAP write
page lists only that permission.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from . import entra_roles
from .customer_file import Template
from .lifecycle import WRITE_PERMISSION
from .region import Region
from .remote import GRAPH_RESOURCE, PARTNER_CENTER_RESOURCE, RemoteError

# How often an access assignment update is polled before the run gives up (it continues on the
# next apply: the plan reads the assignment again).
MAX_POLLS = 30
AUTO_EXTEND_FIX = (
    "switch auto-extend in Partner Center (Customers > the customer > Admin relationships), or "
    "let the relationship be replaced: Graph accepted no change of this active relationship"
)


class GdapClient:
    def __init__(self, region: Region) -> None:
        self.region = region
        self.base = (
            f"{region.target.endpoints.graph_url}/v1.0/tenantRelationships/"
            "delegatedAdminRelationships"
        )

    def _call(
        self,
        method: str,
        url: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        return self.region.api.call(
            method,
            url,
            self.region.partner_tenant,
            GRAPH_RESOURCE,
            json_body=body,
            headers=headers,
        )

    @staticmethod
    def _refused(response: requests.Response, doing: str, fix: str = "") -> RemoteError:
        status = response.status_code
        try:
            error = (response.json() or {}).get("error") or {}
        except ValueError:
            error = {}
        code = str(error.get("code", "")) if isinstance(error, dict) else ""
        cause = f"Graph answered HTTP {status}{f' ({code})' if code else ''} to {doing}"
        if status == 403:
            fix = (
                f"the SAM app needs the delegated permission {WRITE_PERMISSION} (apps.yaml) "
                "and the consenting partner admin must be an Admin agent of the partner tenant"
            )
        return RemoteError(cause, fix or "run apply again: it continues from here", status=status)

    def _json(self, response: requests.Response, doing: str, fix: str = "") -> dict[str, Any]:
        if response.status_code >= 400:
            raise self._refused(response, doing, fix)
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = {}
        return body if isinstance(body, dict) else {}

    def _url(self, *parts: str) -> str:
        return "/".join([self.base, *(quote(part, safe="") for part in parts)])

    def find(self, display_name: str) -> dict[str, Any] | None:
        """The partner's relationship of that display name (unique per partner), any status."""
        url: str | None = f"{self.base}?$top=300"
        while url:
            body = self._json(self._call("GET", url), "listing the GDAP relationships")
            for item in body.get("value") or []:
                if isinstance(item, dict) and item.get("displayName") == display_name:
                    return item
            url = body.get("@odata.nextLink")
        return None

    def get(self, relationship_id: str) -> dict[str, Any]:
        return self._json(self._call("GET", self._url(relationship_id)), "reading a relationship")

    def create(
        self, display_name: str, tenant: str, customer_name: str, template: Template
    ) -> tuple[dict[str, Any], bool]:
        """The relationship (created now, or found from an earlier attempt), and whether it was
        created now. The plan of this same run listed the partner's relationships a moment ago,
        so the POST goes first; a name already taken (an earlier attempt whose answer was lost:
        the name is unique per partner) is then looked up, and must be this customer's."""
        body = {
            "displayName": display_name,
            "duration": template.duration,
            "customer": {"tenantId": tenant, "displayName": customer_name},
            "accessDetails": {
                "unifiedRoles": [{"roleDefinitionId": r} for r in sorted(template.role_ids())]
            },
            "autoExtendDuration": template.auto_extend_duration,
        }
        response = self._call("POST", self.base, body)
        if response.status_code not in (400, 409):
            return self._json(response, f"creating relationship {display_name}"), True
        found = self.find(display_name)
        if found is None:
            raise self._refused(response, f"creating relationship {display_name}")
        theirs = str((found.get("customer") or {}).get("tenantId", "")).lower()
        if theirs and theirs != tenant.lower():
            raise RemoteError(
                f"relationship name {display_name} is taken by customer {theirs}",
                "rename the template in customers/<stack>.yaml and plan again",
            )
        return found, False

    def request(self, relationship_id: str, action: str) -> str:
        """``lockForApproval`` or ``terminate``; "already" when the relationship is past it."""
        current = self.get(relationship_id)
        status = str(current.get("status", ""))
        done_when = {
            "lockForApproval": ("approvalPending", "approved", "activating", "active"),
            "terminate": ("terminationRequested", "terminating", "terminated", "expired"),
        }
        if status in done_when[action]:
            return "already"
        response = self._call("POST", self._url(relationship_id, "requests"), {"action": action})
        if (
            response.status_code == 400
            and str(self.get(relationship_id).get("status")) in (done_when[action])
        ):
            # A resend after a lost answer: the first request was made.
            return "done"
        self._json(response, f"{action} of relationship {current.get('displayName', '')}")
        return "done"

    def add_assignment(self, relationship_id: str, group: str, roles: frozenset[str]) -> str:
        url = self._url(relationship_id, "accessAssignments")
        have = self._json(self._call("GET", url), "reading access assignments")
        for item in have.get("value") or []:
            container = (item or {}).get("accessContainer") or {}
            same = str(container.get("accessContainerId", "")).lower() == group.lower()
            if same and item.get("status") not in ("deleting", "deleted"):
                return "already"
        body = {
            "accessContainer": {"accessContainerId": group, "accessContainerType": "securityGroup"},
            "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in sorted(roles)]},
        }
        response = self._call("POST", url, body)
        if response.status_code == 409:
            return "done"  # a resend after a lost answer: the group's assignment exists
        self._json(response, f"assigning roles to group {group}")
        return "done"

    def _etag(self, url: str, doing: str) -> tuple[dict[str, Any] | None, str]:
        response = self._call("GET", url)
        if response.status_code == 404:
            return None, ""
        item = self._json(response, doing)
        return item, str(item.get("@odata.etag", ""))

    def change_assignment(
        self, relationship_id: str, assignment_id: str, roles: frozenset[str]
    ) -> str:
        url = self._url(relationship_id, "accessAssignments", assignment_id)
        item, etag = self._etag(url, "reading an access assignment")
        if item is None:
            raise RemoteError(
                "the access assignment to change is gone", "plan again: it is added anew"
            )
        body = {"accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in sorted(roles)]}}
        response = self._call("PATCH", url, body, {"If-Match": etag})
        self._json(response, "changing an access assignment")
        if response.status_code != 202:
            return "done"
        return self._poll(response)

    def _poll(self, accepted: requests.Response) -> str:
        """Follow a long-running operation (Graph ``delegatedAdminRelationshipOperation``) from
        its ``Location`` until it succeeds, waiting ``Retry-After`` seconds between reads."""
        location = accepted.headers.get("Location", "")
        wait = float(accepted.headers.get("Retry-After", "10") or 10)
        for _ in range(MAX_POLLS):
            self.region.rt.sleep(wait)
            operation = self._json(self._call("GET", location), "reading an operation")
            status = str(operation.get("status", ""))
            if status == "succeeded":
                return "done"
            if status == "failed":
                raise RemoteError(
                    "the access assignment update failed (Graph operation status failed)",
                    "plan again and apply: the change is retried",
                )
        raise RemoteError(
            "the access assignment update is still running", "apply again later: it continues"
        )

    def remove_assignment(self, relationship_id: str, assignment_id: str) -> str:
        url = self._url(relationship_id, "accessAssignments", assignment_id)
        item, etag = self._etag(url, "reading an access assignment")
        if item is None or item.get("status") in ("deleting", "deleted"):
            return "already"
        response = self._call("DELETE", url, None, {"If-Match": etag})
        self._json(response, "removing an access assignment")
        return "done"

    def set_auto_extend(self, relationship_id: str, value: str) -> str:
        url = self._url(relationship_id)
        item, etag = self._etag(url, "reading a relationship")
        if item is None:
            raise RemoteError("the relationship is gone", "plan again")
        if str(item.get("autoExtendDuration") or "PT0S") == value:
            return "already"
        response = self._call("PATCH", url, {"autoExtendDuration": value}, {"If-Match": etag})
        self._json(response, "setting autoExtendDuration", AUTO_EXTEND_FIX)
        return "done"

    def delete_consent(self, tenant: str, client_id: str) -> str:
        """Partner Center ``DELETE .../applicationconsents/{client id}`` ("Control panel vendor
        APIs"); a consent already gone (404) is done."""
        endpoints = self.region.target.endpoints
        url = (
            f"{endpoints.partner_center_url}/v1/customers/{quote(tenant, safe='')}/"
            f"applicationconsents/{quote(client_id, safe='')}"
        )
        response = self.region.api.call(
            "DELETE", url, self.region.partner_tenant, PARTNER_CENTER_RESOURCE
        )
        if response.status_code == 404:
            return "already"
        if response.status_code >= 400:
            raise RemoteError(
                f"Partner Center answered HTTP {response.status_code} to removing the consent of "
                f"{client_id}",
                "run apply again: it continues from here",
                status=response.status_code,
            )
        return "done"


def role_ids(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(entra_roles.BY_NAME[name] for name in names if name in entra_roles.BY_NAME)
