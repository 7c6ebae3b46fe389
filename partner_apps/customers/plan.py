"""The customer consent plan: per customer and app, what ``apply`` would do.

One data model (``Plan``), rendered as JSON (``as_json``) and Markdown (``report.py``). ``apply``
recomputes each customer's actions from a fresh read and does only those the plan lists (matched
by ``Action.key``), so a reviewed plan is exactly what is applied, and a second run finds nothing
left: that is also what makes an interrupted apply resumable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies.partner_policies import catalog

from .desired import DesiredApp
from .graph import AppState, CustomerGraph, Principal
from .remote import RemoteError

# In the order apply performs them.
ORDER = (
    "create-resource-principal",
    "consent",
    "grant-delegated",
    "assign-app-role",
    "remove-delegated",
    "remove-app-role",
)

Observed = tuple[dict[str, Principal | None], dict[str, AppState]]

# Token errors for the partner admin's delegated token in a customer tenant that mean the Secure
# Application Model app has no consent there yet [unverified which one Entra answers: all three
# are treated alike]. Nothing can be read before its consent, which Partner Center makes.
SAM_NOT_CONSENTED = frozenset({65001, 7000229, 700016})


@dataclass(frozen=True)
class Customer:
    tenant_id: str
    name: str
    domain: str = ""
    activated: str | None = None  # the GDAP relationship's activatedDateTime

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
    # False: the SAM app has no consent in this tenant yet, so nothing could be read; the actions
    # are those of an empty tenant (at most what apply does: it reads again after that consent).
    read: bool = True
    # What the plan read (this run only, never serialized): apply starts from it.
    observed: Observed | None = field(default=None, repr=False, compare=False)

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
    for resource, scopes in app.delegated().items():
        principal = resources.get(resource)
        grant = _grant_of(state, principal.id) if principal is not None else None
        have = set(str(grant.get("scope", "")).split()) if grant else set()
        missing = tuple(sorted(scopes - have))
        if missing:
            grant_id = str(grant["id"]) if grant else ""
            actions.append(
                Action("grant-delegated", app.key, names[resource], resource, missing, "", grant_id)
            )
        extra = tuple(sorted(have - scopes))
        if prune and extra and grant is not None:
            actions.append(
                Action(
                    "remove-delegated",
                    app.key,
                    names[resource],
                    resource,
                    extra,
                    "",
                    str(grant["id"]),
                    tuple(sorted(have & scopes)),
                )
            )
    return actions


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
        by_sp = {p.id: p.app_id for p in resources.values() if p is not None}
        for assignment in state.assignments:
            pair = (str(assignment.get("resourceId")), str(assignment.get("appRoleId")))
            if pair in wanted or pair[0] not in by_sp:
                continue
            known = catalog.by_id(by_sp[pair[0]], pair[1], "application")
            actions.append(
                Action(
                    "remove-app-role",
                    app.key,
                    known.api.name if known else by_sp[pair[0]],
                    by_sp[pair[0]],
                    (known.value if known else pair[1],),
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
        values = tuple(sorted({g.value for g in app.grants}))
        actions.append(Action("consent", app.key, values=values))
    actions += _delegated(app, state, resources, prune and state.principal is not None)
    actions += _application(app, state, resources, prune and state.principal is not None)
    return sorted(actions, key=lambda a: (ORDER.index(a.kind), a.app, a.resource_app_id, a.values))


def read_apps(
    graph: CustomerGraph, apps: list[DesiredApp], prune: bool, extra: list[str] | None = None
) -> tuple[dict[str, AppState], dict[str, Principal | None]]:
    """The apps' states, their service principals (and those of ``extra`` app ids) read in one
    request; then grants and assignments only of the apps that have a service principal."""
    found = graph.principals([app.client_id for app in apps] + list(extra or ()))
    states = {
        app.key: graph.app_state(
            found[app.client_id],
            grants=prune or bool(app.delegated()),
            assignments=prune or bool(app.application()),
        )
        for app in apps
    }
    return states, found


def read_customer(graph: CustomerGraph, apps: tuple[DesiredApp, ...], prune: bool) -> Observed:
    resource_ids = sorted({r for app in apps for r in app.resources()})
    states, found = read_apps(graph, list(apps), prune, resource_ids)
    return {resource: found[resource] for resource in resource_ids}, states


def sam_not_consented(error: RemoteError, apps: tuple[DesiredApp, ...]) -> bool:
    """Whether ``error`` says the SAM app (the first of ``apps``) is not in the tenant yet."""
    return error.code in SAM_NOT_CONSENTED and any(app.bootstrap for app in apps)


def unread_plan(customer: Customer, apps: tuple[DesiredApp, ...]) -> CustomerPlan:
    """The plan of a tenant the SAM app cannot read yet: everything an empty tenant needs."""
    resources: dict[str, Principal | None] = {r: None for app in apps for r in app.resources()}
    actions = [a for app in apps for a in diff(app, AppState(None), resources, prune=False)]
    return CustomerPlan(customer, actions, read=False)


def plan_customer(
    graph: CustomerGraph, customer: Customer, apps: tuple[DesiredApp, ...], prune: bool
) -> CustomerPlan:
    try:
        resources, states = read_customer(graph, apps, prune)
    except RemoteError as error:
        if sam_not_consented(error, apps):
            return unread_plan(customer, apps)
        return CustomerPlan(customer, cause=error.cause, fix=error.fix)
    actions = [a for app in apps for a in diff(app, states[app.key], resources, prune)]
    return CustomerPlan(customer, actions, observed=(resources, states))
