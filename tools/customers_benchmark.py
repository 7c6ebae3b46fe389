"""Benchmark of ``partner-apps customers`` at scale against the loopback Microsoft cloud.

Not a timed test: run by hand (``.venv/bin/python -m tools.customers_benchmark``) and record one
run's figures in docs/benchmark.md. One region (us) with ``--customers`` customers and three apps
(``apps.yaml``'s two plus a copy of ``partner-portal-api`` as ``partner-portal-worker``) besides
the Secure Application Model app, whose own consent comes first in each customer, the fake
enforcing Partner Center's limit of ``--rate`` consents per second per application (429 with
``Retry-After`` past it), on the real clock. It prints, for the first plan, the apply and the
second plan (nothing left to do): seconds and requests; for the apply also the consents per app,
the 429s, and the ratio of its time to the rate-limit floor (consents per app ÷ rate).

The fake is built in this process and then served from a forked child (POSIX ``fork``), so its
own CPU runs on the second core as a real server's would not run on the client's machine at all;
the client's side (the product) keeps this interpreter to itself.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from components.files import safe_load

ROOT = Path(__file__).resolve().parent.parent
EXTRA_APP = "partner-portal-worker"


def _project(directory: Path) -> Path:
    """A copy of the project's config with a third app to consent."""
    project = directory / "project"
    project.mkdir()
    for path in [ROOT / "Pulumi.yaml", *ROOT.glob("Pulumi.*.yaml")]:
        shutil.copy(path, project / path.name)
    document = safe_load((ROOT / "apps.yaml").read_text(encoding="utf-8"))
    # A deep copy: an object shared with the API app would be dumped as a YAML anchor and alias,
    # which the project's YAML reader refuses (components/files.py).
    worker = copy.deepcopy(document["apps"]["partner-portal-api"])
    worker["displayName"] = "Contoso Partner Portal Worker"
    for key in ("exposeApi", "scopes", "knownClients", "identifierUri"):
        worker.pop(key, None)
    document["apps"][EXTRA_APP] = worker
    (project / "apps.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return project


class _Served:
    """The loopback cloud served from a child process (fork), so that its own CPU (TLS, request
    parsing, JSON, token minting: what Microsoft's servers pay in real life) runs on the other
    core instead of competing with the client for this interpreter. Its state lives in the
    child from then on: the figures the benchmark needs come back through a pipe."""

    def __init__(self, cw: Any) -> None:
        self.cw = cw
        cw.world.fake.pause()
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
                    pipe.send(len(cloud.requests))
                else:
                    pipe.send(([app for _, app, _ in cloud.consent_posts], cloud.throttled))
        except EOFError:
            pass
        os._exit(0)

    def requests(self) -> int:
        self.pipe.send("requests")
        count: int = self.pipe.recv()
        return count

    def report(self) -> tuple[list[str], int]:
        self.pipe.send("report")
        found: tuple[list[str], int] = self.pipe.recv()
        return found

    def stop(self) -> None:
        """End the child, whatever happened in between (it also ends when this process does)."""
        with contextlib.suppress(OSError):
            self.pipe.send("stop")
        os.waitpid(self.pid, 0)


def _timed(cw: Any, served: _Served, *argv: str) -> tuple[int, float, int]:
    start_requests = served.requests()
    started = time.perf_counter()
    result = cw.run(*argv)
    seconds = time.perf_counter() - started
    return result.code, seconds, served.requests() - start_requests


def run(customers: int, rate: float, workers: int) -> dict[str, Any]:
    # The loopback cloud is test code: imported only when the benchmark runs.
    from tests.customers.world import APPS, open_customer_world  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        project = _project(directory)
        apps = (*APPS, EXTRA_APP)
        with open_customer_world(directory, us=customers, eu=0, apps=apps) as cw:
            cw.world.fake._timer.cancel()  # the fake's safety stop: this run may take minutes
            cw.project_dir = project
            cw.real_time = True
            cw.timeout = "30"
            cw.cloud.consent_rate_limit = rate
            served = _Served(cw)
            try:
                common = ("--stack", "us", "--workers", str(workers), "--output", "json")
                plan = _timed(cw, served, "customers", "plan", *common)
                apply = _timed(cw, served, "customers", "apply", *common)
                again = _timed(cw, served, "customers", "plan", *common)
                posts, throttled = served.report()
            finally:
                served.stop()
            per_app = Counter(posts)
    floor = max(per_app.values()) / rate if per_app else 0.0
    return {
        "customers": customers,
        "apps": len(apps),
        "rate": rate,
        "workers": workers,
        "plan": plan,
        "apply": apply,
        "again": again,
        "consentsPerApp": sorted(per_app.values()),
        "throttled": throttled,
        "floor": floor,
        "ratio": apply[1] / floor if floor else 0.0,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="consents/s per app (50)")
    parser.add_argument("--workers", type=int, default=16, help="customers in parallel (16)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    figures = run(args.customers, args.rate, args.workers)
    rows = (
        ("plan (first)", figures["plan"]),
        ("apply", figures["apply"]),
        ("plan (after apply)", figures["again"]),
    )
    print(
        f"{figures['customers']} customers × {figures['apps']} apps (and the SAM app's own "
        f"consent), fake limit "
        f"{figures['rate']:g} consents/s per app, {figures['workers']} workers"
    )
    print(f"{'step':<20} {'exit':>4} {'seconds':>8} {'requests':>9}")
    for name, (code, seconds, requests) in rows:
        print(f"{name:<20} {code:>4} {seconds:>8.1f} {requests:>9}")
    print(
        f"apply: consents per app {figures['consentsPerApp']}, 429s {figures['throttled']}, "
        f"rate-limit floor {figures['floor']:.1f} s, ratio {figures['ratio']:.2f}×"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
