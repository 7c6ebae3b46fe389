"""CI holds no write credential for unreviewed code (issue 27 item 6).

Three checks run on ``.github/workflows`` and each fails ``make test`` on a finding:

- actionlint (syntax, expression types, untrusted input in inline scripts) and zizmor (unpinned
  actions, template injection, credentials persisted by checkout, excessive permissions,
  dangerous triggers), both from the hash-pinned development set, both offline;
- every ``uses:`` is pinned by a full commit SHA with its tag in a comment;
- the credential boundary: a workflow that pull requests trigger never reaches the deploying
  identity (its ``deploy`` environment or its ``DEPLOY_CLIENT_ID_<REGION>`` variables), and any of
  its jobs that may ask for an OIDC token names the ``pr-preview`` environment, whose federated
  credential belongs to the read-only identity. The deploying identity is used only by a
  workflow of pushes to the default branch.

Each planted problem below is written into a copy of the workflows and must be reported, naming
the file; the committed workflows must pass.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import ROOT, load_yaml

GITHUB = ROOT / ".github"
WORKFLOWS = GITHUB / "workflows"
# The tools come with the virtualenv's Python (requirements-dev.txt), never from PATH.
BIN = Path(sys.executable).parent
# Whose federated credential each environment is: the read-only preview identity's, the
# deploying identity's.
PREVIEW_ENVIRONMENT = "pr-preview"
DEPLOY_ENVIRONMENT = "deploy"
PREVIEW_CLIENT_ID = "PREVIEW_CLIENT_ID_"
DEPLOY_CLIENT_ID = "DEPLOY_CLIENT_ID_"
# Triggers that run a pull request's code (or run with its data) before it is merged.
PULL_REQUEST_TRIGGERS = frozenset(
    {"pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment"}
)
# A pinned reference: `owner/repo[/path]@<40 hex> # vX[.Y[.Z]]` (docker:// and local ./ actions
# carry no tag and are not used here).
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
TAG_COMMENT = re.compile(r"#\s*v\d+(\.\d+){0,2}\s*$")


def actionlint(workflows: Path) -> subprocess.CompletedProcess[str]:
    """actionlint on every workflow of ``workflows``. ShellCheck and pyflakes are off: they are
    found on PATH when present (GitHub's runners have ShellCheck), which would make the result
    depend on the machine."""
    files = sorted(str(path) for path in workflows.glob("*.y*ml"))
    return subprocess.run(
        [str(BIN / "actionlint"), "-oneline", "-no-color", "-shellcheck=", "-pyflakes=", *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def zizmor(github: Path) -> subprocess.CompletedProcess[str]:
    """zizmor, offline, on ``github`` (workflows and actions) with ``github/zizmor.yml`` (the
    project's policy: every action hash-pinned). Exit 0 is "no findings"; 10 and above, findings
    by severity; 1, a file it could not read."""
    return subprocess.run(
        [
            str(BIN / "zizmor"),
            "--offline",
            "--no-progress",
            # A workflow zizmor cannot parse is an error, not a warning and a skipped file.
            "--strict-collection",
            "--format",
            "plain",
            "--config",
            str(github / "zizmor.yml"),
            # The whole folder: its workflows and any action (action.yml) a workflow could use.
            str(github),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )


def _triggers(workflow: dict[Any, Any]) -> set[str]:
    # PyYAML reads the bare key `on` as True (YAML 1.1).
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on}
    return set(on or ())


def _text(node: Any) -> str:
    return yaml.safe_dump(node, sort_keys=True)


def pin_problems(workflows: Path) -> list[str]:
    """Each ``uses:`` not pinned by a full commit SHA with its tag in a comment, in the workflows
    and in any action of their ``.github`` folder."""
    problems = []
    actions = sorted(workflows.parent.glob("**/action.y*ml"))
    for path in [*sorted(workflows.glob("*.y*ml")), *actions]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
            if match is None:
                continue
            reference, rest = match.groups()
            if not PINNED.match(reference) or not TAG_COMMENT.search(rest):
                problems.append(
                    f"{path.relative_to(workflows.parent)}:{number}: {reference} is not pinned as "
                    "owner/repo@<full commit SHA> # vX.Y.Z"
                )
    return problems


def credential_problems(workflows: Path) -> list[str]:
    """Where unreviewed code could reach the deploying identity, or an OIDC token outside the
    read-only identity's environment."""
    problems = []
    for path in sorted(workflows.glob("*.y*ml")):
        workflow = load_yaml(path)
        triggers = _triggers(workflow)
        by_pull_request = sorted(triggers & PULL_REQUEST_TRIGGERS)
        top_token = _asks_for_token(workflow.get("permissions"))
        for name, job in (workflow.get("jobs") or {}).items():
            where = f"{path.name}: jobs.{name}"
            environment = _environment(job)
            text = _text(job)
            if environment == DEPLOY_ENVIRONMENT or DEPLOY_CLIENT_ID in text:
                if by_pull_request:
                    problems.append(
                        f"{where} reaches the deploying identity (environment "
                        f"{DEPLOY_ENVIRONMENT!r} or {DEPLOY_CLIENT_ID}<REGION>) on "
                        f"{', '.join(by_pull_request)}: unreviewed code would hold a write "
                        "credential"
                    )
                if triggers - {"push", "workflow_dispatch"}:
                    problems.append(
                        f"{where} uses the deploying identity on "
                        f"{', '.join(sorted(triggers - {'push', 'workflow_dispatch'}))}: only "
                        "pushes to the default branch may"
                    )
                if environment != DEPLOY_ENVIRONMENT:
                    problems.append(
                        f"{where} uses {DEPLOY_CLIENT_ID}<REGION> outside the "
                        f"{DEPLOY_ENVIRONMENT!r} environment"
                    )
            if not by_pull_request:
                continue
            asks = _asks_for_token(job.get("permissions")) or (
                "permissions" not in job and top_token
            )
            if asks and environment != PREVIEW_ENVIRONMENT:
                problems.append(
                    f"{where} may ask for an OIDC token (id-token: write) on "
                    f"{', '.join(by_pull_request)} outside the {PREVIEW_ENVIRONMENT!r} "
                    "environment of the read-only identity"
                )
            if asks and PREVIEW_CLIENT_ID not in text:
                problems.append(
                    f"{where} asks for an OIDC token on {', '.join(by_pull_request)} but does "
                    f"not log in as the read-only identity ({PREVIEW_CLIENT_ID}<REGION>)"
                )
            problems.extend(
                f"{where}: {key} is {value!r}, not the read-only identity's "
                f"{PREVIEW_CLIENT_ID}<REGION>"
                for key, value in _client_ids(job)
                if PREVIEW_CLIENT_ID not in value
            )
    return problems


# Where a job names the identity it logs in as: azure/login's input, the providers' and
# azure-identity's environment variables.
CLIENT_ID_KEYS = frozenset({"client-id", "ARM_CLIENT_ID", "AZURE_CLIENT_ID"})


def _client_ids(job: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (key, value) of ``job`` that names a client id: its env, each step's env and with."""
    blocks = [job.get("env") or {}]
    for step in job.get("steps") or []:
        blocks += [step.get("env") or {}, step.get("with") or {}]
    return [
        (str(key), str(value))
        for block in blocks
        if isinstance(block, dict)
        for key, value in block.items()
        if key in CLIENT_ID_KEYS
    ]


def _asks_for_token(permissions: Any) -> bool:
    if permissions == "write-all":
        return True
    return isinstance(permissions, dict) and permissions.get("id-token") == "write"


def _environment(job: dict[str, Any]) -> str | None:
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    return None if environment is None else str(environment)


def _copy(tmp_path: Path) -> Path:
    """A copy of the project's ``.github`` folder, to plant a problem in."""
    github = tmp_path / "project" / ".github"
    shutil.copytree(GITHUB, github)
    return github


# --- the committed workflows pass ------------------------------------------------------------


def test_actionlint_finds_nothing_in_the_workflows() -> None:
    result = actionlint(WORKFLOWS)
    assert result.returncode == 0, f"actionlint:\n{result.stdout}{result.stderr}"


def test_zizmor_finds_nothing_in_the_workflows() -> None:
    result = zizmor(GITHUB)
    assert result.returncode == 0, f"zizmor:\n{result.stdout}{result.stderr}"
    assert "No findings to report" in result.stdout + result.stderr


def test_every_action_is_pinned_by_commit_with_its_tag() -> None:
    assert pin_problems(WORKFLOWS) == []
    assert any("uses:" in path.read_text(encoding="utf-8") for path in WORKFLOWS.glob("*.yml")), (
        "no workflow uses an action: the check would check nothing"
    )


def test_the_deploying_identity_is_used_only_after_merge() -> None:
    assert credential_problems(WORKFLOWS) == []
    deploy = load_yaml(WORKFLOWS / "deploy.yml")
    assert _triggers(deploy) == {"push", "workflow_dispatch"}
    assert deploy[True]["push"]["branches"] == ["main"]
    job = deploy["jobs"]["deploy"]
    assert job["environment"] == DEPLOY_ENVIRONMENT
    assert "default_branch" in job["if"]


def test_pull_requests_preview_as_the_read_only_identity() -> None:
    live = load_yaml(WORKFLOWS / "pull-request.yml")["jobs"]["live"]
    assert live["environment"] == PREVIEW_ENVIRONMENT
    (login,) = [s for s in live["steps"] if str(s.get("uses", "")).startswith("azure/login@")]
    assert login["with"]["client-id"] == (
        f"${{{{ vars[format('{PREVIEW_CLIENT_ID}{{0}}', matrix.region)] }}}}"
    )
    assert live["env"]["ARM_CLIENT_ID"] == login["with"]["client-id"]


def test_the_pull_request_workflow_runs_make_test_without_a_token() -> None:
    jobs = load_yaml(WORKFLOWS / "pull-request.yml")["jobs"]
    (job,) = [
        job
        for job in jobs.values()
        if any(str(step.get("run", "")).strip() == "make test" for step in job["steps"])
    ]
    assert job["permissions"] == {"contents": "read"}


# --- planted problems are reported -----------------------------------------------------------

# Each: (what is planted, an edit of the copy's pull-request.yml text, the rule zizmor reports,
# what actionlint reports or None).
Plant = Callable[[str], str]
_ATTACKER = "${{ github.event.pull_request.title }}"


def _once(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced once: a plant that changes nothing is a broken test."""
    assert old in text, f"{old!r} is not in the workflow"
    return text.replace(old, new, 1)


def _unpinned(text: str) -> str:
    return re.sub(r"actions/checkout@[0-9a-f]{40} # v[\d.]+", "actions/checkout@v5", text, count=1)


def _unpinned_branch(text: str) -> str:
    return re.sub(r"azure/login@[0-9a-f]{40} # v[\d.]+", "azure/login@master", text, count=1)


def _pull_request_target(text: str) -> str:
    head_job = (
        "\n  head:\n"
        "    runs-on: ubuntu-latest\n"
        "    permissions:\n"
        "      contents: read\n"
        "    steps:\n"
        "      - uses: actions/checkout@fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09 # v5.1.0\n"
        "        with:\n"
        "          ref: ${{ github.event.pull_request.head.sha }}\n"
        "          persist-credentials: false\n"
        "      - run: make test\n"
        "        env:\n"
        "          PULUMI_ACCESS_TOKEN: ${{ secrets.PULUMI_ACCESS_TOKEN }}\n"
    )
    return _once(text, "on:\n  pull_request:\n", "on:\n  pull_request_target:\n") + head_job


def _injection(field: str) -> Plant:
    def plant(text: str) -> str:
        return _once(
            text,
            "        run: make test\n",
            f'        run: |\n          echo "{field}"\n          make test\n',
        )

    return plant


def _persisted_credentials(text: str) -> str:
    return _once(
        text,
        "          path: head\n          persist-credentials: false\n",
        "          path: head\n",
    )


def _write_all(text: str) -> str:
    return _once(text, "permissions: {}\n", "permissions: write-all\n")


PLANTS: dict[str, tuple[Plant, str, str | None]] = {
    "an action pinned by tag": (_unpinned, "unpinned-uses", None),
    "an action pinned by branch": (_unpinned_branch, "unpinned-uses", None),
    "pull_request_target checking out the head with secrets": (
        _pull_request_target,
        "dangerous-triggers",
        None,
    ),
    "the pull request's title in run:": (
        _injection(_ATTACKER),
        "template-injection",
        "github.event.pull_request.title",
    ),
    "the pull request's body in run:": (
        _injection("${{ github.event.pull_request.body }}"),
        "template-injection",
        "github.event.pull_request.body",
    ),
    "the head branch name in run:": (
        _injection("${{ github.head_ref }}"),
        "template-injection",
        "github.head_ref",
    ),
    "checkout keeping the token in .git/config": (_persisted_credentials, "artipacked", None),
    "write-all permissions": (_write_all, "excessive-permissions", None),
}


@pytest.mark.parametrize("planted", sorted(PLANTS))
def test_a_planted_problem_fails_the_check_naming_the_file(planted: str, tmp_path: Path) -> None:
    plant, rule, untrusted = PLANTS[planted]
    github = _copy(tmp_path)
    workflow = github / "workflows" / "pull-request.yml"
    honest = workflow.read_text(encoding="utf-8")
    workflow.write_text(plant(honest), encoding="utf-8")
    assert workflow.read_text(encoding="utf-8") != honest, f"{planted}: nothing was planted"

    result = zizmor(github)
    output = result.stdout + result.stderr
    assert result.returncode >= 10, f"{planted}: zizmor did not fail:\n{output}"
    assert f"[{rule}]" in output, f"{planted}: zizmor did not report {rule}:\n{output}"
    assert "pull-request.yml" in output
    if untrusted is not None:
        lint = actionlint(github / "workflows")
        assert lint.returncode != 0, f"{planted}: actionlint did not fail"
        assert f'"{untrusted}" is potentially untrusted' in lint.stdout
        assert "pull-request.yml" in lint.stdout
    if planted.startswith("an action pinned"):
        assert [p for p in pin_problems(github / "workflows") if "pull-request.yml" in p]


BROKEN: dict[str, tuple[str, str, str, str]] = {
    # (file, text, replacement, what actionlint names)
    "a misspelt job key": (
        "customers.yml",
        "    runs-on: ubuntu-latest\n",
        "    run-on: ubuntu-latest\n",
        '"run-on"',
    ),
    "a context property that does not exist": (
        "sam-refresh.yml",
        'sam refresh --stack "$STACK"',
        'sam refresh --stack "${{ github.evnt.number }}"',
        '"evnt"',
    ),
    "a job that needs a job that does not exist": (
        "deploy.yml",
        "    needs: stacks\n",
        "    needs: stack\n",
        '"stack"',
    ),
}


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_a_broken_workflow_fails_the_check_naming_the_file(broken: str, tmp_path: Path) -> None:
    name, text, replacement, named = BROKEN[broken]
    github = _copy(tmp_path)
    workflow = github / "workflows" / name
    honest = workflow.read_text(encoding="utf-8")
    assert text in honest, f"{broken}: {text!r} is not in {name}"
    workflow.write_text(honest.replace(text, replacement, 1), encoding="utf-8")
    result = actionlint(github / "workflows")
    assert result.returncode != 0, f"{broken}: actionlint did not fail"
    assert name in result.stdout
    assert named in result.stdout, result.stdout
    if broken == "a misspelt job key":
        # Not a workflow by GitHub's schema: zizmor refuses it too, where it would otherwise
        # skip the file with a warning and audit the rest.
        assert zizmor(github).returncode == 1


def test_an_unpinned_action_inside_a_local_action_fails(tmp_path: Path) -> None:
    github = _copy(tmp_path)
    action = github / "actions" / "setup" / "action.yml"
    action.parent.mkdir(parents=True)
    action.write_text(
        "name: setup\n"
        "description: a local composite action\n"
        "runs:\n"
        "  using: composite\n"
        "  steps:\n"
        "    - uses: actions/setup-python@v6\n",
        encoding="utf-8",
    )
    assert pin_problems(github / "workflows") == [
        "actions/setup/action.yml:6: actions/setup-python@v6 is not pinned as "
        "owner/repo@<full commit SHA> # vX.Y.Z"
    ]
    result = zizmor(github)
    assert result.returncode >= 10
    assert "[unpinned-uses]" in result.stdout + result.stderr
    assert "action.yml" in result.stdout + result.stderr


def _plant_job(workflows: Path, name: str, edit: Callable[[dict[Any, Any]], None]) -> None:
    path = workflows / name
    workflow = load_yaml(path)
    edit(workflow)
    path.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")


def _deploy_on_pull_requests(workflow: dict[Any, Any]) -> None:
    workflow[True] = {"pull_request": None, "push": {"branches": ["main"]}}


def _live_as_deployer(workflow: dict[Any, Any]) -> None:
    live = workflow["jobs"]["live"]
    live["environment"] = DEPLOY_ENVIRONMENT
    live["env"]["ARM_CLIENT_ID"] = "${{ vars[format('DEPLOY_CLIENT_ID_{0}', matrix.region)] }}"


def _live_without_environment(workflow: dict[Any, Any]) -> None:
    del workflow["jobs"]["live"]["environment"]


def _offline_with_token(workflow: dict[Any, Any]) -> None:
    workflow["jobs"]["offline"]["permissions"]["id-token"] = "write"


def _token_for_every_job(workflow: dict[Any, Any]) -> None:
    workflow["permissions"] = {"contents": "read", "id-token": "write"}
    del workflow["jobs"]["test"]["permissions"]


def _live_provider_as_deployer(workflow: dict[Any, Any]) -> None:
    # The login stays the read-only identity's; the providers get another client id.
    workflow["jobs"]["live"]["env"]["ARM_CLIENT_ID"] = "${{ vars.AZURE_CLIENT_ID_US }}"


CREDENTIAL_PLANTS: dict[str, tuple[str, Callable[[dict[Any, Any]], None], str]] = {
    "deploy.yml triggered by pull requests": (
        "deploy.yml",
        _deploy_on_pull_requests,
        "deploy.yml: jobs.deploy reaches the deploying identity",
    ),
    "the live job as the deploying identity": (
        "pull-request.yml",
        _live_as_deployer,
        "pull-request.yml: jobs.live reaches the deploying identity",
    ),
    "the providers of the live job as another identity": (
        "pull-request.yml",
        _live_provider_as_deployer,
        "pull-request.yml: jobs.live: ARM_CLIENT_ID is",
    ),
    "the live job outside the pr-preview environment": (
        "pull-request.yml",
        _live_without_environment,
        "pull-request.yml: jobs.live may ask for an OIDC token",
    ),
    "a pull-request job with id-token: write and no identity": (
        "pull-request.yml",
        _offline_with_token,
        "pull-request.yml: jobs.offline may ask for an OIDC token",
    ),
    "id-token: write for every job of the workflow": (
        "pull-request.yml",
        _token_for_every_job,
        "pull-request.yml: jobs.test may ask for an OIDC token",
    ),
}


@pytest.mark.parametrize("planted", sorted(CREDENTIAL_PLANTS))
def test_a_write_credential_within_reach_of_a_pull_request_fails(
    planted: str, tmp_path: Path
) -> None:
    name, edit, expected = CREDENTIAL_PLANTS[planted]
    workflows = _copy(tmp_path) / "workflows"
    assert credential_problems(workflows) == []  # the honest copy passes
    _plant_job(workflows, name, edit)
    problems = credential_problems(workflows)
    assert any(problem.startswith(expected) for problem in problems), (planted, problems)
