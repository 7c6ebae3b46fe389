"""The single-region rule across the repository's stack files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components.config import (
    REGION_KEY,
)
from components.stackfiles import check_all, load_stack_file

from .conftest import ROOT, edit_yaml, git_commit_all


def test_committed_stack_files_share_no_tenant_subscription_domain_or_vault() -> None:
    assert [str(problem) for problem in check_all(ROOT)] == []


def test_a_shared_subscription_and_vault_are_reported_on_the_newer_file_only(
    project_copy: Path,
) -> None:
    """The US file edited (after the last commit) to take EU values: only it is refused; the EU
    file, which had them first, is not (issue 28, "Regions are isolated")."""
    git_commit_all(project_copy)
    eu = load_stack_file(project_copy / "Pulumi.eu.yaml").config[REGION_KEY]

    def copy_eu_values(doc: dict[str, Any]) -> None:
        region = doc["config"][REGION_KEY]
        region["subscriptionId"] = eu["subscriptionId"].upper()
        region["keyVault"]["name"] = eu["keyVault"]["name"]
        region["verifiedDomains"].append(eu["verifiedDomains"][0])

    edit_yaml(project_copy / "Pulumi.us.yaml", copy_eu_values)
    problems = check_all(project_copy)
    assert sorted(f"{p.file}: {p.key}" for p in problems) == [
        "Pulumi.us.yaml: partner-apps:region.keyVault.name",
        "Pulumi.us.yaml: partner-apps:region.subscriptionId",
        "Pulumi.us.yaml: partner-apps:region.verifiedDomains[2]",
    ]
    for problem in problems:
        assert "Pulumi.us.yaml has changes not committed to git yet" in problem.message


def test_secure_values_are_marked_secret_and_never_read(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.us.yaml"
    path.write_text(
        "config:\n  partner-apps:refreshTokens:\n    partner-center-sam:\n      secure: v1:abc\n",
        encoding="utf-8",
    )
    stack_file = load_stack_file(path)
    assert stack_file.secret_keys == frozenset({"partner-apps:refreshTokens"})
    assert "v1:abc" not in repr(stack_file.config)
