"""``customers apply``: exactly the plan, resumable, audited.

Per customer (bounded concurrency, one worker per customer): read the tenant again, recompute the
actions, keep those the plan lists, do them in order — resource service principals, the Partner
Center consent (409 "already exists" is success; one ``MS-RequestId`` per consent, reused on its
retries), then read again and write through Graph only what the consent did not grant. A failure
stops that customer only. Every write is one line of the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from partner_apps.sam.errors import is_mfa_required, mfa_fix, partner_center_error_code

from .customer_file import Lifecycle
from .desired import DesiredApp
from .gdap_client import GdapClient, role_ids
from .graph import AppState, CustomerGraph, Principal
from .lifecycle import APPROVAL_LINK, GDAP, GDAP_ORDER, OFFBOARD_ORDER
from .plan import (
    Action,
    Customer,
    CustomerPlan,
    Observed,
    diff,
    read_apps,
    read_customer,
    sam_not_consented,
)
from .region import AuditLog, Region
from .remote import PARTNER_CENTER_RESOURCE, RemoteError, new_request_id

T = TypeVar("T")

PARTNER_CENTER_FIX = (
    "the consenting partner admin must be in AdminAgents and in a security group assigned "
    "Cloud Application Administrator (or Privileged Role Administrator / Global Administrator) "
    "through this customer's GDAP relationship"
)


@dataclass
class Outcome:
    tenant_id: str
    name: str
    done: list[dict[str, Any]] = field(default_factory=list)
    cause: str | None = None
    fix: str | None = None

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"tenantId": self.tenant_id, "name": self.name}
        document["writes"] = self.done
        if self.cause:
            document |= {"cause": self.cause, "fix": self.fix}
        return document


class _Customer:
    """One customer's apply."""

    def __init__(
        self,
        region: Region,
        planned: CustomerPlan,
        audit: AuditLog,
        prune: bool,
        lifecycle: Lifecycle | None = None,
    ) -> None:
        self.region = region
        self.lifecycle = lifecycle
        self.offboard = planned.offboard
        self.customer = planned.customer
        self.planned = planned.actions
        self.observed = planned.observed
        self.read = planned.read
        self.audit = audit
        self.prune = prune
        self.graph = CustomerGraph(region.api, self.customer.tenant_id)
        self.outcome = Outcome(self.customer.tenant_id, self.customer.name)
        self._intent: str | None = None  # the write in progress (its intent line's id)

    def allowed(self, actions: list[Action]) -> list[Action]:
        return [a for a in actions if any(a.covered_by(p) for p in self.planned)]

    def _describe(self, action: Action) -> dict[str, Any]:
        return {
            "customer": self.customer.name,
            "tenantId": self.customer.tenant_id,
            "app": action.app,
            "action": action.kind,
            "api": action.api,
            "resourceAppId": action.resource_app_id,
            "roleId": action.role_id,
            "grants": list(action.values),
        }

    def _do(self, action: Action, call: Callable[[], T]) -> T:
        """``call`` (one remote write, with the reads it needs) after its intent line is on
        disk; a failure gets its outcome line (unless ``call`` wrote one) and is raised."""
        self._intent = self.audit.intend(self._describe(action))
        try:
            return call()
        except RemoteError as error:
            if self._intent is not None:
                self.record(action, "failed", cause=error.cause)
            raise

    def record(self, action: Action, result: str, request_id: str = "", **extra: Any) -> None:
        """The outcome line of the write in progress (``_do``'s intent)."""
        line = {
            **self._describe(action),
            "result": result,
            "requestId": request_id,
            "phase": "outcome",
            "intentId": self._intent,
            **extra,
        }
        self._intent = None
        self.audit.write(line)
        self.outcome.done.append(
            {k: v for k, v in line.items() if k not in ("customer", "phase", "intentId")}
        )

    def run(self) -> Outcome:
        if not self.planned:
            return self.outcome
        try:
            if self.offboard:
                self._offboard()
                return self.outcome
            self._gdap([a for a in self.planned if a.app == GDAP])
            if all(a.app == GDAP for a in self.planned):
                return self.outcome
            # The plan's read of this run; a tenant it could not read gets the SAM app's consent
            # first (see plan.unread_plan), then its first read.
            observed = self.observed or self._read()
            resources, states = observed
            apps = self.region.apps
            todos = {
                app.key: self.allowed(diff(app, states[app.key], resources, self.prune))
                for app in apps
            }
            for app in apps:
                resources = self._resources(todos[app.key], resources)
            states, todos = self._consents(apps, states, todos, resources)
            for app in apps:
                self._writes(todos[app.key], states[app.key], resources)
        except RemoteError as error:
            self.outcome.cause, self.outcome.fix = error.cause, error.fix
        return self.outcome

    def _gdap(self, actions: list[Action]) -> None:
        """The GDAP actions, in ``lifecycle.GDAP_ORDER``, in the partner tenant."""
        client = GdapClient(self.region)
        created: dict[str, str] = {}  # display name -> relationship id made by this run
        for action in sorted(actions, key=lambda a: GDAP_ORDER.index(a.kind)):
            relationship = action.object_id.split("/")[0] or created.get(action.resource_app_id, "")
            if action.kind == "gdap-create":
                template = self.lifecycle.gdap.templates[action.api] if self.lifecycle else None
                if template is None:
                    raise RemoteError(
                        f"template {action.api} is no longer in customers/{self.region.stack}.yaml",
                        "plan again and review",
                    )
                found, made = self._do(
                    action,
                    partial(
                        client.create,
                        action.resource_app_id,
                        self.customer.tenant_id,
                        self.customer.name,
                        template,
                    ),
                )
                created[action.resource_app_id] = str(found.get("id", ""))
                self.record(action, "created" if made else "already", objectId=found.get("id"))
                continue
            if not relationship:
                existing = client.find(action.resource_app_id)
                relationship = str((existing or {}).get("id", ""))
            result = self._do(action, partial(self._gdap_write, client, action, relationship))
            extra = {}
            if action.kind == "gdap-lock":
                extra["approvalLink"] = APPROVAL_LINK.format(id=relationship)
            self.record(action, result, objectId=relationship, **extra)

    @staticmethod
    def _gdap_write(client: GdapClient, action: Action, relationship: str) -> str:
        parts = action.object_id.split("/")
        assignment = parts[1] if len(parts) > 1 else ""
        if action.kind == "gdap-lock":
            return client.request(relationship, "lockForApproval")
        if action.kind == "gdap-terminate":
            return client.request(relationship, "terminate")
        if action.kind == "gdap-auto-extend":
            return client.set_auto_extend(relationship, action.values[0])
        if action.kind == "gdap-add-assignment":
            group = action.resource_app_id.rsplit("/", 1)[-1]
            return client.add_assignment(relationship, group, role_ids(action.values))
        if action.kind == "gdap-change-assignment":
            return client.change_assignment(relationship, assignment, role_ids(action.values))
        return client.remove_assignment(relationship, assignment)

    def _offboard(self) -> None:
        """The offboarding actions in their documented order (``lifecycle.OFFBOARD_ORDER``),
        then one dated audit record listing every removal made for this customer."""
        client = GdapClient(self.region)
        tenant = self.customer.tenant_id
        # In the plan's order (lifecycle.plan_offboarding: the documented order, SAM app last).
        for action in self.planned:
            parts = action.object_id.split("/")
            if action.kind == "offboard-remove-app-role":
                call = partial(self.graph.remove_assignment, parts[0], parts[-1])
            elif action.kind == "offboard-remove-grant":
                call = partial(self.graph.narrow_grant, action.object_id, set())
            elif action.kind == "offboard-delete-principal":
                call = partial(self.graph.delete_principal, action.object_id)
            elif action.kind == "offboard-delete-consent":
                call = partial(client.delete_consent, tenant, action.resource_app_id)
            else:
                call = partial(client.request, action.object_id, "terminate")
            result = self._do(action, call)
            self.record(action, result, objectId=action.object_id)
        removed = self.audit.outcomes(tenant, OFFBOARD_ORDER)
        self.audit.write(
            {
                "phase": "offboarding",
                "customer": self.customer.name,
                "tenantId": tenant,
                "result": "offboarded",
                "removed": removed,
            }
        )

    def _read(self) -> Observed:
        """Read the tenant; when the plan could not (the SAM app is not in it yet), make the SAM
        app's consent first (Partner Center needs no access to the tenant), then read."""
        apps = self.region.apps
        if self.read:
            return read_customer(self.graph, apps, self.prune)
        sam = next(app for app in apps if app.bootstrap)
        consent = next((a for a in self.planned if a.kind == "consent" and a.app == sam.key), None)
        if consent is None:
            raise RemoteError(
                f"app {sam.key} has no consent in this tenant and the plan does not list it",
                "run `partner-apps customers plan` again and apply that plan",
            )
        self._do(consent, partial(self._consent, sam, consent))
        try:
            return read_customer(self.graph, apps, self.prune)
        except RemoteError as error:
            if not sam_not_consented(error, apps):
                raise
            raise RemoteError(
                f"app {sam.key}: the consent succeeded but the tenant does not accept its token "
                "yet",
                "run apply again in a few minutes (it continues from here)",
            ) from None

    def _resources(
        self, todo: list[Action], resources: dict[str, Principal | None]
    ) -> dict[str, Principal | None]:
        for action in todo:
            if action.kind != "create-resource-principal" or resources.get(action.resource_app_id):
                continue
            principal, created = self._do(
                action, partial(self.graph.ensure_principal, action.resource_app_id)
            )
            resources = {**resources, action.resource_app_id: principal}
            self.record(action, "created" if created else "already", objectId=principal.id)
        return resources

    def _consents(
        self,
        apps: tuple[DesiredApp, ...],
        states: dict[str, AppState],
        todos: dict[str, list[Action]],
        resources: dict[str, Principal | None],
    ) -> tuple[dict[str, AppState], dict[str, list[Action]]]:
        """The Partner Center consents the plan lists, then one read of what they created and the
        actions recomputed: what a consent granted is not written again."""
        consented = []
        for app in apps:
            for action in todos[app.key]:
                if action.kind == "consent":
                    self._do(action, partial(self._consent, app, action))
                elif action.kind == "create-app-principal":
                    # An app with no delegated permission: its service principal through Graph,
                    # no Partner Center consent (which would make a delegated grant).
                    principal, created = self._do(
                        action, partial(self.graph.ensure_principal, app.client_id, just_read=True)
                    )
                    self.record(action, "created" if created else "already", objectId=principal.id)
                else:
                    continue
                consented.append(app)
        if not consented:
            return states, todos
        fresh, _ = read_apps(self.graph, consented, self.prune)
        states, todos = dict(states), dict(todos)
        for app in consented:
            if fresh[app.key].principal is None:
                raise RemoteError(
                    f"app {app.key}: the consent succeeded but no service principal is visible yet",
                    "run apply again in a few minutes (it continues from here)",
                )
            states[app.key] = fresh[app.key]
            todos[app.key] = self.allowed(diff(app, fresh[app.key], resources, self.prune))
        return states, todos

    def _writes(
        self, todo: list[Action], state: AppState, resources: dict[str, Principal | None]
    ) -> None:
        writes = [
            a
            for a in todo
            if a.kind not in ("consent", "create-app-principal", "create-resource-principal")
        ]
        assert state.principal is not None or not writes
        for action in writes:
            self._graph_write(action, state, resources)

    def _graph_write(
        self, action: Action, state: AppState, resources: dict[str, Principal | None]
    ) -> None:
        assert state.principal is not None
        principal = resources.get(action.resource_app_id)
        if principal is None:
            raise RemoteError(
                f"app {action.app}: no service principal of {action.api} in the tenant",
                "run apply again",
            )
        client = state.principal.id

        def write() -> str:
            if action.kind == "grant-delegated":
                return self.graph.ensure_grant(client, principal.id, set(action.values))
            if action.kind == "assign-app-role":
                return self.graph.ensure_assignment(
                    client, principal.id, action.role_id, just_read=True
                )
            if action.kind == "remove-delegated":
                return self.graph.narrow_grant(action.object_id, set(action.keep))
            return self.graph.remove_assignment(principal.id, action.object_id)

        result = self._do(action, write)
        self.record(action, "done" if result not in ("already",) else "already", detail=result)

    def _consent(self, app: DesiredApp, action: Action) -> None:
        # Delegated scopes only, one entry per API that has some (``applicationGrants[].scope``
        # is the delegated permissions to grant, comma-separated: Partner Center's "Control panel
        # vendor APIs"); application permissions are assigned through Graph afterwards.
        grants = [
            {"enterpriseApplicationId": resource, "scope": ",".join(sorted(scopes))}
            for resource, scopes in app.delegated().items()
        ]
        request_id = new_request_id()
        endpoints = self.region.target.endpoints
        customer = self.customer.tenant_id
        url = f"{endpoints.partner_center_url}/v1/customers/{customer}/applicationconsents"
        response = self.region.api.call(
            "POST",
            url,
            self.region.partner_tenant,
            PARTNER_CENTER_RESOURCE,
            json_body={
                "applicationId": app.client_id,
                "displayName": app.display_name,
                "applicationGrants": grants,
            },
            headers={"MS-RequestId": request_id, "MS-CorrelationId": self.region.run_id},
            pace=app.client_id,
        )
        status = response.status_code
        if status in (200, 201):
            self.record(action, "created", request_id)
            return
        if status == 409:
            self.record(action, "already", request_id)
            return
        self.record(action, "failed", request_id, status=status)
        code = partner_center_error_code(status, dict(response.headers), response.text)
        cause = f"Partner Center answered HTTP {status} to the consent of app {app.key}"
        if is_mfa_required(status, dict(response.headers), response.text):
            cause += f" (error {code}: MFA is required for App+User calls)"
            fix = mfa_fix(self.region.stack)
        elif status in (401, 403):
            fix = PARTNER_CENTER_FIX
        else:
            fix = "retry later: the next run continues"
        raise RemoteError(cause, fix, status=status, code=code)


def apply(
    region: Region,
    customers: list[Customer],
    planner: Callable[[Customer], CustomerPlan],
    audit: AuditLog,
    *,
    prune: bool,
    workers: int,
    on_done: Callable[[Outcome], None] | None = None,
    lifecycle: Lifecycle | None = None,
) -> list[tuple[CustomerPlan, Outcome]]:
    """Per customer, in one worker: its plan (``planner``), then that plan applied, so that the
    first consents start while later customers are still being read."""

    def one(customer: Customer) -> tuple[CustomerPlan, Outcome]:
        planned = planner(customer)
        if planned.failed:
            outcome = Outcome(customer.tenant_id, customer.name, [], planned.cause, planned.fix)
        else:
            outcome = _Customer(region, planned, audit, prune, lifecycle).run()
        if on_done is not None:
            on_done(outcome)
        return planned, outcome

    results: list[tuple[CustomerPlan, Outcome]] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(one, customer) for customer in customers]
        try:
            results = [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return results
