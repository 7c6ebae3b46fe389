"""The single-region rule across the repository's stack files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components.config import (
    REGION_KEY,
)
from components.stackfiles import check_all, load_stack_file

from .conftest import ROOT, edit_yaml


def test_committed_stack_files_share_no_tenant_subscription_domain_or_vault() -> None:
    assert [str(problem) for problem in check_all(ROOT)] == []


def test_a_shared_subscription_and_vault_are_reported_for_both_files(project_copy: Path) -> None:
    eu = load_stack_file(project_copy / "Pulumi.eu.yaml").config[REGION_KEY]

    def copy_eu_values(doc: dict[str, Any]) -> None:
        region = doc["config"][REGION_KEY]
        region["subscriptionId"] = eu["subscriptionId"].upper()
        region["keyVault"]["name"] = eu["keyVault"]["name"]
        region["verifiedDomains"].append(eu["verifiedDomains"][0])

    edit_yaml(project_copy / "Pulumi.us.yaml", copy_eu_values)
    problems = sorted(f"{p.file}: {p.key}" for p in check_all(project_copy))
    assert problems == [
        "Pulumi.eu.yaml: partner-apps:region.keyVault.name",
        "Pulumi.eu.yaml: partner-apps:region.subscriptionId",
        "Pulumi.eu.yaml: partner-apps:region.verifiedDomains[0]",
        "Pulumi.us.yaml: partner-apps:region.keyVault.name",
        "Pulumi.us.yaml: partner-apps:region.subscriptionId",
        "Pulumi.us.yaml: partner-apps:region.verifiedDomains[2]",
    ]


def test_secure_values_are_marked_secret_and_never_read(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.us.yaml"
    path.write_text(
        "config:\n  partner-apps:refreshTokens:\n    partner-center-sam:\n      secure: v1:abc\n",
        encoding="utf-8",
    )
    stack_file = load_stack_file(path)
    assert stack_file.secret_keys == frozenset({"partner-apps:refreshTokens"})
    assert "v1:abc" not in repr(stack_file.config)
