"""The analysis of one stack's plan: what reviewers and auditors read about.

Per app its permissions with names from the permission catalog, exposed scopes, known clients,
AdminAgents membership, credentials, Key Vault secrets and URIs; per stack its providers and
vaults (``analyze``). Plans are read by ``review.plan.document``; the views are shared by the
stack report, the diff, ``preview-json`` and the audit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from partner_apps.review.plan.document import (
    API_ACCESS,
    APP_COMPONENT,
    APPLICATION,
    APPLICATION_REGISTRATION,
    CERTIFICATE,
    FEDERATED_CREDENTIAL,
    GROUP_MEMBER,
    IDENTIFIER_URI,
    KEY_VAULT_ROLES,
    KNOWN_CLIENTS,
    PASSWORD,
    PERMISSION_SCOPE,
    PRE_AUTHORIZED,
    REDIRECT_URIS,
    ROLE_ASSIGNMENT,
    SERVICE_PRINCIPAL,
    VAULT,
    VAULT_SECRET,
    Catalog,
    Plan,
    Resource,
    Violation,
    as_list,
    as_map,
    as_str,
    dig,
    is_unknown,
    parse_urn,
    str_list,
)
from partner_apps.review.plan.values import flatten, format_date, format_unix, show_value
from partner_apps.review.reports.markdown import code
from policies.partner_policies.catalog import Kind

# --------------------------------------------------------------------------------------------
# Analysis of one stack
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PermissionRow:
    """One permission an app requires, named through the catalog."""

    api: str
    api_id: str
    permission: str
    permission_id: str
    kind: Kind
    admin_consent: bool | None
    risk: str
    high_privilege: bool
    known: bool
    csp_allowed: bool | None
    retired: bool
    in_plan_api: str | None
    reason: str
    urn: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.api_id.lower(), self.permission_id.lower(), self.kind)

    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.api.lower(), self.kind, self.permission.lower(), self.permission_id)

    def consent_text(self) -> str:
        if self.admin_consent is None:
            return "unknown"
        return "admin" if self.admin_consent else "user"

    def labels(self) -> list[str]:
        """Short facts about the permission, for prose: kind, privilege, consent, catalog."""
        labels: list[str] = [self.kind]
        if not self.known:
            labels.append("unknown (not in catalog)")
        if self.high_privilege:
            labels.append("high privilege")
        if self.admin_consent:
            labels.append("admin consent")
        if self.retired:
            labels.append("retired API")
        if self.csp_allowed is False:
            labels.append("outside CSP-supported resources")
        labels.append(f"{self.risk} risk")
        return labels


@dataclass(frozen=True)
class ScopeRow:
    """An oauth2 permission scope the app exposes."""

    id: str
    value: str
    type: str
    enabled: bool
    admin_consent_display_name: str


@dataclass(frozen=True)
class AppRoleRow:
    """An app role the app exposes."""

    id: str
    value: str
    allowed_member_types: tuple[str, ...]
    enabled: bool


@dataclass(frozen=True)
class CredentialRow:
    """A client secret, certificate or federated credential of an app."""

    kind: str
    name: str
    display_name: str
    end_date: str
    rotation_date: str
    urn: str
    protect: bool


@dataclass(frozen=True)
class SecretRow:
    """A Key Vault secret, with the app it belongs to when that can be told."""

    secret_name: str
    vault_name: str
    content_type: str
    expires: str
    value_managed: bool
    app: str | None
    urn: str
    protect: bool


@dataclass(frozen=True)
class RoleAssignmentRow:
    """A role assignment (the Key Vault's RBAC)."""

    name: str
    role: str
    principal_id: str
    principal_type: str
    scope: str
    urn: str


@dataclass(frozen=True)
class VaultView:
    """A Key Vault and what hangs off it."""

    name: str
    resource_group: str
    location: str
    settings: tuple[tuple[str, str], ...]
    urn: str
    protect: bool
    secrets: tuple[SecretRow, ...]
    role_assignments: tuple[RoleAssignmentRow, ...]


@dataclass(frozen=True)
class ClientRef:
    """A client application named by client id, with its app key when it is one of ours."""

    client_id: str
    app: str | None

    def markdown(self) -> str:
        if is_unknown(self.client_id):
            return f"{code(self.app)} (client id known after apply)" if self.app else "(unknown)"
        return f"{code(self.app)} ({code(self.client_id)})" if self.app else code(self.client_id)


@dataclass(frozen=True)
class AppView:
    """Everything a reviewer reads about one partner-managed app in one stack."""

    key: str
    display_name: str
    component_urn: str | None
    application_urn: str | None
    client_id: str | None
    sign_in_audience: str
    identifier_uris: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    homepage_url: str
    implicit_access_tokens: bool | None
    implicit_id_tokens: bool | None
    scopes: tuple[ScopeRow, ...]
    app_roles: tuple[AppRoleRow, ...]
    known_clients: tuple[ClientRef, ...]
    pre_authorized: tuple[ClientRef, ...]
    permissions: tuple[PermissionRow, ...]
    service_principal_urn: str | None
    service_principal_object_id: str | None
    app_role_assignment_required: bool | None
    admin_agents: tuple[str, ...]
    credentials: tuple[CredentialRow, ...]
    secrets: tuple[SecretRow, ...]
    resources: tuple[Resource, ...]
    notes: tuple[str, ...]
    protected: bool

    @property
    def in_admin_agents(self) -> bool:
        return bool(self.admin_agents)


@dataclass(frozen=True)
class ProviderRow:
    """A provider resource and the tenant it reaches."""

    name: str
    package: str
    tenant_id: str
    settings: tuple[tuple[str, str], ...]
    urn: str


@dataclass(frozen=True)
class StackView:
    """The analysed plan of one stack."""

    plan: Plan
    apps: tuple[AppView, ...]
    vaults: tuple[VaultView, ...]
    providers: tuple[ProviderRow, ...]
    unassigned_secrets: tuple[SecretRow, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def stack(self) -> str:
        return self.plan.stack

    def app(self, key: str) -> AppView | None:
        return next((app for app in self.apps if app.key == key), None)


class _Index:
    """Lookups over a stack's resources, plus a context plan (for partial views of a preview)."""

    def __init__(self, plan: Plan, context: Plan | None) -> None:
        self.plan = plan
        self.own = plan.by_urn()
        self.all: dict[str, Resource] = {**(context.by_urn() if context else {}), **self.own}
        self.apps_config: dict[str, Mapping[str, Any]] = {
            **(dict(context.apps) if context else {}),
            **dict(plan.apps),
        }
        self.stack = plan.stack
        # Recorded by the offline preview (apps.<key>.componentUrn); a real preview's JSON has no
        # apps block, so its app keys come from the component names.
        self.key_by_component = {
            as_str(config["componentUrn"]): key
            for key, config in self.apps_config.items()
            if config.get("componentUrn")
        }
        keys = set(self.apps_config)
        for resource in self.all.values():
            key = self._component_key(resource.urn, resource.type)
            if key:
                keys.add(key)
            if resource.parent:
                parent = parse_urn(resource.parent)
                if parent and parent.type == APP_COMPONENT:
                    keys.add(self._strip_stack(parent.name))
        self.app_keys = tuple(sorted(keys))
        self._owner_cache: dict[str, str | None] = {}
        self._by_owner: dict[bool, dict[str | None, list[Resource]]] = {}

    def _strip_stack(self, name: str) -> str:
        prefix = f"{self.stack}-"
        return name[len(prefix) :] if name.startswith(prefix) else name

    def _component_key(self, urn: str, type_: str) -> str | None:
        parsed = parse_urn(urn)
        if type_ == APP_COMPONENT and parsed:
            return self.key_by_component.get(urn) or self._strip_stack(parsed.name)
        return None

    def owner(self, urn: str) -> str | None:
        """The app key of the PartnerManagedApp component that contains ``urn``."""
        if urn not in self._owner_cache:
            self._owner_cache[urn] = self._find_owner(urn)
        return self._owner_cache[urn]

    def _find_owner(self, urn: str) -> str | None:
        seen: set[str] = set()
        current: str | None = urn
        while current and current not in seen:
            seen.add(current)
            parsed = parse_urn(current)
            if parsed is None:
                return None
            if parsed.type == APP_COMPONENT:
                return self.key_by_component.get(current) or self._strip_stack(parsed.name)
            resource = self.all.get(current)
            if resource is None:
                break
            current = resource.parent
        # The chain left the known resources: fall back to the URN's type chain and name prefix.
        parsed = parse_urn(current or urn)
        if parsed and APP_COMPONENT in parsed.ancestor_types:
            return self.key_by_name_prefix(parsed.name)
        return None

    def key_by_name_prefix(self, name: str) -> str | None:
        """The app key whose component name (``<stack>-<key>``) prefixes ``name``, longest first."""
        for key in sorted(self.app_keys, key=lambda k: (-len(k), k)):
            component = f"{self.stack}-{key}"
            if name == component or name.startswith(component + "-"):
                return key
        for key in sorted(self.app_keys, key=lambda k: (-len(k), k)):
            if name == key or name.startswith(key + "-"):
                return key
        return None

    def resources_of(self, key: str, *, own_only: bool = True) -> list[Resource]:
        """The resources ``key``'s component contains, by URN."""
        if own_only not in self._by_owner:
            # Grouped once: asking each app for its resources by scanning them all was quadratic
            # (a 400-app change took a second in this alone).
            grouped: dict[str | None, list[Resource]] = {}
            for urn, resource in sorted((self.own if own_only else self.all).items()):
                grouped.setdefault(self.owner(urn), []).append(resource)
            self._by_owner[own_only] = grouped
        return list(self._by_owner[own_only].get(key, ()))


def _first(resources: Iterable[Resource], *types: str) -> Resource | None:
    return next((r for r in resources if r.type in types), None)


def _client_ids(index: _Index) -> dict[str, str]:
    """Client id → app key for the apps of this plan (and its context)."""
    ids: dict[str, str] = {}
    for key in index.app_keys:
        for resource in index.resources_of(key, own_only=False):
            if resource.type in (APPLICATION, APPLICATION_REGISTRATION):
                client_id = as_str(resource.prop("clientId"))
                if client_id and not is_unknown(client_id):
                    ids[client_id.lower()] = key
    return ids


def _scopes_of(index: _Index, key: str, *, own_only: bool = False) -> list[ScopeRow]:
    rows: dict[str, ScopeRow] = {}
    for resource in index.resources_of(key, own_only=own_only):
        if resource.type == APPLICATION:
            for scope in as_list(dig(resource.inputs, "api", "oauth2PermissionScopes")):
                row = _scope_row(as_map(scope))
                rows[row.id or row.value] = row
        elif resource.type == PERMISSION_SCOPE:
            row = _scope_row({**resource.inputs, "id": resource.inputs.get("scopeId")})
            rows[row.id or row.value] = row
    return [rows[k] for k in sorted(rows)]


def _scope_row(scope: Mapping[str, Any]) -> ScopeRow:
    enabled = scope.get("enabled", scope.get("isEnabled", True))
    return ScopeRow(
        id=as_str(scope.get("id")),
        value=as_str(scope.get("value")),
        type=as_str(scope.get("type")) or "User",
        enabled=enabled is not False,
        admin_consent_display_name=as_str(scope.get("adminConsentDisplayName")),
    )


def _app_roles_of(resources: Iterable[Resource]) -> list[AppRoleRow]:
    rows: list[AppRoleRow] = []
    for resource in resources:
        if resource.type != APPLICATION:
            continue
        for role in as_list(resource.inputs.get("appRoles")):
            role_map = as_map(role)
            rows.append(
                AppRoleRow(
                    id=as_str(role_map.get("id")),
                    value=as_str(role_map.get("value")),
                    allowed_member_types=str_list(role_map.get("allowedMemberTypes")),
                    enabled=role_map.get("enabled", True) is not False,
                )
            )
    return sorted(rows, key=lambda r: (r.value, r.id))


def _reason_for(
    config: Mapping[str, Any], catalog: Catalog, api_id: str, value: str, kind: Kind
) -> str | None:
    for entry in as_list(config.get("permissions")):
        entry_map = as_map(entry)
        if as_str(entry_map.get("permission")) != value or as_str(entry_map.get("type")) != kind:
            continue
        api_name = as_str(entry_map.get("api"))
        api = catalog.find_api(api_name) if api_name else None
        if (api is not None and api.app_id.lower() == api_id.lower()) or (
            api_name.lower() == api_id.lower()
        ):
            return as_str(entry_map.get("reason"))
    return None


def _scope_reason(config: Mapping[str, Any], api_key: str, value: str) -> str | None:
    for entry in as_list(config.get("requiredScopes")):
        entry_map = as_map(entry)
        if as_str(entry_map.get("app")) == api_key and as_str(entry_map.get("scope")) == value:
            return as_str(entry_map.get("reason"))
    return None


NO_REASON = "(no reason given)"
UNDECLARED = "(not declared in the app definitions)"
NOT_MATCHED = "(id not in catalog: no declared reason can match it)"
REASON_UNKNOWN = "(reason not known: no app definitions in this input)"


def _api_accesses(resources: Iterable[Resource]) -> Iterator[tuple[Resource, str, str, Kind]]:
    """(resource, api client id, permission id, kind) for every required permission."""
    for resource in resources:
        if resource.type == API_ACCESS:
            api_id = as_str(resource.inputs.get("apiClientId"))
            for role in as_list(resource.inputs.get("roleIds")):
                yield resource, api_id, as_str(role), "application"
            for scope in as_list(resource.inputs.get("scopeIds")):
                yield resource, api_id, as_str(scope), "delegated"
        elif resource.type in (APPLICATION, APPLICATION_REGISTRATION):
            for access in as_list(resource.inputs.get("requiredResourceAccesses")):
                access_map = as_map(access)
                api_id = as_str(access_map.get("resourceAppId"))
                for item in as_list(access_map.get("resourceAccesses")):
                    item_map = as_map(item)
                    kind: Kind = "application" if item_map.get("type") == "Role" else "delegated"
                    yield resource, api_id, as_str(item_map.get("id")), kind


def _in_plan_api(
    *,
    index: _Index,
    catalog: Catalog,
    client_ids: Mapping[str, str],
    resource: Resource,
    api_id: str,
    owner: str,
) -> str | None:
    """The app key of the plan's app that ``api_id`` names, if it is one of them."""
    if api_id.lower() in client_ids:
        return client_ids[api_id.lower()]
    if catalog.find_api(api_id) is not None:
        return None
    # A client id the plan does not record (unknown until apply, or no outputs): the access
    # resource depends on the other app's registration.
    for dependency in resource.dependencies:
        key = index.owner(dependency)
        dep = index.all.get(dependency)
        if (
            key
            and key != owner
            and (dep is None or dep.type in (APPLICATION, APPLICATION_REGISTRATION))
        ):
            return key
    return None


def _permission_rows(
    index: _Index,
    catalog: Catalog,
    client_ids: Mapping[str, str],
    key: str,
    resources: Sequence[Resource],
) -> tuple[list[PermissionRow], list[str]]:
    declared = index.apps_config.get(key)
    config: Mapping[str, Any] = declared if declared is not None else {}
    rows: dict[tuple[str, str, str], PermissionRow] = {}
    notes: list[str] = []
    for resource, api_id, permission_id, kind in _api_accesses(resources):
        in_plan = _in_plan_api(
            index=index,
            catalog=catalog,
            client_ids=client_ids,
            resource=resource,
            api_id=api_id,
            owner=key,
        )
        if in_plan is not None:
            row = _in_plan_row(
                index=index,
                config=config,
                api_key=in_plan,
                api_id=api_id,
                permission_id=permission_id,
                kind=kind,
                resource=resource,
            )
        else:
            row = _catalog_row(
                catalog=catalog,
                config=config,
                api_id=api_id,
                permission_id=permission_id,
                kind=kind,
                resource=resource,
            )
        rows[row.key] = row
    for entry in as_list(config.get("permissions")):
        entry_map = as_map(entry)
        wanted = (
            as_str(entry_map.get("api")),
            as_str(entry_map.get("permission")),
            as_str(entry_map.get("type")),
        )
        api = catalog.find_api(wanted[0]) if wanted[0] else None
        api_id = str(api.app_id).lower() if api is not None else wanted[0].lower()
        if not any(
            r.api_id.lower() == api_id and r.permission == wanted[1] and r.kind == wanted[2]
            for r in rows.values()
        ):
            notes.append(
                f"declared but not in the plan: {wanted[0]} `{wanted[1]}` ({wanted[2]})"
                + (" — the API is retired" if api is not None and bool(api.retired) else "")
            )
    found = sorted(rows.values(), key=PermissionRow.sort_key)
    if declared is None:
        found = [dataclasses.replace(r, reason=REASON_UNKNOWN) if r.known else r for r in found]
    return found, notes


def _in_plan_row(
    *,
    index: _Index,
    config: Mapping[str, Any],
    api_key: str,
    api_id: str,
    permission_id: str,
    kind: Kind,
    resource: Resource,
) -> PermissionRow:
    scopes = {s.id.lower(): s for s in _scopes_of(index, api_key)}
    roles = {r.id.lower(): r for r in _app_roles_of(index.resources_of(api_key, own_only=False))}
    value = permission_id
    known = False
    admin = None
    risk = "high"
    if kind == "delegated" and permission_id.lower() in scopes:
        scope = scopes[permission_id.lower()]
        value, known = scope.value, True
        admin = scope.type == "Admin"
        risk = "medium" if admin else "low"
    elif kind == "application" and permission_id.lower() in roles:
        value, known, admin, risk = roles[permission_id.lower()].value, True, True, "medium"
    reason = _scope_reason(config, api_key, value) if known else None
    return PermissionRow(
        api=api_key,
        api_id=api_id if api_id and not is_unknown(api_id) else f"app:{api_key}",
        permission=value,
        permission_id=permission_id,
        kind=kind,
        admin_consent=admin,
        risk=risk,
        high_privilege=False,
        known=known,
        csp_allowed=None,
        retired=False,
        in_plan_api=api_key,
        reason=(reason or NO_REASON) if reason is not None else UNDECLARED,
        urn=resource.urn,
    )


def _catalog_row(
    *,
    catalog: Catalog,
    config: Mapping[str, Any],
    api_id: str,
    permission_id: str,
    kind: Kind,
    resource: Resource,
) -> PermissionRow:
    api = catalog.find_api(api_id) if api_id and not is_unknown(api_id) else None
    permission = catalog.by_id(api_id, permission_id, kind) if api is not None else None
    api_name = (
        str(api.name)
        if api is not None
        else ("(API known after apply)" if is_unknown(api_id) else f"{api_id} (API not in catalog)")
    )
    retired = bool(api.retired) if api is not None else False
    if permission is None:
        return PermissionRow(
            api=api_name,
            api_id=api_id,
            permission=permission_id,
            permission_id=permission_id,
            kind=kind,
            admin_consent=None,
            risk="high",
            high_privilege=False,
            known=False,
            csp_allowed=None,
            retired=retired,
            in_plan_api=None,
            reason=NOT_MATCHED,
            urn=resource.urn,
        )
    value = str(permission.value)
    reason = _reason_for(config, catalog, api_id, value, kind)
    return PermissionRow(
        api=str(permission.api.name),
        api_id=api_id,
        permission=value,
        permission_id=permission_id,
        kind=permission.kind,
        admin_consent=bool(permission.admin_consent),
        risk=str(permission.risk),
        high_privilege=bool(permission.high_privilege),
        known=True,
        csp_allowed=bool(permission.csp_allowed),
        retired=retired,
        in_plan_api=None,
        reason=UNDECLARED if reason is None else (reason or NO_REASON),
        urn=resource.urn,
    )


def _credentials(resources: Iterable[Resource]) -> list[CredentialRow]:
    rows: list[CredentialRow] = []
    for resource in resources:
        if resource.type == PASSWORD:
            kind = "client secret"
            rotation = as_str(dig(resource.inputs, "rotateWhenChanged", "rotationDate"))
        elif resource.type == CERTIFICATE:
            kind = f"certificate ({as_str(resource.inputs.get('type')) or 'unspecified'})"
            rotation = ""
        elif resource.type == FEDERATED_CREDENTIAL:
            kind = "federated credential"
            rotation = ""
        else:
            continue
        rows.append(
            CredentialRow(
                kind=kind,
                name=resource.name,
                display_name=as_str(resource.inputs.get("displayName")),
                end_date=format_date(resource.prop("endDate")) or "(none)",
                rotation_date=format_date(rotation),
                urn=resource.urn,
                protect=resource.protect,
            )
        )
    return sorted(rows, key=lambda r: (r.kind, r.name))


def _secret_row(resource: Resource, app: str | None) -> SecretRow:
    properties = as_map(resource.inputs.get("properties"))
    return SecretRow(
        secret_name=as_str(resource.inputs.get("secretName")) or resource.name,
        vault_name=as_str(resource.inputs.get("vaultName")),
        content_type=as_str(properties.get("contentType")),
        expires=format_unix(dig(properties, "attributes", "expires")) or "(none)",
        value_managed=not any(
            path in ("properties.value", "properties", "properties.value.*")
            for path in resource.ignore_changes
        ),
        app=app,
        urn=resource.urn,
        protect=resource.protect,
    )


def _secret_owner(index: _Index, resource: Resource) -> str | None:
    owner = index.owner(resource.urn)
    if owner:
        return owner
    for dependency in resource.dependencies:
        key = index.owner(dependency)
        if key:
            return key
    name = as_str(resource.inputs.get("secretName")) or resource.name
    return index.key_by_name_prefix(name)


def _vaults(index: _Index, secrets: Sequence[SecretRow]) -> list[VaultView]:
    views: list[VaultView] = []
    own = list(index.own.values())
    assignments = [r for r in own if r.type == ROLE_ASSIGNMENT]
    for resource in own:
        if resource.type != VAULT:
            continue
        name = as_str(resource.inputs.get("vaultName")) or resource.name
        settings = tuple(
            (path, show_value(value))
            for path, value in flatten(as_map(resource.inputs.get("properties")))
            if path
        )
        role_rows = [
            _role_row(r)
            for r in assignments
            if name.lower() in as_str(r.inputs.get("scope")).lower()
            or resource.urn in r.dependencies
            or (r.parent is not None and r.parent == resource.parent)
        ]
        views.append(
            VaultView(
                name=name,
                resource_group=as_str(resource.inputs.get("resourceGroupName")),
                location=as_str(resource.inputs.get("location")),
                settings=settings,
                urn=resource.urn,
                protect=resource.protect,
                secrets=tuple(
                    s for s in secrets if s.vault_name in (name, "") or is_unknown(s.vault_name)
                ),
                role_assignments=tuple(sorted(role_rows, key=lambda r: (r.role, r.principal_id))),
            )
        )
    return sorted(views, key=lambda v: v.name)


def _role_row(resource: Resource) -> RoleAssignmentRow:
    definition = as_str(resource.inputs.get("roleDefinitionId"))
    guid = definition.rsplit("/", 1)[-1].lower()
    return RoleAssignmentRow(
        name=resource.name,
        role=KEY_VAULT_ROLES.get(guid, definition),
        principal_id=as_str(resource.inputs.get("principalId")),
        principal_type=as_str(resource.inputs.get("principalType")),
        scope=as_str(resource.inputs.get("scope")),
        urn=resource.urn,
    )


def _client_refs(client_ids: Mapping[str, str], values: Iterable[str]) -> tuple[ClientRef, ...]:
    refs = {
        ClientRef(client_id=value, app=client_ids.get(value.lower())) for value in values if value
    }
    return tuple(sorted(refs, key=lambda r: (r.app or "~", r.client_id)))


def analyze(plan: Plan, catalog: Catalog, context: Plan | None = None) -> StackView:
    """Analyse one stack. ``context`` (a full plan) resolves what a partial ``plan`` lacks."""
    index = _Index(plan, context)
    client_ids = _client_ids(index)
    all_secrets = [
        _secret_row(r, _secret_owner(index, r))
        for r in index.own.values()
        if r.type == VAULT_SECRET
    ]
    apps: list[AppView] = []
    for key in index.app_keys:
        own = index.resources_of(key)
        config = index.apps_config.get(key, {})
        if not own and key not in plan.apps:
            continue
        apps.append(
            _app_view(
                index=index,
                catalog=catalog,
                client_ids=client_ids,
                key=key,
                own=own,
                config=config,
                all_secrets=all_secrets,
            )
        )
    providers = [
        ProviderRow(
            name=r.name,
            package=r.type.removeprefix("pulumi:providers:"),
            tenant_id=as_str(r.inputs.get("tenantId")),
            settings=tuple(
                (k, show_value(v)) for k, v in flatten(dict(r.inputs)) if k and k != "version"
            ),
            urn=r.urn,
        )
        for r in index.own.values()
        if r.type.startswith("pulumi:providers:")
    ]
    notes = []
    tenant = as_str(plan.region.get("tenantId"))
    for provider in providers:
        if tenant and provider.tenant_id and provider.tenant_id.lower() != tenant.lower():
            notes.append(
                f"provider `{provider.name}` reaches tenant `{provider.tenant_id}`, "
                f"not the region's tenant `{tenant}`"
            )
    return StackView(
        plan=plan,
        apps=tuple(apps),
        vaults=tuple(_vaults(index, all_secrets)),
        providers=tuple(sorted(providers, key=lambda p: p.name)),
        unassigned_secrets=tuple(
            sorted((s for s in all_secrets if s.app is None), key=lambda s: s.secret_name)
        ),
        notes=tuple(notes),
    )


def _app_view(
    *,
    index: _Index,
    catalog: Catalog,
    client_ids: Mapping[str, str],
    key: str,
    own: Sequence[Resource],
    config: Mapping[str, Any],
    all_secrets: Sequence[SecretRow],
) -> AppView:
    application = _first(own, APPLICATION, APPLICATION_REGISTRATION)
    inputs = application.inputs if application else {}
    identifier_uris = set(str_list(inputs.get("identifierUris")))
    redirect_uris = set(str_list(dig(inputs, "web", "redirectUris")))
    redirect_uris |= set(str_list(dig(inputs, "singlePageApplication", "redirectUris")))
    redirect_uris |= set(str_list(dig(inputs, "publicClient", "redirectUris")))
    known = set(str_list(dig(inputs, "api", "knownClientApplications")))
    pre_authorized: set[str] = set()
    for resource in own:
        if resource.type == IDENTIFIER_URI:
            identifier_uris.add(as_str(resource.inputs.get("identifierUri")))
        elif resource.type == REDIRECT_URIS:
            redirect_uris |= set(str_list(resource.inputs.get("redirectUris")))
        elif resource.type == KNOWN_CLIENTS:
            known |= set(str_list(resource.inputs.get("knownClientIds")))
        elif resource.type == PRE_AUTHORIZED:
            pre_authorized.add(as_str(resource.inputs.get("authorizedClientId")))
    for item in as_list(dig(inputs, "api", "preAuthorizedApplications")):
        pre_authorized.add(as_str(as_map(item).get("applicationId")))
    sp = _first(own, SERVICE_PRINCIPAL)
    sp_object_id = as_str(sp.prop("objectId")) if sp else ""
    notes: list[str] = []
    admin_agents: list[str] = []
    for member in (r for r in own if r.type == GROUP_MEMBER):
        admin_agents.append(as_str(member.inputs.get("groupObjectId")) or "(unknown group)")
        member_id = as_str(member.inputs.get("memberObjectId"))
        if (
            sp_object_id
            and member_id
            and not is_unknown(sp_object_id)
            and not is_unknown(member_id)
            and member_id.lower() != sp_object_id.lower()
        ):
            notes.append(
                f"group member `{member.name}` adds `{member_id}`, "
                f"not this app's service principal `{sp_object_id}`"
            )
    permissions, permission_notes = _permission_rows(index, catalog, client_ids, key, own)
    notes.extend(permission_notes)
    if not own:
        notes.append("declared, but this stack has no resources for it")
    implicit = as_map(dig(inputs, "web", "implicitGrant"))
    access = implicit.get(
        "accessTokenIssuanceEnabled", inputs.get("implicitAccessTokenIssuanceEnabled")
    )
    id_tokens = implicit.get("idTokenIssuanceEnabled", inputs.get("implicitIdTokenIssuanceEnabled"))
    client_id = as_str(application.prop("clientId")) if application else ""
    return AppView(
        key=key,
        display_name=as_str(inputs.get("displayName")) or as_str(config.get("displayName")) or key,
        component_urn=next((r.urn for r in own if r.type == APP_COMPONENT), None),
        application_urn=application.urn if application else None,
        client_id=client_id or None,
        sign_in_audience=as_str(inputs.get("signInAudience")),
        identifier_uris=tuple(sorted(u for u in identifier_uris if u)),
        redirect_uris=tuple(sorted(u for u in redirect_uris if u)),
        homepage_url=as_str(dig(inputs, "web", "homepageUrl") or inputs.get("homepageUrl")),
        implicit_access_tokens=access if isinstance(access, bool) else None,
        implicit_id_tokens=id_tokens if isinstance(id_tokens, bool) else None,
        scopes=tuple(_scopes_of(index, key, own_only=True)),
        app_roles=tuple(_app_roles_of(own)),
        known_clients=_client_refs(client_ids, known),
        pre_authorized=_client_refs(client_ids, pre_authorized),
        permissions=tuple(permissions),
        service_principal_urn=sp.urn if sp else None,
        service_principal_object_id=sp_object_id or None,
        app_role_assignment_required=(
            sp.inputs.get("appRoleAssignmentRequired")
            if sp and isinstance(sp.inputs.get("appRoleAssignmentRequired"), bool)
            else None
        ),
        admin_agents=tuple(sorted(admin_agents)),
        credentials=tuple(_credentials(own)),
        secrets=tuple(
            sorted((s for s in all_secrets if s.app == key), key=lambda s: s.secret_name)
        ),
        resources=tuple(own),
        notes=tuple(sorted(notes)),
        protected=any(r.protect for r in own),
    )


@dataclass(frozen=True)
class ViolationGroup:
    """Violations of one policy that say the same thing about several resources, counted once.

    Policy messages start with the resource's name (``<name>: <problem> Fix: <fix>``); with the
    name taken off, identical messages (three apps on client secrets, say) become one finding
    with the list of resources, so a report does not repeat the same fix text.
    """

    policy: str
    enforcement_level: str
    severity: str
    message: str  # without the leading "<resource>: "
    resources: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.resources)


def _resource_name(urn: str) -> str:
    parsed = parse_urn(urn)
    return parsed.name if parsed else urn or "(stack)"


def group_by_message(
    findings: Iterable[tuple[tuple[str, ...], str, str]],
) -> list[tuple[tuple[str, ...], str, list[str]]]:
    """Findings ``(key, resource name, message)`` that say the same thing, once: grouped by key
    and by the message without its leading ``"<resource>: "``, with their resource names, in
    first-seen order. The one grouping rule of every report (Markdown, diff, audit, terminal)."""
    groups: dict[tuple[tuple[str, ...], str], list[str]] = {}
    for key, name, message in findings:
        groups.setdefault((key, message.removeprefix(f"{name}: ")), []).append(name)
    return [(key, message, names) for (key, message), names in groups.items()]


def group_violations(violations: Iterable[Violation]) -> list[ViolationGroup]:
    """Violations grouped by policy, enforcement, severity and message; in first-seen order."""
    findings = (
        ((v.policy, v.enforcement_level, v.severity), _resource_name(v.urn), v.message)
        for v in violations
    )
    return [
        ViolationGroup(policy, level, severity, message, tuple(names))
        for (policy, level, severity), message, names in group_by_message(findings)
    ]
