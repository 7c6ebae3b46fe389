"""Policy results coverage: which changes of a real preview the offline plan never evaluated.

``pulumi preview --json`` carries no policy results, so preview-json shows the offline plan's
(``--plan``). They hold only for what that plan contains: a resource it lacks, a permission it
does not request, a property it sets otherwise, was never seen by a policy. Ids the plan's mocks
made up (``assignedAtDeploy``) and values unknown until apply or secret are not judged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from partner_apps.review.changes.model import (
    MISSING,
    Code,
    ResourceChange,
    Words,
    joined,
    words,
)
from partner_apps.review.changes.preview_read import Preview
from partner_apps.review.changes.preview_steps import split_path, stack_of, value_at
from partner_apps.review.changes.properties import top_key
from partner_apps.review.plan.document import (
    API_ACCESS,
    APPLICATION,
    APPLICATION_REGISTRATION,
    SECRET,
    UNKNOWN,
    Catalog,
    Plan,
    Resource,
    as_list,
    as_map,
    as_str,
    canonical,
)
from partner_apps.review.plan.vocabulary import GUID
from policies.partner_policies.catalog import Kind

PERMISSION_KEYS = frozenset({"roleIds", "scopeIds", "requiredResourceAccesses"})
ACCESS_KINDS: Mapping[str, Kind] = {"role": "application", "scope": "delegated"}


OWN_API = "(own API)"


def granted(resource: Resource, catalog: Catalog) -> set[tuple[str, str, Kind]]:
    """(API app id, permission id, kind) a resource requests: an ApplicationApiAccess's role
    and scope ids, or an application's inline ``requiredResourceAccesses``.

    An API not in the catalog is one of this project's apps: its client id is made up in the
    offline plan and real in the preview, so it is compared as ``OWN_API`` (its scope and role
    ids come from apps.yaml and are the same on both sides)."""
    found: set[tuple[str, str, Kind]] = set()
    for api, permission_id, kind in _requested(resource):
        found.add((api if catalog.find_api(api) else OWN_API, permission_id, kind))
    return found


def _requested(resource: Resource) -> set[tuple[str, str, Kind]]:
    found: set[tuple[str, str, Kind]] = set()
    if resource.type == API_ACCESS:
        api = as_str(resource.prop("apiClientId")).lower()
        for key, access_type in (("roleIds", "role"), ("scopeIds", "scope")):
            kind = ACCESS_KINDS[access_type]
            found |= {(api, str(i).lower(), kind) for i in as_list(resource.prop(key)) if i}
        return found
    for entry in as_list(resource.prop("requiredResourceAccesses")):
        api = as_str(as_map(entry).get("resourceAppId")).lower()
        for access in as_list(as_map(entry).get("resourceAccesses")):
            access_kind = ACCESS_KINDS.get(as_str(as_map(access).get("type")).lower())
            permission_id = as_str(as_map(access).get("id")).lower()
            if access_kind and permission_id:
                found.add((api, permission_id, access_kind))
    return found


def _permission_text(catalog: Catalog, api: str, permission_id: str, kind: Kind) -> Words:
    if api == OWN_API:
        return (Code(permission_id), f" (an API of this project, {kind})")
    permission = catalog.by_id(api, permission_id, kind)
    if permission is not None:
        return (Code(permission.value), f" ({permission.api.name}, {kind})")
    known = catalog.find_api(api)
    return words(Code(permission_id), " (", known.name if known else Code(api), f", {kind})")


def _comparable(value: Any, assigned: frozenset[str] = frozenset()) -> bool:
    """False for a value the comparison cannot judge: unknown until apply, a secret, or holding
    an id the offline plan's mocks made up (the real preview has the real one there)."""
    text = canonical(value)
    if UNKNOWN in text or SECRET in text:
        return False
    return not any(guid.lower() in assigned for guid in GUID.findall(text))


def _property_uncovered(
    change: ResourceChange, planned: Resource, assigned: frozenset[str]
) -> list[str]:
    found = []
    for prop in change.properties:
        if prop.path == "(protect)":
            if change.new is not None and change.new.protect != planned.protect:
                found.append("(protect)")
            continue
        if top_key(prop.path) in PERMISSION_KEYS or prop.new is MISSING:
            continue
        recorded = value_at(planned.inputs, split_path(prop.path))
        if not _comparable(prop.new):
            continue
        if recorded is MISSING or (
            _comparable(recorded, assigned) and canonical(recorded) != canonical(prop.new)
        ):
            found.append(prop.path)
    return found


def app_grants(plan: Plan, catalog: Catalog) -> dict[str, set[tuple[str, str, Kind]]]:
    """What the plan's resources request, by their parent (the app component): an app may
    request a permission inline on its application or through an ApplicationApiAccess."""
    grants: dict[str, set[tuple[str, str, Kind]]] = {}
    for resource in plan.resources:
        if resource.type in (API_ACCESS, APPLICATION, APPLICATION_REGISTRATION):
            grants.setdefault(resource.parent or resource.urn, set()).update(
                granted(resource, catalog)
            )
    return grants


def uncovered(
    change: ResourceChange,
    planned: Resource | None,
    catalog: Catalog,
    grants: Mapping[str, set[tuple[str, str, Kind]]],
    assigned: frozenset[str] = frozenset(),
) -> list[Words]:
    """What of one created, updated or replaced resource the offline plan does not hold."""
    if change.new is None or change.op == "delete":
        return []
    where: Words = (Code(change.name), " (", Code(change.type), ")")
    planned_grants = grants.get(change.new.parent or change.urn, set())
    requested = [
        _permission_text(catalog, *item)
        for item in sorted(granted(change.new, catalog) - planned_grants)
    ]
    if planned is None:
        verb = {"create": "creates", "replace": "replaces", "update": "updates"}[change.op]
        also = words("; it requests ", joined(requested)) if requested else ()
        return [words(f"{verb} ", where, ", which is not in the offline plan", also)]
    lines = [words(where, " requests ", said) for said in requested]
    paths = _property_uncovered(change, planned, assigned)
    if paths:
        lines.append(
            words(
                where,
                " sets ",
                joined([(Code(p),) for p in paths]),
                " to values the offline plan does not have",
            )
        )
    return lines


def coverage(
    preview: Preview,
    changes: Sequence[ResourceChange],
    catalog: Catalog,
    contexts: Mapping[str, Plan],
) -> dict[str, list[Words]]:
    """Per stack whose policy results come from the offline plan: the preview's changes
    (``resource_changes`` of its steps) that plan does not contain, so no policy evaluated them.
    Empty when the preview carries its own policy results (engine events): those are
    authoritative."""
    if preview.violations is not None:
        return {}
    grants = {stack: app_grants(plan, catalog) for stack, plan in contexts.items()}
    found: dict[str, list[Words]] = {}
    for change in changes:
        context = contexts.get(stack_of(change.urn))
        if context is None:
            continue
        planned = context.by_urn().get(change.urn)
        missing = uncovered(
            change, planned, catalog, grants[context.stack], context.assigned_at_deploy
        )
        if missing:
            found.setdefault(context.stack, []).extend(missing)
    return found
