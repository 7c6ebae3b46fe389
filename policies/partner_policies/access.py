"""Required access policies: what an app may ask for in a customer tenant.

Permissions come from ``ApplicationApiAccess`` resources (what the program uses, to avoid the
known-client dependency cycle) and from inline ``requiredResourceAccesses`` on an ``Application``.
Each is judged against the permission catalog shipped with the pack:

* a retired API (Windows Azure Active Directory) is refused, with the reason;
* on Microsoft Graph only the directory and Intune families are possible for a CSP app, and an id
  the catalog does not know cannot be shown to be one of them;
* application permissions and delegated permissions that need admin consent must be on the
  region's allow-list (least privilege, reviewed once per region);
* high-privilege permissions are always reported, allowed or not, so they stay visible.

Each permission is reported by one rule only (the first that refuses it), except the
high-privilege report, which is deliberately additional.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from . import references as ref
from . import tokens
from ._framework import (
    ConfigProperty,
    PolicySpec,
    ResourceContext,
    get,
    items_of,
    resource_policy,
)
from .catalog import (
    MICROSOFT_GRAPH,
    Kind,
    Permission,
    PermissionCatalog,
    load_catalog,
)

_ACCESS_TYPES = (tokens.APPLICATION, tokens.API_ACCESS)
DEFAULT_HIGH_PRIVILEGE = (
    "Microsoft Graph/Directory.ReadWrite.All",
    "Microsoft Graph/RoleManagement.ReadWrite.Directory",
    "Microsoft Graph/Application.ReadWrite.All",
    "Microsoft Graph/AppRoleAssignment.ReadWrite.All",
)
_API_ACCESS_LISTS: tuple[tuple[str, Kind], ...] = (
    ("roleIds", "application"),
    ("scopeIds", "delegated"),
)
_ACCESS_KINDS: dict[str, Kind] = {"Role": "application", "Scope": "delegated"}


@dataclass(frozen=True)
class Grant:
    """One requested permission: which API, which id, application or delegated, and where."""

    where: str
    api_app_id: str
    permission_id: str
    kind: Kind


# Where a reviewer allow-lists a permission: the reviewed policy config, which `make generate`
# merges into the generated policies/config/<region>.json (an edit there is undone by it).
REVIEWED_WHERE = (
    "this policy in policies/reviewed/default.json (every region) or "
    "policies/reviewed/<region>.json (one region), then run `make generate`."
)


def grants_of(resource: ResourceContext) -> list[Grant]:
    """Every permission the resource requests whose API and id are known (preview may hide them)."""
    found: list[Grant] = []
    if resource.type == tokens.API_ACCESS:
        api = get(resource.props, "apiClientId")
        if not isinstance(api, str):
            return []
        for prop, kind in _API_ACCESS_LISTS:
            for i, permission_id in enumerate(items_of(get(resource.props, prop))):
                if isinstance(permission_id, str):
                    found.append(Grant(f"{prop}[{i}]", api, permission_id, kind))
        return found
    for i, access in enumerate(items_of(get(resource.props, "requiredResourceAccesses"))):
        api = access.get("resourceAppId") if isinstance(access, Mapping) else None
        if not isinstance(api, str):
            continue
        for j, item in enumerate(items_of(access.get("resourceAccesses"))):
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                continue
            access_kind = _ACCESS_KINDS.get(str(item.get("type")))
            if access_kind is not None:
                where = f"requiredResourceAccesses[{i}].resourceAccesses[{j}]"
                found.append(Grant(where, api, str(item["id"]), access_kind))
    return found


def _label(grant: Grant, catalog: PermissionCatalog) -> str:
    permission = catalog.find(grant.api_app_id, grant.permission_id, grant.kind)
    if permission is not None:
        return f"{grant.kind} permission {permission.qualified} ({permission.id})"
    api = catalog.api(grant.api_app_id)
    api_name = api.name if api else f"API {grant.api_app_id}"
    return f"{grant.kind} permission {grant.permission_id} of {api_name}"


def _keys(grant: Grant, permission: Permission | None, catalog: PermissionCatalog) -> set[str]:
    """Every way a config list may name this permission (compared case-insensitively)."""
    keys = {grant.permission_id, f"{grant.api_app_id}/{grant.permission_id}"}
    if permission is not None:
        keys |= {permission.qualified, f"{permission.api_app_id}/{permission.value}"}
    api = catalog.api(grant.api_app_id)
    if api is not None:
        keys.add(f"{api.name}/{grant.permission_id}")
    return {key.lower() for key in keys}


def _listed(values: object) -> set[str]:
    return {str(v).lower() for v in values} if isinstance(values, list) else set()


def _outside_csp(grant: Grant, catalog: PermissionCatalog) -> str | None:
    """Why a Graph permission is beyond what a CSP app can use, or ``None``."""
    if grant.api_app_id.lower() != MICROSOFT_GRAPH:
        return None
    permission = catalog.find(grant.api_app_id, grant.permission_id, grant.kind)
    if permission is None:
        return (
            "is not in the permission catalog, so it cannot be shown to be a directory or Intune "
            "permission (the only Microsoft Graph resources a CSP app may call)"
        )
    if not permission.csp_allowed:
        return (
            f"belongs to the '{permission.family}' family; a CSP app may call Microsoft Graph "
            "only for directory and Intune resources"
        )
    return None


def _retired(grant: Grant, catalog: PermissionCatalog) -> bool:
    api = catalog.api(grant.api_app_id)
    return api is not None and api.retired


# --- Retired APIs --------------------------------------------------------------------------------


def _check_retired(resource: ResourceContext) -> Iterable[str]:
    catalog = load_catalog()
    by_api: dict[str, list[Grant]] = {}
    for grant in grants_of(resource):
        if _retired(grant, catalog):
            by_api.setdefault(grant.api_app_id.lower(), []).append(grant)
    for api_id, grants in sorted(by_api.items()):
        api = catalog.api(api_id)
        if api is None:
            continue
        listed = ", ".join(f"{g.where} ({_label(g, catalog)})" for g in grants)
        yield resource.violation(
            f"requests permissions on {api.name} ({api.app_id}), a retired API: {listed}. "
            f"{api.retired_note}",
            "remove every permission on this API and request the Microsoft Graph equivalent "
            "instead (for example Microsoft Graph/Directory.Read.All).",
        )


def _retired_policy() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azuread-required-access-no-retired-api",
        description="No permissions on retired APIs (Windows Azure Active Directory / AAD Graph).",
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Remove the permissions on Windows Azure Active Directory (00000002-0000-0000-c000-"
            "000000000000); it was retired on 2025-08-31 and grants nothing. Request the Microsoft "
            "Graph equivalents."
        ),
        url=ref.MS_AAD_GRAPH_RETIREMENT.url,
        references=(
            ref.MS_AAD_GRAPH_RETIREMENT,
            ref.AADA_LEGACY_RESOURCES,
            ref.CSP_SECURE_APP_MODEL,
        ),
        applies_to=_ACCESS_TYPES,
        tags=("azuread", "permissions"),
    )
    return resource_policy(spec, _check_retired)


# --- CSP limit on Microsoft Graph ----------------------------------------------------------------


def _check_csp_families(resource: ResourceContext) -> Iterable[str]:
    catalog = load_catalog()
    for grant in grants_of(resource):
        problem = _outside_csp(grant, catalog)
        if problem:
            yield resource.violation(
                f"{grant.where}: {_label(grant, catalog)} {problem}.",
                "remove it; use a directory (users, groups, devices, organization, roles) or "
                "Intune (device management) permission from the permission catalog.",
            )


def _csp_policy() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azuread-required-access-graph-csp-families",
        description=(
            "Microsoft Graph permissions are limited to the directory and Intune families "
            "(the CSP limit); unknown ids are refused."
        ),
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Request only Microsoft Graph permissions of the directory and Intune families listed "
            "in the permission catalog (partner_policies/catalog.py); remove the others."
        ),
        url=ref.CSP_GRAPH.url,
        references=(ref.CSP_GRAPH, ref.MS_LEAST_PRIVILEGE),
        applies_to=_ACCESS_TYPES,
        tags=("azuread", "permissions", "csp"),
    )
    return resource_policy(spec, _check_csp_families)


# --- Allow-list ----------------------------------------------------------------------------------


def _in_sam_component(resource: ResourceContext) -> bool:
    """Whether the resource belongs to a Secure Application Model app: its parent is one of the
    components in secureApplicationModelComponents (generated from apps.yaml). A resource
    declared anywhere else is judged by the region-wide lists only."""
    parent = getattr(resource.opts, "parent", None)
    components = resource.config.get("secureApplicationModelComponents") or []
    if not isinstance(parent, str) or not isinstance(components, list):
        return False
    return parent.rsplit("::", 1)[-1] in [str(name) for name in components]


def _check_allow_list(resource: ResourceContext) -> Iterable[str]:
    catalog = load_catalog()
    allowed_app = _listed(resource.config.get("allowedApplicationPermissions"))
    allowed_consent = _listed(resource.config.get("allowedAdminConsentPermissions"))
    sam_only = _listed(resource.config.get("samAdminConsentPermissions"))
    if _in_sam_component(resource):
        allowed_consent |= sam_only
    for grant in grants_of(resource):
        if _retired(grant, catalog) or _outside_csp(grant, catalog):
            continue  # refused by the retired-API or CSP policy already
        permission = catalog.find(grant.api_app_id, grant.permission_id, grant.kind)
        keys = _keys(grant, permission, catalog)
        name = permission.qualified if permission else f"{grant.api_app_id}/{grant.permission_id}"
        if grant.kind == "application":
            if keys.isdisjoint(allowed_app):
                yield resource.violation(
                    f"{grant.where}: {_label(grant, catalog)} is not on this region's "
                    "allowedApplicationPermissions.",
                    f"remove it, or after review add '{name}' to allowedApplicationPermissions of "
                    f"{REVIEWED_WHERE}",
                )
            continue
        # Delegated: only those needing admin consent are allow-listed. An id unknown on a
        # catalogued API may need it, so it counts as one; scopes of apps outside the catalog
        # (the stack's own APIs) are checked by stack-app-references-same-stack.
        needs_consent = (
            permission.admin_consent
            if permission is not None
            else catalog.api(grant.api_app_id) is not None
        )
        if needs_consent and keys.isdisjoint(allowed_consent) and not keys.isdisjoint(sam_only):
            yield resource.violation(
                f"{grant.where}: {_label(grant, catalog)} is allowed for the Secure Application "
                "Model app only (samAdminConsentPermissions): it is how `partner-apps customers` "
                "writes consents in customer tenants.",
                "remove it from this app; only the app marked secureApplicationModel in apps.yaml "
                "may request it.",
            )
        elif needs_consent and keys.isdisjoint(allowed_consent):
            yield resource.violation(
                f"{grant.where}: {_label(grant, catalog)} needs admin consent and is not on this "
                "region's allowedAdminConsentPermissions.",
                f"remove it, or after review add '{name}' to allowedAdminConsentPermissions of "
                f"{REVIEWED_WHERE}",
            )


def _allow_list_policy() -> ResourceValidationPolicy:
    list_schema = {"type": "array", "items": {"type": "string"}, "default": []}
    spec = PolicySpec(
        name="azuread-required-access-allow-list",
        description=(
            "Application permissions and admin-consent delegated permissions are on the region's "
            "allow-list."
        ),
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Request only allow-listed permissions. To allow one, review it and add "
            "'<API name>/<permission value>' (or its id) to the policy config of each region."
        ),
        url=ref.MS_LEAST_PRIVILEGE.url,
        references=(ref.MS_LEAST_PRIVILEGE, ref.MS_CONSENT, ref.AADA_HIGH_PERMISSION_GRANTS),
        applies_to=_ACCESS_TYPES,
        config=(
            ConfigProperty(
                "allowedApplicationPermissions",
                {
                    **list_schema,
                    "description": (
                        "Application permissions an app may request: '<API name>/<value>' "
                        "(e.g. 'Microsoft Graph/Directory.Read.All'), '<API app id>/<value>' "
                        "or the permission id."
                    ),
                },
                loosens="add",
            ),
            ConfigProperty(
                "allowedAdminConsentPermissions",
                {
                    **list_schema,
                    "description": (
                        "Delegated permissions needing admin consent an app may request, named "
                        "like allowedApplicationPermissions."
                    ),
                },
                loosens="add",
            ),
            ConfigProperty(
                "samAdminConsentPermissions",
                {
                    **list_schema,
                    "description": (
                        "Delegated permissions needing admin consent that only the Secure "
                        "Application Model app may request (what `partner-apps customers` needs "
                        "to read and write consents in customer tenants), named like "
                        "allowedApplicationPermissions."
                    ),
                },
                loosens="add",
            ),
            ConfigProperty(
                "secureApplicationModelComponents",
                {
                    **list_schema,
                    "description": (
                        "Names of the components of the Secure Application Model apps, whose "
                        "resources samAdminConsentPermissions applies to (generated from "
                        "apps.yaml)."
                    ),
                },
                loosens="add",
            ),
        ),
        tags=("azuread", "permissions", "least-privilege"),
    )
    return resource_policy(spec, _check_allow_list)


# --- High privilege ------------------------------------------------------------------------------


def _check_high_privilege(resource: ResourceContext) -> Iterable[str]:
    catalog = load_catalog()
    listed = _listed(resource.config.get("highPrivilegePermissions"))
    for grant in grants_of(resource):
        if _retired(grant, catalog):
            continue
        permission = catalog.find(grant.api_app_id, grant.permission_id, grant.kind)
        flagged = permission is not None and permission.high_privilege
        if flagged or not _keys(grant, permission, catalog).isdisjoint(listed):
            yield resource.violation(
                f"{grant.where}: requests high-privilege {_label(grant, catalog)}.",
                "confirm it is needed and reviewed; prefer a narrower permission (for example "
                "Directory.Read.All instead of Directory.ReadWrite.All). This is reported on every "
                "run by design, even when allow-listed.",
            )


def _high_privilege_policy() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azuread-required-access-high-privilege",
        description="High-privilege permissions are always reported, even when allow-listed.",
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.ADVISORY,
        remediation=(
            "Replace high-privilege permissions with narrower ones where possible; keep the rest "
            "reviewed (they are a direct or indirect path to Global Administrator)."
        ),
        url=ref.MAESTER_HIGH_RISK_DIRECT.url,
        references=(
            ref.MAESTER_HIGH_RISK_DIRECT,
            ref.MAESTER_HIGH_RISK_INDIRECT,
            ref.AADA_HIGH_PERMISSION_GRANTS,
            ref.MS_LEAST_PRIVILEGE,
        ),
        applies_to=_ACCESS_TYPES,
        config=(
            ConfigProperty(
                "highPrivilegePermissions",
                {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": list(DEFAULT_HIGH_PRIVILEGE),
                    "description": (
                        "Permissions always reported, named like the allow-list entries; the "
                        "catalog's highPrivilege flag counts too."
                    ),
                },
                loosens="remove",
            ),
        ),
        tags=("azuread", "permissions", "least-privilege"),
    )
    return resource_policy(spec, _check_high_privilege)


def policies() -> list[ResourceValidationPolicy]:
    return [_retired_policy(), _csp_policy(), _allow_list_policy(), _high_privilege_policy()]
