"""The offline preview at realistic size, and the watchdog that stops a program run that hangs.

The project is the scale benchmark's synthetic one (``dev.benchmark.write_project``): a partner
with 100 partner-managed apps registers each of them in every region. Up to 62 apps per region
passed before; from 63 the preview ended in a RecursionError and from 72 it hung for ever
(preview/recorder.py, ``_MonitorThread``, says why), and no test previewed more than three apps.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks

from components.stackfiles import load_stack_file
from dev import benchmark
from partner_apps.preview import command as preview
from partner_apps.preview.build import run_stack
from partner_apps.preview.recorder import (
    DEFAULT_STALL_TIMEOUT,
    PlanMocks,
    ProgramStalledError,
    run_program,
)

from .conftest import ROOT

APPS_PER_REGION = 100
REGIONS = benchmark.BENCH_REGIONS[:5]
APP_TYPE = "partner-apps:index:PartnerManagedApp"


def _expected(region: str, apps: dict[str, Any]) -> dict[str, str]:
    """URN short name -> resource type that every app of ``apps.yaml`` must have in ``region``:
    its component, application, service principal, AdminAgents membership and credential, and
    the vault secrets a client secret and a Secure Application Model app need."""
    expected: dict[str, str] = {}
    for key, app in apps.items():
        name = f"{region}-{key}"
        expected[name] = APP_TYPE
        expected[f"{name}-app"] = "azuread:index/application:Application"
        expected[f"{name}-sp"] = "azuread:index/servicePrincipal:ServicePrincipal"
        expected[f"{name}-admin-agents"] = "azuread:index/groupMember:GroupMember"
        if app["credential"]["type"] == "certificate":
            expected[f"{name}-certificate"] = (
                "azuread:index/applicationCertificate:ApplicationCertificate"
            )
        else:
            expected[f"{name}-secret"] = "azuread:index/applicationPassword:ApplicationPassword"
            expected[f"{region}-vault-{key}-client-secret"] = "azure-native:keyvault:Secret"
        if app.get("secureApplicationModel"):
            expected[f"{region}-vault-{key}-sam-refresh-token"] = "azure-native:keyvault:Secret"
    return expected


def test_five_regions_of_100_apps_preview_every_resource(tmp_path: Path) -> None:
    """``make preview`` of 5 regions × 100 apps exits 0 and each region's plan holds every app's
    application, service principal, AdminAgents membership, credential and vault secrets."""
    project = tmp_path / "project"
    benchmark.write_project(project, REGIONS, APPS_PER_REGION)
    apps = benchmark.apps_document(APPS_PER_REGION)["apps"]
    out = tmp_path / "build"
    paths = ["--out", str(out / "preview"), "--audit-dir", str(out / "audit")]
    status = preview.main([*REGIONS, "--project-dir", str(project), *paths])
    assert status == preview.EXIT_OK, f"the preview of {project} exited {status}"
    for region in REGIONS:
        plan = json.loads((out / "preview" / f"{region}.json").read_text("utf-8"))
        registered = {str(r["urn"]).rsplit("::", 1)[-1]: r["type"] for r in plan["resources"]}
        expected = _expected(region, apps)
        missing = sorted(name for name, typ in expected.items() if registered.get(name) != typ)
        assert not missing, f"Pulumi.{region}.yaml: not registered: {missing[:10]}"
        assert sorted(plan["apps"]) == sorted(apps), f"Pulumi.{region}.yaml: apps of the plan"
        components = [r for r in plan["resources"] if r["type"] == APP_TYPE]
        assert len(components) == APPS_PER_REGION, f"Pulumi.{region}.yaml: app components"
    audit = json.loads((out / "audit" / "audit.json").read_text("utf-8"))
    assert len(audit["stacks"]) == len(REGIONS), "audit.json: one entry per region stack"


# --- The watchdog ---------------------------------------------------------------------------------


class _StuckMocks(PlanMocks):
    """A provider that never answers for one resource type, as a hung provider call would."""

    def __init__(self, stack: str, stuck_type: str) -> None:
        super().__init__(stack)
        self.stuck_type = stuck_type
        self.release = threading.Event()

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        if args.typ == self.stuck_type:
            self.release.wait(30)
        return super().new_resource(args)


@pytest.fixture
def stuck_mocks() -> Iterator[_StuckMocks]:
    mocks = _StuckMocks("us", "azure-native:keyvault:Vault")
    yield mocks
    mocks.release.set()  # lets the monitor thread end


def test_a_hung_provider_call_stops_the_run_naming_last_and_pending(
    stuck_mocks: _StuckMocks,
) -> None:
    with pytest.raises(ProgramStalledError) as raised:
        # 2 s, not less: on a loaded machine (load 10 on 2 cores) the first registrations alone
        # took over 0.5 s, and the message then had no last resource to name.
        run_stack(ROOT, "us", mocks=stuck_mocks, stall_timeout=2.0)
    message = str(raised.value)
    assert message.startswith("stack us: the program registered nothing new for 2 s"), message
    assert "Last resource registered: urn:pulumi:us::partner-apps::" in message, message
    # The vault the provider never answered, and what waits on it: its secrets.
    assert "azure-native:keyvault:Vault us-vault-vault" in message, message
    assert "azure-native:keyvault:Secret us-vault-" in message, message
    assert message.endswith(
        "The provider has not answered for azure-native:keyvault:Vault us-vault-vault."
    ), message


def test_the_preview_of_a_hung_stack_exits_124_and_records_the_failure(
    stuck_mocks: _StuckMocks, project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project_copy / "build" / "preview"
    status, plan = preview.preview_stack(
        project_copy,
        "us",
        out,
        sys.stdout,
        run_options={"mocks": stuck_mocks, "stall_timeout": 0.5},
    )
    assert (status, plan) == (preview.EXIT_STALLED, None)
    printed = capsys.readouterr().out
    assert "✗ us: stack us: the program registered nothing new for 0.5 s" in printed
    error = json.loads((out / "us.error.json").read_text("utf-8"))
    assert "Pending (" in error["error"], "build/preview/us.error.json names the pending resources"
    assert not (out / "us.json").exists(), "build/preview/us.json: no plan for a stalled stack"


def test_a_program_awaiting_for_ever_is_stopped_and_its_thread_ends() -> None:
    """A program whose resource waits on a value that never comes (no monitor call pending): the
    watchdog stops the run's event loop, and the run's threads end."""
    threads = set(threading.enumerate())

    def program() -> None:
        never: asyncio.Future[str] = asyncio.get_event_loop().create_future()
        pulumi.CustomResource(
            "test:index:Waiting", "waits-for-ever", {"value": pulumi.Output.from_input(never)}
        )

    stack_file = load_stack_file(ROOT / "Pulumi.us.yaml")
    with pytest.raises(ProgramStalledError) as raised:
        run_program("partner-apps", stack_file, program, stall_timeout=0.3)
    message = str(raised.value)
    assert "Last resource registered: none yet" in message, message
    assert "Pending (1): test:index:Waiting waits-for-ever." in message, message
    for thread in set(threading.enumerate()) - threads:
        thread.join(5)
    assert set(threading.enumerate()) <= threads, "a thread of the stopped run is still alive"


def test_a_run_after_a_stopped_one_is_not_held_by_its_leftovers() -> None:
    """The stopped run's pending Output stays pending on a loop that never runs again; the next
    run in the process (under the CLI, the next region) must not wait for it."""

    def program() -> None:
        never: asyncio.Future[str] = asyncio.get_event_loop().create_future()
        pulumi.export("never", pulumi.Output.from_input(never))

    stack_file = load_stack_file(ROOT / "Pulumi.us.yaml")
    with pytest.raises(ProgramStalledError):
        run_program("partner-apps", stack_file, program, stall_timeout=0.3)
    run = run_stack(ROOT, "us", stall_timeout=10)
    assert run.error is None, run.error
    assert run.outputs, "Pulumi.us.yaml: the run after a stopped one exported nothing"


def test_the_default_watchdog_is_a_minute_and_the_option_validates() -> None:
    assert DEFAULT_STALL_TIMEOUT == 60.0
    for bad in ("0", "-1", "soon", "inf", "nan"):
        with pytest.raises(SystemExit) as raised:
            preview.main(["us", "--stall-timeout", bad])
        assert raised.value.code == 2, f"--stall-timeout {bad}"
