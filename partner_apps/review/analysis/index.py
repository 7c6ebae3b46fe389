"""Lookups over one stack's resources: which app owns a resource, an app's resources, its
exposed scopes and app roles, the client ids of the plan's apps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from partner_apps.review.analysis.rows import AppRoleRow, ScopeRow
from partner_apps.review.plan.access import as_list, as_map, as_str, dig, str_list
from partner_apps.review.plan.document import Plan, Resource
from partner_apps.review.plan.vocabulary import (
    APP_COMPONENT,
    APPLICATION,
    APPLICATION_REGISTRATION,
    PERMISSION_SCOPE,
    is_unknown,
    parse_urn,
)


class Index:
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


def first_of(resources: Iterable[Resource], *types: str) -> Resource | None:
    return next((r for r in resources if r.type in types), None)


def client_ids_of(index: Index) -> dict[str, str]:
    """Client id → app key for the apps of this plan (and its context)."""
    ids: dict[str, str] = {}
    for key in index.app_keys:
        for resource in index.resources_of(key, own_only=False):
            if resource.type in (APPLICATION, APPLICATION_REGISTRATION):
                client_id = as_str(resource.prop("clientId"))
                if client_id and not is_unknown(client_id):
                    ids[client_id.lower()] = key
    return ids


def scopes_of(index: Index, key: str, *, own_only: bool = False) -> list[ScopeRow]:
    rows: dict[str, ScopeRow] = {}
    for resource in index.resources_of(key, own_only=own_only):
        if resource.type == APPLICATION:
            for scope in as_list(dig(resource.inputs, "api", "oauth2PermissionScopes")):
                row = scope_row(as_map(scope))
                rows[row.id or row.value] = row
        elif resource.type == PERMISSION_SCOPE:
            row = scope_row({**resource.inputs, "id": resource.inputs.get("scopeId")})
            rows[row.id or row.value] = row
    return [rows[k] for k in sorted(rows)]


def scope_row(scope: Mapping[str, Any]) -> ScopeRow:
    enabled = scope.get("enabled", scope.get("isEnabled", True))
    return ScopeRow(
        id=as_str(scope.get("id")),
        value=as_str(scope.get("value")),
        type=as_str(scope.get("type")) or "User",
        enabled=enabled is not False,
        admin_consent_display_name=as_str(scope.get("adminConsentDisplayName")),
    )


def app_roles_of(resources: Iterable[Resource]) -> list[AppRoleRow]:
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
