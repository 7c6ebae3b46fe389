"""Issue 27 item 2: a pull request that weakens the policy pack in code cannot pass unseen.

Each attack edits the policy code of a full copy of the project (program, command line and
pack), previews it there with that copy's own code (a subprocess run in the copy, as CI runs a
pull request's checkout) and diffs the committed plan (the base) against it, as the
pull-request workflow does: ``partner-apps diff --fail-on-weakened``. A policy lowered from
mandatory to advisory, disabled, deleted, or whose check is silenced fails with exit 44 naming
the policy; any change of the pack's source is a "⚠ policy pack source changed" line at the top;
an honest change (a comment) still passes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from partner_apps import exitcodes
from partner_apps.review.commands import diff

from .conftest import ROOT

STACK = "us"
BASE = ROOT / "tests" / "fixtures" / "plans" / f"{STACK}.json"
# What a preview needs of the project: the program, the command line, the pack, the config.
PROJECT_PARTS = (
    "Pulumi.yaml",
    "apps.yaml",
    "__main__.py",
    "pyproject.toml",
    "components",
    "partner_apps",
    "policies",
    "schema",
)


def _full_copy(target: Path) -> Path:
    """The project with its code, so that the copy's policies are the ones that run."""
    target.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "venv", ".venv", "*.pyc")
    for name in [*PROJECT_PARTS, *(p.name for p in ROOT.glob("Pulumi.*.yaml"))]:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        elif source.is_file():
            shutil.copy(source, target / name)
    return target


def _preview_copy(project: Path, out: Path) -> Path:
    """Preview ``STACK`` of the copy with the copy's own code; returns its plan folder."""
    env = {**os.environ, "PYTHONPATH": str(project), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "partner_apps",
            "preview",
            STACK,
            "--project-dir",
            str(project),
            "--out",
            str(out / "preview"),
            "--audit-dir",
            str(out / "audit"),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert (out / "preview" / f"{STACK}.json").is_file(), done.stdout + done.stderr
    return out / "preview" / f"{STACK}.json"


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _policy_block(path: Path, name: str) -> str:
    """The text from a policy's ``name=`` to its enforcement line."""
    text = path.read_text(encoding="utf-8")
    found = re.search(rf'name="{re.escape(name)}",.*?enforcement=EnforcementLevel\.\w+', text, re.S)
    assert found, f"{path}: policy {name} not found"
    return found.group(0)


def lower(project: Path) -> str:
    """A mandatory policy lowered to advisory in code."""
    path = project / "policies" / "partner_policies" / "apps.py"
    block = _policy_block(path, "azuread-application-multi-tenant")
    _edit(path, block, block.replace("EnforcementLevel.MANDATORY", "EnforcementLevel.ADVISORY"))
    return "azuread-application-multi-tenant"


def disable(project: Path) -> str:
    """A mandatory policy disabled in code."""
    path = project / "policies" / "partner_policies" / "keyvault.py"
    block = _policy_block(path, "azure-native-keyvault-vault-purge-protection")
    _edit(path, block, block.replace("EnforcementLevel.MANDATORY", "EnforcementLevel.DISABLED"))
    return "azure-native-keyvault-vault-purge-protection"


def delete(project: Path) -> str:
    """A policy deleted from the pack (no longer built)."""
    _edit(
        project / "policies" / "partner_policies" / "stack.py", "_explicit_providers_policy(),", ""
    )
    return "stack-explicit-providers"


def silence(project: Path) -> str:
    """A policy's check made a no-op: same name, same enforcement, it just finds nothing."""
    _edit(
        project / "policies" / "partner_policies" / "access.py",
        "def _check_high_privilege(resource: ResourceContext) -> Iterable[str]:\n",
        "def _check_high_privilege(resource: ResourceContext) -> Iterable[str]:\n    return\n",
    )
    return "azuread-required-access-high-privilege"


@pytest.mark.parametrize("attack", [lower, disable, delete, silence], ids=lambda f: f.__name__)
def test_weakening_the_pack_in_code_fails_the_diff_naming_the_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], attack: Callable[[Path], str]
) -> None:
    project = _full_copy(tmp_path / "project")
    policy = attack(project)
    head = _preview_copy(project, tmp_path / "out")
    out = tmp_path / "diff.md"
    status = diff.main([str(BASE), str(head), "--out", str(out), "--fail-on-weakened"])
    error = capsys.readouterr().err
    assert status == exitcodes.WEAKENED == 44, error
    assert policy in error
    markdown = out.read_text(encoding="utf-8")
    # At the top, before the resources: the pack changed, and the policy is named as weaker.
    top = markdown.split("## Summary")[0]
    assert "⚠ policy pack source changed" in top
    assert "⚠ Policy config loosened" in top
    assert re.search(rf"`{re.escape(policy)}`[^\n]*\*\*weaker\*\*", top), top
    assert "No changes." not in markdown


def test_an_honest_change_to_the_pack_is_shown_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _full_copy(tmp_path / "project")
    path = project / "policies" / "partner_policies" / "apps.py"
    _edit(path, '"""', '"""Reworded for the test. ', 1)
    head = _preview_copy(project, tmp_path / "out")
    recorded = json.loads(head.read_text(encoding="utf-8"))["policyPack"]
    base = json.loads(BASE.read_text(encoding="utf-8"))["policyPack"]
    assert recorded["digest"] != base["digest"]
    out = tmp_path / "diff.md"
    status = diff.main([str(BASE), str(head), "--out", str(out), "--fail-on-weakened"])
    assert status == exitcodes.OK, capsys.readouterr().err
    markdown = out.read_text(encoding="utf-8")
    before = base["digest"].removeprefix("sha256:")[:12]
    after = recorded["digest"].removeprefix("sha256:")[:12]
    assert "⚠ policy pack source changed" in markdown.split("## Summary")[0]
    assert f"sha256:{before}" in markdown
    assert f"sha256:{after}" in markdown
    assert "Policy config loosened" not in markdown


@pytest.mark.parametrize("pack_changed", [True, False], ids=["pack-changed", "same-pack"])
def test_a_finding_lowered_at_run_time_by_the_pack_is_weaker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pack_changed: bool
) -> None:
    """Pack code that lowers a finding (mandatory → advisory) on a resource that does not change,
    without touching the policy's listed enforcement: weaker when the pack's source changed."""
    base = json.loads(BASE.read_text(encoding="utf-8"))
    urn = next(r["urn"] for r in base["resources"] if r["custom"])
    finding = {
        "policy": "stack-explicit-providers",
        "severity": "high",
        "enforcementLevel": "mandatory",
        "urn": urn,
        "message": "uses the default provider",
    }
    base["violations"].append(finding)
    head = json.loads(json.dumps(base))
    head["violations"][-1]["enforcementLevel"] = "advisory"
    if pack_changed:
        head["policyPack"]["digest"] = "sha256:" + "f" * 64
    (tmp_path / "base.json").write_text(json.dumps(base), encoding="utf-8")
    (tmp_path / "head.json").write_text(json.dumps(head), encoding="utf-8")
    out = tmp_path / "diff.md"
    status = diff.main(
        [
            str(tmp_path / "base.json"),
            str(tmp_path / "head.json"),
            "--out",
            str(out),
            "--fail-on-weakened",
        ]
    )
    error = capsys.readouterr().err
    if pack_changed:
        assert status == exitcodes.WEAKENED, error
        assert "stack-explicit-providers" in error
        assert "reports at a lower enforcement" in out.read_text(encoding="utf-8")
    else:
        assert status == exitcodes.OK, error
