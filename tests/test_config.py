"""Config models and validation as plain pydantic/Python: no Pulumi runtime involved."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from components import config
from components import models as models_module
from components.config import (
    ConfigError,
)
from components.models import (
    RegionConfig,
)
from components.stackfiles import load_stack_file, other_regions

from .conftest import ROOT, STACKS, load_yaml


def _inputs(stack: str = "us") -> dict[str, Any]:
    stack_file = load_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    return {
        "project": "partner-apps",
        "stack": stack,
        "config": copy.deepcopy(stack_file.config),
        "secret_keys": set(stack_file.secret_keys),
        "apps_document": load_yaml(ROOT / "apps.yaml"),
        "project_dir": ROOT,
        "other_stacks": other_regions(ROOT, stack),
    }


def _problems(**inputs: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config.validate(**inputs)
    return [str(problem) for problem in caught.value.problems]


def _region(inputs: dict[str, Any]) -> dict[str, Any]:
    region: dict[str, Any] = inputs["config"][config.REGION_KEY]
    return region


@pytest.mark.parametrize("stack", STACKS)
def test_example_stacks_validate(stack: str) -> None:
    settings = config.validate(**_inputs(stack))
    assert settings.region.id == stack
    assert set(settings.apps) == {"partner-portal-api", "partner-portal-web", "partner-center-sam"}


def test_models_are_frozen_and_forbid_unknown_keys() -> None:
    settings = config.validate(**_inputs())
    with pytest.raises(ValidationError):
        settings.region.location = "westus"  # type: ignore[misc]
    raw = dict(_region(_inputs()), colour="blue")
    with pytest.raises(ValidationError, match="colour"):
        RegionConfig.model_validate(raw)


def test_every_field_is_described() -> None:
    def walk(model: type[models_module.Model]) -> list[str]:
        missing = []
        for name, info in model.model_fields.items():
            if not info.description:
                missing.append(f"{model.__name__}.{name}")
        return missing

    base = models_module.Model
    found = [
        value
        for value in vars(models_module).values()
        if isinstance(value, type) and issubclass(value, base) and value is not base
    ]
    assert len(found) > 10, "components/models.py: the config models"
    assert [item for model in found for item in walk(model)] == []


def test_location_of_another_region_is_refused() -> None:
    inputs = _inputs()
    _region(inputs)["location"] = "westeurope"
    problems = _problems(**inputs)
    assert problems == [
        "Pulumi.us.yaml: partner-apps:region.location: 'westeurope' (a location of region 'eu') "
        "is outside region 'us'; allowed: centralus, eastus, eastus2, northcentralus, "
        "southcentralus, westcentralus, westus, westus2, westus3"
    ]


def test_malformed_tenant_id_names_the_key() -> None:
    inputs = _inputs()
    _region(inputs)["tenantId"] = "not-a-guid"
    assert _problems(**inputs) == [
        "Pulumi.us.yaml: partner-apps:region.tenantId: 'not-a-guid' is not a GUID "
        "(expected 8-4-4-4-12 hexadecimal digits)"
    ]


def test_unknown_key_lists_the_allowed_ones() -> None:
    inputs = _inputs()
    _region(inputs)["keyVault"]["softDelete"] = True
    (problem,) = _problems(**inputs)
    assert problem.startswith(
        "Pulumi.us.yaml: partner-apps:region.keyVault.softDelete: unknown key"
    )
    assert "softDeleteRetentionDays" in problem


def test_unknown_top_level_key_and_default_provider_settings_are_refused() -> None:
    inputs = _inputs()
    inputs["config"]["partner-apps:regoin"] = {}
    inputs["config"]["azuread:tenantId"] = "9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c62"
    problems = _problems(**inputs)
    assert problems[0].startswith(
        "Pulumi.us.yaml: azuread:tenantId: unknown key (default providers"
    )
    assert problems[1].startswith("Pulumi.us.yaml: partner-apps:regoin: unknown key (allowed:")


def test_tenant_of_another_stack_is_refused() -> None:
    inputs = _inputs()
    _region(inputs)["tenantId"] = "9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c62"
    assert _problems(**inputs) == [
        "Pulumi.us.yaml: partner-apps:region.tenantId: '9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c62' is "
        "also the tenant of stack 'eu' (Pulumi.eu.yaml); each region stack must target only its "
        "own tenant and resources"
    ]


def test_stack_name_must_equal_region() -> None:
    inputs = _inputs()
    inputs["stack"] = "prod"
    inputs["other_stacks"] = {}
    (problem,) = _problems(**inputs)
    assert problem == (
        "Pulumi.prod.yaml: partner-apps:region.id: region 'us' does not match the stack name "
        "'prod'; a stack deploys exactly the region it is named after"
    )


def test_default_providers_must_be_disabled() -> None:
    inputs = _inputs()
    del inputs["config"][config.DISABLE_DEFAULT_PROVIDERS_KEY]
    (problem,) = _problems(**inputs)
    assert problem.startswith('Pulumi.us.yaml: pulumi:disable-default-providers: must be ["*"]')


def test_all_problems_are_reported_at_once() -> None:
    inputs = _inputs()
    _region(inputs)["tenantId"] = "x"
    _region(inputs)["subscriptionId"] = "y"
    del _region(inputs)["owners"]
    problems = _problems(**inputs)
    assert [p.split(": ")[1] for p in problems] == [
        "partner-apps:region.tenantId",
        "partner-apps:region.subscriptionId",
        "partner-apps:region.owners",
    ]
    assert problems[2].endswith("required key is missing")


def test_refresh_token_in_plain_text_is_refused() -> None:
    inputs = _inputs()
    inputs["config"][config.REFRESH_TOKENS_KEY] = {"partner-center-sam": "0.AAAA-plain"}
    (problem,) = _problems(**inputs)
    assert problem.startswith(
        "Pulumi.us.yaml: partner-apps:refreshTokens: refresh tokens must be Pulumi secrets"
    )
    assert "0.AAAA-plain" not in problem


def test_refresh_token_as_secret_is_accepted() -> None:
    inputs = _inputs()
    inputs["config"][config.REFRESH_TOKENS_KEY] = {"partner-center-sam": "0.AAAA-secret"}
    inputs["secret_keys"].add(config.REFRESH_TOKENS_KEY)
    settings = config.validate(**inputs)
    assert settings.refresh_tokens["partner-center-sam"].get_secret_value() == "0.AAAA-secret"
    assert "0.AAAA-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("kv", "is not a valid Key Vault name"),
        ("kv-cspapps-us-0123456789abc", "is not a valid Key Vault name"),
        ("1kv-apps", "is not a valid Key Vault name"),
        ("kv--apps", "is not a valid Key Vault name"),
    ],
)
def test_key_vault_names(name: str, message: str) -> None:
    inputs = _inputs()
    _region(inputs)["keyVault"]["name"] = name
    (problem,) = _problems(**inputs)
    assert problem.startswith("Pulumi.us.yaml: partner-apps:region.keyVault.name: ")
    assert message in problem


def test_public_vault_needs_allowed_ips() -> None:
    inputs = _inputs()
    _region(inputs)["keyVault"]["publicNetworkAccess"] = "Enabled"
    (problem,) = _problems(**inputs)
    assert problem.startswith(
        "Pulumi.us.yaml: partner-apps:region.keyVault: publicNetworkAccess Enabled needs "
        "allowedIpRanges"
    )
    _region(inputs)["keyVault"]["allowedIpRanges"] = ["203.0.113.0/24"]
    assert config.validate(**inputs).region.key_vault.allowed_ip_ranges == ["203.0.113.0/24"]


def test_admin_agents_default_and_pinned() -> None:
    inputs = _inputs("us")
    _region(inputs)["adminAgents"] = {}
    default = config.validate(**inputs).region.admin_agents
    assert (default.lookup_name, default.object_id) == ("AdminAgents", None)
    eu = config.validate(**_inputs("eu")).region.admin_agents
    assert eu.object_id == "6e7f8a9b-0c1d-4e2f-a3b4-c5d6e7f8a962"


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "Pulumi.us.yaml"
    broken.write_text("config:\n  partner-apps:region: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_stack_file(broken)
    assert str(caught.value.problems[0]).startswith("Pulumi.us.yaml: line ")
