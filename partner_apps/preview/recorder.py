"""Run the real program of one region stack in-process under Pulumi mocks and record everything.

There is no Pulumi CLI or cloud here, so this stands in for the engine: a ``MockMonitor`` subclass
sees every ``RegisterResourceRequest`` (type, name, parent, provider, protect, ignoreChanges,
additionalSecretOutputs, inputs) and the stack's outputs. Secret values are replaced by
``"[secret]"`` as they are recorded, so nothing downstream can leak them.

Mocked provider results are realistic and deterministic: ids and client ids are UUIDv5 of the URN,
so two runs record identical plans.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import gc
import json
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from components.config import (
    StackSettings,
)
from components.files import read_yaml
from components.stackfiles import StackFile, engine_config
from partner_apps.preview.mocks import (
    SECRET,
    PlanMocks,
    clean,
    clean_properties,
    mask,
    mock_guid,
    unwrap_secrets,
)

# The mocked provider's names, imported from here by the tests and the benchmark.
__all__ = [
    "DEFAULT_STALL_TIMEOUT",
    "SECRET",
    "DeclaredResources",
    "PlanMocks",
    "ProgramStalledError",
    "RecordingMonitor",
    "StackRun",
    "collector_tuned",
    "isolate_outputs",
    "mock_guid",
    "project_name",
    "run_program",
    "unwrap_secrets",
]


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that records every registration as the engine would receive it."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[dict[str, Any]] = []
        self.stack_outputs: dict[str, Any] = {}
        self.invokes: list[dict[str, Any]] = []
        self._ids: dict[str, str] = {}
        # Monitor calls answered so far: the watchdog's sign of progress.
        self.calls = 0
        # The registration the mocks are answering now ("<type> <name>"), for the watchdog.
        self.answering: str | None = None

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine leaves the root stack out of its children's URNs; MockMonitor does not.
        if "::pulumi:pulumi:Stack::" in parent:
            parent = ""
        return str(super().make_urn(parent, type_, name))

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        self.answering = f"{request.type} {request.name}"
        response = super().RegisterResource(request)
        self.answering = None
        if request.type == "pulumi:pulumi:Stack":
            return response
        urn = response.urn
        inputs = clean_properties(request.type, json_format.MessageToDict(request.object))
        state = self.resources.get(urn)
        outputs = clean(dict(state.state)) if state is not None else {}
        secret_outputs = sorted(request.additionalSecretOutputs)
        outputs = mask(outputs, secret_outputs)
        # Outputs echo inputs in the mocks: keep input secrets secret there too.
        for key, value in inputs.items():
            if value == SECRET and key in outputs:
                outputs[key] = SECRET
        self._ids[urn] = response.id
        record: dict[str, Any] = {}
        # Rename aliases (the SDK sends alias specs; the engine computes the old URNs, and
        # children inherit their parent's alias by name prefix). The provider SDK's own aliases
        # of older API versions' types rename nothing and are left out.
        renamed = sorted(
            {alias.spec.name for alias in request.aliases if alias.spec.name}
            | {alias.name for alias in request.aliases if getattr(alias, "name", "")}
        )
        if renamed:
            record["aliasNames"] = renamed
        self.records.append(
            {
                **record,
                "urn": urn,
                "type": request.type,
                "name": request.name,
                "custom": bool(request.custom),
                "parent": request.parent or None,
                "provider": request.provider or None,
                "protect": bool(request.protect),
                "dependencies": sorted(request.dependencies),
                # Which resources each input came from (the engine hands stack policies the same
                # map), so policies can resolve values still unknown in a first preview.
                "propertyDependencies": {
                    key: sorted(request.propertyDependencies[key].urns)
                    for key in sorted(request.propertyDependencies)
                },
                "ignoreChanges": sorted(request.ignoreChanges),
                # Pulumi forgets such a resource on delete instead of deleting it.
                "retainOnDelete": bool(request.retainOnDelete),
                "additionalSecretOutputs": secret_outputs,
                "inputs": inputs,
                "outputs": outputs,
                "id": response.id or None,
            }
        )
        self.calls += 1
        return response

    def Invoke(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        self.invokes.append(
            {
                "token": request.tok,
                "provider": request.provider or None,
                "args": clean(json_format.MessageToDict(request.args)),
            }
        )
        response = super().Invoke(request)
        self.calls += 1
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        if "::pulumi:pulumi:Stack::" in request.urn:
            self.stack_outputs = clean(json_format.MessageToDict(request.outputs))
        response = super().RegisterResourceOutputs(request)
        self.calls += 1
        return response


@dataclass(frozen=True)
class StackRun:
    """What one in-process run of a stack produced."""

    project: str
    stack: str
    resources: list[dict[str, Any]]
    outputs: dict[str, Any]
    invokes: list[dict[str, Any]]
    error: str | None = None
    # The program's own validated settings (None when it refused its config).
    settings: StackSettings | None = None
    # The ids the mocks made up (PlanMocks.assigned): real ones are assigned at deploy.
    assigned: frozenset[str] = frozenset()


# How long a program run may register nothing new before the watchdog stops it: the largest
# projects register a resource every few milliseconds, so a minute of silence is a hang.
DEFAULT_STALL_TIMEOUT = 60.0


class ProgramStalledError(Exception):
    """A program run registered nothing new for the watchdog's time; the message says where."""


def run_program(
    project: str,
    stack_file: StackFile,
    program: Callable[[], None],
    *,
    preview: bool = True,
    secret_values: Mapping[str, str] | None = None,
    config_overrides: Mapping[str, Any] | None = None,
    mocks: PlanMocks | None = None,
    stall_timeout: float = DEFAULT_STALL_TIMEOUT,
) -> StackRun:
    """Run ``program`` for one stack in a fresh context; capture registrations or the error.

    Each run gets its own ``contextvars.Context``: Pulumi keeps the root stack, config and
    settings in context variables, so several stacks can run in one process without sharing them.
    A run that registers nothing new for ``stall_timeout`` seconds raises ``ProgramStalledError``
    naming the stack, the last resource registered and the resources still pending.
    """
    config, secret_keys = engine_config(stack_file)
    for key, value in (config_overrides or {}).items():
        config[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    monitor = RecordingMonitor(mocks or PlanMocks(stack_file.stack, secret_values))
    declared = DeclaredResources()

    def body() -> StackRun:
        pulumi.runtime.set_all_config(config, secret_keys)
        pulumi_mocks.set_mocks(
            monitor.mocks,
            project=project,
            stack=stack_file.stack,
            preview=preview,
            monitor=monitor,
            logger=declared.logger,
        )
        # set_mocks registers (and closes) a root stack; start over so the program's exports
        # are registered as the stack's outputs, as under the CLI.
        pulumi_settings.ROOT.set(None)
        isolate_outputs()
        error: str | None = None
        try:
            _sync_await(run_in_stack(program))
        except pulumi.RunError as run_error:
            error = str(run_error)
        return StackRun(
            project=project,
            stack=stack_file.stack,
            resources=list(monitor.records),
            outputs=dict(monitor.stack_outputs),
            invokes=list(monitor.invokes),
            error=error,
            assigned=frozenset(getattr(monitor.mocks, "assigned", ())),
        )

    def stalled(seconds: float) -> ProgramStalledError:
        last = monitor.records[-1]["urn"] if monitor.records else "none yet"
        answering = monitor.answering
        pending = declared.pending()
        shown = ", ".join(pending[:10]) + (
            f" and {len(pending) - 10} more" if len(pending) > 10 else ""
        )
        shown = shown or "none (the program awaits something that is not a resource)"
        return ProgramStalledError(
            f"stack {stack_file.stack}: the program registered nothing new for {seconds:g} s "
            f"and was stopped (watchdog; a hang, not a slow preview). Last resource registered: "
            f"{last}. Pending ({len(pending)}): {shown}."
            + (f" The provider has not answered for {answering}." if answering else "")
        )

    with collector_tuned():
        return _on_fresh_stack(
            lambda: contextvars.Context().run(body),
            progress=lambda: monitor.calls,
            stall_timeout=stall_timeout,
            stalled=stalled,
        )


class DeclaredResources:
    """Which resources the program has declared and the SDK has not registered yet.

    The SDK announces both on its debug channel, which the mocks hand to a logger
    (``set_mocks(logger=...)``): "registering resource: ty=T, name=N, ..." when a resource object
    is constructed, "resource registration successful: ty=T, urn=U" when the monitor answered.
    A resource waiting on another's outputs is declared but not yet sent to the monitor, so only
    this channel can name it when a run hangs. Other messages go on to the root logger, as the
    mocks' default logger would send them.
    """

    _DECLARED = re.compile(r"registering resource: ty=(?P<type>[^,]*), name=(?P<name>.*), custom=")
    _REGISTERED = re.compile(
        r"resource registration successful: ty=(?P<type>[^,]*), urn=(?P<urn>\S+)"
    )

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str], int] = {}
        self.logger = logging.Logger("pulumi-program", logging.DEBUG)
        self.logger.addHandler(_Channel(self._note))

    def _note(self, message: str) -> None:
        if match := self._DECLARED.match(message):
            key = (match["type"], match["name"])
            self._pending[key] = self._pending.get(key, 0) + 1
        elif match := self._REGISTERED.match(message):
            key = (match["type"], match["urn"].rsplit("::", 1)[-1])
            left = self._pending.get(key, 0) - 1
            if left > 0:
                self._pending[key] = left
            else:
                self._pending.pop(key, None)

    def pending(self) -> list[str]:
        """``<type> <name>`` of every resource declared and not registered, sorted."""
        return sorted(f"{typ} {name}" for typ, name in list(self._pending))


class _Channel(logging.Handler):
    """Hands the SDK's debug messages to ``note``; passes warnings and errors to the root logger."""

    def __init__(self, note: Callable[[str], None]) -> None:
        super().__init__(logging.DEBUG)
        self._note = note

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.DEBUG:
            self._note(record.getMessage())
        else:
            logging.getLogger().handle(record)


def isolate_outputs() -> None:
    """Give the current run (its ``contextvars.Context``) an Output registry of its own.

    The SDK waits, at the end of a run, for every Output task in ``SETTINGS.outputs``. That
    property is a context variable, but its default is the set made at import, and the mocks'
    settings do not replace it: every run in a process shared one set. A run stopped by the
    watchdog leaves its pending Output tasks there, on a loop that never runs again, and the
    next run in the process waited for them for ever (found in the full suite: a run after the
    stuck-program tests stalled); a failed Output's task, which the SDK keeps for the end of the
    program, would be re-raised by the next run. Set here, in the run's fresh context, the
    registry and its lock are the run's own, as under the CLI (one program per process).
    """
    pulumi_settings.SETTINGS.outputs = set()
    pulumi_settings.SETTINGS.lock = threading.Lock()


def _on_fresh_stack(
    call: Callable[[], StackRun],
    *,
    progress: Callable[[], int],
    stall_timeout: float,
    stalled: Callable[[float], ProgramStalledError],
) -> StackRun:
    """``call()`` on a thread of its own, with an event loop of its own; its result or error.

    For every resource it registers, the SDK walks the whole call stack (``traceback`` and a
    ``pathlib`` URI per frame) to record the source position the CLI shows. Called from a test
    that stack is the test runner's forty-odd frames deep; a new thread's stack holds only the
    program's frames, which made a program run about a tenth faster under pytest
    (docs/benchmark.md). The run is still one at a time: the caller waits for the thread.

    The caller is also the watchdog: while ``progress()`` (a count of answered monitor calls)
    stays the same for ``stall_timeout`` seconds, the run is stopped and ``stalled`` raised.
    """
    results: list[StackRun] = []
    errors: list[BaseException] = []
    loops: list[asyncio.AbstractEventLoop] = []
    monitor_thread = _MonitorThread()
    given_up = threading.Event()

    def target() -> None:
        loop = asyncio.new_event_loop()
        loop.set_default_executor(monitor_thread)
        asyncio.set_event_loop(loop)
        loops.append(loop)
        try:
            results.append(call())
        except BaseException as error:  # re-raised in the caller's thread
            errors.append(error)
        finally:
            if given_up.is_set():
                _unwind(loop)
            # A monitor call that never returns keeps its thread (a daemon) after a stall.
            monitor_thread.shutdown(wait=not given_up.is_set())
            asyncio.set_event_loop(None)
            loop.close()

    thread = threading.Thread(target=target, name="pulumi-program", daemon=True)
    thread.start()
    seen, since = progress(), time.monotonic()
    while True:
        thread.join(min(1.0, stall_timeout))
        if not thread.is_alive():
            break
        now = time.monotonic()
        if progress() != seen:
            seen, since = progress(), now
        elif now - since >= stall_timeout:
            given_up.set()
            for loop in loops:  # wakes the run's loop: run_until_complete raises and it ends
                loop.call_soon_threadsafe(loop.stop)
            thread.join(1.0)
            raise stalled(stall_timeout)
    if errors:
        raise errors[0]
    return results[0]


def _unwind(loop: asyncio.AbstractEventLoop) -> None:
    """After a stall: cancel the stopped run's tasks and let them unwind on their loop (the SDK's
    own clean-up runs, in the run's thread), for a few seconds at most. Left pending, each was
    closed later by the garbage collector, outside any loop ("no running event loop")."""
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        with contextlib.suppress(Exception):
            loop.run_until_complete(asyncio.wait(tasks, timeout=5))


class _MonitorThread(concurrent.futures.ThreadPoolExecutor):
    """The run's default executor: every monitor call on one thread of its own, in order.

    The SDK sends each monitor call (register, invoke, outputs) through ``loop.run_in_executor``
    because a real one blocks on gRPC. The mock monitor answers a registration by serialising its
    outputs with ``_sync_await``: on a thread whose loop is running (the run's own), that pumps
    the loop re-entrantly, and each registration it starts there pumps it again, one level deeper
    per registration in flight. From about 60 apps per region that nesting exceeded Python's
    recursion limit; a RecursionError inside the loop's own bookkeeping then lost a wake-up and
    the run waited for ever. On this thread ``_sync_await`` finds a loop that is not running and
    simply runs it to completion. The thread's loop is closed, and the thread joined, when the
    run ends (``shutdown``), so no loop, socket or thread outlives the run. One thread, so the
    recording keeps the SDK's order of calls. asyncio accepts only a ``ThreadPoolExecutor`` as the
    default executor; this one uses none of its worker machinery.
    """

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="pulumi-monitor", daemon=True)
        self._thread.start()

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._calls.put(_Call(future, functools.partial(fn, *args, **kwargs)))
        return future

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            while (call := self._calls.get()) is not None:
                if call.future.set_running_or_notify_cancel():
                    try:
                        call.future.set_result(call.fn())
                    except BaseException as error:  # handed to the awaiting task
                        call.future.set_exception(error)
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._calls.put(None)
        if wait and self._thread is not threading.current_thread():
            self._thread.join()


@dataclass(frozen=True)
class _Call:
    future: concurrent.futures.Future[Any]
    fn: Callable[[], Any]


@contextlib.contextmanager
def collector_tuned() -> Iterator[None]:
    """Run a stack with a higher first garbage-collector threshold, then restore it.

    The SDK allocates many short-lived Outputs and tasks per resource; with the default
    thresholds the cyclic collector rescans them all, which dominated large runs
    (docs/benchmark.md). A higher first threshold keeps memory bounded and cuts the time.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def project_name(project_dir: Path) -> str:
    document = read_yaml(project_dir / "Pulumi.yaml")
    return str(document["name"])
