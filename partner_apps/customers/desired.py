"""What every customer tenant of a region needs, decided once from what is already reviewed.

``apps.yaml`` names each app's permissions; the permission catalog resolves them to ids, kind and
risk; the region stack's outputs give each app's client id (never typed by hand). Delegated
permissions become one tenant-wide delegated grant per resource (``oauth2PermissionGrants``,
``consentType: AllPrincipals``); application permissions become app role assignments.

The Secure Application Model app comes first: its own consent (with its customer-tenant grants:
Graph's consent-writing permissions, Azure Service Management) is what lets the partner admin's
delegated token read and write in the customer tenant at all, so ``apply`` makes it before any
Graph call there. Permissions that only work in the partner tenant (Partner Center itself, the
partner's GDAP relationships: ``Permission.customer_tenant``) are never granted in a customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.files import APPS_FILE
from partner_apps import exitcodes
from partner_apps.sam.errors import SamError
from policies.partner_policies import catalog


@dataclass(frozen=True)
class DesiredGrant:
    """One permission an app needs in every customer tenant."""

    api: str  # the API's display name (Microsoft Graph)
    resource_app_id: str
    value: str  # User.Read, Directory.Read.All
    kind: str  # delegated or application
    permission_id: str
    risk: str

    def as_json(self) -> dict[str, str]:
        return {
            "api": self.api,
            "resourceAppId": self.resource_app_id,
            "permission": self.value,
            "kind": self.kind,
            "id": self.permission_id,
            "risk": self.risk,
        }


@dataclass(frozen=True)
class DesiredApp:
    key: str
    display_name: str
    client_id: str
    grants: tuple[DesiredGrant, ...]
    # The Secure Application Model app: the commands' own access to the customer tenant.
    bootstrap: bool = False

    def delegated(self) -> dict[str, frozenset[str]]:
        """Resource app id -> the delegated scopes of its one tenant-wide grant."""
        result: dict[str, set[str]] = {}
        for grant in self.grants:
            if grant.kind == "delegated":
                result.setdefault(grant.resource_app_id, set()).add(grant.value)
        return {key: frozenset(values) for key, values in sorted(result.items())}

    def application(self) -> tuple[DesiredGrant, ...]:
        return tuple(grant for grant in self.grants if grant.kind == "application")

    def resources(self) -> list[str]:
        return sorted({grant.resource_app_id for grant in self.grants})

    def as_json(self) -> dict[str, Any]:
        return {
            "app": self.key,
            "displayName": self.display_name,
            "clientId": self.client_id,
            "grants": [grant.as_json() for grant in self.grants],
            **({"secureApplicationModel": True} if self.bootstrap else {}),
        }


def _fail(stack: str, message: str) -> SamError:
    return SamError(f"region {stack}: {message}", exitcodes.CONFIG)


def _grants(stack: str, key: str, permissions: list[Any]) -> tuple[DesiredGrant, ...]:
    grants: list[DesiredGrant] = []
    for item in permissions:
        if not isinstance(item, dict):
            continue
        try:
            found = catalog.lookup(
                str(item.get("api")), str(item.get("permission")), item.get("type", "delegated")
            )
        except catalog.CatalogError as error:
            raise _fail(stack, f"{APPS_FILE}: app {key}: {error}") from None
        if not found.customer_tenant:
            continue
        grants.append(
            DesiredGrant(
                api=found.api.name,
                resource_app_id=found.api_app_id,
                value=found.value,
                kind=found.kind,
                permission_id=found.id,
                risk=found.risk,
            )
        )
    return tuple(sorted(grants, key=lambda g: (g.api, g.kind, g.value)))


def desired_apps(
    stack: str,
    apps: Mapping[str, Any],
    outputs: Mapping[str, Any],
    only: list[str] | None = None,
    sam_app: str | None = None,
) -> tuple[DesiredApp, ...]:
    """The apps to consent in the region's customer tenants, with the client ids of ``outputs``."""
    out_apps = outputs.get("apps") or {}
    result: list[DesiredApp] = []
    for key, definition in sorted(apps.items()):
        if not isinstance(definition, dict):
            continue
        # The SAM app whose token the commands use (``sam_app``) is consented first; another
        # secureApplicationModel app is a consenting identity of its own, not ours to consent.
        bootstrap = key == sam_app
        if definition.get("secureApplicationModel") is True and not bootstrap:
            continue
        # --app narrows the partner-managed apps; the SAM app's consent is always kept, since
        # nothing else can be read or written in a customer tenant without it.
        if only and key not in only and not bootstrap:
            continue
        permissions = definition.get("permissions") or []
        if not permissions:
            continue
        app_outputs = out_apps.get(key) if isinstance(out_apps, dict) else None
        client_id = str(app_outputs.get("clientId", "")) if isinstance(app_outputs, dict) else ""
        if not client_id:
            raise _fail(stack, f"the stack outputs have no client id for app {key} (pulumi up?)")
        grants = _grants(stack, str(key), list(permissions))
        if not grants:
            continue
        result.append(
            DesiredApp(
                str(key), str(definition.get("displayName", key)), client_id, grants, bootstrap
            )
        )
    unknown = sorted(set(only or ()) - {app.key for app in result})
    if unknown:
        raise _fail(stack, f"--app {', '.join(unknown)}: not an app to consent in customers")
    # The SAM app first: apply consents it before any Graph call in the customer tenant.
    return tuple(sorted(result, key=lambda app: (not app.bootstrap, app.key)))
