"""The policy config of each region agrees with its stack file (``Pulumi.<region>.yaml``).

Region values reach the pack only through ``policies/config/<region>.json`` (the pack is published
alone and cannot read the stack files), so a drift between the two files would let a stack pass
policies written for another tenant, or fail its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.regions import REGIONS
from policies.partner_policies import ALL_POLICIES
from policies.partner_policies.engine import reconcile_config
from policies.partner_policies.permissions import load_catalog
from tests.policies.fixtures import CONFIG_DIR, ROOT, region_config

STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))
REGION_IDS = [path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in STACK_FILES]
POLICY_NAMES = {policy.name for policy in ALL_POLICIES}


def _stack_region(region: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / f"Pulumi.{region}.yaml").read_text("utf-8"))
    value: dict[str, Any] = document["config"]["partner-apps:region"]
    return value


def test_every_region_stack_has_a_policy_config_and_no_config_is_orphaned() -> None:
    assert REGION_IDS
    configs = sorted(path.stem for path in Path(CONFIG_DIR).glob("*.json"))
    assert configs == sorted(REGION_IDS)


@pytest.mark.parametrize("region", REGION_IDS)
def test_config_names_only_policies_of_the_pack_and_is_valid(region: str) -> None:
    config = region_config(region)
    assert set(config) - {"all"} <= POLICY_NAMES, set(config) - POLICY_NAMES
    reconcile_config(ALL_POLICIES, config)  # raises on a missing or mistyped property


@pytest.mark.parametrize("region", REGION_IDS)
def test_tenant_subscription_and_location_match_the_stack_file(region: str) -> None:
    stack = _stack_region(region)
    config = region_config(region)
    providers = config["stack-providers-single-region"]
    assert stack["id"] == region
    assert providers["tenantId"] == stack["tenantId"]
    assert config["azure-native-keyvault-vault-tenant"]["tenantId"] == stack["tenantId"]
    assert providers["subscriptionId"] == stack["subscriptionId"]
    assert providers["location"] == stack["location"]
    assert stack["location"] in providers["allowedLocations"]


@pytest.mark.parametrize("region", REGION_IDS)
def test_allowed_locations_are_the_region_geography(region: str) -> None:
    config = region_config(region)
    geography = sorted(REGIONS[region].locations)
    assert sorted(config["stack-providers-single-region"]["allowedLocations"]) == geography
    assert sorted(config["azure-native-location-in-region"]["allowedLocations"]) == geography


@pytest.mark.parametrize("region", REGION_IDS)
def test_verified_domains_match_the_stack_file(region: str) -> None:
    stack = _stack_region(region)
    config = region_config(region)
    assert (
        config["azuread-application-identifier-uris"]["verifiedDomains"] == stack["verifiedDomains"]
    )


@pytest.mark.parametrize("region", REGION_IDS)
def test_production_flag_matches_the_stack_file(region: str) -> None:
    stack = _stack_region(region)
    config = region_config(region)
    assert config["stack-production-resources-protected"]["production"] == bool(
        stack.get("production", False)
    )


def admin_agents_problem(stack_region: dict[str, Any], policy_config: dict[str, Any]) -> str | None:
    """Why the AdminAgents group of the policy config and of the stack file disagree, or ``None``.

    The policy needs the group's object id (``adminAgentsGroupObjectId`` is required); a stack
    that looks the group up by display name has no id to compare it with.
    """
    configured = policy_config.get("stack-partner-apps-admin-agents", {})
    group_id = configured.get("adminAgentsGroupObjectId")
    pinned = (stack_region.get("adminAgents") or {}).get("objectId")
    if pinned is None:
        return (
            "the stack file looks AdminAgents up by name (adminAgents.displayName), but the "
            "policy config still needs the group's object id: pin adminAgents.objectId in the "
            "stack file and set the same id as adminAgentsGroupObjectId of "
            "stack-partner-apps-admin-agents"
        )
    if group_id is None:
        return f"adminAgentsGroupObjectId is not set; the stack file pins {pinned}"
    if str(group_id).lower() != str(pinned).lower():
        return f"adminAgentsGroupObjectId is {group_id}, the stack file pins {pinned}"
    return None


@pytest.mark.parametrize("region", REGION_IDS)
def test_admin_agents_group_matches_the_stack_file(region: str) -> None:
    problem = admin_agents_problem(_stack_region(region), region_config(region))
    assert problem is None, f"Pulumi.{region}.yaml / policies/config/{region}.json: {problem}"


def test_admin_agents_check_names_what_is_missing() -> None:
    config = {"stack-partner-apps-admin-agents": {"adminAgentsGroupObjectId": "0e1f"}}
    lookup = {"adminAgents": {"displayName": "AdminAgents"}}
    assert "still needs the group's object id" in str(admin_agents_problem(lookup, config))
    assert admin_agents_problem({}, config) == admin_agents_problem(lookup, config)
    pinned = {"adminAgents": {"objectId": "0E1F"}}
    assert admin_agents_problem(pinned, config) is None
    assert admin_agents_problem(pinned, {}) == (
        "adminAgentsGroupObjectId is not set; the stack file pins 0E1F"
    )
    other = {"stack-partner-apps-admin-agents": {"adminAgentsGroupObjectId": "9a9a"}}
    assert admin_agents_problem(pinned, other) == (
        "adminAgentsGroupObjectId is 9a9a, the stack file pins 0E1F"
    )


@pytest.mark.parametrize("region", REGION_IDS)
def test_soft_delete_minimum_is_met_by_the_stack_file(region: str) -> None:
    stack_days = _stack_region(region)["keyVault"].get("softDeleteRetentionDays", 90)
    minimum = region_config(region)["azure-native-keyvault-vault-soft-delete"]
    assert stack_days >= minimum["minimumRetentionDays"]


@pytest.mark.parametrize("region", REGION_IDS)
def test_every_permission_in_apps_yaml_passes_the_allow_list(region: str) -> None:
    """apps.yaml is shared by all regions; each region's allow-list must admit what it asks."""
    apps = yaml.safe_load((ROOT / "apps.yaml").read_text("utf-8"))["apps"]
    allow = region_config(region)["azuread-required-access-allow-list"]
    allowed_app = {x.lower() for x in allow["allowedApplicationPermissions"]}
    allowed_consent = {x.lower() for x in allow["allowedAdminConsentPermissions"]}
    catalog = load_catalog()
    for key, app in apps.items():
        for permission in app.get("permissions", []):
            name = f"{permission['api']}/{permission['permission']}"
            entry = next(
                p
                for p in catalog.permissions
                if p.qualified == name and p.kind == permission["type"]
            )
            if entry.kind == "application":
                assert name.lower() in allowed_app, f"{key}: {name}"
            elif entry.admin_consent:
                assert name.lower() in allowed_consent, f"{key}: {name}"
