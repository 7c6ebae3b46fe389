"""The deploying identity's least privileges (components/deployer.py) cover the program."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from components import deployer
from components.config import (
    REGION_KEY,
)
from partner_apps.preview.build import run_stack

from .conftest import ROOT, committed_run, edit_yaml

CERTIFICATE = ROOT / "tests" / "certs" / "portal.pem"


def _variants(project: Path) -> None:
    """Every optional shape of the program in one copy: certificate credential, api:// URI,
    AdminAgents looked up by name, an existing resource group."""

    def apps(document: dict[str, Any]) -> None:
        document["apps"]["partner-portal-api"]["identifierUri"] = "api"
        document["apps"]["partner-portal-web"]["credential"] = {
            "type": "certificate",
            "publicKeyFile": "certs/{region}/portal.pem",
        }

    def region(document: dict[str, Any]) -> None:
        document["config"][REGION_KEY]["adminAgents"] = {"displayName": "AdminAgents"}
        document["config"][REGION_KEY]["keyVault"]["createResourceGroup"] = False

    edit_yaml(project / "apps.yaml", apps)
    edit_yaml(project / "Pulumi.us.yaml", region)
    (project / "certs" / "us").mkdir(parents=True)
    shutil.copy(CERTIFICATE, project / "certs" / "us" / "portal.pem")


def test_every_registered_type_and_function_is_covered(project_copy: Path) -> None:
    runs = [committed_run("us"), committed_run("eu")]
    _variants(project_copy)
    runs.append(run_stack(project_copy, "us"))
    seen: dict[str, str] = {}
    for run in runs:
        assert run.error is None, run.error
        for resource in run.resources:
            seen.setdefault(resource["type"], resource["urn"])
        for invoke in run.invokes:
            seen.setdefault(invoke["token"], f"invoke in stack {run.stack}")
    assert "azuread:index/applicationCertificate:ApplicationCertificate" in seen
    assert "azuread:index/getGroup:getGroup" in seen
    uncovered = {
        token: where
        for token, where in seen.items()
        if token not in deployer.NO_PERMISSION_NEEDED and deployer.requirement(token) is None
    }
    assert not uncovered, (
        f"the program registers {uncovered} but components/deployer.py says nothing about what "
        "the deploying identity needs for them"
    )
    stale = [
        item.token
        for item in deployer.REQUIREMENTS
        if item.token not in seen and item.token != "azure-native:resources:ResourceGroup"
    ]
    assert "azure-native:resources:ResourceGroup" in seen
    assert not stale, f"components/deployer.py lists types the program never registers: {stale}"


@pytest.mark.parametrize("item", deployer.REQUIREMENTS, ids=lambda item: item.token)
def test_every_requirement_names_a_public_source(item: deployer.Requirement) -> None:
    assert item.grants, item.token
    assert item.sources, f"{item.token}: no source says what it needs"
    assert all(url.startswith("https://") for url in item.sources), item.sources


def test_adding_a_service_principal_to_admin_agents_is_covered() -> None:
    """Graph: a service-principal member needs GroupMember.ReadWrite.All and
    Application.ReadWrite.All; GroupMember.ReadWrite.All alone fails on the first up."""
    names = {grant.name for grant, _ in deployer.needed_grants() if grant.when is None}
    assert {"GroupMember.ReadWrite.All", "Application.ReadWrite.All"} <= names, names


def test_the_documented_tables_are_generated_from_the_data() -> None:
    page = (ROOT / "docs" / "running-for-real.md").read_text(encoding="utf-8")
    assert deployer.render_markdown() in page, (
        "docs/running-for-real.md: the deploying-identity tables differ from "
        "components/deployer.py; run `make generate`"
    )
