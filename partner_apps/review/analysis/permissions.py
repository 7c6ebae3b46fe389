"""The permissions each app requires, named through the permission catalog (or, for an API of
this plan's own apps, through the scopes and app roles it exposes), with their declared reasons."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from partner_apps.review.analysis.index import Index, app_roles_of, scopes_of
from partner_apps.review.analysis.rows import Name, Note, PermissionRow
from partner_apps.review.plan.access import as_list, as_map, as_str
from partner_apps.review.plan.document import Catalog, Resource
from partner_apps.review.plan.vocabulary import (
    API_ACCESS,
    APPLICATION,
    APPLICATION_REGISTRATION,
    is_unknown,
)
from policies.partner_policies.catalog import Kind


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
    index: Index,
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


def permission_rows(
    index: Index,
    catalog: Catalog,
    client_ids: Mapping[str, str],
    key: str,
    resources: Sequence[Resource],
) -> tuple[list[PermissionRow], list[Note]]:
    declared = index.apps_config.get(key)
    config: Mapping[str, Any] = declared if declared is not None else {}
    rows: dict[tuple[str, str, str], PermissionRow] = {}
    notes: list[Note] = []
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
            retired = " — the API is retired" if api is not None and bool(api.retired) else ""
            notes.append(
                Note.of(
                    f"declared but not in the plan: {wanted[0]} ",
                    Name(wanted[1]),
                    f" ({wanted[2]}){retired}",
                )
            )
    found = sorted(rows.values(), key=PermissionRow.sort_key)
    if declared is None:
        found = [dataclasses.replace(r, reason=REASON_UNKNOWN) if r.known else r for r in found]
    return found, notes


def _in_plan_row(
    *,
    index: Index,
    config: Mapping[str, Any],
    api_key: str,
    api_id: str,
    permission_id: str,
    kind: Kind,
    resource: Resource,
) -> PermissionRow:
    scopes = {s.id.lower(): s for s in scopes_of(index, api_key)}
    roles = {r.id.lower(): r for r in app_roles_of(index.resources_of(api_key, own_only=False))}
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
