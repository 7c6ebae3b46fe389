"""A new region is one stack file: add ``Pulumi.uk.yaml``, run the generator, and it previews.

This runs on a copy of the project, so the committed stacks stay two; the per-stack tests are
parametrised over the stack files present (``tests/conftest.py``'s ``STACKS``), so a team that
commits a third stack file gets every one of them for it too.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tools import policy_config, preview

from .conftest import ROOT, edit_yaml, load_yaml

UK: dict[str, Any] = {
    "id": "uk",
    "tenantId": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c73",
    "verifiedDomains": ["uk.contoso-partner.example", "contoso-uk.onmicrosoft.example"],
    "subscriptionId": "3f4a5b6c-7d8e-4f9a-8b0c-d1e2f3a4b5c3",
    "location": "uksouth",
    "owners": ["7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d03"],
    "adminAgents": {"objectId": "8d9e0f1a-2b3c-4d4e-9f5a-6b7c8d9e0f73"},
}


def _add_uk_stack(project: Path) -> None:
    """Pulumi.uk.yaml, written as a team would: a copy of the EU file with the UK's own values."""
    shutil.copy(project / "Pulumi.eu.yaml", project / "Pulumi.uk.yaml")

    def uk(document: dict[str, Any]) -> None:
        region = document["config"]["partner-apps:region"]
        region.update(UK)
        vault = region["keyVault"]
        vault.update(name="kv-cspapps-uk-01", resourceGroupName="rg-partner-apps-uk")
        vault["secretsOfficers"][0]["principalId"] = UK["owners"][0]  # the deploying identity
        vault["secretsUsers"][0]["principalId"] = "9e0f1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a83"
        region["tags"]["region"] = "uk"

    edit_yaml(project / "Pulumi.uk.yaml", uk)


def test_a_third_region_needs_only_its_stack_file_and_the_generator(
    project_copy: Path, tmp_path: Path
) -> None:
    shutil.copytree(ROOT / "policies" / "reviewed", project_copy / "policies" / "reviewed")
    _add_uk_stack(project_copy)

    # `make generate`, as far as the region's policy config goes.
    rendered = policy_config.rendered_configs(project_copy)
    assert sorted(rendered) == [
        "policies/config/eu.json",
        "policies/config/uk.json",
        "policies/config/us.json",
    ]
    for relative, content in rendered.items():
        (project_copy / relative).write_text(content, encoding="utf-8")
    uk_policy = json.loads(rendered["policies/config/uk.json"])
    single_region = uk_policy["stack-providers-single-region"]
    assert single_region["tenantId"] == UK["tenantId"], "policies/config/uk.json: tenantId"
    assert single_region["allowedLocations"] == ["uksouth", "ukwest"]
    # The committed regions' generated configs are what the copy regenerates: nothing else moved.
    for stack in ("eu", "us"):
        committed = (ROOT / "policies" / "config" / f"{stack}.json").read_text(encoding="utf-8")
        assert rendered[f"policies/config/{stack}.json"] == committed, stack

    out = tmp_path / "out"
    code = preview.main(
        [
            "--project-dir",
            str(project_copy),
            "--out",
            str(out / "preview"),
            "--audit-dir",
            str(out / "audit"),
        ]
    )
    assert code == 0, "the offline preview of three stacks must pass its mandatory policies"
    plan = json.loads((out / "preview" / "uk.json").read_text(encoding="utf-8"))
    assert plan["stack"] == "uk"
    providers = [r for r in plan["resources"] if r["type"].startswith("pulumi:providers:")]
    assert providers, "uk: no providers in the plan"
    for provider in providers:
        assert provider["inputs"]["tenantId"] == UK["tenantId"], provider["urn"]
    audit = load_yaml(out / "audit" / "audit.json")
    assert sorted(stack["stack"] for stack in audit["stacks"]) == ["eu", "uk", "us"]
