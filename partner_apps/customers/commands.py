"""The ``customers`` verbs of one region stack: plan, apply, verify, routing-part; and
export-routing, which merges the regions' routing parts (files only).

Order of every verb: the region's target checked from its stack file and outputs (no request),
the SAM token and secret from the region's vault, the region's customers from its partner tenant,
the single-region checks, and only then the customer tenants. Progress goes to stderr; the
report (Markdown or JSON) to stdout, and with ``--out-dir`` to files: ``<name>.json``,
``<name>.md`` (for a job summary) and ``<name>.html``, the same report as a page.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from partner_apps import exitcodes
from partner_apps.review.plan.verify_results import verify_document
from partner_apps.review.reports.customers import apply_report, plan_report, verify_report
from partner_apps.review.reports.model import Report, to_html, to_markdown
from partner_apps.sam.errors import SamError
from partner_apps.sam.flows import Runtime
from partner_apps.sam.target import region_of, region_stacks

from . import binding, routing_parts
from .apply import Outcome, apply
from .graph import CustomerGraph
from .lifecycle import ENDED, GDAP, WRITE_PERMISSION, plan_customer_lifecycle
from .lock import region_lock
from .plan import Action, Customer, CustomerPlan, Plan, plan_customer
from .progress import Progress
from .region import (
    AuditLog,
    Region,
    check_single_region,
    load_selection,
    open_region,
    unreadable_selections,
)
from .remote import GRAPH_RESOURCE, RemoteError, claims_of, size_workers
from .verify import APPLY_FIX, OFFBOARDED, Check, Verifier, verify


def _now(rt: Runtime) -> datetime:
    return rt.now().astimezone(UTC)


def _emit(
    rt: Runtime, args: argparse.Namespace, name: str, document: dict[str, Any], report: Report
) -> None:
    # Encoded at most once, as one string: an apply's report of 1,000 customers is some 8 MB,
    # which json.dump wrote to the stream in some 200,000 pieces (and encoded again for
    # --out-dir).
    text = ""
    if args.output == "json" or args.out_dir is not None:
        text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    markdown = to_markdown(report)
    rt.out.write(text if args.output == "json" else markdown)
    if args.out_dir is not None:
        folder: Path = args.out_dir
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.json").write_text(text, encoding="utf-8")
        (folder / f"{name}.md").write_text(markdown, encoding="utf-8")
        (folder / f"{name}.html").write_text(to_html(report), encoding="utf-8")


def _writable(path: Path, option: str, *, folder: bool = False, append: bool = False) -> None:
    """Refuse (exit 3), before the command reads a customer or writes anything, a folder or file
    it will write but cannot (a read-only folder, a file where a folder is meant): found out after
    an apply's writes, it would have cost the report or a line of the audit log. ``append``: also
    open the file to append (nothing), for a log that is written line by line."""

    def refuse(reason: str) -> SamError:
        return SamError(f"{option} {path}: {reason}; nothing was changed", exitcodes.CONFIG)

    where = path if folder else path.parent
    if folder and path.exists() and not path.is_dir():
        raise refuse("is a file, not a folder")
    if not folder and path.is_dir():
        raise refuse("is a folder, not a file")
    if not folder and not where.is_dir() and any(p.is_file() for p in (where, *where.parents)):
        raise refuse("a file stands where its folder would be")
    try:
        where.mkdir(parents=True, exist_ok=True)
        if append:
            with path.open("a", encoding="utf-8"):
                pass  # appending nothing: the file can be written, and keeps what it holds
    except OSError as error:
        raise refuse(f"cannot be written ({error.strerror or type(error).__name__})") from None


def _local_checks(rt: Runtime, args: argparse.Namespace) -> None:
    """Every local file the verb reads or writes, checked before any network call (the vault's
    included): a broken one is exit 3 with nothing asked of Microsoft."""
    if args.out_dir is not None:
        _writable(args.out_dir, "--out-dir", folder=True)
    load_selection(rt.project_dir, args.stack)  # read again where used; refused here (exit 3)
    if args.verb == "apply":  # verify only reads the log
        _writable(_audit_path(rt, args), "--audit-log", append=True)


def _region(rt: Runtime, args: argparse.Namespace) -> Region:
    _local_checks(rt, args)
    return open_region(
        rt, args.stack, sam_app=args.app, only_apps=args.only_app, timeout=args.timeout
    )


def _customers(
    rt: Runtime, region: Region, *, refuse: str = "refused before any write"
) -> tuple[list[Customer], list[dict[str, str]]]:
    """The region's selected customers, after the single-region checks."""
    selection = load_selection(rt.project_dir, region.stack)
    rt.step(region.target, "listing the region's customers (Partner Center, GDAP)")
    customers, left = region.customers(selection)
    for unreadable in unreadable_selections(rt.project_dir, region.stack):
        print(
            f"warning: {unreadable}; that region's list is not checked against this one's",
            file=rt.err,
        )
    problems = check_single_region(rt.project_dir, region.stack, customers, selection)
    if problems:
        raise SamError(
            f"region {region.stack}: {refuse} (single-region rule): " + "; ".join(problems),
            exitcodes.CONFIG,
        )
    return customers, left


def _workers(region: Region, args: argparse.Namespace) -> int:
    """``--workers`` when given; else sized from the round trips measured so far (the customer
    listing's, which every verb makes before its pool starts) and the pacer's rate: see
    ``remote.size_workers``."""
    if args.workers is not None:
        return int(args.workers)
    return size_workers(region.http.round_trip(), region.api.pacer.rate)


def _planner(
    rt: Runtime, region: Region, args: argparse.Namespace
) -> Callable[[Customer], CustomerPlan]:
    """Each customer's plan. When ``customers/<stack>.yaml`` manages GDAP (templates, or a
    customer's state), the partner's relationships are listed once, every status, and each
    customer's plan starts with its GDAP actions (``lifecycle.py``)."""
    lifecycle = load_selection(rt.project_dir, region.stack).lifecycle
    if lifecycle is None or not lifecycle.managed:

        def one(customer: Customer) -> CustomerPlan:
            graph = CustomerGraph(region.api, customer.tenant_id)
            return plan_customer(graph, customer, region.apps, args.prune, roles=region.gdap_roles)

        return one
    relationships = region.all_relationships()
    now = _now(rt)
    # The token that listed them: whether its scopes allow GDAP writes at all.
    scopes = str(claims_of(region.tokens.get(region.partner_tenant, GRAPH_RESOURCE)).get("scp"))
    writable = WRITE_PERMISSION in scopes.split()

    def managed(customer: Customer) -> CustomerPlan:
        graph = CustomerGraph(region.api, customer.tenant_id)
        try:
            return plan_customer_lifecycle(
                graph,
                customer,
                region.apps,
                args.prune,
                lifecycle=lifecycle,
                relationships=relationships.get(customer.tenant_id, []),
                assignments=region.access_assignments,
                roles=region.gdap_roles,
                now=now,
                writable=writable,
            )
        except RemoteError as error:
            return CustomerPlan(customer, cause=error.cause, fix=error.fix)

    return managed


def _plan(rt: Runtime, region: Region, plans: list[CustomerPlan], left: Any, prune: bool) -> Plan:
    return Plan(
        region=region.stack,
        partner_tenant=region.partner_tenant,
        generated_at=_now(rt).isoformat(timespec="seconds"),
        apps=region.apps,
        customers=plans,
        excluded=left,
        prune=prune,
    )


def make_plan(rt: Runtime, region: Region, args: argparse.Namespace) -> tuple[Plan, int]:
    """The plan, and how many workers read the customers."""
    customers, left = _customers(rt, region)
    workers = _workers(region, args)
    rt.step(region.target, f"reading {len(customers)} customer tenant(s), {workers} at a time")
    progress = _progress(rt, region, "plan", len(customers))
    planner = _planner(rt, region, args)

    def one(customer: Customer) -> CustomerPlan:
        planned = planner(customer)
        progress.done(failed=planned.failed)
        return planned

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            plans = list(pool.map(one, customers))
    finally:
        progress.close()
    return _plan(rt, region, plans, left, args.prune), workers


def _progress(rt: Runtime, region: Region, verb: str, total: int) -> Progress:
    """A bar at a terminal, a line now and then in a log (``progress.py``)."""
    return Progress(
        f"[{region.stack}] {verb}",
        total,
        rt.err,
        terminal=rt.progress,
        clock=lambda: rt.now().timestamp(),
        rate=region.api.pacer.recent_rate if verb == "apply" else None,
    )


def plan_command(rt: Runtime, args: argparse.Namespace) -> int:
    region = _region(rt, args)
    plan, workers = make_plan(rt, region, args)
    document = plan.as_json()
    # What `apply --plan` checks the plan against (binding.py): today's inputs of this region.
    document["inputs"] = binding.inputs(rt.project_dir, rt.outputs(region.stack), region.stack)
    document["requests"] = region.http.requests_made
    document["workers"] = workers
    _emit(rt, args, f"{region.stack}-plan", document, plan_report(document))
    if plan.failures:
        return exitcodes.CUSTOMERS_FAILED
    return exitcodes.CHANGES if plan.changes else exitcodes.OK


# A reviewed plan of 1,000 customers is some 8 MB; ten times that is not a plan.
MAX_PLAN_BYTES = 64 * 2**20


def _read_plan(path: Path) -> dict[str, Any]:
    if path.exists() and not path.is_file():
        raise SamError(f"--plan {path}: not a regular file", exitcodes.CONFIG)
    if path.is_file() and path.stat().st_size > MAX_PLAN_BYTES:
        raise SamError(
            f"--plan {path}: larger than {MAX_PLAN_BYTES // 2**20} MiB: not a plan",
            exitcodes.CONFIG,
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:  # ValueError: not JSON, or not UTF-8
        raise SamError(f"--plan {path}: not readable ({error})", exitcodes.CONFIG) from None
    if not isinstance(document, dict):
        raise SamError(
            f"--plan {path}: not a plan (the JSON object `customers plan --output json` writes)",
            exitcodes.CONFIG,
        )
    return document


def _reviewed(path: Path, document: dict[str, Any], prune: bool) -> dict[str, list[Action]]:
    """Tenant id -> the actions a reviewed plan file lists."""
    if document.get("prune") != prune:
        raise SamError(
            f"--plan {path}: a plan made {'with' if document.get('prune') else 'without'} "
            f"--prune, applied {'with' if prune else 'without'} it: apply it as it was made",
            exitcodes.CONFIG,
        )
    customers = document.get("customers") or []
    reviewed: dict[str, list[Action]] = {}
    for index, customer in enumerate(customers if isinstance(customers, list) else [None]):
        actions = (customer.get("actions") or []) if isinstance(customer, dict) else None
        if (
            not isinstance(customer, dict)
            or not isinstance(actions, list)
            or not all(isinstance(a, dict) for a in actions)
        ):
            raise SamError(
                f"--plan {path}: customers[{index}]: not a customer of a plan (a tenantId and "
                "a list of actions); write the plan again with `customers plan`",
                exitcodes.CONFIG,
            )
        try:
            reviewed[str(customer.get("tenantId"))] = [Action.from_json(a) for a in actions]
        except ValueError as error:
            raise SamError(
                f"--plan {path}: customers[{index}]: an action's {error}; write the plan again "
                "with `customers plan`",
                exitcodes.CONFIG,
            ) from None
    return reviewed


def _audit_path(rt: Runtime, args: argparse.Namespace) -> Path:
    path: Path | None = args.audit_log
    return path or rt.project_dir / "build" / "customers" / f"{args.stack}-audit.jsonl"


def _audit(rt: Runtime, region: Region, args: argparse.Namespace) -> AuditLog:
    return AuditLog(_audit_path(rt, args), region.stack, region.who(), lambda: _now(rt))


def _resolve(audit: AuditLog, pending: list[dict[str, Any]], plan: CustomerPlan) -> None:
    """Record what the tenant read again shows of writes whose outcome a killed run never
    wrote: done when the plan no longer lists that change, else not done (it is made again)."""
    if not pending or plan.failed:
        return  # nothing read: resolved by a later run that can read the tenant
    keys = {action.key for action in plan.actions}
    for line in pending:
        # A tenant not read yet: only the GDAP writes (read in the partner tenant) are known.
        if not plan.read and line.get("app") != GDAP:
            continue
        key = (
            str(line.get("action", "")),
            str(line.get("app", "")),
            str(line.get("resourceAppId", "")),
            str(line.get("roleId", "")),
        )
        audit.write(
            {
                "phase": "resolution",
                "intentId": line["intentId"],
                "customer": line.get("customer"),
                "tenantId": line.get("tenantId"),
                "app": line.get("app"),
                "action": line.get("action"),
                "result": "not-done" if key in keys else "done",
                "basis": "the tenant read again by this apply",
            }
        )


def apply_command(rt: Runtime, args: argparse.Namespace) -> int:
    document = _read_plan(args.plan) if args.plan else None
    reviewed = _reviewed(args.plan, document, args.prune) if document is not None else None
    if document is not None:
        binding.check(
            args.plan,
            document,
            region=args.stack,
            partner_tenant=str(region_of(rt.project_dir, args.stack).get("tenantId", "")),
            expected=binding.inputs(rt.project_dir, rt.outputs(args.stack), args.stack),
            now=_now(rt),
            max_age=timedelta(days=args.max_plan_age),
        )
    region = _region(rt, args)
    audit = _audit(rt, region, args)
    assert audit.path is not None
    lock = audit.path.with_name(audit.path.name + ".lock")
    with region_lock(lock, region.stack, lambda: _now(rt), lambda text: print(text, file=rt.err)):
        return _apply_locked(rt, args, region, audit, reviewed)


def _apply_locked(
    rt: Runtime,
    args: argparse.Namespace,
    region: Region,
    audit: AuditLog,
    reviewed: dict[str, list[Action]] | None,
) -> int:
    pending: dict[str, list[dict[str, Any]]] = {}
    for line in audit.pending().values():
        pending.setdefault(str(line.get("tenantId")), []).append(line)
    if pending:
        count = sum(len(lines) for lines in pending.values())
        rt.step(region.target, f"{count} write(s) of an interrupted apply to resolve")
    customers, left = _customers(rt, region)
    planner = _planner(rt, region, args)

    def planned(customer: Customer) -> CustomerPlan:
        plan = planner(customer)
        _resolve(audit, pending.get(customer.tenant_id, []), plan)
        if reviewed is not None:  # only what the reviewed plan lists
            listed = reviewed.get(customer.tenant_id, [])
            plan.actions = [a for a in plan.actions if any(a.covered_by(r) for r in listed)]
        return plan

    bar = _progress(rt, region, "apply", len(customers))

    def progress(outcome: Outcome) -> None:
        bar.done(failed=outcome.cause is not None)

    workers = _workers(region, args)
    rt.step(
        region.target, f"planning and applying {len(customers)} customer(s), {workers} at a time"
    )
    try:
        results = apply(
            region,
            customers,
            planned,
            audit,
            prune=args.prune,
            workers=workers,
            on_done=progress,
            lifecycle=load_selection(rt.project_dir, region.stack).lifecycle,
        )
    finally:
        bar.close()
        audit.close()  # every line is on disk already: this only gives the file back
    plan = _plan(rt, region, [p for p, _ in results], left, args.prune)
    document = {
        "kind": "customers-apply",
        "region": region.stack,
        "appliedAt": _now(rt).isoformat(timespec="seconds"),
        "auditLog": str(audit.path) if audit.path else None,
        "plan": plan.as_json(),
        "customers": [o.as_json() for _, o in results if o.done or o.cause],
        "requests": region.http.requests_made,
        "workers": workers,
    }
    _emit(rt, args, f"{region.stack}-apply", document, apply_report(document))
    return exitcodes.CUSTOMERS_FAILED if any(o.cause for _, o in results) else exitcodes.OK


def verify_command(rt: Runtime, args: argparse.Namespace) -> int:
    region = _region(rt, args)
    customers, _ = _customers(rt, region, refuse="refused")
    recent = timedelta(minutes=args.recent_minutes)
    audit = _audit(rt, region, args)
    secrets = {app.key: region.app_secret(app) for app in region.apps}
    verifier = Verifier(
        region,
        secrets,
        audit.recent(_now(rt) - recent),
        attempts=args.attempts,
        now=lambda: _now(rt),
    )
    rt.step(region.target, f"verifying {len(customers)} customer(s) × {len(region.apps)} app(s)")
    progress = _progress(rt, region, "verify", len(customers))
    lifecycle = load_selection(rt.project_dir, region.stack).lifecycle
    leaving = (
        {t.lower() for t in lifecycle.customers if lifecycle.offboarding(t)} if lifecycle else set()
    )
    try:
        checks = verify(
            verifier,
            [c for c in customers if c.tenant_id not in leaving],
            recent=recent,
            workers=_workers(region, args),
            on_done=lambda _, done: progress.done(failed=any(c.state != "verified" for c in done)),
        )
    finally:
        progress.close()
    checks += _offboarded_checks(rt, region, verifier, customers)
    # One module writes and reads this file (the audit reads it): verifyResultsVersion included.
    document = verify_document(
        region.stack,
        _now(rt).isoformat(timespec="seconds"),
        str(audit.path) if audit.path else None,
        [check.as_json() for check in checks],
    )
    _emit(rt, args, region.stack, document, verify_report(document))
    good = ("verified", OFFBOARDED)
    return exitcodes.OK if all(c.state in good for c in checks) else exitcodes.CUSTOMERS_FAILED


def _offboarded_checks(
    rt: Runtime, region: Region, verifier: Verifier, customers: list[Customer]
) -> list[Check]:
    """The customers ``customers/<stack>.yaml`` offboards: each app must be refused a token
    there (not consented), and no GDAP relationship may be active or waiting (app ``gdap``).
    Their ordinary checks, if the region still lists them, are replaced by these."""
    lifecycle = load_selection(rt.project_dir, region.stack).lifecycle
    if lifecycle is None:
        return []
    tenants = sorted(t.lower() for t, e in lifecycle.customers.items() if e.state == "offboard")
    if not tenants:
        return []
    relationships = region.all_relationships()
    names = {c.tenant_id: c.name for c in customers}
    checks: list[Check] = []
    for tenant in tenants:
        customer = Customer(tenant, names.get(tenant, tenant))
        checks += [verifier.check_offboarded(customer, app) for app in region.apps]
        alive = [
            str(r.get("displayName", ""))
            for r in relationships.get(tenant, [])
            if str(r.get("status", "")) not in ENDED
        ]
        check = Check(customer, GDAP, state=OFFBOARDED, attempts=1)
        check.checked_at = _now(rt).isoformat(timespec="seconds")
        if alive:
            check.state = "failed"
            check.cause = f"GDAP relationship(s) not terminated: {', '.join(alive)}"
            check.fix = APPLY_FIX.format(stack=region.stack)
        checks.append(check)
    return checks


def routing_part_command(rt: Runtime, args: argparse.Namespace) -> int:
    """This region's part of the routing table, made with this region's own identity: its
    customers (active GDAP relationship, selected) and its apps' client ids (stack outputs)."""
    if args.file is not None:
        _writable(args.file, "--file")
    region = open_region(rt, args.stack, sam_app=args.app, timeout=args.timeout)
    customers, _ = _customers(rt, region, refuse="no routing part written")
    outputs = rt.outputs(args.stack) or {}
    routed = (outputs.get("routing") or {}).get(args.stack) or {}
    part = routing_parts.RoutingPart(
        region=args.stack,
        tenants=tuple(sorted(c.tenant_id for c in customers)),
        client_ids={str(k): str(v) for k, v in sorted(routed.items())},
        generated_at=_now(rt).isoformat(timespec="seconds"),
    )
    _write_json(
        rt,
        args.file,
        part.as_json(),
        f"routing part of region {args.stack}: {len(part.tenants)} tenant(s)",
    )
    return exitcodes.OK


def export_routing_command(rt: Runtime, args: argparse.Namespace) -> int:
    """The routing table merged from the regions' parts (files only: no network, no identity)."""
    if args.file is not None:
        # Not opened here: the table is written whole at the end, and an empty file left by a
        # failed run would read as a broken table.
        _writable(args.file, "--file")
    files = routing_parts.part_files(args.parts)
    if not files:
        raise SamError(
            f"--parts {' '.join(map(str, args.parts))}: no routing part found; nothing was written",
            exitcodes.CONFIG,
        )
    parts = [(path, routing_parts.read_part(path)) for path in files]
    table = routing_parts.merge(parts, region_stacks(rt.project_dir))
    _write_json(
        rt,
        args.file,
        table.as_json(),
        f"routing table of {len(table.tenants)} tenant(s) from {len(parts)} region part(s)",
    )
    return exitcodes.OK


def _write_json(rt: Runtime, file: Path | None, document: Any, what: str) -> None:
    """``document`` as JSON to ``file`` (whole, at the end: the caller checked it is writable)
    with a line saying ``what`` was written where, or to stdout."""
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if file is None:
        rt.out.write(text)
        return
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    print(f"{what} written to {file}", file=rt.err)


VERBS = {
    "plan": plan_command,
    "apply": apply_command,
    "verify": verify_command,
    "routing-part": routing_part_command,
    "export-routing": export_routing_command,
}
