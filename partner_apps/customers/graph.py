"""Graph in one customer tenant, with the partner admin's delegated (GDAP) token: read what an app
has there (service principal, delegated grants, app role assignments) and write what is missing.

Every create is an "ensure": when its answer is lost, what exists is read again before it is sent
again, so a retried write never creates a second grant or assignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from .remote import GRAPH_RESOURCE, Answer, Api, RemoteError

GDAP_FIX = (
    "the consenting partner admin's security group needs, through this customer's GDAP "
    "relationship, Cloud Application Administrator (consents, service principals, delegated "
    "grants) and Privileged Role Administrator (Microsoft Graph application permissions); "
    "Global Administrator covers both"
)


# Graph takes at most 15 values in one `in (...)` of a directory-object $filter.
IN_LIMIT = 15


@dataclass
class Principal:
    id: str
    app_id: str
    # Read only for a resource apps.yaml does not name (``principals_by_id``), so that a report
    # names it: its display name, and its app roles (id -> value).
    display_name: str = ""
    app_roles: dict[str, str] = field(default_factory=dict)


@dataclass
class AppState:
    """What one app has in one customer tenant."""

    principal: Principal | None
    grants: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)


def _values(response: requests.Response, doing: str) -> list[dict[str, Any]]:
    body = _body(response, doing)
    value = body.get("value") if isinstance(body, dict) else None
    return [item for item in value or [] if isinstance(item, dict)]


def _body(response: requests.Response, doing: str) -> Any:
    if response.status_code in (200, 201):
        try:
            return response.json()
        except ValueError:
            return {}
    if response.status_code == 204:
        return {}
    code = ""
    try:
        error = response.json().get("error") or {}
        code = str(error.get("code", "")) if isinstance(error, dict) else ""
    except (ValueError, AttributeError):
        pass
    if response.status_code in (401, 403):
        raise RemoteError(
            f"Graph refused {doing} (HTTP {response.status_code} {code})".strip(),
            GDAP_FIX,
            status=response.status_code,
        )
    raise RemoteError(
        f"Graph answered HTTP {response.status_code} {code} to {doing}".strip(),
        "retry later: the next run picks up where this one stopped",
        status=response.status_code,
    )


class CustomerGraph:
    def __init__(self, api: Api, tenant_id: str) -> None:
        self.api = api
        self.tenant_id = tenant_id
        self.base = f"{api.http.endpoints.graph_url}/v1.0"

    def _get(self, path: str, doing: str) -> list[dict[str, Any]]:
        response = self.api.call("GET", f"{self.base}{path}", self.tenant_id, GRAPH_RESOURCE)
        return _values(response, doing)

    def _write(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        doing: str,
        recheck: Any = None,
    ) -> Any:
        response = self.api.call(
            method,
            f"{self.base}{path}",
            self.tenant_id,
            GRAPH_RESOURCE,
            json_body=body,
            recheck=recheck,
        )
        return _body(response, doing)

    def principal(self, app_id: str) -> Principal | None:
        return self.principals([app_id])[app_id]

    def principals(self, app_ids: list[str]) -> dict[str, Principal | None]:
        """The service principals of ``app_ids`` (None where missing), in one request per
        ``IN_LIMIT`` ids (``$filter=appId in (...)``) rather than one per app."""
        wanted = sorted(set(app_ids))
        result: dict[str, Principal | None] = dict.fromkeys(wanted)
        for start in range(0, len(wanted), IN_LIMIT):
            chunk = wanted[start : start + IN_LIMIT]
            values = ",".join(f"'{app_id}'" for app_id in chunk)
            query = quote(f"appId in ({values})" if len(chunk) > 1 else f"appId eq {values}")
            for item in self._get(
                f"/servicePrincipals?$filter={query}&$select=id,appId", "reading service principals"
            ):
                app_id = str(item.get("appId", ""))
                if app_id in result and result[app_id] is None:
                    result[app_id] = Principal(str(item["id"]), app_id)
        return result

    def principals_by_id(self, object_ids: list[str]) -> list[Principal]:
        """The service principals with these object ids (those that exist), ``IN_LIMIT`` ids a
        request (``$filter=id in (...)``)."""
        wanted = sorted(set(object_ids))
        found: list[Principal] = []
        for start in range(0, len(wanted), IN_LIMIT):
            chunk = wanted[start : start + IN_LIMIT]
            values = ",".join(f"'{object_id}'" for object_id in chunk)
            query = quote(f"id in ({values})" if len(chunk) > 1 else f"id eq {values}")
            select = "$select=id,appId,displayName,appRoles"
            for item in self._get(
                f"/servicePrincipals?$filter={query}&{select}", "reading service principals"
            ):
                if item.get("id") in chunk and item.get("appId"):
                    roles = {
                        str(role.get("id")): str(role.get("value"))
                        for role in item.get("appRoles") or []
                        if isinstance(role, dict) and role.get("id") and role.get("value")
                    }
                    found.append(
                        Principal(
                            str(item["id"]),
                            str(item["appId"]),
                            str(item.get("displayName") or ""),
                            roles,
                        )
                    )
        return found

    def app_state(
        self, principal: Principal | None, *, grants: bool = True, assignments: bool = True
    ) -> AppState:
        """An app's state from its service principal (read by ``principals``) and, when asked,
        its delegated grants and app role assignments (an app with no permission of a kind has
        nothing of it to compare)."""
        if principal is None:
            return AppState(None)
        state = AppState(principal)
        if grants:
            state.grants = self._get(
                f"/servicePrincipals/{principal.id}/oauth2PermissionGrants",
                "reading delegated grants",
            )
        if assignments:
            state.assignments = self._get(
                f"/servicePrincipals/{principal.id}/appRoleAssignments",
                "reading app role assignments",
            )
        return state

    def ensure_principal(self, app_id: str, *, just_read: bool = False) -> tuple[Principal, bool]:
        """The app's service principal, created when missing; (principal, created).
        ``just_read``: the caller read it a moment ago (no second look before the POST). One
        that exists after all answers 409 ``Request_MultipleObjectsWithSameKeyValue`` (what
        Graph answers a second service principal of an app, as the azuread provider and CIPP
        report): it is read and counts as there already."""
        if not just_read:
            found = self.principal(app_id)
            if found is not None:
                return found, False

        def recheck() -> Answer | None:
            again = self.principal(app_id)
            return Answer(201, {"id": again.id, "appId": app_id}, "") if again else None

        response = self.api.call(
            "POST",
            f"{self.base}/servicePrincipals",
            self.tenant_id,
            GRAPH_RESOURCE,
            json_body={"appId": app_id},
            recheck=recheck,
        )
        if response.status_code == 409:
            existing = self.principal(app_id)
            if existing is not None:
                return existing, False
        body = _body(response, "creating a service principal")
        return Principal(str(body.get("id", "")), app_id), True

    def _grant_for(self, client_sp: str, resource_sp: str) -> dict[str, Any] | None:
        grants = self._get(
            f"/servicePrincipals/{client_sp}/oauth2PermissionGrants", "reading delegated grants"
        )
        return next(
            (
                g
                for g in grants
                if g.get("resourceId") == resource_sp and g.get("consentType") == "AllPrincipals"
            ),
            None,
        )

    def ensure_grant(self, client_sp: str, resource_sp: str, scopes: set[str]) -> str:
        """The tenant-wide delegated grant of ``client_sp`` on ``resource_sp`` holds at least
        ``scopes``: created or extended (PATCH); returns what was done."""
        grant = self._grant_for(client_sp, resource_sp)
        if grant is None:

            def recheck() -> Answer | None:
                again = self._grant_for(client_sp, resource_sp)
                return Answer(201, again, "") if again else None

            self._write(
                "POST",
                "/oauth2PermissionGrants",
                {
                    "clientId": client_sp,
                    "consentType": "AllPrincipals",
                    "resourceId": resource_sp,
                    "scope": " ".join(sorted(scopes)),
                },
                "creating a delegated grant",
                recheck,
            )
            return "created"
        have = set(str(grant.get("scope", "")).split())
        if scopes <= have:
            return "already"
        self._write(
            "PATCH",
            f"/oauth2PermissionGrants/{grant['id']}",
            {"scope": " ".join(sorted(have | scopes))},
            "extending a delegated grant",
        )
        return "extended"

    def narrow_grant(self, grant_id: str, keep: set[str]) -> str:
        if keep:
            self._write(
                "PATCH",
                f"/oauth2PermissionGrants/{grant_id}",
                {"scope": " ".join(sorted(keep))},
                "narrowing a delegated grant",
            )
            return "narrowed"
        self._write("DELETE", f"/oauth2PermissionGrants/{grant_id}", None, "removing a grant")
        return "removed"

    def _assignment(self, client_sp: str, resource_sp: str, role_id: str) -> dict[str, Any] | None:
        assignments = self._get(
            f"/servicePrincipals/{client_sp}/appRoleAssignments", "reading app role assignments"
        )
        return next(
            (
                a
                for a in assignments
                if a.get("resourceId") == resource_sp and a.get("appRoleId") == role_id
            ),
            None,
        )

    def ensure_assignment(
        self, client_sp: str, resource_sp: str, role_id: str, *, just_read: bool = False
    ) -> str:
        """Assign the app role unless assigned; ``just_read``: the caller read the assignments a
        moment ago (no second look before the first POST; a retry still looks first)."""
        if not just_read and self._assignment(client_sp, resource_sp, role_id) is not None:
            return "already"

        def recheck() -> Answer | None:
            again = self._assignment(client_sp, resource_sp, role_id)
            return Answer(201, again, "") if again else None

        self._write(
            "POST",
            f"/servicePrincipals/{resource_sp}/appRoleAssignedTo",
            {"principalId": client_sp, "resourceId": resource_sp, "appRoleId": role_id},
            "assigning an app role",
            recheck,
        )
        return "created"

    def remove_assignment(self, resource_sp: str, assignment_id: str) -> str:
        self._write(
            "DELETE",
            f"/servicePrincipals/{resource_sp}/appRoleAssignedTo/{assignment_id}",
            None,
            "removing an app role assignment",
        )
        return "removed"

    def delete_principal(self, object_id: str) -> str:
        """Graph "Delete servicePrincipal" (offboarding: the app leaves the customer tenant)."""
        self._write(
            "DELETE", f"/servicePrincipals/{object_id}", None, "deleting a service principal"
        )
        return "removed"
