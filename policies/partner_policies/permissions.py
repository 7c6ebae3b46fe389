"""The permission catalog the access policies judge required permissions against.

``permission_catalog.json`` is generated from the project's ``components/permissions.py`` and
shipped inside the pack, because a published pack runs alone (``pulumi policy publish`` uploads only
this directory). It lists the APIs the project knows (with the retired ones and why) and, per
permission, its id, kind, family, whether CSP allows it (directory + Intune), whether it needs
admin consent and whether it is high privilege.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

MICROSOFT_GRAPH: Final = "00000003-0000-0000-c000-000000000000"
AAD_GRAPH: Final = "00000002-0000-0000-c000-000000000000"
# Known even if the catalog forgets it: a permission on it grants nothing since the retirement.
_AAD_GRAPH_NOTE: Final = (
    "Azure AD Graph (Windows Azure Active Directory) was retired on 2025-08-31; its permissions no "
    "longer grant anything."
)

Kind = Literal["application", "delegated"]

_PACKAGE: Final = __name__.rpartition(".")[0]


@dataclass(frozen=True)
class Api:
    name: str
    app_id: str
    retired: bool
    retired_note: str


@dataclass(frozen=True)
class Permission:
    api: str
    api_app_id: str
    value: str
    kind: Kind
    id: str
    family: str
    csp_allowed: bool
    admin_consent: bool
    high_privilege: bool

    @property
    def qualified(self) -> str:
        """``<API name>/<value>``: how allow-lists and messages name a permission."""
        return f"{self.api}/{self.value}"


@dataclass(frozen=True)
class PermissionCatalog:
    apis: tuple[Api, ...]
    permissions: tuple[Permission, ...]

    def api(self, app_id: str) -> Api | None:
        wanted = app_id.lower()
        for api in self.apis:
            if api.app_id.lower() == wanted:
                return api
        if wanted == AAD_GRAPH:
            return Api("Windows Azure Active Directory", AAD_GRAPH, True, _AAD_GRAPH_NOTE)
        return None

    def find(self, api_app_id: str, permission_id: str, kind: Kind) -> Permission | None:
        api_id, perm_id = api_app_id.lower(), permission_id.lower()
        for permission in self.permissions:
            if (
                permission.api_app_id.lower() == api_id
                and permission.id.lower() == perm_id
                and permission.kind == kind
            ):
                return permission
        return None


def _parse(document: dict[str, Any]) -> PermissionCatalog:
    apis = tuple(
        Api(
            name=str(entry["name"]),
            app_id=str(entry["appId"]),
            retired=bool(entry.get("retired", False)),
            retired_note=str(entry.get("retiredNote") or ""),
        )
        for entry in document.get("apis", [])
    )
    permissions = tuple(
        Permission(
            api=str(entry["api"]),
            api_app_id=str(entry["apiAppId"]),
            value=str(entry["value"]),
            kind="application" if entry["kind"] == "application" else "delegated",
            id=str(entry["id"]),
            family=str(entry.get("family", "")),
            csp_allowed=bool(entry.get("cspAllowed", False)),
            admin_consent=bool(entry.get("adminConsent", entry["kind"] == "application")),
            high_privilege=bool(entry.get("highPrivilege", False)),
        )
        for entry in document.get("permissions", [])
    )
    return PermissionCatalog(apis=apis, permissions=permissions)


def parse_catalog(text: str) -> PermissionCatalog:
    """A catalog from JSON text (tests use it for small hand-written catalogs)."""
    return _parse(json.loads(text))


@cache
def load_catalog() -> PermissionCatalog:
    """The catalog shipped with the pack, read once."""
    text = resources.files(_PACKAGE).joinpath("permission_catalog.json").read_text("utf-8")
    return parse_catalog(text)
