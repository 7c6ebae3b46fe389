"""Who can read the vault is reviewed (issue 27 items 4 and 7): a person or group given a role
that can read the SAM refresh token is a ⚠ risk line in the diff, the stack report and the audit,
named by role, principal type and the stack file's description; a service principal is shown,
not flagged; and a change of the vault's network list reads as one line, before → after.

Each case edits a copy of the project, previews it offline as CI does, and reads the diff of the
committed project's plans against the copy's and the audit of the copy's plans.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from partner_apps.preview import command as preview
from partner_apps.review import audit
from partner_apps.review.changes.secret_facts import whole_lists
from partner_apps.review.commands import diff
from partner_apps.review.plan.vocabulary import KEY_VAULT_ROLES, vault_role_risk
from tests.conftest import copy_project, edit_yaml, preview_args

MALLORY = "11111111-2222-4333-8444-555555555555"
WORKLOAD = "22222222-3333-4444-8555-666666666666"
ADMINISTRATOR = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def _plans(project: Path, out: Path) -> Path:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = preview.main(preview_args(project, out))
    assert code == 0, f"the preview of {project} failed with exit code {code}"
    return out / "preview"


@pytest.fixture(scope="module")
def base_plans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plans of the project as committed (the pull request's base)."""
    folder = tmp_path_factory.mktemp("base")
    (folder / "project").mkdir()
    return _plans(copy_project(folder / "project"), folder / "out")


def _diff_and_audit(tmp_path: Path, base: Path, change: Callable[[Any], None]) -> tuple[str, str]:
    (tmp_path / "project").mkdir()
    project = copy_project(tmp_path / "project")
    edit_yaml(project / "Pulumi.eu.yaml", change)
    head = _plans(project, tmp_path / "out")
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert diff.main([str(base), str(head)]) == 0
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        assert audit.main([str(head), "--stdout"]) == 0
    return output.getvalue(), report.getvalue()


def _vault(document: Any) -> Any:
    return document["config"]["partner-apps:region"]["keyVault"]


def _lines(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


@pytest.mark.parametrize(
    ("role_list", "principal_type", "role"),
    [
        ("secretsOfficers", "User", "Key Vault Secrets Officer"),
        ("secretsUsers", "User", "Key Vault Secrets User"),
        ("secretsUsers", "Group", "Key Vault Secrets User"),
        ("secretsOfficers", "Group", "Key Vault Secrets Officer"),
    ],
)
def test_a_person_or_group_that_can_read_the_vault_is_a_risk_in_the_diff_and_audit(
    tmp_path: Path, base_plans: Path, role_list: str, principal_type: str, role: str
) -> None:
    def add(document: Any) -> None:
        _vault(document)[role_list].append(
            {
                "principalId": MALLORY,
                "principalType": principal_type,
                "description": "Mallory, on-call helper",
            }
        )

    text, report = _diff_and_audit(tmp_path, base_plans, add)
    granted = _lines(text, MALLORY)
    assert granted, f"Pulumi.eu.yaml keyVault.{role_list}: the diff does not name {MALLORY}"
    line = granted[0]
    assert "⚠ risk" in line, f"Pulumi.eu.yaml keyVault.{role_list}: not flagged: {line}"
    assert f"grants {role} to {principal_type} `{MALLORY}` (Mallory, on-call helper)" in line
    audited = _lines(report, MALLORY)
    assert audited, f"the audit does not list {MALLORY}"
    assert "⚠ risk" in audited[0], f"the audit does not flag {MALLORY}: {audited}"
    assert role in audited[0]
    assert principal_type in audited[0]


def test_a_service_principal_is_shown_with_its_role_but_not_flagged(
    tmp_path: Path, base_plans: Path
) -> None:
    def add(document: Any) -> None:
        _vault(document)["secretsUsers"].append(
            {
                "principalId": WORKLOAD,
                "principalType": "ServicePrincipal",
                "description": "billing job (managed identity)",
            }
        )

    text, report = _diff_and_audit(tmp_path, base_plans, add)
    line = _lines(text, WORKLOAD)[0]
    assert (
        f"grants Key Vault Secrets User to ServicePrincipal `{WORKLOAD}` "
        "(billing job (managed identity))"
    ) in line
    assert "⚠" not in "".join(_lines(text, "Key Vault")), text
    assert "⚠ risk" not in report


def test_the_committed_stack_files_have_no_vault_access_risk(base_plans: Path) -> None:
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        assert audit.main([str(base_plans), "--stdout"]) == 0
    assert "⚠ risk" not in report.getvalue()
    assert "Key Vault Secrets Officer" in report.getvalue()


@pytest.mark.parametrize("principal_type", ["User", "Group", "ForeignGroup", ""])
def test_every_role_that_can_read_secrets_is_a_risk_for_people(principal_type: str) -> None:
    for role_id, name in KEY_VAULT_ROLES.items():
        definition = f"/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{role_id}"
        risk = vault_role_risk(definition, principal_type)
        if "Reader" in name:
            assert risk is None, name
        else:
            assert risk is not None, name
            assert name in risk
        assert vault_role_risk(definition, "ServicePrincipal") is None
    unknown = vault_role_risk("/providers/Microsoft.Authorization/roleDefinitions/0000", "User")
    assert unknown is not None
    assert "unreviewed role" in unknown
    assert vault_role_risk(ADMINISTRATOR, principal_type) is not None
    assert vault_role_risk(READER, principal_type) is None


def test_adding_an_ip_rule_is_one_line_before_and_after(tmp_path: Path, base_plans: Path) -> None:
    def open_to(document: Any) -> None:
        _vault(document)["publicNetworkAccess"] = "Enabled"
        _vault(document)["allowedIpRanges"] = ["203.0.113.0/24"]

    text, _ = _diff_and_audit(tmp_path, base_plans, open_to)
    facts = text.split("## Credentials, secrets and Key Vault\n", 1)[1].split("\n## ", 1)[0]
    rules = _lines(facts, "ipRules")
    assert rules == ["- Key Vault `networkAcls.ipRules`: `(none)` → `203.0.113.0/24` in eu"], facts
    assert "(not set)" not in facts, f"Pulumi.eu.yaml keyVault.allowedIpRanges: {facts}"
    updated = _lines(text, "properties.networkAcls.ipRules")
    assert len(updated) == 1, updated
    assert "`[]` → " in updated[0]
    assert "203.0.113.0/24" in updated[0]


def test_every_vault_list_compares_as_one_value() -> None:
    before = whole_lists([("networkAcls.ipRules", "[]"), ("networkAcls.bypass", "None")])
    after = whole_lists(
        [
            ("networkAcls.bypass", "None"),
            ("networkAcls.ipRules[0].value", "203.0.113.0/24"),
            ("networkAcls.ipRules[1].value", "198.51.100.7"),
            ("networkAcls.virtualNetworkRules[0].id", "/subnets/a"),
        ]
    )
    assert before == {"networkAcls.bypass": "None", "networkAcls.ipRules": "(none)"}
    assert after == {
        "networkAcls.bypass": "None",
        "networkAcls.ipRules": "203.0.113.0/24, 198.51.100.7",
        "networkAcls.virtualNetworkRules": "id=/subnets/a",
    }
