"""The customer consent plan: per customer and app, what ``apply`` would do.

One data model (``Plan``), rendered as JSON (``as_json``) and Markdown (``report.py``). ``apply``
recomputes each customer's actions from a fresh read and does only those the plan lists (matched
by ``Action.key``), so a reviewed plan is exactly what is applied, and a second run finds nothing
left: that is also what makes an interrupted apply resumable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from policies.partner_policies import catalog

from . import gdap
from .desired import DesiredApp
from .graph import AppState, CustomerGraph, Principal
from .remote import RemoteError

# In the order apply performs them.
ORDER = (
    "create-resource-principal",
    "consent",
    "create-app-principal",
    "grant-delegated",
    "assign-app-role",
    "remove-delegated",
    "remove-app-role",
)

Observed = tuple[dict[str, Principal | None], dict[str, AppState]]

# Token errors for the partner admin's delegated token in a customer tenant that mean the Secure
# Application Model app has no consent there yet: AADSTS90099 is what Entra documents for a
# partner admin's token for an app not consented in the customer ("Applications must be
# authorized to access the customer tenant before partner delegated administrators can use them",
# Entra error-code reference); 65001 (no consent for these scopes), 7000229 and 700016 (no
# service principal: the app-only answers) mean the same here. All of them: consent first.
# Nothing can be read before the SAM app's consent, which Partner Center makes.
SAM_NOT_CONSENTED = frozenset({90099, 65001, 7000229, 700016})


@dataclass(frozen=True)
class Customer:
    tenant_id: str
    name: str
    domain: str = ""
    activated: str | None = None  # the GDAP relationship's activatedDateTime
    # Its active GDAP relationships: (id, the roles the customer approved). Not in the JSON.
    relationships: tuple[tuple[str, frozenset[str]], ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "tenantId": self.tenant_id,
            "name": self.name,
            "domain": self.domain,
            "activated": self.activated,
        }


@dataclass(frozen=True)
class Action:
    kind: str
    app: str
    api: str = ""
    resource_app_id: str = ""
    values: tuple[str, ...] = ()  # scopes, or the one app role's value
    role_id: str = ""
    object_id: str = ""  # the grant or assignment a change or removal applies to
    keep: tuple[str, ...] = ()
    # Why (GDAP and offboarding actions, lifecycle.py): the drift found and what the action fixes.
    note: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.app, self.resource_app_id, self.role_id)

    def covered_by(self, planned: Action) -> bool:
        """Whether doing this is within what ``planned`` (the reviewed action) says."""
        return self.key == planned.key and set(self.values) <= set(planned.values)

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"action": self.kind, "app": self.app}
        if self.resource_app_id:
            document |= {"api": self.api, "resourceAppId": self.resource_app_id}
        if self.values:
            document["values"] = list(self.values)
        for name, value in (
            ("roleId", self.role_id),
            ("objectId", self.object_id),
            ("keep", list(self.keep)),
            ("note", self.note),
        ):
            if value:
                document[name] = value
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Action:
        """The action ``as_json`` wrote; ValueError where ``values`` or ``keep`` is not a list
        (a plan edited by hand: a string would be read character by character)."""
        return cls(
            kind=str(document.get("action", "")),
            app=str(document.get("app", "")),
            api=str(document.get("api", "")),
            resource_app_id=str(document.get("resourceAppId", "")),
            values=_texts(document, "values"),
            role_id=str(document.get("roleId", "")),
            object_id=str(document.get("objectId", "")),
            keep=_texts(document, "keep"),
            note=str(document.get("note", "")),
        )


def _texts(document: dict[str, Any], key: str) -> tuple[str, ...]:
    value = document.get(key) or []
    if not isinstance(value, list):
        raise ValueError(f"{key} is not a list")
    return tuple(str(item) for item in value)


@dataclass
class CustomerPlan:
    customer: Customer
    actions: list[Action] = field(default_factory=list)
    cause: str | None = None
    fix: str | None = None
    # The roles (names) the customer's GDAP relationships give, when they were read (a plan
    # with writes), and those the writes need that they do not give: then ``cause`` says
    # "blocked" and nothing is written there.
    roles: tuple[str, ...] | None = None
    blocked: tuple[str, ...] = ()
    # False: the SAM app has no consent in this tenant yet, so nothing could be read; the actions
    # are those of an empty tenant (at most what apply does: it reads again after that consent).
    read: bool = True
    # What the plan read (this run only, never serialized): apply starts from it.
    observed: Observed | None = field(default=None, repr=False, compare=False)
    # The GDAP part (lifecycle.GdapPlan.as_json), when customers/<stack>.yaml manages GDAP.
    gdap: dict[str, Any] | None = None
    # Consent actions that wait for a GDAP relationship (none active yet): not applied now.
    waiting: list[Action] = field(default_factory=list)
    offboard: bool = False

    @property
    def failed(self) -> bool:
        return self.cause is not None

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            **self.customer.as_json(),
            "actions": [action.as_json() for action in self.actions],
        }
        if not self.read:
            document["read"] = False
        if self.gdap is not None:
            document["gdap"] = self.gdap
        if self.waiting:
            document["waiting"] = [action.as_json() for action in self.waiting]
        if self.offboard:
            document["offboard"] = True
        if self.roles is not None:
            document["gdapRoles"] = list(self.roles)
        if self.blocked:
            document["blocked"] = list(self.blocked)
        if self.cause is not None:
            document |= {"cause": self.cause, "fix": self.fix}
        return document


@dataclass
class Plan:
    region: str
    partner_tenant: str
    generated_at: str
    apps: tuple[DesiredApp, ...]
    customers: list[CustomerPlan]
    excluded: list[dict[str, str]] = field(default_factory=list)  # tenantId, name, reason
    prune: bool = False
    requests: int = 0

    @property
    def changes(self) -> int:
        return sum(len(c.actions) for c in self.customers)

    @property
    def failures(self) -> int:
        return sum(1 for c in self.customers if c.failed)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "customers-plan",
            "region": self.region,
            "partnerTenantId": self.partner_tenant,
            "generatedAt": self.generated_at,
            "prune": self.prune,
            "apps": [app.as_json() for app in self.apps],
            "customers": [c.as_json() for c in self.customers],
            "excluded": list(self.excluded),
            "summary": {
                "customers": len(self.customers),
                "changes": self.changes,
                "failed": self.failures,
                "blocked": sum(1 for c in self.customers if c.blocked),
                "unchanged": sum(1 for c in self.customers if not c.actions and not c.failed),
            },
        }


def _grant_of(state: AppState, resource_sp: str) -> dict[str, Any] | None:
    return next(
        (
            g
            for g in state.grants
            if g.get("resourceId") == resource_sp and g.get("consentType") == "AllPrincipals"
        ),
        None,
    )


def _delegated(
    app: DesiredApp, state: AppState, resources: dict[str, Principal | None], prune: bool
) -> list[Action]:
    actions: list[Action] = []
    names = {g.resource_app_id: g.api for g in app.grants}
    wanted = app.delegated()
    for resource, scopes in wanted.items():
        principal = resources.get(resource)
        grant = _grant_of(state, principal.id) if principal is not None else None
        have = set(str(grant.get("scope", "")).split()) if grant else set()
        missing = tuple(sorted(scopes - have))
        if missing:
            grant_id = str(grant["id"]) if grant else ""
            actions.append(
                Action("grant-delegated", app.key, names[resource], resource, missing, "", grant_id)
            )
    if prune:
        actions += _extra_grants(app, state, resources)
    return actions


def _extra_grants(
    app: DesiredApp, state: AppState, resources: dict[str, Principal | None]
) -> list[Action]:
    """With ``--prune``: every delegated grant of the app, on any resource and of any consent
    type, narrowed to what apps.yaml asks for on that resource, or removed when it asks for
    nothing there (a grant a consent made from an application permission's name included)."""
    by_sp = {p.id: p.app_id for p in resources.values() if p is not None}
    principals = {p.id: p for p in resources.values() if p is not None}
    wanted = app.delegated()
    names = {g.resource_app_id: g.api for g in app.grants}
    actions: list[Action] = []
    for grant in state.grants:
        resource_sp = str(grant.get("resourceId", ""))
        resource = by_sp.get(resource_sp, "")
        scopes = wanted.get(resource, frozenset()) if resource else frozenset()
        # Only the tenant-wide grant of a wanted resource keeps scopes: a user's own consent
        # (consentType Principal) is not what apply makes, so it keeps none.
        if grant.get("consentType") != "AllPrincipals":
            scopes = frozenset()
        have = set(str(grant.get("scope", "")).split())
        extra = tuple(sorted(have - scopes))
        if not extra:
            continue
        actions.append(
            Action(
                "remove-delegated",
                app.key,
                names.get(resource)
                or _api_name(resource, resource_sp, principals.get(resource_sp)),
                resource or resource_sp,
                extra,
                "",
                str(grant.get("id", "")),
                tuple(sorted(have & scopes)),
            )
        )
    return actions


def _api_name(resource_app_id: str, resource_sp: str, principal: Principal | None = None) -> str:
    """An API's name for a report: the catalog's, else its service principal's display name,
    else its app id, else the principal's object id (a resource that could not be read)."""
    found = catalog.find_api(resource_app_id) if resource_app_id else None
    if found is not None:
        return found.name
    if principal is not None and principal.display_name:
        return principal.display_name
    return resource_app_id or f"service principal {resource_sp}"


def _application(
    app: DesiredApp, state: AppState, resources: dict[str, Principal | None], prune: bool
) -> list[Action]:
    actions: list[Action] = []
    wanted: set[tuple[str, str]] = set()
    for grant in app.application():
        principal = resources.get(grant.resource_app_id)
        wanted.add((principal.id if principal else "", grant.permission_id))
        has = principal is not None and any(
            a.get("resourceId") == principal.id and a.get("appRoleId") == grant.permission_id
            for a in state.assignments
        )
        if not has:
            actions.append(
                Action(
                    "assign-app-role",
                    app.key,
                    grant.api,
                    grant.resource_app_id,
                    (grant.value,),
                    grant.permission_id,
                )
            )
    if prune:
        # Every assignment of the app's service principal, on any resource: one on a resource
        # apps.yaml does not name is removed too (its resource read by object id, ``read_apps``).
        by_sp = {p.id: p for p in resources.values() if p is not None}
        for assignment in state.assignments:
            pair = (str(assignment.get("resourceId")), str(assignment.get("appRoleId")))
            if pair in wanted:
                continue
            principal = by_sp.get(pair[0])
            resource = principal.app_id if principal is not None else ""
            known = catalog.by_id(resource, pair[1], "application") if resource else None
            value = principal.app_roles.get(pair[1], pair[1]) if principal else pair[1]
            actions.append(
                Action(
                    "remove-app-role",
                    app.key,
                    known.api.name if known else _api_name(resource, pair[0], principal),
                    resource or pair[0],
                    (known.value if known else value,),
                    pair[1],
                    str(assignment.get("id", "")),
                )
            )
    return actions


def diff(
    app: DesiredApp, state: AppState, resources: dict[str, Principal | None], prune: bool
) -> list[Action]:
    """What makes ``state`` what ``app`` needs (and with ``prune``, no more)."""
    actions: list[Action] = []
    names = {g.resource_app_id: g.api for g in app.grants}
    for resource in app.resources():
        if resources.get(resource) is None:
            actions.append(Action("create-resource-principal", app.key, names[resource], resource))
    if state.principal is None:
        # The consent asks for the delegated scopes only (``applicationGrants[].scope`` is the
        # delegated permissions to grant; a name such as Directory.Read.All is also an app role,
        # and sending it there can make a tenant-wide delegated grant the app never asked for).
        # An app with no delegated permission gets its service principal through Graph instead
        # (POST /servicePrincipals {appId}: Graph "Create servicePrincipal"), so no consent and
        # no grant at all; its app roles are then assigned through Graph like everyone's.
        scopes = tuple(sorted({s for values in app.delegated().values() for s in values}))
        if scopes:
            actions.append(Action("consent", app.key, values=scopes))
        else:
            actions.append(Action("create-app-principal", app.key))
    actions += _delegated(app, state, resources, prune and state.principal is not None)
    actions += _application(app, state, resources, prune and state.principal is not None)
    return sorted(actions, key=lambda a: (ORDER.index(a.kind), a.app, a.resource_app_id, a.values))


def read_apps(
    graph: CustomerGraph, apps: list[DesiredApp], prune: bool, extra: list[str] | None = None
) -> tuple[dict[str, AppState], dict[str, Principal | None]]:
    """The apps' states, their service principals (and those of ``extra`` app ids) read in one
    request; then grants and assignments only of the apps that have a service principal. With
    ``prune``, the service principals of any other resource those grants and assignments name
    are read too (by object id), so that a grant on an API apps.yaml does not name is seen."""
    found = graph.principals([app.client_id for app in apps] + list(extra or ()))
    states = {
        app.key: graph.app_state(
            found[app.client_id],
            grants=prune or bool(app.delegated()),
            assignments=prune or bool(app.application()),
        )
        for app in apps
    }
    if prune:
        known = {p.id for p in found.values() if p is not None}
        others = (
            {
                str(item.get("resourceId", ""))
                for state in states.values()
                for item in (*state.grants, *state.assignments)
            }
            - known
            - {""}
        )
        for principal in graph.principals_by_id(sorted(others)):
            found.setdefault(principal.app_id, principal)
    return states, found


def read_customer(graph: CustomerGraph, apps: tuple[DesiredApp, ...], prune: bool) -> Observed:
    """The desired resources' service principals (and with ``prune`` any other resource the
    apps' grants or assignments name) and the apps' states."""
    resource_ids = sorted({r for app in apps for r in app.resources()})
    client_ids = {app.client_id for app in apps}
    states, found = read_apps(graph, list(apps), prune, resource_ids)
    resources = {resource: found[resource] for resource in resource_ids}
    for app_id, principal in found.items():
        if app_id not in resources and app_id not in client_ids and principal is not None:
            resources[app_id] = principal
    return resources, states


def sam_not_consented(error: RemoteError, apps: tuple[DesiredApp, ...]) -> bool:
    """Whether ``error`` says the SAM app (the first of ``apps``) is not in the tenant yet."""
    return error.code in SAM_NOT_CONSENTED and any(app.bootstrap for app in apps)


def unread_plan(customer: Customer, apps: tuple[DesiredApp, ...]) -> CustomerPlan:
    """The plan of a tenant the SAM app cannot read yet: everything an empty tenant needs."""
    resources: dict[str, Principal | None] = {r: None for app in apps for r in app.resources()}
    actions = [a for app in apps for a in diff(app, AppState(None), resources, prune=False)]
    return CustomerPlan(customer, actions, read=False)


def plan_customer(
    graph: CustomerGraph,
    customer: Customer,
    apps: tuple[DesiredApp, ...],
    prune: bool,
    roles: Callable[[Customer], frozenset[str]] | None = None,
) -> CustomerPlan:
    """The customer's plan; with ``roles`` (its GDAP roles, read only when there is something to
    write), a customer whose relationships lack a role the writes need is blocked."""
    try:
        resources, states = read_customer(graph, apps, prune)
    except RemoteError as error:
        if sam_not_consented(error, apps):
            return _checked(unread_plan(customer, apps), roles)
        return CustomerPlan(customer, cause=error.cause, fix=error.fix)
    actions = [a for app in apps for a in diff(app, states[app.key], resources, prune)]
    return _checked(CustomerPlan(customer, actions, observed=(resources, states)), roles)


def _checked(
    planned: CustomerPlan, roles: Callable[[Customer], frozenset[str]] | None
) -> CustomerPlan:
    """``planned``, blocked when its writes need a role the GDAP relationships do not give."""
    if roles is None or not planned.actions:
        return planned
    try:
        held = roles(planned.customer)
    except RemoteError as error:
        planned.cause, planned.fix = error.cause, error.fix
        return planned
    planned.roles = tuple(sorted(gdap.role_name(role) for role in held))
    lacking = gdap.missing((gdap.need_of(a.kind, a.resource_app_id) for a in planned.actions), held)
    if lacking:
        planned.blocked = tuple(gdap.role_name(need.role) for need in lacking)
        planned.cause, planned.fix = gdap.blocked_text(lacking)
    return planned
