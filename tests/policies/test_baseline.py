"""The compliant baseline: one fixture per resource type passes every policy.

The only finding is the deliberate advisory on the baseline's client secret (a certificate could
be used); the web app's certificate credential shows the preferred form passes cleanly.
"""

from __future__ import annotations

import pytest

from policies.partner_policies import POLICY_SPECS
from tests.policies.fixtures import (
    BASELINE_FINDINGS,
    baseline,
    find,
    findings,
    region_config,
)

BASELINE_TYPES = sorted({r["type"] for r in baseline()})


def test_baseline_stack_has_only_the_deliberate_advisory() -> None:
    assert findings(baseline()) == BASELINE_FINDINGS


def test_baseline_covers_every_resource_type_the_program_registers() -> None:
    assert set(BASELINE_TYPES) >= {
        "pulumi:providers:azuread",
        "pulumi:providers:azure-native",
        "azuread:index/application:Application",
        "azuread:index/applicationApiAccess:ApplicationApiAccess",
        "azuread:index/servicePrincipal:ServicePrincipal",
        "azuread:index/groupMember:GroupMember",
        "azuread:index/applicationPassword:ApplicationPassword",
        "azuread:index/applicationCertificate:ApplicationCertificate",
        "azure-native:resources:ResourceGroup",
        "azure-native:keyvault:Vault",
        "azure-native:keyvault:Secret",
        "azure-native:authorization:RoleAssignment",
    }


def test_baseline_covers_every_resource_type_a_policy_applies_to() -> None:
    """Types the program does not register but other programs do get a compliant fixture too."""
    applied = {
        token
        for spec in POLICY_SPECS.values()
        for token in spec.applies_to
        if token != "stack" and not token.endswith("*")
    }
    assert applied <= set(BASELINE_TYPES), sorted(applied - set(BASELINE_TYPES))


@pytest.mark.parametrize("resource_type", BASELINE_TYPES)
def test_each_baseline_resource_passes_the_resource_policies(resource_type: str) -> None:
    records = baseline()
    providers = [r for r in records if r["type"].startswith("pulumi:providers:")]
    chosen = [r for r in records if r["type"] == resource_type and r not in providers]
    expected = [f for f in BASELINE_FINDINGS if any(r["name"] == f[2] for r in chosen)]
    assert findings(providers + chosen, resource_policies_only=True) == expected


def test_baseline_passes_in_the_eu_region_once_moved_there() -> None:
    """The same stack with the EU region's values is compliant under the EU config."""
    eu = region_config("eu")
    records = baseline()
    tenant = eu["stack-providers-single-region"]["tenantId"]
    for record in records:
        for side in ("inputs", "outputs"):
            props = record[side]
            if "tenantId" in props:
                props["tenantId"] = tenant
            if record["type"] == "pulumi:providers:azure-native":
                props["subscriptionId"] = eu["stack-providers-single-region"]["subscriptionId"]
            if "location" in props:
                props["location"] = "westeurope"
            if record["type"] == "azure-native:keyvault:Vault":
                props["properties"]["tenantId"] = tenant
            if record["type"] == "azuread:index/groupMember:GroupMember":
                props["groupObjectId"] = eu["stack-partner-apps-admin-agents"][
                    "adminAgentsGroupObjectId"
                ]
    api = find(records, "api-app")
    for side in ("inputs", "outputs"):
        api[side]["identifierUris"] = ["https://eu.contoso-partner.example/partner-portal-api"]
    assert findings(records, eu) == BASELINE_FINDINGS


def test_us_stack_under_the_eu_config_is_refused() -> None:
    """Region values reach the pack only through the config: the wrong file fails loudly."""
    policies = {policy for policy, level, _, _ in findings(baseline(), region_config("eu"))}
    assert policies >= {
        "stack-providers-single-region",
        "azure-native-location-in-region",
        "azure-native-keyvault-vault-tenant",
        "azuread-application-identifier-uris",
        "stack-partner-apps-admin-agents",
    }
