"""A new region is one stack file: add ``Pulumi.<region>.yaml``, run the generator, and it previews.

This runs on copies of the project, so the committed stacks stay as they are. The new region is
``uk`` beside ``us`` and ``eu`` (the first public region of the region table with no stack file
here, should a team have added ``uk`` already), written as docs/configuration.md's "Adding a
region" says.

The per-stack tests are parametrised over the stack files present (``tests/conftest.py``'s
``STACKS``), the workflows' matrices list the stack files (``tests/test_workflows.py``), and the
tests that read the set of stacks as a whole derive it from the same files:
``test_the_suites_per_stack_checks_pass_with_a_new_region`` proves it by running them in a copy
of the repository that has the new region.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from components.regions import REGIONS
from partner_apps.preview import command as preview
from partner_apps.preview import policy_config

from .conftest import ABSENT_STACKS, ROOT, STACKS, edit_yaml, git_commit_all, load_yaml
from .test_workflows import PER_REGION_JOBS, matrix_of

NEW = next(
    region for region in ("uk", *ABSENT_STACKS) if region in ABSENT_STACKS and region in REGIONS
)
assert REGIONS[NEW].cloud == "public", NEW


def _guid(region: str, what: str) -> str:
    """A GUID of this region's own (stable, and no other region's)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://{region}.contoso-partner.example/{what}"))


def region_values(region: str) -> dict[str, Any]:
    """What step 1 of "Adding a region" sets: every value the region's own."""
    return {
        "id": region,
        "tenantId": _guid(region, "tenant"),
        "verifiedDomains": [
            f"{region}.contoso-partner.example",
            f"contoso-{region}.onmicrosoft.example",
        ],
        "subscriptionId": _guid(region, "subscription"),
        "location": REGIONS[region].locations[0],
        "owners": [_guid(region, "deploying-identity"), _guid(region, "owner")],
        "adminAgents": {"objectId": _guid(region, "admin-agents")},
    }


def add_region(project: Path, region: str) -> dict[str, Any]:
    """docs/configuration.md, "Adding a region", step 1: copy ``Pulumi.eu.yaml`` to
    ``Pulumi.<region>.yaml`` and set the region's own values. Returns them."""
    values = region_values(region)
    shutil.copy(project / "Pulumi.eu.yaml", project / f"Pulumi.{region}.yaml")

    def own(document: dict[str, Any]) -> None:
        config = document["config"]["partner-apps:region"]
        config.update(values)
        vault = config["keyVault"]
        vault.update(name=f"kv-cspapps-{region}-01", resourceGroupName=f"rg-partner-apps-{region}")
        # The deploying identity is the first owner and a Secrets Officer.
        vault["secretsOfficers"][0]["principalId"] = values["owners"][0]
        vault["secretsUsers"][0]["principalId"] = _guid(region, "portal-runtime")
        config["tags"]["region"] = region

    edit_yaml(project / f"Pulumi.{region}.yaml", own)
    return values


def test_a_new_region_needs_only_its_stack_file_and_the_generator(
    project_copy: Path, tmp_path: Path
) -> None:
    shutil.copytree(ROOT / "policies" / "reviewed", project_copy / "policies" / "reviewed")
    values = add_region(project_copy, NEW)

    # `make generate`, as far as the region's policy config goes.
    rendered = policy_config.rendered_configs(project_copy)
    assert sorted(rendered) == sorted(f"policies/config/{s}.json" for s in (*STACKS, NEW))
    for relative, content in rendered.items():
        (project_copy / relative).write_text(content, encoding="utf-8")
    new_policy = json.loads(rendered[f"policies/config/{NEW}.json"])
    single_region = new_policy["stack-providers-single-region"]
    assert single_region["tenantId"] == values["tenantId"], f"policies/config/{NEW}.json"
    assert single_region["allowedLocations"] == sorted(REGIONS[NEW].locations)
    # The committed regions' generated configs are what the copy regenerates: nothing else moved.
    for stack in STACKS:
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
    assert code == 0, "the offline preview of every stack must pass its mandatory policies"
    plan = json.loads((out / "preview" / f"{NEW}.json").read_text(encoding="utf-8"))
    assert plan["stack"] == NEW
    providers = [r for r in plan["resources"] if r["type"].startswith("pulumi:providers:")]
    assert providers, f"{NEW}: no providers in the plan"
    for provider in providers:
        assert provider["inputs"]["tenantId"] == values["tenantId"], provider["urn"]
    audit = load_yaml(out / "audit" / "audit.json")
    assert sorted(stack["stack"] for stack in audit["stacks"]) == sorted((*STACKS, NEW))


# -- the whole suite's per-stack checks over a repository with the new region -------------------

# Tests that read the set of stack files as a whole (not parametrised over it): which plans a
# preview writes, what an unknown stack is, which regions a diff or an audit names, the
# workflows' matrices, every generated file current (policies/config/<region>.json among them),
# a policy config per stack file and none orphaned, the single-region rule across the files.
# A new test of that kind belongs here, so that a region added by the documented steps runs it.
WHOLE_SET_MODULES = (
    "tests/policies/test_config_consistency.py",
    "tests/test_apps_config.py",
    "tests/test_failed_previews.py",
    "tests/test_fix_texts.py",
    "tests/test_generate.py",
    "tests/test_new_region.py",
    "tests/test_preview.py",
    "tests/test_preview_folder.py",
    "tests/test_regions_isolated.py",
    "tests/test_resolved.py",
    "tests/test_stackfiles.py",
    "tests/test_workflows.py",
)
THIS_TEST = "tests/test_new_region.py::test_the_suites_per_stack_checks_pass_with_a_new_region"


def _copy_repository(target: Path) -> Path:
    """The repository's files as a clone has them: no git folder, virtualenv, tool caches or
    build output (nothing hidden at the top but ``.github``)."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in ("__pycache__", "venv") or n.endswith(".pyc")}
        if Path(folder) == ROOT:
            kept = (".github", ".gitignore")
            skipped |= {n for n in names if n.startswith(".") and n not in kept} | {"build"}
        return skipped

    shutil.copytree(ROOT, target, ignore=ignore)
    return target


def _files(project: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(project)): path.read_bytes()
        for path in sorted(project.rglob("*"))
        if path.is_file()
        and ".git" not in path.relative_to(project).parts
        # Byte code the interpreter writes as it imports (where PYTHONDONTWRITEBYTECODE is
        # unset, as the Makefile leaves it): not a file anyone edits.
        and "__pycache__" not in path.relative_to(project).parts
    }


def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )


def _instances_for(ids: list[str], region: str) -> list[str]:
    """The collected tests parametrised over the stack files whose parameters hold ``region``:
    ``test_x[uk]`` (or ``test_y[uk-case]``) where ``test_x[us]`` is collected too."""
    known = set(ids)
    found = []
    for test_id in ids:
        match = re.fullmatch(r"(.*)\[(.*)\]", test_id)
        if match is None:
            continue
        head, params = match.groups()
        tokens = params.split("-")
        if region not in tokens:
            continue
        sibling = "-".join(STACKS[0] if token == region else token for token in tokens)
        if f"{head}[{sibling}]" in known:
            found.append(test_id)
    return found


def test_the_suites_per_stack_checks_pass_with_a_new_region(tmp_path: Path) -> None:
    project = _copy_repository(tmp_path / "repository")
    before = _files(project)

    # 1. The stack file, as docs/configuration.md's "Adding a region" writes it.
    add_region(project, NEW)
    # 2. `make generate` (its recipe, without the Makefile's install step: the copy shares this
    #    virtualenv).
    recipe = re.search(r"^generate:.*\n\t(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert recipe is not None, "Makefile: no generate target"
    assert recipe.group(1) == "$(PY) -m dev.generate", "Makefile: generate"
    generated = subprocess.run(
        [sys.executable, "-m", "dev.generate"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    changed = {name for name, content in _files(project).items() if before.get(name) != content}
    assert changed == {f"Pulumi.{NEW}.yaml", f"policies/config/{NEW}.json"}, (
        "a new region is its stack file and its generated policy config, nothing else"
    )
    new_policy = load_yaml(project / "policies" / "config" / f"{NEW}.json")
    assert new_policy["stack-providers-single-region"]["tenantId"] == region_values(NEW)["tenantId"]
    # Committed, as a team would (git history decides which of two files sharing a value is
    # the newer one).
    git_commit_all(project, f"region {NEW}")

    # The workflows' matrices list it, with its variables' suffix.
    every = sorted((*STACKS, NEW))
    for name in PER_REGION_JOBS:
        workflow = project / ".github" / "workflows" / name
        assert matrix_of(workflow, project) == [{"stack": s, "region": s.upper()} for s in every]

    # 3. `make test`'s per-stack checks: every test parametrised over the stack files, for the
    #    new stack, and every test that reads the set of stack files as a whole.
    collected = _pytest(project, "--collect-only", "tests")
    assert collected.returncode == 0, collected.stdout[-4000:] + collected.stderr[-4000:]
    ids = [line for line in collected.stdout.splitlines() if "::" in line]
    per_stack = _instances_for(ids, NEW)
    modules = {test_id.split("::")[0] for test_id in per_stack}
    for module in ("tests/test_program.py", "tests/test_components.py", "tests/test_config.py"):
        assert module in modules, f"{module}: no test for stack {NEW} in the copy"
    assert THIS_TEST in ids
    result = _pytest(project, *WHOLE_SET_MODULES, *per_stack, "--deselect", THIS_TEST)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, (
        f"with a stack file for {NEW}: {summary}\n{result.stdout[-8000:]}{result.stderr[-2000:]}"
    )
    assert " passed" in summary, summary
    assert "failed" not in summary, summary
    assert "error" not in summary, summary
