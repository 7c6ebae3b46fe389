"""The workflows: per-region matrices from the stack files, never from a hand-kept list; every
step runs the project as ``partner-apps`` (or a make target).

A new region is one more ``Pulumi.<region>.yaml``: each workflow with a per-region job lists the
stack files in a ``stacks`` job (the same inline Python in each) and its per-region job takes
its matrix from that job's output, so no workflow names a stack.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components.regions import REGIONS
from partner_apps import cli

from .conftest import ABSENT_STACKS, ROOT, STACKS, load_yaml

WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "pull-request.yml"
# Each workflow with a per-region job, and that job.
PER_REGION_JOBS = {
    "pull-request.yml": "live",
    "deploy.yml": "deploy",
    "sam-refresh.yml": "refresh",
    "customers.yml": "customers",
}
FROM_STACKS_JOB = "${{ fromJSON(needs.stacks.outputs.matrix) }}"


def _matrix_script(workflow: Path) -> str:
    steps = load_yaml(workflow)["jobs"]["stacks"]["steps"]
    (run,) = [step["run"] for step in steps if step.get("id") == "list"]
    match = re.search(r"<<'PY'\n(.*?)\nPY\n", run, re.DOTALL)
    assert match, f"{workflow.name}: jobs.stacks step 'list' has no inline Python"
    return match.group(1)


def matrix_of(workflow: Path, project: Path) -> list[dict[str, str]]:
    """The matrix ``workflow``'s ``stacks`` job prints in a checkout of ``project``."""
    result = subprocess.run(
        [sys.executable, "-c", _matrix_script(workflow)],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    name, _, value = result.stdout.strip().partition("=")
    assert name == "matrix", f"{workflow.name}: {result.stdout!r}"
    include: list[dict[str, str]] = json.loads(value)["include"]
    return include


def _strings(node: Any) -> list[str]:
    """Every key and string value of a parsed workflow (comments are not part of it)."""
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in (str(key), *_strings(value))]
    if isinstance(node, list):
        return [text for item in node for text in _strings(item)]
    return [node] if isinstance(node, str) else []


def test_every_workflow_with_a_per_region_job_is_listed_here() -> None:
    per_region = sorted(
        path.name
        for path in WORKFLOWS.glob("*.yml")
        if any("strategy" in job for job in load_yaml(path)["jobs"].values())
    )
    assert per_region == sorted(PER_REGION_JOBS)


@pytest.mark.parametrize("name", sorted(PER_REGION_JOBS))
def test_the_matrix_comes_from_the_stacks_job_the_same_way_in_every_workflow(name: str) -> None:
    workflow = WORKFLOWS / name
    jobs = load_yaml(workflow)["jobs"]
    assert _matrix_script(workflow) == _matrix_script(WORKFLOW), (
        f"{name}: jobs.stacks must list the stack files as pull-request.yml does"
    )
    for job_name, job in jobs.items():
        matrix = job.get("strategy", {}).get("matrix")
        if matrix is None:
            continue
        assert job_name == PER_REGION_JOBS[name], f"{name}: {job_name} has a matrix"
        assert matrix == FROM_STACKS_JOB, f"{name}: jobs.{job_name}.strategy.matrix"
        needs = job.get("needs")
        assert "stacks" in ([needs] if isinstance(needs, str) else needs or []), (
            f"{name}: jobs.{job_name} must need the stacks job"
        )


@pytest.mark.parametrize("name", sorted(PER_REGION_JOBS))
def test_no_workflow_names_a_stack(name: str) -> None:
    """Not in a matrix, a job name, a runner label, an environment or a script: a stack is
    ``matrix.stack`` (its upper-case ``matrix.region`` for the repository variables)."""
    names = {*STACKS, *REGIONS}
    words = {word for name in names for word in (name, name.upper())}
    found = sorted(
        (word, text)
        for text in _strings(load_yaml(WORKFLOWS / name))
        for word in re.findall(r"[A-Za-z0-9]+", text)
        if word in words
    )
    assert found == [], f"{name} names a stack: {found}"


def test_the_per_region_jobs_reach_each_region_by_its_own_names() -> None:
    """The per-region pattern each stack's entry fills in: its runner, its environment, its
    repository variables (``<NAME>_<REGION>``)."""
    for name in ("sam-refresh.yml", "customers.yml"):
        job = load_yaml(WORKFLOWS / name)["jobs"][PER_REGION_JOBS[name]]
        assert job["runs-on"] == ["self-hosted", "partner-apps-${{ matrix.stack }}"], name
        prefix = "sam" if name == "sam-refresh.yml" else "customers"
        assert job["environment"] == f"{prefix}-${{{{ matrix.stack }}}}", name
        assert job["concurrency"].endswith("-${{ matrix.stack }}"), name
        (login,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("azure/login@")]
        assert login["with"] == {
            "client-id": "${{ vars[format('SAM_JOB_CLIENT_ID_{0}', matrix.region)] }}",
            "tenant-id": "${{ vars[format('AZURE_TENANT_ID_{0}', matrix.region)] }}",
            "subscription-id": "${{ vars[format('AZURE_SUBSCRIPTION_ID_{0}', matrix.region)] }}",
        }, name


def test_the_live_matrix_lists_every_stack_file(tmp_path: Path) -> None:
    live = load_yaml(WORKFLOW)["jobs"]["live"]
    assert live["strategy"]["matrix"] == FROM_STACKS_JOB, (
        f"{WORKFLOW.name}: jobs.live.strategy.matrix must come from the stacks job"
    )
    # The project's stack files, then one more region (``uk`` beside ``us`` and ``eu``).
    for stacks in (STACKS, (*STACKS, ABSENT_STACKS[0])):
        for stack in stacks:
            (tmp_path / f"Pulumi.{stack}.yaml").write_text("config: {}\n", encoding="utf-8")
        assert matrix_of(WORKFLOW, tmp_path) == [
            {"stack": s, "region": s.upper()} for s in sorted(stacks)
        ]


@pytest.mark.parametrize("name", sorted(PER_REGION_JOBS))
def test_the_matrix_of_this_checkout_is_its_stack_files(name: str) -> None:
    assert matrix_of(WORKFLOWS / name, ROOT) == [
        {"stack": stack, "region": stack.upper()} for stack in sorted(STACKS)
    ]


def _run_scripts(workflow: Path) -> list[str]:
    """The ``run`` scripts of every step of ``workflow``, continuation lines joined."""
    return [
        str(step["run"]).replace("\\\n", " ")
        for job in load_yaml(workflow)["jobs"].values()
        for step in job.get("steps", [])
        if "run" in step
    ]


def _partner_apps_lines(script: str) -> list[list[str]]:
    """The arguments of each ``partner-apps`` command of a script, up to a redirection, pipe or
    ``;`` (GitHub expressions and shell variables stay as words)."""
    found = []
    for line in script.splitlines():
        words = shlex.split(line, comments=True) if "partner-apps " in line else []
        for index, word in enumerate(words):
            if word.endswith("bin/partner-apps") or word == "partner-apps":
                rest = words[index + 1 :]
                stops = [i for i, w in enumerate(rest) if w in {">", ">>", "|", ";", "&&", "||"}]
                found.append(rest[: stops[0]] if stops else rest)
    return found


def _options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of the tree below ``parser``."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _options(sub)
    return found


@pytest.mark.parametrize("workflow", sorted(WORKFLOWS.glob("*.yml")), ids=lambda path: path.name)
def test_every_step_runs_the_project_as_partner_apps_or_make(workflow: Path) -> None:
    """The project's code runs through its command line (or a make target), never as a module
    path (`python -m partner_apps.review...`, the old `tools.X`, `dev.X`), and every
    `partner-apps` command of a step parses in the native tree."""
    parser = cli.build_parser()
    for script in _run_scripts(workflow):
        module = re.search(r"-m\s+(partner_apps|tools|dev|components|policies)\b\S*", script)
        assert module is None, f"{workflow.name}: a step runs {module and module.group(0)!r}"
        for arguments in _partner_apps_lines(script):
            # Spelled in full: argparse would take an abbreviation that a new option can make
            # ambiguous later.
            abbreviated = [
                word
                for word in arguments
                if word.startswith("--") and word.split("=", 1)[0] not in _options(parser)
            ]
            assert not abbreviated, f"{workflow.name}: partner-apps {arguments[0]}: {abbreviated}"
            with contextlib.redirect_stderr(io.StringIO()) as errors:
                try:
                    parser.parse_args(arguments)
                except SystemExit:
                    pytest.fail(
                        f"{workflow.name}: partner-apps {' '.join(arguments)}: "
                        f"{errors.getvalue().strip()}"
                    )
    assert any(_partner_apps_lines(script) for script in _run_scripts(workflow)), workflow.name


def test_the_workflow_check_reads_commands_and_knows_the_options() -> None:
    assert _partner_apps_lines(
        '.venv/bin/partner-apps diff a "b c" --out x > /dev/null\npartner-apps sam status'
    ) == [["diff", "a", "b c", "--out", "x"], ["sam", "status"]]
    assert "--fail-on-protect" not in _options(cli.build_parser())
    assert "--fail-on-protected" in _options(cli.build_parser())
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(SystemExit):
        cli.build_parser().parse_args(["diff", "only-one-folder"])
