"""After the first `up`, the next preview of the same commit plans nothing (tests/readback.py).

The first run records what the providers hand back after their creates; the second run, days
later, is diffed against it the way each provider diffs: no replacement, no update, also after a
`pulumi refresh`. Variants cover the optional shapes (certificate, api:// URI, an IP-restricted
vault, AdminAgents by name).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
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

from .conftest import ROOT, STACKS, copy_project, edit_yaml
from .readback import ReadBackMocks, Step, plan

CREATED = datetime(2026, 12, 2, 9, 41, 17, 180376, tzinfo=UTC)
LATER = datetime(2027, 3, 9, 22, 5, tzinfo=UTC)
CERT_NOT_BEFORE = "2026-01-01T09:30:00Z"  # tests/certs/portal.pem


@dataclass(frozen=True)
class Run:
    run: StackRun
    mocks: ReadBackMocks


def _run(project: Path, stack: str, when: datetime, *, preview: bool) -> Run:
    mocks = ReadBackMocks(stack, when, CERT_NOT_BEFORE)
    with time_machine.travel(when, tick=False):
        run = run_stack(project, stack, preview=preview, mocks=mocks)
    assert run.error is None, run.error
    return Run(run, mocks)


def _up_then_preview(project: Path, stack: str) -> tuple[Run, Run]:
    first = _run(project, stack, CREATED, preview=False)
    second = _run(project, stack, LATER, preview=True)
    return first, second


def _plan(first: Run, second: Run, *, refreshed: bool) -> list[Step]:
    return plan(second.run.resources, first.mocks, second.mocks, refreshed=refreshed)


def _not_same(steps: list[Step]) -> list[str]:
    return [f"{s.op} {s.urn} ({', '.join(s.properties)})" for s in steps if s.op != "same"]


def _certificate(project: Path) -> None:
    def apps(document: dict[str, Any]) -> None:
        document["apps"]["partner-portal-web"]["credential"] = {
            "type": "certificate",
            "publicKeyFile": "certs/{region}/portal.pem",
        }
        document["apps"]["partner-portal-api"]["identifierUri"] = "api"

    edit_yaml(project / "apps.yaml", apps)
    for region in STACKS:
        (project / "certs" / region).mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "tests" / "certs" / "portal.pem", project / "certs" / region)


def _ip_restricted_vault(project: Path) -> None:
    def region(document: dict[str, Any]) -> None:
        document["config"][REGION_KEY]["keyVault"].update(
            publicNetworkAccess="Enabled", allowedIpRanges=["203.0.113.7", "198.51.100.0/24"]
        )
        document["config"][REGION_KEY]["adminAgents"] = {"displayName": "AdminAgents"}

    edit_yaml(project / "Pulumi.us.yaml", region)
    edit_yaml(project / "Pulumi.eu.yaml", region)


VARIANTS: dict[str, Callable[[Path], None]] = {
    "example-stacks": lambda project: None,
    "certificate-and-api-uri": _certificate,
    "ip-restricted-vault-and-admin-agents-lookup": _ip_restricted_vault,
}


UpThenPreview = Callable[[str, str], tuple[Run, Run]]


@pytest.fixture(scope="module")
def up_then_preview(tmp_path_factory: pytest.TempPathFactory) -> UpThenPreview:
    """The first `up` and the second preview of a stack of a variant, run once for the module.

    The comparison with and without a refresh reads the same two runs (``plan`` only reads the
    runs and the mocks' records), so each (stack, variant) is run once, not once per way.
    """
    runs: dict[tuple[str, str], tuple[Run, Run]] = {}

    def get(stack: str, variant: str) -> tuple[Run, Run]:
        if (stack, variant) not in runs:
            project = copy_project(tmp_path_factory.mktemp(f"{stack}-{variant}"))
            VARIANTS[variant](project)
            runs[stack, variant] = _up_then_preview(project, stack)
        return runs[stack, variant]

    return get


@pytest.mark.parametrize("refreshed", [False, True], ids=["preview", "after-refresh"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("stack", STACKS)
def test_the_second_preview_is_empty(
    stack: str, variant: str, refreshed: bool, up_then_preview: UpThenPreview
) -> None:
    first, second = up_then_preview(stack, variant)
    steps = _plan(first, second, refreshed=refreshed)
    assert steps, "nothing compared"
    assert _not_same(steps) == [], f"stack {stack} ({variant}): the second preview is not empty"


def test_the_model_sees_a_rotation(project_copy: Path) -> None:
    """The comparison can fail: a new rotationDate replaces exactly the secret and rewrites the
    vault's copy of it."""
    first = _run(project_copy, "us", CREATED, preview=False)

    def rotate(document: dict[str, Any]) -> None:
        document["apps"]["partner-portal-api"]["credential"]["rotationDate"] = "2026-11-15"

    edit_yaml(project_copy / "apps.yaml", rotate)
    second = _run(project_copy, "us", LATER, preview=True)
    changes = _not_same(_plan(first, second, refreshed=False))
    secret = "PartnerManagedApp$azuread:index/applicationPassword:ApplicationPassword::us-partner-"
    assert changes == [
        f"replace urn:pulumi:us::partner-apps::partner-apps:index:{secret}portal-api-secret "
        "(displayName, endDate, rotateWhenChanged.rotationDate)",
        "update urn:pulumi:us::partner-apps::partner-apps:index:RegionalKeyVault"
        "$azure-native:keyvault:Secret::us-vault-partner-portal-api-client-secret "
        # (The new value too, in a real preview: the replacement's value is unknown until the
        # up, which the mocks, answering the same for the same name, cannot show.)
        "(properties.attributes.expires)",
    ], changes


def test_the_model_sees_what_arm_normalises(project_copy: Path) -> None:
    """Sent as ``203.0.113.7``, an IP rule comes back as ``203.0.113.7/32``: had the program not
    normalised it, every preview after a refresh would update the vault."""
    _ip_restricted_vault(project_copy)
    first, second = _up_then_preview(project_copy, "us")
    key = ("azure-native:keyvault:Vault", "us-vault-vault")
    inputs, _ = second.mocks.seen[key]
    rules = inputs["properties"]["networkAcls"]["ipRules"]
    assert {"value": "203.0.113.7/32"} in rules, rules
    for mocks in (first.mocks, second.mocks):
        sent, _state = mocks.seen[key]
        sent["properties"]["networkAcls"]["ipRules"] = [
            {"value": r["value"].removesuffix("/32")} for r in rules
        ]
    changes = _not_same(_plan(first, second, refreshed=True))
    assert len(changes) == 1, changes
    assert changes[0].startswith("update ")
    assert "(properties.networkAcls.ipRules)" in changes[0]


def test_switching_create_mode_back_after_a_recovery_changes_nothing(project_copy: Path) -> None:
    def mode(value: str) -> Callable[[dict[str, Any]], None]:
        def change(document: dict[str, Any]) -> None:
            document["config"][REGION_KEY]["keyVault"]["createMode"] = value

        return change

    edit_yaml(project_copy / "Pulumi.eu.yaml", mode("recover"))
    first = _run(project_copy, "eu", CREATED, preview=False)
    edit_yaml(project_copy / "Pulumi.eu.yaml", mode("default"))
    second = _run(project_copy, "eu", LATER, preview=True)
    for refreshed in (False, True):
        steps = _plan(first, second, refreshed=refreshed)
        assert _not_same(steps) == [], "Pulumi.eu.yaml: keyVault.createMode recover -> default"
