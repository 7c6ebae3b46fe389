"""The real program under Pulumi mocks, for both example stacks and for broken stack files."""

from __future__ import annotations

import gc
import json
import re
import threading
import warnings
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine

from components.config import (
    REGION_KEY,
)
from partner_apps.preview.build import run_stack
from partner_apps.preview.recorder import StackRun

from .conftest import ROOT, STACKS, by_urn, committed_run, edit_yaml, git_commit_all, load_yaml

APP_KEYS = ("partner-center-sam", "partner-portal-api", "partner-portal-web")


def _region(stack: str) -> dict[str, Any]:
    region: dict[str, Any] = load_yaml(ROOT / f"Pulumi.{stack}.yaml")["config"][REGION_KEY]
    return region


def _of_type(run: StackRun, typ: str) -> list[dict[str, Any]]:
    return [r for r in run.resources if r["type"] == typ]


@pytest.mark.parametrize("stack", STACKS)
def test_registers_one_explicit_provider_per_package_for_the_region(stack: str) -> None:
    run = committed_run(stack)
    assert run.error is None
    region = _region(stack)
    providers = {r["type"]: r for r in run.resources if r["type"].startswith("pulumi:providers:")}
    assert sorted(providers) == ["pulumi:providers:azure-native", "pulumi:providers:azuread"]
    azuread = providers["pulumi:providers:azuread"]
    assert azuread["name"] == f"{stack}-azuread"
    assert azuread["inputs"]["tenantId"] == region["tenantId"], azuread["urn"]
    native = providers["pulumi:providers:azure-native"]
    assert {k: native["inputs"][k] for k in ("tenantId", "subscriptionId", "location")} == {
        "tenantId": region["tenantId"],
        "subscriptionId": region["subscriptionId"],
        "location": region["location"],
    }, native["urn"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_uses_its_regions_provider(stack: str) -> None:
    run = committed_run(stack)
    provider_urns = {
        r["urn"]: r["type"].removeprefix("pulumi:providers:")
        for r in run.resources
        if r["type"].startswith("pulumi:providers:")
    }
    custom = [r for r in run.resources if r["custom"] and r["urn"] not in provider_urns]
    assert custom
    for resource in custom:
        reference = resource["provider"]
        assert reference, f"{resource['urn']} has no explicit provider"
        provider_urn = reference.rsplit("::", 1)[0]
        assert provider_urn in provider_urns, f"{resource['urn']} uses {reference}"
        package = resource["type"].split(":")[0]
        assert provider_urns[provider_urn] == package, resource["urn"]
        assert f"::{stack}-{package}" in provider_urn, resource["urn"]
    for invoke in run.invokes:
        assert invoke["provider"], invoke
        assert f"::{stack}-azuread::" in invoke["provider"], invoke


@pytest.mark.parametrize("stack", STACKS)
def test_each_app_has_one_of_everything(stack: str) -> None:
    run = committed_run(stack)
    counts = Counter(r["type"] for r in run.resources)
    apps = len(APP_KEYS)
    assert counts["partner-apps:index:PartnerManagedApp"] == apps
    assert counts["azuread:index/application:Application"] == apps
    assert counts["azuread:index/servicePrincipal:ServicePrincipal"] == apps
    assert counts["azuread:index/groupMember:GroupMember"] == apps
    assert counts["azuread:index/applicationPassword:ApplicationPassword"] == apps
    assert counts["partner-apps:index:RegionalKeyVault"] == 1
    assert counts["azure-native:keyvault:Vault"] == 1
    for key in APP_KEYS:
        component = (
            f"urn:pulumi:{stack}::partner-apps::partner-apps:index:PartnerManagedApp::{stack}-{key}"
        )
        children = [r["type"] for r in run.resources if r["parent"] == component]
        for typ in (
            "azuread:index/application:Application",
            "azuread:index/servicePrincipal:ServicePrincipal",
            "azuread:index/groupMember:GroupMember",
            "azuread:index/applicationPassword:ApplicationPassword",
        ):
            assert children.count(typ) == 1, f"{component}: {typ}"


@pytest.mark.parametrize("stack", STACKS)
def test_protected_as_the_stack_says(stack: str) -> None:
    run = committed_run(stack)
    for typ in (
        "azuread:index/application:Application",
        "azuread:index/servicePrincipal:ServicePrincipal",
        "azure-native:keyvault:Vault",
    ):
        for resource in _of_type(run, typ):
            assert resource["protect"] is True, resource["urn"]


@pytest.mark.parametrize("stack", STACKS)
def test_routing_output_maps_region_to_client_ids(stack: str) -> None:
    run = committed_run(stack)
    routing = run.outputs["routing"]
    assert list(routing) == [stack]
    client_ids = {
        r["name"].removeprefix(f"{stack}-").removesuffix("-app"): r["outputs"]["clientId"]
        for r in _of_type(run, "azuread:index/application:Application")
    }
    assert routing[stack] == client_ids


@pytest.mark.parametrize("stack", STACKS)
def test_arm_ids_are_in_the_stacks_own_subscription(stack: str) -> None:
    run = committed_run(stack)
    subscription = _region(stack)["subscriptionId"]
    found = re.findall(r"/subscriptions/([0-9a-fA-F-]+)", json.dumps([run.resources, run.outputs]))
    assert found, "no ARM id recorded"
    foreign = sorted(set(found) - {subscription})
    assert not foreign, f"stack {stack}: ARM ids in other subscriptions {foreign}"


@pytest.mark.parametrize("stack", STACKS)
def test_two_runs_register_identical_inputs(stack: str) -> None:
    first = run_stack(ROOT, stack)
    # Months later, at another time of day (the last day before the example secrets expire, which
    # would be a config error): nothing registered may depend on the clock.
    with time_machine.travel(datetime(2027, 9, 30, 17, 42, 5, tzinfo=UTC), tick=False):
        second = run_stack(ROOT, stack)

    # What is registered must not depend on the run; the order is the SDK's scheduling.
    assert by_urn(first) == by_urn(second)
    assert first.outputs == second.outputs


def test_a_run_leaves_no_event_loop_thread_or_socket_behind() -> None:
    """Each run has its own thread and event loop (preview/recorder.py); both are gone after it,
    and no loop or socket is left for the garbage collector to warn about."""
    threads = set(threading.enumerate())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(2):
            assert run_stack(ROOT, "us").error is None
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert set(threading.enumerate()) <= threads


def _broken_run(project: Path, stack: str) -> StackRun:
    run = run_stack(project, stack)
    assert run.error is not None, "the program accepted a broken stack file"
    assert run.resources == [], f"registered before refusing: {[r['urn'] for r in run.resources]}"
    assert "Traceback" not in run.error
    return run


def test_location_of_another_region_registers_nothing(project_copy: Path) -> None:
    edit_yaml(
        project_copy / "Pulumi.us.yaml",
        lambda doc: doc["config"][REGION_KEY].update(location="westeurope"),
    )
    run = _broken_run(project_copy, "us")
    assert "Pulumi.us.yaml: partner-apps:region.location: 'westeurope'" in (run.error or "")


def test_copied_tenant_registers_nothing(project_copy: Path) -> None:
    """The US file edited after the last commit to take the EU tenant: US, the newer of the two
    files, registers nothing (tests/test_regions_isolated.py: EU still runs)."""
    git_commit_all(project_copy)
    eu_tenant = _region("eu")["tenantId"]
    edit_yaml(
        project_copy / "Pulumi.us.yaml",
        lambda doc: doc["config"][REGION_KEY].update(tenantId=eu_tenant),
    )
    run = _broken_run(project_copy, "us")
    assert f"partner-apps:region.tenantId: '{eu_tenant}' is also the tenant of stack 'eu'" in (
        run.error or ""
    )


def test_known_client_cycle_registers_nothing(project_copy: Path) -> None:
    def cycle(doc: dict[str, Any]) -> None:
        web = doc["apps"]["partner-portal-web"]
        web["exposeApi"] = True
        web["knownClients"] = ["partner-portal-api"]

    edit_yaml(project_copy / "apps.yaml", cycle)
    run = _broken_run(project_copy, "us")
    assert "knownClients: known clients form a cycle" in (run.error or "")
