"""The generated policy config of each region is valid for the pack and admits its stack.

Region values reach the pack only through ``policies/config/<region>.json`` (the pack is published
alone and cannot read the stack files). Those values are generated from the stack file
(``partner_apps/preview/policy_config.py``; ``tests/test_generate.py`` fails while a file is
stale), so no test
compares them by hand; what is left here is what generation cannot guarantee: the reviewed parts
(allow-lists, the soft-delete minimum) must admit what the stack files and ``apps.yaml`` ask for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from policies.partner_policies import ALL_POLICIES
from policies.partner_policies.catalog import load_catalog
from policies.partner_policies.engine import reconcile_config
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
    region_wide = {x.lower() for x in allow["allowedAdminConsentPermissions"]}
    sam_only = {x.lower() for x in allow["samAdminConsentPermissions"]}
    catalog = load_catalog()
    for key, app in apps.items():
        sam = app.get("secureApplicationModel") is True
        allowed_consent = region_wide | sam_only if sam else region_wide
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
