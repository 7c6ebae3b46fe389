"""One region's run: its checked target, tokens, clients, customers and their selection.

The single-region rule, before any write: only customers of this region's partner tenant (its
Partner Center customer list, with an active GDAP relationship) are ever touched; a tenant id that
the include list names but that is not this partner's customer, or that another region's
``customers/<region>.yaml`` lists, or that is a region's partner tenant, stops the run.
"""

from __future__ import annotations

import getpass
import json
import os
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import requests
from pydantic import SecretStr

from components.files import ConfigError, read_yaml
from components.stackfiles import region_view
from partner_apps import exitcodes
from partner_apps.sam.errors import MFA_REQUIRED_CAUSE, SamError, is_mfa_required, mfa_fix
from partner_apps.sam.flows import Runtime
from partner_apps.sam.store import TokenStore
from partner_apps.sam.target import RegionTarget, load_apps, region_of, region_stacks

from . import gdap
from .customer_file import Lifecycle, lifecycle_problems
from .desired import DesiredApp, desired_apps
from .plan import Customer
from .remote import (
    GRAPH_RESOURCE,
    PARTNER_CENTER_LIMIT,
    PARTNER_CENTER_RESOURCE,
    Api,
    Http,
    Pacer,
    RemoteError,
    Tokens,
    claims_of,
)

CUSTOMERS_DIR = "customers"
LIFECYCLE_KEYS = ("gdap", "customers")
PAGE_SIZE = 500
ACTIVE = "status eq 'active'"


@dataclass(frozen=True)
class Selection:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # The desired GDAP state and customer states (``customer_file.py``); None: not managed.
    lifecycle: Lifecycle | None = None

    def listed(self) -> set[str]:
        """Every tenant id the file names: included, or with an entry under ``customers``."""
        named = {tenant.lower() for tenant in self.lifecycle.customers} if self.lifecycle else set()
        return set(self.include) | named


def selection_path(project_dir: Path, stack: str) -> Path:
    return project_dir / CUSTOMERS_DIR / f"{stack}.yaml"


def load_selection(project_dir: Path, stack: str) -> Selection:
    """``customers/<stack>.yaml``: optional ``include`` and ``exclude`` lists of tenant ids, and
    the desired GDAP state (``gdap``, ``customers``: ``customer_file.py``).

    Read like the stack files (``read_yaml``: UTF-8, a key defined twice refused); a list that is
    not a list of tenant ids (a single id written without the list, a number) is refused rather
    than read character by character.
    """
    path = selection_path(project_dir, stack)
    # Absent means "every customer"; anything else at that name (a folder, a pipe, a dangling
    # symlink) is read, and refused by the reader, rather than taken as absent.
    if not os.path.lexists(path):
        return Selection()
    where = f"{CUSTOMERS_DIR}/{path.name}"
    try:
        document = read_yaml(path) or {}
    except ConfigError as error:
        raise SamError(f"region {stack}: {where}: {error}", exitcodes.CONFIG) from None
    if not isinstance(document, dict) or set(document) - {"include", "exclude", *LIFECYCLE_KEYS}:
        raise SamError(
            f"region {stack}: {where} may hold only include and exclude lists of tenant ids, "
            "gdap and customers",
            exitcodes.CONFIG,
        )
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("include", "exclude"):
        value = document.get(key) or []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise SamError(
                f"region {stack}: {where}: {key}: must be a list of tenant ids "
                f"(`{key}: [<tenant id>, ...]`)",
                exitcodes.CONFIG,
            )
        lists[key] = tuple(item.lower() for item in value)
    lifecycle: Lifecycle | None = None
    if set(document) & set(LIFECYCLE_KEYS):
        lifecycle, problems = lifecycle_problems(document, where)
        if problems:
            raise SamError(
                f"region {stack}: invalid {where} ({len(problems)} problem(s)):\n"
                + "\n".join(f"  {problem}" for problem in problems),
                exitcodes.CONFIG,
            )
    return Selection(lists["include"], lists["exclude"], lifecycle)


def unreadable_selections(project_dir: Path, stack: str) -> list[str]:
    """The other regions' selection files that cannot be read, with why: their include lists
    are not checked against this region's customers (a warning, not a refusal: a broken file
    fails its own region only; Partner Center's list of this partner tenant's customers still
    bounds this region)."""
    found: list[str] = []
    for other in region_stacks(project_dir):
        if other == stack:
            continue
        try:
            load_selection(project_dir, other)
        except SamError as error:
            found.append(error.message)
    return found


def _partner_tenants(project_dir: Path, stack: str) -> dict[str, str]:
    """Partner tenant id -> the region stack whose stack file names it: this one's, and the
    regions it is checked against (``region_view``: a file that cannot be read names none, and
    a newer copy of this region's file is refused in its own region, not here)."""
    view = region_view(project_dir, stack)
    regions = {**dict(view.others), stack: region_of(project_dir, stack)}
    return {
        str(region.get("tenantId", "")).lower(): name
        for name, region in sorted(regions.items())
        if isinstance(region, dict)
    }


def check_single_region(
    project_dir: Path, stack: str, customers: list[Customer], selection: Selection
) -> list[str]:
    """Refuse (exit 3) what another region owns or what is not this partner's customer; return
    the problems found (empty: fine)."""
    own = {c.tenant_id.lower() for c in customers}
    problems = [
        f"{tenant} is in {CUSTOMERS_DIR}/{stack}.yaml include but not a customer of this "
        "region's partner tenant"
        for tenant in selection.include
        if tenant not in own
    ]
    for other in region_stacks(project_dir):
        if other == stack:
            continue
        try:
            theirs = load_selection(project_dir, other)
        except SamError:
            # That region's own runs refuse its file (exit 3); this region still runs, and the
            # caller says which region's list could not be checked (``unreadable_selections``).
            continue
        for tenant in sorted(theirs.listed() & (own | selection.listed())):
            problems.append(f"{tenant} is listed by region {other} ({CUSTOMERS_DIR}/{other}.yaml)")
        # A security group lives in one partner tenant: a group that another region's templates
        # name is that region's, and cannot hold roles through this region's relationships.
        mine = selection.lifecycle.groups() if selection.lifecycle else set()
        theirs_groups = theirs.lifecycle.groups() if theirs.lifecycle else set()
        for group in sorted(mine & theirs_groups):
            problems.append(
                f"{CUSTOMERS_DIR}/{stack}.yaml: gdap.templates: group {group} is a group of "
                f"region {other}'s partner tenant ({CUSTOMERS_DIR}/{other}.yaml names it)"
            )
    partners = _partner_tenants(project_dir, stack)
    problems += [
        f"{tenant} is the partner tenant of region {partners[tenant]}"
        for tenant in sorted(own & set(partners))
    ]
    return problems


class AuditError(SamError):
    """The audit log could not be written: the apply stops before its next write (exit 3)."""


@dataclass
class AuditLog:
    """Append-only JSON lines (when, who, region, customer, app, grants, result, request id). No
    token material: nothing here ever holds a token.

    Every remote write has two lines: an **intent** (``phase: intent``, a new ``intentId``)
    written, flushed and ``fsync``-ed before the request leaves, and its **outcome** (``phase:
    outcome``, the same ``intentId``, ``result``) after the answer. A run killed between the two
    leaves an intent without an outcome (``pending``); the next apply reads that tenant again
    and records what it found (``phase: resolution``, ``done`` or ``not-done``). Once a line
    cannot be written (a full disk, a log made read-only) the log is **broken**: every later
    ``write`` raises ``AuditError`` at once, so no worker makes another remote write without its
    intent on disk.

    The file is opened at the first line and kept open until ``close`` (the end of the command):
    opening it for every line cost the run a system call or three per write. ``write`` returns
    once its line is in the file, whole, flushed and ``fsync``-ed, so what the caller does next
    (use the result, report it) comes after its line is on disk, and neither a killed run nor a
    lost machine loses a line written. An error writing it is raised to the caller, as before.

    Group commit (as databases do with their logs): the lock guards only the queue of lines. The
    first writer that finds nobody writing takes every line queued so far, its own included, and
    appends them in one write, one flush and one ``fsync`` outside the lock; the writers of those
    lines then return. With a hundred workers, a lock held across the system calls was a convoy
    (each holder waiting for the interpreter again before it could let go): about 80 ms a line.
    The lines stay in the order ``write`` was called, each one written whole.
    """

    path: Path | None
    region: str
    who: str
    now: Callable[[], datetime]
    _lock: threading.Condition = field(
        default_factory=lambda: threading.Condition(threading.Lock())
    )
    _handle: TextIO | None = field(default=None, repr=False)
    _pending: list[str] = field(default_factory=list, repr=False)  # queued, not written yet
    _queued: int = 0  # lines handed to ``write``, numbered from 1
    _done: int = 0  # lines 1.._done are on disk, or their batch failed
    _writing: bool = False  # a writer is appending a batch outside the lock
    # (first line, last line, error) of each batch that failed: its writers raise the error.
    _failed: list[tuple[int, int, Exception]] = field(default_factory=list, repr=False)
    _broken: AuditError | None = field(default=None, repr=False)

    def write(self, record: Mapping[str, Any]) -> None:
        """Append ``record`` (see the class); ``AuditError`` when it cannot be, or could not
        be before."""
        if self._broken is not None:
            raise self._broken
        try:
            self._write(record)
        except OSError as error:
            self._broken = AuditError(
                f"audit log {self.path}: cannot be written ({error.strerror or error}); the "
                "apply stopped before its next write (every write made so far has its intent "
                "line; the next apply resolves those without an outcome)",
                exitcodes.CONFIG,
            )
            raise self._broken from None

    def intend(self, record: Mapping[str, Any]) -> str:
        """The intent line of a write about to be made; its id, for the outcome line."""
        intent = str(uuid.uuid4())
        self.write({**record, "phase": "intent", "intentId": intent, "result": "intent"})
        return intent

    def pending(self) -> dict[str, dict[str, Any]]:
        """This region's intents with neither an outcome nor a resolution: intent id -> its
        line. A line that is not JSON (a run killed mid-line cannot leave one: lines are written
        whole) is skipped."""
        found: dict[str, dict[str, Any]] = {}
        if self.path is None or not self.path.is_file():
            return found
        for text in self.path.read_text(encoding="utf-8").splitlines():
            try:
                line = json.loads(text)
            except ValueError:
                continue
            if not isinstance(line, dict) or line.get("region") != self.region:
                continue
            intent = line.get("intentId")
            if not isinstance(intent, str):
                continue
            if line.get("phase") == "intent":
                found[intent] = line
            else:
                found.pop(intent, None)
        return found

    def _write(self, record: Mapping[str, Any]) -> None:
        line = {
            "when": self.now().isoformat(timespec="seconds"),
            "who": self.who,
            "region": self.region,
            **record,
        }
        if self.path is None:
            return
        text = json.dumps(line, sort_keys=True) + "\n"
        with self._lock:
            self._pending.append(text)
            self._queued += 1
            mine = self._queued
            while self._done < mine:
                if self._writing:
                    self._lock.wait()
                else:
                    self._commit()
            failure = next((e for first, last, e in self._failed if first <= mine <= last), None)
        if failure is not None:
            raise failure

    def _commit(self) -> None:
        """Append every queued line (called holding the lock; does the I/O without it)."""
        batch, self._pending = self._pending, []
        first, last = self._done + 1, self._queued
        self._writing = True
        error: Exception | None = None
        finished = False
        self._lock.release()
        try:
            self._append("".join(batch))
            finished = True
        except Exception as caught:  # handed to every writer of the batch, raised there
            error = caught
        finally:
            self._lock.acquire()
            self._writing = False
            self._done = last
            if not finished:
                self._failed.append(
                    (first, last, error or OSError(f"{self.path}: the write was interrupted"))
                )
            self._lock.notify_all()

    def _append(self, text: str) -> None:
        if self._handle is None:
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8")
        self._handle.write(text)
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        """Close the file once no line is being written (the command's end: every ``write`` has
        returned; a later one opens it again)."""
        with self._lock:
            self._lock.wait_for(lambda: not self._writing and not self._pending)
            if self._handle is not None:
                handle, self._handle = self._handle, None
                handle.close()

    def outcomes(self, tenant: str, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
        """The successful outcome lines of ``kinds`` for ``tenant`` since its last offboarding
        record: what one offboarding removed, over however many runs it took."""
        found: list[dict[str, Any]] = []
        if self.path is None or not self.path.is_file():
            return found
        for text in self.path.read_text(encoding="utf-8").splitlines():
            try:
                line = json.loads(text)
            except ValueError:
                continue
            if not isinstance(line, dict) or line.get("tenantId") != tenant:
                continue
            if line.get("region") != self.region:
                continue
            if line.get("phase") == "offboarding":
                found = []
            elif (
                line.get("phase") == "outcome"
                and line.get("action") in kinds
                and line.get("result") in ("done", "removed", "already", "created")
            ):
                found.append(
                    {
                        "when": line.get("when"),
                        "action": line.get("action"),
                        "app": line.get("app"),
                        "object": line.get("objectId") or line.get("resourceAppId"),
                        "result": line.get("result"),
                    }
                )
        return found

    def recent(self, since: datetime) -> dict[tuple[str, str], datetime]:
        """(tenant id, app) -> the last successful write at or after ``since``."""
        found: dict[tuple[str, str], datetime] = {}
        if self.path is None or not self.path.is_file():
            return found
        for text in self.path.read_text(encoding="utf-8").splitlines():
            try:
                line = json.loads(text)
                when = datetime.fromisoformat(str(line["when"]))
            except (ValueError, KeyError, TypeError):
                continue
            if line.get("region") != self.region or line.get("result") not in ("created", "done"):
                continue
            key = (str(line.get("tenantId")), str(line.get("app")))
            if when >= since and (key not in found or when > found[key]):
                found[key] = when
        return found


@dataclass
class Region:
    """Everything one region's customer commands use."""

    rt: Runtime
    stack: str
    target: RegionTarget
    apps: tuple[DesiredApp, ...]
    http: Http
    api: Api
    tokens: Tokens
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def partner_tenant(self) -> str:
        return self.target.tenant_id

    def app_secret(self, app: DesiredApp) -> SecretStr:
        """The app's own client secret (``<app>-client-secret`` in the region's vault)."""
        target = replace(self.target, app_key=app.key, client_id=app.client_id)
        store = TokenStore(target, self.rt.vault_client(target, self.rt.credential(target)))
        return store.client_secret()

    def who(self) -> str:
        try:
            token = self.tokens.get(self.partner_tenant, PARTNER_CENTER_RESOURCE)
        except RemoteError:
            token = ""
        claims = claims_of(token)
        user = claims.get("upn") or claims.get("preferred_username") or "unknown"
        runner = os.environ.get("GITHUB_ACTOR") or getpass.getuser()
        return f"{user} (run by {runner})"

    def partner_center(self, path: str, headers: Mapping[str, str] | None = None) -> Any:
        url = f"{self.target.endpoints.partner_center_url}{path}"
        response = self.api.call(
            "GET", url, self.partner_tenant, PARTNER_CENTER_RESOURCE, headers=headers
        )
        if response.status_code != 200:
            where = path.split("?", maxsplit=1)[0]
            if is_mfa_required(response.status_code, dict(response.headers), response.text):
                # Partner Center enforces MFA on App+User calls (error 900421): a token whose
                # sign-in had no MFA, which only a new interactive consent replaces.
                raise SamError(
                    f"region {self.stack}: {MFA_REQUIRED_CAUSE} to {where}; {mfa_fix(self.stack)}",
                    exitcodes.SIGN_IN,  # as `sam refresh` answers it: an admin must act
                )
            raise SamError(
                f"region {self.stack}: Partner Center answered HTTP {response.status_code} to "
                f"{where}",
                exitcodes.PARTNER_CENTER,
            )
        return response.json()

    def _partner_center_customers(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = self.partner_center(f"/v1/customers?size={PAGE_SIZE}")
        while True:
            items += [item for item in page.get("items") or [] if isinstance(item, dict)]
            token = page.get("continuationToken")
            if not token:
                return items
            page = self.partner_center(
                f"/v1/customers?size={PAGE_SIZE}&seekOperation=Next",
                {"MS-ContinuationToken": str(token)},
            )

    def _relationships(self) -> dict[str, list[tuple[str, str, frozenset[str]]]]:
        """Customer tenant id -> its active GDAP relationships: (id, activatedDateTime, the
        roles the customer approved, ``accessDetails.unifiedRoles``)."""
        base = self.target.endpoints.graph_url
        url: str | None = (
            f"{base}/v1.0/tenantRelationships/delegatedAdminRelationships?"
            f"$filter={quote(ACTIVE)}&$top=300"
        )
        found: dict[str, list[tuple[str, str, frozenset[str]]]] = {}
        while url:
            body = self._graph_page(url, "the GDAP relationships")
            for item in body.get("value") or []:
                if not isinstance(item, dict):
                    continue
                # CIPP's rule: MLT_ relationships are Microsoft-led transition leftovers.
                if str(item.get("displayName", "")).startswith("MLT_"):
                    continue
                # The $filter asks for active ones; a relationship of another status (a server
                # that ignored the filter, a page served stale) gives no access all the same.
                if str(item.get("status", "active")).lower() != "active":
                    continue
                tenant = str((item.get("customer") or {}).get("tenantId", "")).lower()
                activated = str(item.get("activatedDateTime") or "")
                relationship = (str(item.get("id", "")), activated, gdap.approved_roles(item))
                found.setdefault(tenant, []).append(relationship)
            url = body.get("@odata.nextLink")
        return found

    def _graph_page(self, url: str, what: str) -> dict[str, Any]:
        """One page of a Graph listing in the partner tenant; a refusal stops the run (it is the
        region's own access, not one customer's)."""
        response = self.api.call("GET", url, self.partner_tenant, GRAPH_RESOURCE)
        if response.status_code != 200:
            raise SamError(
                f"region {self.stack}: Graph answered HTTP {response.status_code} to {what} (the "
                "SAM app needs DelegatedAdminRelationship.Read.All)",
                exitcodes.PARTNER_CENTER,
            )
        body = response.json()
        return body if isinstance(body, dict) else {}

    def all_relationships(self) -> dict[str, list[dict[str, Any]]]:
        """Customer tenant id -> every GDAP relationship of this partner with it, whatever its
        status (created, approvalPending, active, terminated, ...): what the GDAP plan compares
        with the customer file. One paged listing for the region (``$top`` 300)."""
        base = self.target.endpoints.graph_url
        url: str | None = f"{base}/v1.0/tenantRelationships/delegatedAdminRelationships?$top=300"
        found: dict[str, list[dict[str, Any]]] = {}
        while url:
            body = self._graph_page(url, "the GDAP relationships")
            for item in body.get("value") or []:
                if isinstance(item, dict):
                    tenant = str((item.get("customer") or {}).get("tenantId", "")).lower()
                    found.setdefault(tenant, []).append(item)
            url = body.get("@odata.nextLink")
        return found

    def access_assignments(self, relationship_id: str) -> list[dict[str, Any]]:
        """One relationship's access assignments (every status), read in the partner tenant."""
        base = self.target.endpoints.graph_url
        url: str | None = (
            f"{base}/v1.0/tenantRelationships/delegatedAdminRelationships/"
            f"{quote(relationship_id, safe='')}/accessAssignments"
        )
        assignments: list[dict[str, Any]] = []
        while url:
            try:
                body = self._graph_page(url, "a GDAP relationship's access assignments")
            except SamError as error:
                raise RemoteError(
                    str(error), "grant the SAM app DelegatedAdminRelationship.Read.All"
                ) from None
            assignments += [a for a in body.get("value") or [] if isinstance(a, dict)]
            url = body.get("@odata.nextLink")
        return assignments

    def gdap_roles(self, customer: Customer) -> frozenset[str]:
        """The Entra roles (template ids) the partner's admins hold in ``customer`` through its
        active GDAP relationships: the roles of their active access assignments that the
        relationship approved (``gdap.active_roles``). Read in the partner tenant."""
        held: set[str] = set()
        for relationship_id, approved in customer.relationships:
            assignments = self.access_assignments(relationship_id)
            held |= gdap.active_roles(assignments, approved)
        return frozenset(held)

    def customers(self, selection: Selection) -> tuple[list[Customer], list[dict[str, str]]]:
        """This partner's customers with an active GDAP relationship, selected; and the ones
        left out with why."""
        relationships = self._relationships()
        chosen: list[Customer] = []
        left: list[dict[str, str]] = []
        for item in self._partner_center_customers():
            profile = item.get("companyProfile") or {}
            tenant = str(profile.get("tenantId") or item.get("id") or "").lower()
            name = str(profile.get("companyName") or tenant)
            customer = Customer(tenant, name, str(profile.get("domain") or ""))
            if selection.include and tenant not in selection.include:
                continue
            if tenant in selection.exclude:
                left.append({"tenantId": tenant, "name": name, "reason": "excluded"})
            elif tenant not in relationships:
                if selection.lifecycle and selection.lifecycle.template_of(tenant):
                    # Its relationship is what the plan makes (customer_file: a template).
                    chosen.append(customer)
                    continue
                left.append(
                    {"tenantId": tenant, "name": name, "reason": "no active GDAP relationship"}
                )
            else:
                mine = sorted(relationships[tenant])
                activated = max(when for _, when, _ in mine) or None
                gdap_ids = tuple((rid, approved) for rid, _, approved in mine)
                chosen.append(replace(customer, activated=activated, relationships=gdap_ids))
        return sorted(chosen, key=lambda c: (c.name.lower(), c.tenant_id)), left


def open_region(
    rt: Runtime,
    stack: str,
    *,
    sam_app: str | None = None,
    only_apps: list[str] | None = None,
    timeout: float = 30.0,
    rate: float = PARTNER_CENTER_LIMIT * 0.95,
) -> Region:
    """Check the target, read the SAM token and secret from the vault, build the clients."""
    apps_document = load_apps(rt.project_dir)
    target = rt.target(stack, sam_app, apps_document)
    outputs = rt.outputs(stack) or {}
    apps = desired_apps(stack, apps_document, outputs, only_apps, sam_app=target.app_key)
    store = rt.store(target)
    token = store.current()
    if token is None or token.is_placeholder or not token.enabled:
        raise SamError(
            f"{target.where()}: no SAM refresh token: a partner admin runs `partner-apps sam "
            f"consent --stack {stack}` first",
            exitcodes.TOKEN_MISSING,
        )
    secret = store.client_secret()
    # The stack's cloud decides the endpoints (the target's, from its stack file).
    http = Http(target.endpoints, sleep=rt.sleep, timeout=timeout, session_factory=requests.Session)
    tokens = Tokens(http, target.client_id, secret, token.value)
    # The pacer keeps time on the runtime's clock, the one its sleep advances (tests inject both).
    api = Api(http, tokens, Pacer(rate, clock=lambda: rt.now().timestamp(), sleep=rt.sleep))
    return Region(rt, stack, target, apps, http, api, tokens)
