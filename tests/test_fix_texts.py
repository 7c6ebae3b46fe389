"""A fix text names the file the user edits, and following it makes the violation go away
(issue 29 item 4): the reviewed policy config, then `make generate`; never the generated file."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest
import yaml

from partner_apps.preview import command as preview
from partner_apps.preview import policy_config
from tests.conftest import ROOT, STACKS, copy_project, preview_args

ALLOW_LIST = "azuread-required-access-allow-list"


def _preview(project: Path) -> tuple[int, list[dict[str, str]]]:
    out = project / "build"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = preview.main(preview_args(project, out))
    violations = []
    for stack in STACKS:
        plan = json.loads((out / "preview" / f"{stack}.json").read_text())
        violations += plan["violations"]
    return code, violations


def _generate(project: Path) -> None:
    """`make generate`, as far as the policy configs go (what the fix text says to run)."""
    for relative, content in policy_config.rendered_configs(project).items():
        (project / relative).write_text(content, encoding="utf-8")


@pytest.mark.parametrize(
    ("permission", "kind", "allow_list"),
    [
        ("User.Read.All", "application", "allowedApplicationPermissions"),
        ("User.Read.All", "delegated", "allowedAdminConsentPermissions"),
    ],
)
def test_following_the_allow_list_fix_text_clears_the_violation(
    tmp_path: Path, permission: str, kind: str, allow_list: str
) -> None:
    project = copy_project(tmp_path)
    shutil.copytree(ROOT / "policies" / "reviewed", project / "policies" / "reviewed")
    apps_path = project / "apps.yaml"
    apps = yaml.safe_load(apps_path.read_text())
    app = "partner-portal-api" if kind == "application" else "partner-portal-web"
    apps["apps"][app]["permissions"].append(
        {"api": "Microsoft Graph", "permission": permission, "type": kind, "reason": "A test."}
    )
    apps_path.write_text(yaml.safe_dump(apps, sort_keys=False))

    code, violations = _preview(project)
    assert code == preview.EXIT_POLICY
    found = [v for v in violations if v["policy"] == ALLOW_LIST]
    assert found, violations
    message = found[0]["message"]
    assert "policies/reviewed/default.json" in message
    assert "then run `make generate`" in message
    assert "policies/config/" not in message  # the generated file is never the one to edit

    # What the fix text says: the reviewed file, then the generator.
    reviewed_path = project / "policies" / "reviewed" / "default.json"
    reviewed = json.loads(reviewed_path.read_text())
    reviewed[ALLOW_LIST][allow_list].append(f"Microsoft Graph/{permission}")
    reviewed_path.write_text(json.dumps(reviewed, indent=2) + "\n")
    _generate(project)
    code, violations = _preview(project)
    assert [v for v in violations if v["policy"] == ALLOW_LIST] == []
    assert code == 0
