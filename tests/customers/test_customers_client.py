"""The client side of a consent run at scale: the audit log kept open, connections kept alive and
shared, the environment read once, the worker pool sized from the round trip, and the fake's
answer latency (no assertion on speed: what is checked is what happens, not how fast)."""

from __future__ import annotations

import gzip
import json
import os
import socket
import ssl
import threading
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from partner_apps import exitcodes
from partner_apps.customers import transport
from partner_apps.customers.region import AuditError, AuditLog
from partner_apps.customers.remote import (
    MAX_WORKERS,
    MIN_WORKERS,
    Http,
    Pacer,
    ca_bundle,
    size_workers,
)
from partner_apps.customers.transport import Transport, decoded
from partner_apps.sam.target import Endpoints
from partner_apps.sandbox.customer_world import CustomerWorld
from partner_apps.sandbox.fakecloud.server import FakeCloud
from partner_apps.sandbox.fakecloud.state import Cloud

WHEN = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _log(path: Path) -> AuditLog:
    return AuditLog(path, "us", "admin@partner.example (run by ci)", lambda: WHEN)


def test_the_audit_log_stays_open_and_each_line_is_on_disk_when_its_write_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit" / "us-audit.jsonl"
    path.parent.mkdir()
    path.write_text('{"earlier": "run"}\n', encoding="utf-8")
    synced: list[tuple[int, str]] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        # Flushed before the fsync: another handle already reads the whole line.
        synced.append((descriptor, path.read_text(encoding="utf-8")))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)  # what the audit log calls
    log = _log(path)
    handles = []
    for number in range(3):
        log.write({"tenantId": f"t{number}", "action": "consent", "result": "created"})
        with path.open(encoding="utf-8") as other:  # another handle, right after the write
            lines = other.read().splitlines()
        assert len(lines) == number + 2  # the earlier run's line is kept: appended
        assert json.loads(lines[-1]) == {
            "when": "2026-12-01T12:00:00+00:00",
            "who": "admin@partner.example (run by ci)",
            "region": "us",
            "tenantId": f"t{number}",
            "action": "consent",
            "result": "created",
        }
        assert synced[-1][1].endswith(lines[-1] + "\n")
        handles.append(log._handle)
    assert len(synced) == 3  # one fsync per line
    assert handles[0] is not None
    assert all(handle is handles[0] for handle in handles)  # opened once
    assert len({descriptor for descriptor, _ in synced}) == 1
    log.close()
    assert handles[0].closed
    assert log._handle is None
    log.write({"tenantId": "t3", "result": "done"})  # after close: opened again, appended
    log.close()
    assert len(path.read_text(encoding="utf-8").splitlines()) == 5


def test_an_audit_line_that_cannot_be_written_is_an_error_of_the_write(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    log = _log(blocker / "us-audit.jsonl")  # its folder would be a file
    with pytest.raises(AuditError, match=r"audit log .*us-audit.jsonl: cannot be written") as e:
        log.write({"tenantId": "t", "result": "created"})
    assert e.value.exit_code == exitcodes.CONFIG
    # Broken for good: no later write (no worker's next intent) goes through.
    with pytest.raises(AuditError):
        log.write({"tenantId": "u", "result": "intent"})
    log.close()  # nothing was opened: nothing to close
    unwritten = AuditLog(None, "us", "who", lambda: WHEN)  # no path: no file, no error
    unwritten.write({"result": "created"})
    unwritten.close()


def test_concurrent_writers_each_get_one_whole_line(tmp_path: Path) -> None:
    path = tmp_path / "us-audit.jsonl"
    log = _log(path)

    def write(worker: int) -> None:
        for number in range(25):
            log.write({"tenantId": f"w{worker}-{number}", "result": "done", "pad": "x" * 500})

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert sorted(line["tenantId"] for line in lines) == sorted(
        f"w{worker}-{number}" for worker in range(8) for number in range(25)
    )


@pytest.mark.parametrize("fails", [False, True], ids=["written", "write-fails"])
def test_lines_queued_while_one_is_written_go_together_and_share_its_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    """Group commit: while A's line is being synced, B's and C's queue; the next writer appends
    both in one write and one fsync, in the order they came; if that fails, both writers get
    the error (and A, whose line is on disk, does not)."""
    path = tmp_path / "us-audit.jsonl"
    log = _log(path)
    release = threading.Event()
    syncs: list[str] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        syncs.append(path.read_text(encoding="utf-8"))
        if len(syncs) == 1:
            release.wait(30)  # A's batch: held until B and C are queued
        elif fails:
            raise OSError(28, "No space left on device")
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    outcomes: dict[str, str] = {}

    def write(name: str) -> None:
        try:
            log.write({"tenantId": name, "result": "created"})
            outcomes[name] = "written"
        except AuditError as error:
            outcomes[name] = "No space left on device" if "No space" in error.message else "?"

    writers = {name: threading.Thread(target=write, args=(name,)) for name in "ABC"}
    for queued, name in enumerate("ABC", start=1):
        writers[name].start()
        deadline = time.monotonic() + 30  # a bound on a broken log, not a speed check
        while log._queued < queued and time.monotonic() < deadline:
            time.sleep(0.001)
    assert outcomes == {}  # B and C wait behind A's sync
    release.set()
    for writer in writers.values():
        writer.join(30)
    log.close()
    assert len(syncs) == 2  # A's line, then B's and C's together
    lines = [json.loads(line)["tenantId"] for line in path.read_text().splitlines()]
    assert lines == ["A", "B", "C"]  # in the order written, each line whole
    failed = "No space left on device"
    assert outcomes == {"A": "written", "B": failed if fails else "written", "C": outcomes["B"]}


def test_the_pacer_never_lets_a_stall_bunch_its_starts_into_one_second() -> None:
    """Slots every 0.25 s (4 a second). Four threads take the slots of 0 to 0.75 s; the process
    stalls until 0.9 s, so the three sleeping ones all start then. On the schedule alone the
    next starts would be at 1.0 and 1.25 s: five within a second. The window makes the second
    of them wait until 1.9 s."""
    now = [0.0]
    stall_over = threading.Event()

    def sleep(seconds: float) -> None:
        if not stall_over.is_set():
            stall_over.wait(30)  # asleep through the stall: the clock is set by the test
        else:
            now[0] += seconds

    pacer = Pacer(4.0, clock=lambda: now[0], sleep=sleep)
    starts: list[float] = []

    def start() -> None:
        pacer.wait("app")
        starts.append(round(now[0], 6))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30  # a bound on a broken pacer, not a speed check
    while len(pacer._next) == 0 or pacer._next["app"] < 1.0:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    now[0] = 0.9
    stall_over.set()
    for thread in threads:
        thread.join(30)
    assert starts == [0.0, 0.9, 0.9, 0.9]
    start()
    start()
    assert starts[4:] == [1.0, 1.9]
    assert all(sum(1 for s in starts if t - 1.0 + 1e-9 < s <= t) <= 4 for t in starts)
    Pacer(4.0, clock=lambda: now[0], sleep=sleep).wait("app")  # a new pacer: nothing to wait
    assert round(now[0], 6) == 1.9


def test_workers_are_sized_from_the_round_trip_within_the_bounds() -> None:
    rate = 47.5  # the pacer's: 95 % of Partner Center's 50 per second per app
    assert size_workers(None, rate) == MIN_WORKERS  # nothing measured yet
    assert size_workers(0.0, rate) == MIN_WORKERS
    assert size_workers(0.002, rate) == MIN_WORKERS  # a near server: the floor
    # 47.5 customers/s × 18 requests each × 0.05 s, and half as many again: 65 (rounded up).
    assert size_workers(0.05, rate) == 65
    assert size_workers(0.052, rate) == 67
    assert size_workers(0.152, rate) == MAX_WORKERS == 128  # would be 195: the bound
    assert size_workers(5.0, rate) == MAX_WORKERS  # a very slow region never gets more
    assert size_workers(0.05, rate, chain=6) == 22  # a shorter chain needs fewer
    assert size_workers(0.05, 0.0) == MIN_WORKERS
    sizes = [size_workers(ms / 1000, rate) for ms in range(0, 400, 5)]
    assert sizes == sorted(sizes)  # never fewer for a slower round trip


def test_an_explicit_worker_count_wins_and_the_default_is_sized(cw: CustomerWorld) -> None:
    given = cw.run("customers", "plan", "--stack", "us", "--output", "json", "--workers", "1")
    assert given.code == exitcodes.CHANGES, given.err
    assert json.loads(given.out)["workers"] == 1
    sized = cw.run("customers", "apply", "--stack", "us", "--output", "json")
    assert sized.code == exitcodes.OK, sized.err
    assert MIN_WORKERS <= json.loads(sized.out)["workers"] <= MAX_WORKERS


def test_connections_are_kept_alive_and_shared_by_the_workers(cw: CustomerWorld) -> None:
    cw.cloud.connections.clear()
    result = cw.run("customers", "apply", "--stack", "us", "--workers", "2")
    assert result.code == exitcodes.OK, result.err
    assert len(cw.customers["us"]) == 3
    # The listing (one thread) and then two workers, 3 customers × 16 requests: on connections
    # kept alive and shared, never more per host than requests at once (2), where one session
    # per thread held one per thread and host (3), and a connection per request would be ~50.
    # Entra has one more: the vault's client (azure-identity) gets its own token there.
    bounds = {"login": 2 + 1, "partnercenter": 2, "graph": 2}
    for service, bound in bounds.items():
        assert 1 <= cw.cloud.connections[service] <= bound, cw.cloud.connections


def test_the_environment_is_read_once_with_requests_rules(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert ca_bundle({"REQUESTS_CA_BUNDLE": "a.pem", "CURL_CA_BUNDLE": "b.pem"}) == "a.pem"
    assert ca_bundle({"CURL_CA_BUNDLE": "b.pem"}) == "b.pem"
    assert ca_bundle({"REQUESTS_CA_BUNDLE": ""}) is True  # requests: certifi's bundle
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    http = Http(Endpoints())
    assert http.proxies("https://127.0.0.1:8443/v1.0/organization") == {}  # direct
    far = http.proxies("https://graph.microsoft.com/v1.0/organization")
    assert far["https"] == "http://proxy.example:3128"
    monkeypatch.setenv("HTTPS_PROXY", "http://other.example:3128")  # read once per host
    assert http.proxies("https://graph.microsoft.com/v1.0/servicePrincipals") == far
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    # A CA bundle setting that names no file goes through requests, which says so as before.
    missing = Http(Endpoints(), attempts=1)
    with pytest.raises(OSError, match="invalid path"):
        missing.send("GET", "https://127.0.0.1:9/v1.0/organization")


def test_the_fakes_latency_holds_each_answer_without_holding_up_the_others(
    tmp_path: Path,
) -> None:
    """Every answer is held (a network's round trip) on its own connection's thread: four
    requests on four connections are all held at once, not one after the other."""
    cloud = Cloud()
    cloud.answer_latency = 60.0  # longer than the test: only the fake's stop ends the wait
    fake = FakeCloud(cloud, tmp_path)
    answers: list[int] = []

    def ask() -> None:
        with requests.Session() as session:
            response = session.get(
                f"{fake.url('graph')}/v1.0/organization", verify=str(fake.ca_file), timeout=120
            )
            answers.append(response.status_code)

    with fake:
        askers = [threading.Thread(target=ask) for _ in range(4)]
        for asker in askers:
            asker.start()
        deadline = time.monotonic() + 30  # only a bound on a broken fake: not a speed check
        while cloud.answers_held < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert cloud.answers_held == 4, "a held answer held up the other connections"
        assert answers == []  # all four still held
    for asker in askers:  # the stop ended the waits: each answer was sent
        asker.join(30)
    assert answers == [401] * 4  # no token: Graph's answer, after the wait
    assert cloud.answers_held == 0
    assert cloud.answers_held_peak == 4


def _transport(fake: FakeCloud, limit: int = 8) -> Transport:
    return Transport(ssl.create_default_context(cafile=str(fake.ca_file)), 30.0, limit)


def test_the_transport_keeps_connections_alive_within_its_limit(tmp_path: Path) -> None:
    cloud = Cloud()
    cloud.answer_latency = 0.05  # answers held, so that the three calls overlap
    with FakeCloud(cloud, tmp_path) as fake:
        calls = _transport(fake, limit=1)
        url = f"{fake.url('graph')}/v1.0/organization"
        statuses: list[int] = []

        def call() -> None:
            statuses.append(calls.request("GET", url, None, {}).status_code)

        threads = [threading.Thread(target=call) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert statuses == [401] * 3
        assert cloud.connections["graph"] == 1  # one at a time, on one connection kept alive
        assert cloud.answers_held_peak == 1
        calls.close()


def test_the_transport_keeps_at_most_its_limit_open_all_hosts_together(tmp_path: Path) -> None:
    with FakeCloud(Cloud(), tmp_path) as fake:
        calls = _transport(fake, limit=2)
        for service in ("graph", "login", "partnercenter", "graph"):
            calls.request("GET", f"{fake.url(service)}/v1.0/organization", None, {})
            assert calls._open <= 2
            assert sum(len(items) for items in calls._idle.values()) == calls._open
        # Partner Center's took the place of the idle one unused longest (Graph's first), the
        # second to Graph that of Entra's.
        assert fake.cloud.connections == {"graph": 2, "login": 1, "partnercenter": 1}
        calls.close()
        assert calls._open == 0


def test_an_idle_connection_the_server_closed_is_not_used_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeCloud(Cloud(), tmp_path) as fake:
        calls = _transport(fake)
        url = f"{fake.url('graph')}/v1.0/organization"
        assert calls.request("GET", url, None, {}).status_code == 401
        assert calls.request("GET", url, None, {}).status_code == 401
        assert fake.cloud.connections["graph"] == 1
        (idle_to_graph,) = calls._idle.values()
        (idle,) = idle_to_graph
        assert idle.connection.sock is not None
        idle.connection.sock.shutdown(socket.SHUT_RD)  # reads EOF, as after the server's close
        monkeypatch.setattr(transport, "CHECK_AFTER_IDLE", 0.0)
        assert calls.request("GET", url, None, {}).status_code == 401
        assert fake.cloud.connections["graph"] == 2  # a new one, no error
        calls.close()


def test_compressed_answers_are_decoded() -> None:
    body = b'{"value": []}'
    assert decoded("gzip", gzip.compress(body)) == body
    assert decoded("deflate", zlib.compress(body)) == body
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert decoded("deflate", raw.compress(body) + raw.flush()) == body
    assert decoded(None, body) == body
    assert decoded("identity", body) == body
