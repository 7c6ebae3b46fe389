"""A customer's GDAP relationship and offboarding in the plan (issue 30 items 2, 4, 5).

What ``customers/<stack>.yaml`` asks (``customer_file.Lifecycle``) is compared with what Graph
shows in the partner tenant (``tenantRelationships/delegatedAdminRelationships``, every status,
and the access assignments of the relationship this tool manages), giving actions of the same
``plan.Action`` shape as the consent actions, so that review, ``apply --plan``, the audit log and
resumption work alike. ``Action`` fields for GDAP: ``app`` is ``gdap``, ``api`` the template,
``resource_app_id`` the relationship's display name (with ``/<group>`` for an access
assignment): what identifies the change before any id exists; ``values`` the role names (or the
auto-extend value); ``object_id`` the relationship id (``<relationship>/<assignment>`` for an
assignment) once it exists.

The relationship this tool manages for a template is named ``<template>-<roles digest>-<tenant
digest>`` (Graph: at most 50 characters, unique across the partner's relationships): the same
template and role set always give the same name, so a run killed after the create finds its
relationship instead of making a second one, and a changed role set gives a new name (a
role-set migration: the old relationship is terminated once the new one is active, since an
active relationship's roles cannot change, Graph "Update delegatedAdminRelationship").

Offboarding (``state: offboard``), in order: our apps' app role assignments and delegated grants
in the customer tenant, their service principals (the SAM app's last: its token does the other
removals), the Partner Center application consents, then every active GDAP relationship of the
customer is terminated.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from . import entra_roles
from .customer_file import Lifecycle, Template
from .desired import DesiredApp
from .graph import AppState, CustomerGraph, Principal
from .plan import (
    Action,
    Customer,
    CustomerPlan,
    diff,
    plan_customer,
    read_customer,
    sam_not_consented,
    unread_plan,
)
from .remote import RemoteError

GDAP = "gdap"
# Every GDAP write page of Graph lists only this delegated permission.
WRITE_PERMISSION = "DelegatedAdminRelationship.ReadWrite.All"
# The approval link a customer's Global Administrator opens (Partner Center GDAP API docs:
# "build the customer invitation link by using the following URI template").
APPROVAL_LINK = (
    "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/"
    "granularAdminRelationships/{id}"
)
# Statuses in which a relationship no longer gives, nor will give, access.
ENDED = frozenset({"terminated", "expired", "terminationRequested", "terminating"})
PENDING = frozenset({"created", "approvalPending", "approved", "activating"})
# Statuses in which a relationship gives access (Graph: "expiring" is an active relationship
# near its endDateTime).
LIVE = frozenset({"active", "expiring"})

# In the order apply performs them. GDAP first: a consent needs the relationship's roles.
GDAP_ORDER = (
    "gdap-create",
    "gdap-lock",
    "gdap-add-assignment",
    "gdap-change-assignment",
    "gdap-auto-extend",
    "gdap-remove-assignment",
    "gdap-terminate",
)
OFFBOARD_ORDER = (
    "offboard-remove-app-role",
    "offboard-remove-grant",
    "offboard-delete-principal",
    "offboard-delete-consent",
    "gdap-terminate",
)


def _tenant_tag(tenant: str) -> str:
    """12 hex characters of the tenant id's SHA-256: the relationship name's customer part
    (tenant ids can share any prefix; a name must be unique across the partner's relationships)."""
    return hashlib.sha256(tenant.lower().encode()).hexdigest()[:12]


def relationship_name(template_name: str, template: Template, tenant: str, attempt: int) -> str:
    """``<template>-<6 hex of the role set>-<12 hex of the tenant>``, ``-<n>`` from the second
    attempt (the name of a terminated relationship stays taken): at most 43 characters."""
    digest = hashlib.sha256(",".join(sorted(template.role_ids())).encode()).hexdigest()[:6]
    base = f"{template_name}-{digest}-{_tenant_tag(tenant)}"
    return base if attempt == 1 else f"{base}-{attempt}"


def _managed_pattern(tenant: str) -> re.Pattern[str]:
    return re.compile(
        rf"^[A-Za-z0-9][A-Za-z0-9_.-]{{0,19}}-[0-9a-f]{{6}}-{_tenant_tag(tenant)}(-[0-9]+)?$"
    )


def _roles(item: Mapping[str, Any]) -> frozenset[str]:
    details = item.get("accessDetails") or {}
    roles = details.get("unifiedRoles") if isinstance(details, dict) else None
    return frozenset(
        str(role.get("roleDefinitionId", "")).lower()
        for role in roles or []
        if isinstance(role, dict) and role.get("roleDefinitionId")
    )


def role_names(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(entra_roles.name_of(role) for role in ids))


def _group(assignment: Mapping[str, Any]) -> str:
    container = assignment.get("accessContainer") or {}
    return str(container.get("accessContainerId", "")).lower()


def _when(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class GdapPlan:
    """One customer's GDAP part of the plan."""

    actions: list[Action] = field(default_factory=list)
    # Drift and warnings a reviewer reads: {"cause", "fix"} (and "severity": warning).
    findings: list[dict[str, str]] = field(default_factory=list)
    # The relationships as read, for the report: name, status, roles (names), end, auto-extend.
    relationships: list[dict[str, Any]] = field(default_factory=list)
    template: str | None = None
    approval_links: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "relationships": self.relationships,
            "findings": self.findings,
            "approvalLinks": self.approval_links,
        }


def describe(relationship: Mapping[str, Any], managed: bool) -> dict[str, Any]:
    roles = role_names(_roles(relationship))
    return {
        "displayName": str(relationship.get("displayName", "")),
        "id": str(relationship.get("id", "")),
        "status": str(relationship.get("status", "")),
        "roles": list(roles),
        "globalAdministrator": entra_roles.GLOBAL_ADMINISTRATOR_NAME in roles,
        "endDateTime": relationship.get("endDateTime"),
        "autoExtendDuration": relationship.get("autoExtendDuration"),
        "managed": managed,
    }


def _current(
    name: str, template: Template, tenant: str, relationships: Sequence[Mapping[str, Any]]
) -> tuple[str, Mapping[str, Any] | None]:
    """The display name the template's relationship has (or will get) and the relationship."""
    by_name = {str(r.get("displayName", "")): r for r in relationships}
    attempt = 1
    while True:
        wanted = relationship_name(name, template, tenant, attempt)
        found = by_name.get(wanted)
        if found is None or str(found.get("status", "")) not in ENDED:
            return wanted, found
        attempt += 1


def plan_gdap(
    tenant: str,
    lifecycle: Lifecycle,
    relationships: Sequence[Mapping[str, Any]],
    assignments: Mapping[str, list[dict[str, Any]]],
    now: datetime,
    *,
    customer_name: str = "",
) -> GdapPlan:
    """What makes the customer's GDAP relationships what its template asks (state active)."""
    result = GdapPlan()
    chosen = lifecycle.template_of(tenant)
    managed = _managed_pattern(tenant)
    result.relationships = [
        describe(r, bool(managed.match(str(r.get("displayName", ""))))) for r in relationships
    ]
    _expiries(result, relationships, now, lifecycle.gdap.expiry_warning_days)
    if chosen is None:
        return result
    template_name, template = chosen
    result.template = template_name
    name, current = _current(template_name, template, tenant, relationships)
    roles = role_names(template.role_ids())
    setting = f"duration {template.duration}, autoExtendDuration {template.auto_extend_duration}"
    status = str(current.get("status", "")) if current else ""
    relationship_id = str(current.get("id", "")) if current else ""
    if current is None:
        cause = "no GDAP relationship of template " + template_name
        older = [r for r in relationships if managed.match(str(r.get("displayName", "")))]
        if any(str(r.get("status")) in LIVE for r in older):
            cause = f"role-set migration to template {template_name} ({', '.join(roles)})"
        result.actions.append(
            Action("gdap-create", GDAP, template_name, name, roles, note=f"{cause}; {setting}")
        )
        result.actions.append(
            Action(
                "gdap-lock",
                GDAP,
                template_name,
                name,
                note="the customer's Global Administrator then approves it (link in the report)",
            )
        )
    elif status == "created":
        result.actions.append(
            Action(
                "gdap-lock",
                GDAP,
                template_name,
                name,
                object_id=relationship_id,
                note="created but not sent for approval (an interrupted apply?)",
            )
        )
        result.approval_links.append(APPROVAL_LINK.format(id=relationship_id))
    elif status in PENDING:
        result.approval_links.append(APPROVAL_LINK.format(id=relationship_id))
        result.findings.append(
            {
                "cause": f"relationship {name} waits for the customer's approval ({status})",
                "fix": "send the approval link to the customer's Global Administrator",
                "severity": "warning",
            }
        )
    elif status in LIVE:
        result.actions += _active(template_name, template, name, current or {}, assignments)
    if status in LIVE:
        for old in relationships:
            old_name = str(old.get("displayName", ""))
            if old_name != name and managed.match(old_name) and old.get("status") in LIVE:
                result.actions.append(
                    Action(
                        "gdap-terminate",
                        GDAP,
                        template_name,
                        old_name,
                        role_names(_roles(old)),
                        object_id=str(old.get("id", "")),
                        note=f"role-set migration: replaced by {name}, which is active",
                    )
                )
    _unmanaged_global_admins(result, relationships, managed, customer_name or tenant)
    result.actions.sort(key=lambda a: (GDAP_ORDER.index(a.kind), a.resource_app_id))
    return result


def _active(
    template_name: str,
    template: Template,
    name: str,
    current: Mapping[str, Any],
    assignments: Mapping[str, list[dict[str, Any]]],
) -> list[Action]:
    """An active relationship of the template: its access assignments and auto-extend."""
    relationship_id = str(current.get("id", ""))
    actions: list[Action] = []
    have = {
        _group(a): a
        for a in assignments.get(relationship_id, [])
        if str(a.get("status", "")) not in ("deleting", "deleted")
    }
    for group, wanted in template.assignments().items():
        found = have.get(group)
        names = role_names(wanted)
        key = f"{name}/{group}"
        if found is None:
            actions.append(
                Action(
                    "gdap-add-assignment",
                    GDAP,
                    template_name,
                    key,
                    names,
                    object_id=relationship_id,
                    note=f"group {group} has no access assignment",
                )
            )
            continue
        held = _roles(found)
        if held != wanted:
            lost = role_names(wanted - held)
            extra = role_names(held - wanted)
            cause = "; ".join(
                part
                for part in (
                    f"missing {', '.join(lost)} (removed out of band?)" if lost else "",
                    f"holds {', '.join(extra)} the template does not give" if extra else "",
                )
                if part
            )
            actions.append(
                Action(
                    "gdap-change-assignment",
                    GDAP,
                    template_name,
                    key,
                    names,
                    object_id=f"{relationship_id}/{found.get('id', '')}",
                    note=f"group {group}: {cause}",
                )
            )
    for group, found in sorted(have.items()):
        if group not in template.assignments():
            actions.append(
                Action(
                    "gdap-remove-assignment",
                    GDAP,
                    template_name,
                    f"{name}/{group}",
                    role_names(_roles(found)),
                    object_id=f"{relationship_id}/{found.get('id', '')}",
                    note=f"group {group} is not in template {template_name}",
                )
            )
    extend = str(current.get("autoExtendDuration") or "PT0S")
    wanted_extend = template.auto_extend_duration
    if (extend == "P180D") != template.auto_extends:
        actions.append(
            Action(
                "gdap-auto-extend",
                GDAP,
                template_name,
                name,
                (wanted_extend,),
                object_id=relationship_id,
                note=f"autoExtendDuration is {extend}, template {template_name} says "
                f"{wanted_extend}"
                + (" (switched off out of band?)" if template.auto_extends else ""),
            )
        )
    return actions


def _expiries(
    result: GdapPlan, relationships: Sequence[Mapping[str, Any]], now: datetime, days: int
) -> None:
    for relationship in relationships:
        if relationship.get("status") not in LIVE:
            continue
        end = _when(relationship.get("endDateTime"))
        extends = relationship.get("autoExtendDuration") == "P180D"
        if end is None or extends or end - now > timedelta(days=days):
            continue
        result.findings.append(
            {
                "cause": f"relationship {relationship.get('displayName')} expires on "
                f"{end.date().isoformat()} (within {days} days) and is not auto-extended",
                "fix": "switch auto-extend on (autoExtendDuration: P180D in its template) or plan "
                "its replacement; once expired it cannot be restored",
                "severity": "warning",
            }
        )


def _unmanaged_global_admins(
    result: GdapPlan, relationships: Sequence[Mapping[str, Any]], managed: re.Pattern[str], who: str
) -> None:
    for relationship in relationships:
        name = str(relationship.get("displayName", ""))
        if managed.match(name) or relationship.get("status") not in LIVE:
            continue
        if entra_roles.GLOBAL_ADMINISTRATOR in _roles(relationship):
            result.findings.append(
                {
                    "cause": f"⚠ relationship {name} (not made from a template) gives Global "
                    f"Administrator in {who}",
                    "fix": "terminate it in Partner Center once the template's relationship is "
                    "active, or set this customer's state to offboard",
                    "severity": "warning",
                }
            )


def plan_offboarding(
    apps: tuple[DesiredApp, ...],
    states: Mapping[str, AppState] | None,
    relationships: Sequence[Mapping[str, Any]],
) -> list[Action]:
    """The documented order: app role assignments and delegated grants of our apps, their
    service principals (the SAM app's last), the Partner Center consents, then every active
    relationship terminated. ``states`` None: the tenant cannot be read (the SAM app has no
    consent there), so nothing of ours is in it."""
    actions: list[Action] = []
    ordered = sorted(apps, key=lambda app: (app.bootstrap, app.key))
    # Our partner-managed apps' removals in the documented order (assignments and grants, then
    # service principals), then the same for the SAM app: its delegated grants are what let the
    # partner admin's token make the other removals, so they go last.
    graph_kinds = OFFBOARD_ORDER[:3]
    for app in ordered:
        state = (states or {}).get(app.key)
        if state is None or state.principal is None:
            continue
        for assignment in state.assignments:
            resource = str(assignment.get("resourceId", ""))
            actions.append(
                Action(
                    "offboard-remove-app-role",
                    app.key,
                    resource_app_id=resource,
                    values=(str(assignment.get("appRoleId", "")),),
                    object_id=f"{resource}/{assignment.get('id', '')}",
                )
            )
        for grant in state.grants:
            actions.append(
                Action(
                    "offboard-remove-grant",
                    app.key,
                    resource_app_id=str(grant.get("resourceId", "")),
                    values=tuple(sorted(str(grant.get("scope", "")).split())),
                    object_id=str(grant.get("id", "")),
                )
            )
        actions.append(_principal_removal(app, state.principal))
    sam = {app.key for app in apps if app.bootstrap}
    actions.sort(key=lambda a: (a.app in sam, graph_kinds.index(a.kind)))
    for app in ordered:
        actions.append(Action("offboard-delete-consent", app.key, resource_app_id=app.client_id))
    for relationship in relationships:
        if relationship.get("status") in LIVE:
            actions.append(
                Action(
                    "gdap-terminate",
                    GDAP,
                    "",
                    str(relationship.get("displayName", "")),
                    role_names(_roles(relationship)),
                    object_id=str(relationship.get("id", "")),
                    note="offboarding",
                )
            )
    return actions


def _principal_removal(app: DesiredApp, principal: Principal) -> Action:
    return Action(
        "offboard-delete-principal",
        app.key,
        resource_app_id=app.client_id,
        object_id=principal.id,
        note="the Secure Application Model app: removed last" if app.bootstrap else "",
    )


def plan_customer_lifecycle(
    graph: CustomerGraph,
    customer: Customer,
    apps: tuple[DesiredApp, ...],
    prune: bool,
    *,
    lifecycle: Lifecycle,
    relationships: Sequence[Mapping[str, Any]],
    assignments: Callable[[str], list[dict[str, Any]]],
    roles: Callable[[Customer], frozenset[str]] | None,
    now: datetime,
    writable: bool = True,
) -> CustomerPlan:
    """The customer's whole plan when its file manages GDAP or offboards it: the GDAP actions
    first, then the consent actions, which wait while the customer has no active relationship
    (nothing in its tenant can be read or written before one) or while the roles they need
    come only with the GDAP changes planned here."""
    planned = _plan_customer_lifecycle(
        graph,
        customer,
        apps,
        prune,
        lifecycle=lifecycle,
        relationships=relationships,
        assignments=assignments,
        roles=roles,
        now=now,
    )
    if not writable and not planned.failed and any(a.app == GDAP for a in planned.actions):
        # Known from the SAM token's scopes before any write: every GDAP write page of Graph
        # lists DelegatedAdminRelationship.ReadWrite.All only.
        planned.blocked = (WRITE_PERMISSION,)
        planned.cause = f"blocked: the SAM app's token lacks {WRITE_PERMISSION} (GDAP writes)"
        planned.fix = (
            f"the SAM app requests {WRITE_PERMISSION} (apps.yaml) but the stored token was "
            "consented without it: run `pulumi up` if the app registration is older, then have a "
            "partner admin consent again (`partner-apps sam consent --force`)"
        )
    return planned


def _plan_customer_lifecycle(
    graph: CustomerGraph,
    customer: Customer,
    apps: tuple[DesiredApp, ...],
    prune: bool,
    *,
    lifecycle: Lifecycle,
    relationships: Sequence[Mapping[str, Any]],
    assignments: Callable[[str], list[dict[str, Any]]],
    roles: Callable[[Customer], frozenset[str]] | None,
    now: datetime,
) -> CustomerPlan:
    tenant = customer.tenant_id
    managed = _managed_pattern(tenant)
    if lifecycle.offboarding(tenant):
        return _offboarding_plan(graph, customer, apps, relationships, managed)
    wanted = {
        str(r.get("id", ""))
        for r in relationships
        if r.get("status") in LIVE and managed.match(str(r.get("displayName", "")))
    }
    gdap = plan_gdap(
        tenant,
        lifecycle,
        relationships,
        {rid: assignments(rid) for rid in sorted(wanted)},
        now,
        customer_name=customer.name,
    )
    if not customer.relationships:
        waiting = unread_plan(customer, apps)
        return CustomerPlan(
            customer, list(gdap.actions), read=False, gdap=gdap.as_json(), waiting=waiting.actions
        )
    planned = plan_customer(graph, customer, apps, prune, roles=roles)
    if planned.blocked and gdap.actions:
        # The GDAP changes planned here may give the missing roles: the consent actions wait
        # for them (the next plan shows them again) instead of failing the customer.
        gdap.findings.append(
            {
                "cause": str(planned.cause),
                "fix": "the consent actions follow once the GDAP changes above are in effect",
                "severity": "warning",
            }
        )
        planned.waiting, planned.actions = planned.actions, []
        planned.cause = planned.fix = None
        planned.blocked = ()
    if not prune:
        gdap.findings += _extras(apps, planned)
    planned.actions = [*gdap.actions, *planned.actions]
    planned.gdap = gdap.as_json()
    return planned


def _extras(apps: tuple[DesiredApp, ...], planned: CustomerPlan) -> list[dict[str, str]]:
    """Drift beyond apps.yaml among what the plan read (an extra delegated scope or app role
    assignment of our apps): reported with its fix; removed only by a plan made with
    ``--prune``, as before."""
    if planned.observed is None:
        return []
    resources, states = planned.observed
    found: list[dict[str, str]] = []
    for app in apps:
        for action in diff(app, states[app.key], resources, prune=True):
            if action.kind not in ("remove-delegated", "remove-app-role"):
                continue
            what = "delegated" if action.kind == "remove-delegated" else "application permission"
            found.append(
                {
                    "cause": f"app {app.key} holds {what} {action.api} "
                    f"{', '.join(action.values)} that apps.yaml does not ask for",
                    "fix": "plan and apply with --prune to remove it (or add it to apps.yaml)",
                    "severity": "warning",
                }
            )
    return found


def _offboarding_plan(
    graph: CustomerGraph,
    customer: Customer,
    apps: tuple[DesiredApp, ...],
    relationships: Sequence[Mapping[str, Any]],
    managed: re.Pattern[str],
) -> CustomerPlan:
    described = [
        describe(r, bool(managed.match(str(r.get("displayName", ""))))) for r in relationships
    ]
    gdap = {"template": None, "relationships": described, "findings": [], "approvalLinks": []}
    states: dict[str, AppState] | None
    try:
        _, states = read_customer(graph, apps, prune=True)
    except RemoteError as error:
        if not sam_not_consented(error, apps):
            return CustomerPlan(
                customer, cause=error.cause, fix=error.fix, gdap=gdap, offboard=True
            )
        states = None
    actions = plan_offboarding(apps, states, relationships)
    return CustomerPlan(customer, actions, gdap=gdap, offboard=True, read=states is not None)
