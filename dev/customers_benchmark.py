"""Benchmark of ``partner-apps customers`` at scale against the loopback Microsoft cloud.

Not a timed test: run by hand (``.venv/bin/python -m dev.customers_benchmark``) and record one
run's figures in docs/benchmark.md. One region (us) with ``--customers`` customers and three apps
(``apps.yaml``'s two plus a copy of ``partner-portal-api`` as ``partner-portal-worker``, with a
delegated permission added) besides the Secure Application Model app, whose own consent comes
first in each customer: three Partner Center consents a customer (``partner-portal-api``, with
application permissions only, gets its service principal through Graph instead), the fake
enforcing Partner Center's limit of ``--rate`` consents per second per application (429 with
``Retry-After`` past it), on the real clock.

Once per ``--latency`` (milliseconds every answer of the fake is held: a real network's round
trip to Partner Center, Graph and Entra, which the loopback fake otherwise answers at once), in a
new world each time, it runs the first plan, the apply and the second plan (nothing left to do)
and prints for each: exit code, seconds, requests, the workers the command used, and the client's
CPU seconds per 1,000 requests (this process's user + system time around the command); for the
apply also the consents per app, the 429s, the ratio of its time to the rate-limit floor
(consents per app ÷ rate), the fake's own CPU (a fake near a full core slows the run, not the
product), the most answers the fake held at once (requests in flight) and the connections it
accepted (kept alive, they stay few). A summary line per latency ends the output.

``--gdap``: the same, with the customer lifecycle of issue 30 in its steady state: the region's
``customers/us.yaml`` gives every customer a default GDAP template, and each customer already has
the relationship that template asks for, approved and active, with its access assignment
(seeded in the fake before the run, as a partner would have them after a first apply and the
customers' approvals). Plan and apply then read GDAP beside the consents and write none of it;
each step also prints the Graph requests to ``tenantRelationships/delegatedAdminRelationships``
it made (all of them, and per customer) and the GDAP writes the fake counted (0 expected). Run
once without and once with ``--gdap``: the difference is what GDAP adds.

The fake is built in this process and then served from a forked child (POSIX ``fork``), so its
own CPU runs on the second core as a real server's would not run on the client's machine at all;
the client's side (the product) keeps this interpreter to itself, and its CPU figure is the
client's alone.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from components.files import safe_load

ROOT = Path(__file__).resolve().parent.parent
EXTRA_APP = "partner-portal-worker"
LATENCIES_MS = (0.0, 50.0, 150.0)
# Graph's GDAP collection: every request below it is one GDAP adds (list, assignments, writes).
GDAP_PATH = "/tenantRelationships/delegatedAdminRelationships"
# --gdap: the default template of every customer, least-privileged roles for the consents (those
# Graph and Partner Center require for them) given to one partner security group.
GDAP_TEMPLATE = "consent"
GDAP_GROUP = "11111111-2222-3333-4444-555555555555"
GDAP_FILE: dict[str, Any] = {
    "gdap": {
        "templates": {
            GDAP_TEMPLATE: {
                "groups": {
                    GDAP_GROUP: ["Cloud Application Administrator", "Privileged Role Administrator"]
                },
                "duration": "P730D",
                "autoExtendDuration": "P180D",
            }
        },
        "default": GDAP_TEMPLATE,
    }
}


def _project(directory: Path, *, gdap: bool = False) -> Path:
    """A copy of the project's config with a third app to consent; with ``gdap``, the region's
    customer file giving every customer the default template."""
    project = directory / "project"
    project.mkdir()
    for path in [ROOT / "Pulumi.yaml", *ROOT.glob("Pulumi.*.yaml")]:
        shutil.copy(path, project / path.name)
    document = safe_load((ROOT / "apps.yaml").read_text(encoding="utf-8"))
    # A deep copy: an object shared with the API app would be dumped as a YAML anchor and alias,
    # which the project's config reader refuses.
    worker = copy.deepcopy(document["apps"]["partner-portal-api"])
    worker["displayName"] = "Contoso Partner Portal Worker"
    for key in ("exposeApi", "scopes", "knownClients", "identifierUri"):
        worker.pop(key, None)
    # A delegated permission as well, so that the worker is consented through Partner Center
    # (the API app, application permissions only, gets its service principal through Graph
    # and no consent): three consents a customer, the SAM app's included, and both paths.
    worker["permissions"].append(
        {
            "api": "Microsoft Graph",
            "permission": "User.Read",
            "type": "delegated",
            "reason": "Signs the worker's operator in.",
        }
    )
    document["apps"][EXTRA_APP] = worker
    (project / "apps.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    if gdap:
        (project / "customers").mkdir()
        (project / "customers" / "us.yaml").write_text(yaml.safe_dump(GDAP_FILE), encoding="utf-8")
    return project


def _seed_gdap(cw: Any, stack: str = "us") -> None:
    """Every customer of ``stack`` with the relationship its template asks for, active since an
    hour ago with auto-extend, and the template's access assignment active in it: what a first
    apply and the customers' approvals leave (names and roles as the product computes them). It
    takes the place of the world's hand-made relationship (the same roles): one relationship a
    customer, as when GDAP is managed from the customer file."""
    # The product's own reading of the template: the seeded world is what it would have made.
    from partner_apps.customers import lifecycle  # noqa: PLC0415
    from partner_apps.customers.customer_file import Template  # noqa: PLC0415

    template = Template.model_validate(GDAP_FILE["gdap"]["templates"][GDAP_TEMPLATE])
    cloud = cw.cloud
    partner_tenant = cw.world.regions[stack].tenant_id
    now = cloud.gdap_now()
    activated = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ends = (now + timedelta(days=729)).strftime("%Y-%m-%dT%H:%M:%SZ")
    roles = sorted(template.role_ids())
    with cloud.lock:
        partner = cloud.partners[partner_tenant]
        seeded = set(cw.customers[stack])
        for relationship in [
            r for r in partner.relationships if r["customer"].get("tenantId") in seeded
        ]:
            partner.relationships.remove(relationship)
            partner.access_assignments.pop(relationship["id"], None)
        for index, tenant in enumerate(cw.customers[stack]):
            relationship_id = f"{uuid.UUID(int=index + 1)}-{tenant}"
            partner.relationships.append(
                {
                    "id": relationship_id,
                    "displayName": lifecycle.relationship_name(GDAP_TEMPLATE, template, tenant, 1),
                    "duration": template.duration,
                    "customer": {"tenantId": tenant},
                    "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in roles]},
                    "status": "active",
                    "autoExtendDuration": template.auto_extend_duration,
                    "createdDateTime": activated,
                    "lastModifiedDateTime": activated,
                    "activatedDateTime": activated,
                    "endDateTime": ends,
                    "@odata.etag": f'W/"bench-{index}"',
                }
            )
            partner.access_assignments[relationship_id] = [
                {
                    "id": str(uuid.UUID(int=index + 1)),
                    "status": "active",
                    "accessContainer": {
                        "accessContainerId": group,
                        "accessContainerType": "securityGroup",
                    },
                    "accessDetails": {
                        "unifiedRoles": [{"roleDefinitionId": r} for r in sorted(ids)]
                    },
                    "createdDateTime": activated,
                    "lastModifiedDateTime": activated,
                    "@odata.etag": f'W/"bench-{index}-{group}"',
                }
                for group, ids in template.assignments().items()
            ]


class _Served:
    """The loopback cloud served from a child process (fork), so that its own CPU (TLS, request
    parsing, JSON, token minting: what Microsoft's servers pay in real life) runs on the other
    core instead of competing with the client for this interpreter. Its state lives in the
    child from then on: the figures the benchmark needs come back through a pipe."""

    def __init__(self, cw: Any) -> None:
        self.cw = cw
        cw.world.fake.pause()
        # The world built so far (a thousand tenants) is kept out of both processes' garbage
        # collections until ``stop``: the client does not hold it in real life, and the fake's
        # pauses to walk it (gen-2 collections of 50-140 ms on this machine) held the consents
        # arriving meanwhile back, then counted them together: 429s of the fake's own making.
        gc.collect()
        gc.freeze()
        self.pipe, child = multiprocessing.Pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: serve until told to report and stop
            self._child(child)

    def _child(self, pipe: Any) -> None:
        cloud = self.cw.cloud
        self.cw.world.fake.serve()
        try:
            while (command := pipe.recv()) != "stop":
                if command == "requests":
                    pipe.send((len(cloud.requests), sum(cloud.connections.values())))
                elif command == "gdap":  # GDAP requests so far, and GDAP writes the fake made
                    with cloud.lock:
                        calls = sum(
                            1
                            for r in cloud.requests
                            if r.service == "graph" and GDAP_PATH in r.path
                        )
                        writes = (
                            len(cloud.gdap_creates)
                            + len(cloud.gdap_assignment_creates)
                            + len(cloud.gdap_terminations)
                            + len(cloud.gdap_operations)
                        )
                    pipe.send((calls, writes))
                elif command == "cpu":  # the fake's own CPU seconds so far
                    pipe.send(_cpu())
                elif command == "peak":  # the most answers held at once since the last ask
                    with cloud.lock:
                        pipe.send(cloud.answers_held_peak)
                        cloud.answers_held_peak = cloud.answers_held
                else:
                    pipe.send(
                        (
                            [app for _, app, _ in cloud.consent_posts],
                            cloud.throttled,
                            cloud.requests_in_throttle_window,
                        )
                    )
        except EOFError:
            pass
        os._exit(0)

    def ask(self, command: str) -> Any:
        self.pipe.send(command)
        return self.pipe.recv()

    def stop(self) -> None:
        """End the child, whatever happened in between (it also ends when this process does)."""
        with contextlib.suppress(OSError):
            self.pipe.send("stop")
        os.waitpid(self.pid, 0)
        gc.unfreeze()


@dataclass(frozen=True)
class Step:
    code: int
    seconds: float
    requests: int
    cpu: float  # this process's user + system seconds: the client's CPU
    server_cpu: float  # the fake's (the child's), for comparison: a busy fake slows the run
    workers: int | None  # what the command reported using
    in_flight: int  # the most answers the fake held at once (0 without latency)
    connections: int  # connections the fake accepted (Entra, Partner Center, Graph, vault)
    gdap_requests: int  # Graph requests to the GDAP collection (the listings included)
    gdap_writes: int  # GDAP writes the fake made (relationships, assignments, terminations)

    @property
    def cpu_per_1000(self) -> float:
        return self.cpu * 1000 / self.requests if self.requests else 0.0


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def _timed(cw: Any, served: _Served, *argv: str) -> Step:
    start_requests, start_connections = served.ask("requests")
    start_gdap, start_gdap_writes = served.ask("gdap")
    served.ask("peak")
    server_cpu: float = served.ask("cpu")
    started, cpu = time.perf_counter(), _cpu()
    result = cw.run(*argv)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    if result.code not in (0, 20):  # the figures would mean nothing: say why
        print(f"{' '.join(argv[:2])}: exit {result.code}: {result.err.strip()}", file=sys.stderr)
    try:
        workers = json.loads(result.out).get("workers")
    except (ValueError, AttributeError):
        workers = None
    count, connections = served.ask("requests")
    gdap, gdap_writes = served.ask("gdap")
    server_cpu = served.ask("cpu") - server_cpu
    return Step(
        result.code,
        seconds,
        count - start_requests,
        cpu,
        server_cpu,
        workers,
        served.ask("peak"),
        connections - start_connections,
        gdap - start_gdap,
        gdap_writes - start_gdap_writes,
    )


def run_latency(
    customers: int,
    rate: float,
    workers: int | None,
    latency_ms: float,
    *,
    limit_key: str = "consented",
    gdap: bool = False,
) -> dict[str, Any]:
    """One world, one latency: the first plan, the apply and the second plan. ``limit_key``:
    what the fake's limit counts per second, the consented app or the calling app (the two
    readings of Partner Center's "for each applicationId"). ``gdap``: every customer with its
    template's relationship and access assignment, active (``_seed_gdap``)."""
    # The loopback cloud is test code: imported only when the benchmark runs.
    from partner_apps.sandbox.customer_world import APPS, open_customer_world  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        project = _project(directory, gdap=gdap)
        apps = (*APPS, EXTRA_APP)
        with open_customer_world(directory, us=customers, eu=0, apps=apps) as cw:
            cw.world.fake._timer.cancel()  # the fake's safety stop: this run may take minutes
            cw.project_dir = project
            cw.real_time = True
            cw.timeout = "30"
            cw.cloud.consent_rate_limit = rate
            cw.cloud.answer_latency = latency_ms / 1000
            cw.cloud.consent_limit_key = limit_key
            if gdap:
                _seed_gdap(cw)
            served = _Served(cw)
            try:
                common = ["--stack", "us", "--output", "json"]
                if workers is not None:
                    common += ["--workers", str(workers)]
                plan = _timed(cw, served, "customers", "plan", *common)
                apply = _timed(cw, served, "customers", "apply", *common)
                again = _timed(cw, served, "customers", "plan", *common)
                posts, throttled, in_window = served.ask("report")
            finally:
                served.stop()
            per_app = Counter(posts)
    floor = max(per_app.values()) / rate if per_app else 0.0
    return {
        "customers": customers,
        "latencyMs": latency_ms,
        "plan": plan,
        "apply": apply,
        "again": again,
        "consentsPerApp": sorted(per_app.values()),
        "throttled": throttled,
        "inThrottleWindow": in_window,
        "floor": floor,
        "ratio": apply.seconds / floor if floor else 0.0,
    }


def _latencies(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: milliseconds, comma-separated") from None
    if not values or any(value < 0 for value in values):
        raise argparse.ArgumentTypeError(f"{text!r}: one or more numbers of milliseconds, ≥ 0")
    return values


def _print_run(figures: dict[str, Any]) -> None:
    latency = f"{figures['latencyMs']:g} ms"
    rows = (
        ("plan (first)", figures["plan"]),
        ("apply", figures["apply"]),
        ("plan (after apply)", figures["again"]),
    )
    for name, step in rows:
        workers = "-" if step.workers is None else str(step.workers)
        print(
            f"{name:<20} {latency:>7} {step.code:>4} {step.seconds:>8.1f} {step.requests:>9} "
            f"{workers:>7} {step.cpu_per_1000:>10.2f}"
        )
    apply: Step = figures["apply"]
    print(
        f"apply at {latency}: consents per app {figures['consentsPerApp']}, 429s "
        f"{figures['throttled']}, rate-limit floor {figures['floor']:.1f} s, ratio "
        f"{figures['ratio']:.2f}×, client CPU {apply.cpu:.1f} s ({apply.cpu_per_1000:.2f} s per "
        f"1,000 requests), the fake's CPU {apply.server_cpu:.1f} s, answers in flight at most "
        f"{apply.in_flight}, connections opened {apply.connections}"
    )
    customers = figures["customers"]
    gdap = ", ".join(
        f"{name} {step.gdap_requests} ({step.gdap_requests / customers:.2f} per customer)"
        for name, step in (("plan", figures["plan"]), ("apply", apply), ("again", figures["again"]))
    )
    writes = sum(figures[key].gdap_writes for key in ("plan", "apply", "again"))
    print(f"GDAP Graph requests at {latency}: {gdap}; GDAP writes {writes}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="consents/s per app (50)")
    parser.add_argument(
        "--workers",
        type=int,
        help="customers in parallel (default: the command's own, sized from the latency)",
    )
    parser.add_argument(
        "--latency",
        type=_latencies,
        default=list(LATENCIES_MS),
        help="milliseconds the fake holds every answer, one apply each (0,50,150)",
    )
    parser.add_argument(
        "--gdap",
        action="store_true",
        help="every customer with a default GDAP template and its relationship, active (steady "
        "state): plan and apply read GDAP too",
    )
    parser.add_argument(
        "--storm-customers",
        type=int,
        default=200,
        help="customers of the 429-storm run, the fake's limit keyed on the calling app (200; "
        "0: none)",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    workers = "sized by the command" if args.workers is None else str(args.workers)
    gdap = ", GDAP steady state (a template per customer)" if args.gdap else ""
    print(
        f"{args.customers} customers × 3 apps (and the SAM app's own consent){gdap}, fake limit "
        f"{args.rate:g} consents/s per app, workers {workers}"
    )
    print(
        f"{'step':<20} {'latency':>7} {'exit':>4} {'seconds':>8} {'requests':>9} {'workers':>7} "
        f"{'CPU s/1k':>10}"
    )
    runs = []
    for latency in args.latency:
        runs.append(run_latency(args.customers, args.rate, args.workers, latency, gdap=args.gdap))
        _print_run(runs[-1])
    print("summary of the applies:")
    print(
        f"{'latency':>7} {'seconds':>8} {'requests':>9} {'429s':>5} {'floor':>6} {'ratio':>6} "
        f"{'CPU s/1k':>9} {'workers':>7} {'in flight':>9}"
    )
    for figures in runs:
        apply = figures["apply"]
        workers = "-" if apply.workers is None else str(apply.workers)
        print(
            f"{figures['latencyMs']:>4g} ms {apply.seconds:>8.1f} {apply.requests:>9} "
            f"{figures['throttled']:>5} {figures['floor']:>6.1f} {figures['ratio']:>5.2f}× "
            f"{apply.cpu_per_1000:>9.2f} {workers:>7} {apply.in_flight:>9}"
        )
    if args.storm_customers > 0:
        _storm(args.storm_customers, args.rate, args.workers)
    return 0


def _storm(customers: int, rate: float, workers: int | None) -> None:
    """The 429 storm: the fake counts the limit per calling app (every consent of the run in
    one count), which the client's per-app pacing overshoots until the first 429 switches it to
    one shared pace. Every 429 holds the client for its Retry-After: no request of the client
    may arrive inside that window (the fake counts those that do, past the requests already in
    flight when the 429 left)."""
    figures = run_latency(customers, rate, workers, 0.0, limit_key="caller")
    apply: Step = figures["apply"]
    consents = sum(figures["consentsPerApp"])
    floor = consents / rate
    print(
        f"429 storm (limit keyed on the calling app), {customers} customers: apply exit "
        f"{apply.code}, {apply.seconds:.1f} s for {consents} consents (floor {floor:.1f} s, "
        f"{apply.seconds / floor if floor else 0:.2f}×), 429s {figures['throttled']}, requests "
        f"inside a throttle window {figures['inThrottleWindow']}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
