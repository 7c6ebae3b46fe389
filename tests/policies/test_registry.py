"""Every policy carries full, unique metadata; the pack imports without starting a server."""

from __future__ import annotations

import re

import pytest
from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

from policies.partner_policies import ALL_POLICIES, POLICY_METADATA, POLICY_SPECS

KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
PREFIXES = ("azuread-", "azure-native-", "stack-")
TYPE_TOKEN = re.compile(
    r"^(azuread|azure-native):[A-Za-z/]+:[A-Za-z]+$|^(azuread|azure-native):\*$"
)
NAMES = [policy.name for policy in ALL_POLICIES]


def test_policies_are_sdk_objects_with_unique_names() -> None:
    assert ALL_POLICIES
    assert all(
        isinstance(p, ResourceValidationPolicy | StackValidationPolicy) for p in ALL_POLICIES
    )
    assert len(NAMES) == len(set(NAMES))
    assert set(POLICY_METADATA) == set(NAMES) == set(POLICY_SPECS)


@pytest.mark.parametrize("policy", ALL_POLICIES, ids=NAMES)
def test_policy_has_full_metadata(policy: ResourceValidationPolicy | StackValidationPolicy) -> None:
    meta = POLICY_METADATA[policy.name]
    assert KEBAB.match(policy.name), policy.name
    assert policy.name.startswith(PREFIXES), policy.name
    assert policy.description.endswith("."), policy.description
    assert isinstance(policy.severity, Severity)
    assert isinstance(policy.enforcement_level, EnforcementLevel)
    assert policy.enforcement_level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)
    assert policy.remediation_steps
    assert len(policy.remediation_steps) > 20
    assert policy.url
    assert policy.url.startswith("https://")
    assert meta["severity"] == policy.severity.value
    assert meta["enforcementLevel"] == policy.enforcement_level.value
    assert meta["remediation"] == policy.remediation_steps
    assert meta["url"] == policy.url
    assert meta["references"], f"{policy.name} cites no public check or source document"
    assert all(url.startswith("https://") for url in meta["referenceUrls"])


@pytest.mark.parametrize("policy", ALL_POLICIES, ids=NAMES)
def test_policy_targets_real_types_and_documents_its_config(
    policy: ResourceValidationPolicy | StackValidationPolicy,
) -> None:
    spec = POLICY_SPECS[policy.name]
    if isinstance(policy, StackValidationPolicy):
        assert spec.applies_to == ("stack",)
        assert policy.name.startswith("stack-")
    else:
        assert spec.applies_to
        assert all(TYPE_TOKEN.match(token) for token in spec.applies_to), spec.applies_to
        assert not policy.name.startswith("stack-")
    for prop in spec.config:
        assert prop.schema.get("type"), f"{policy.name}.{prop.name} has no type"
        assert prop.schema.get("description"), f"{policy.name}.{prop.name} has no description"
        assert not (prop.required and prop.default is not None), "required props take no default"
    schema = policy.config_schema
    assert (schema is None) == (not spec.config)


def test_the_public_checks_named_in_the_issue_are_cited() -> None:
    cited = {ref for meta in POLICY_METADATA.values() for ref in meta["references"]}
    text = " ".join(cited)
    for check_id in (
        "CKV_AZURE_41",
        "CKV_AZURE_109",
        "CKV_AZURE_110",
        "AVD-AZU-0013",
        "AVD-AZU-0016",
        "AVD-AZU-0017",
        "MT.1057",
        "AR0007",
    ):
        assert check_id in text, check_id
    assert "CSP" in {ref.source for spec in POLICY_SPECS.values() for ref in spec.references}


def test_importing_the_package_does_not_build_a_policy_pack() -> None:
    # PolicyPack(...) would start a gRPC server and block; only policies/__main__.py builds it.
    import policies.partner_policies as package

    assert not hasattr(package, "PolicyPack")


def test_every_list_number_and_switch_property_says_which_change_loosens_it() -> None:
    """The plan diff marks a loosened policy config from ``ConfigProperty.loosens``: a property
    without it could be relaxed in a pull request with no "weaker" mark."""
    from policies.partner_policies import POLICY_SPECS

    for spec in POLICY_SPECS.values():
        for prop in spec.config:
            if prop.schema.get("type") in ("array", "integer", "number", "boolean"):
                assert prop.loosens is not None, f"{spec.name}.{prop.name}: set loosens"
            else:  # a region value (tenant, subscription...) or a date: shown, not ranked
                assert prop.loosens is None, f"{spec.name}.{prop.name}"
