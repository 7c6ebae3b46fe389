"""What the first real `pulumi up` needs that mocks would accept anyway (issue: first up succeeds).

Each test names a failure the real providers would produce: a credential starting in the past,
two writes racing on one application's requiredResourceAccess, a membership read back before the
app is configured, a secret that cannot be deleted in a closed vault, a resource group that must
exist before its role can be granted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from components.config import (
    REGION_KEY,
)
from partner_apps.preview.build import run_stack
from partner_apps.preview.recorder import StackRun
from policies.partner_policies import catalog as permissions

from .conftest import STACKS, committed_run, edit_yaml

API_ACCESS = "azuread:index/applicationApiAccess:ApplicationApiAccess"
APPLICATION = "azuread:index/application:Application"
CREDENTIAL_TYPES = (
    "azuread:index/applicationPassword:ApplicationPassword",
    "azuread:index/applicationCertificate:ApplicationCertificate",
)
GROUP_MEMBER = "azuread:index/groupMember:GroupMember"
SECRET = "azure-native:keyvault:Secret"
VAULT = "azure-native:keyvault:Vault"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
MICROSOFT_API_SLUGS = tuple(f"-access-{permissions.api_slug(api)}" for api in permissions.APIS)


def _of_type(run: StackRun, typ: str) -> list[dict[str, Any]]:
    return [r for r in run.resources if r["type"] == typ]


def _by_urn(run: StackRun) -> dict[str, dict[str, Any]]:
    return {r["urn"]: r for r in run.resources}


def _depends_on(run: StackRun, resource: dict[str, Any], target: str) -> bool:
    """Whether ``resource`` waits for ``target``, directly or through other resources."""
    resources = _by_urn(run)
    seen: set[str] = set()
    todo = list(resource["dependencies"])
    while todo:
        urn = todo.pop()
        if urn == target:
            return True
        if urn in seen or urn not in resources:
            continue
        seen.add(urn)
        todo.extend(resources[urn]["dependencies"])
    return False


@pytest.mark.parametrize("stack", STACKS)
def test_no_credential_starts_before_the_day_of_the_preview(stack: str) -> None:
    run = committed_run(stack)
    today = datetime.now(UTC).date().isoformat()
    credentials = [r for r in run.resources if r["type"] in CREDENTIAL_TYPES]
    assert credentials, f"stack {stack}: no credential registered"
    for credential in credentials:
        start = credential["inputs"].get("startDate")
        assert start is None or start[:10] >= today, (
            f"{credential['urn']}: startDate {start} lies before today ({today}); Graph may "
            "refuse it (KeyCredentialsInvalidStartDate)"
        )


@pytest.mark.parametrize("stack", STACKS)
def test_api_accesses_of_one_application_are_serialised(stack: str) -> None:
    run = committed_run(stack)
    by_application: dict[str, list[dict[str, Any]]] = {}
    for access in _of_type(run, API_ACCESS):
        by_application.setdefault(access["parent"], []).append(access)
    assert any(len(accesses) > 1 for accesses in by_application.values()), (
        f"stack {stack}: no application with two API accesses; the test checks nothing"
    )
    for parent, accesses in by_application.items():
        for first in accesses:
            for second in accesses:
                if first is second:
                    continue
                ordered = _depends_on(run, first, second["urn"]) or _depends_on(
                    run, second, first["urn"]
                )
                assert ordered, (
                    f"{parent}: {first['urn']} and {second['urn']} may run at once; both rewrite "
                    "the application's requiredResourceAccess list"
                )


@pytest.mark.parametrize("stack", STACKS)
def test_api_access_waits_for_the_credential(stack: str) -> None:
    """The credential's create polls Graph until the application reads back consistently."""
    run = committed_run(stack)
    for access in _of_type(run, API_ACCESS):
        credentials = [
            r
            for r in run.resources
            if r["type"] in CREDENTIAL_TYPES and r["parent"] == access["parent"]
        ]
        assert len(credentials) == 1, access["parent"]
        assert _depends_on(run, access, credentials[0]["urn"]), (
            f"{access['urn']} does not wait for {credentials[0]['urn']}"
        )


@pytest.mark.parametrize("stack", STACKS)
def test_admin_agents_membership_comes_after_the_apps_own_access(stack: str) -> None:
    run = committed_run(stack)
    members = _of_type(run, GROUP_MEMBER)
    assert members, f"stack {stack}: no AdminAgents membership"
    for member in members:
        # Access to Microsoft APIs is the app's own; access to another app's scopes comes later.
        own = [
            a
            for a in _of_type(run, API_ACCESS)
            if a["parent"] == member["parent"] and a["name"].endswith(MICROSOFT_API_SLUGS)
        ]
        assert own, f"{member['urn']}: no API access of its own"
        for access in own:
            assert _depends_on(run, member, access["urn"]), (
                f"{member['urn']} joins AdminAgents before {access['urn']} is written"
            )


@pytest.mark.parametrize("stack", STACKS)
def test_no_secret_in_the_closed_vault_is_left_undeletable(stack: str) -> None:
    run = committed_run(stack)
    vault = _of_type(run, VAULT)[0]
    assert vault["inputs"]["properties"]["publicNetworkAccess"] == "Disabled", vault["urn"]
    secrets = _of_type(run, SECRET)
    assert secrets, f"stack {stack}: no secret"
    for secret in secrets:
        assert secret["retainOnDelete"], (
            f"{secret['urn']}: azure-native deletes secrets through the data plane, which the "
            "closed vault refuses; removing the app or `pulumi destroy` would fail"
        )


@pytest.mark.parametrize("stack", STACKS)
def test_vault_create_mode_matters_only_at_creation(stack: str) -> None:
    vault = _of_type(committed_run(stack), VAULT)[0]
    assert vault["inputs"]["properties"]["createMode"] == "default", vault["urn"]
    assert "properties.createMode" in vault["ignoreChanges"], vault["urn"]


def _edit_vault(project: Path, stack: str, **values: Any) -> None:
    def change(document: dict[str, Any]) -> None:
        document["config"][REGION_KEY]["keyVault"].update(values)

    edit_yaml(project / f"Pulumi.{stack}.yaml", change)


def test_existing_resource_group_is_used_not_created(project_copy: Path) -> None:
    _edit_vault(project_copy, "us", createResourceGroup=False)
    run = run_stack(project_copy, "us")
    assert run.error is None, run.error
    assert not _of_type(run, RESOURCE_GROUP), "Pulumi.us.yaml: createResourceGroup false"
    vault = _of_type(run, VAULT)[0]
    assert vault["inputs"]["resourceGroupName"] == "rg-partner-apps-us", vault["urn"]
    # The role assignments' scope is the same vault id, known from config.
    scopes = {
        r["inputs"]["scope"]
        for r in run.resources
        if r["type"] == "azure-native:authorization:RoleAssignment"
    }
    assert scopes, "no role assignment"
    assert all("/resourceGroups/rg-partner-apps-us/" in s for s in scopes), scopes


def test_recover_mode_brings_back_a_soft_deleted_vault(project_copy: Path) -> None:
    _edit_vault(project_copy, "eu", createMode="recover")
    run = run_stack(project_copy, "eu")
    assert run.error is None, run.error
    vault = _of_type(run, VAULT)[0]
    assert vault["inputs"]["properties"]["createMode"] == "recover", vault["urn"]
