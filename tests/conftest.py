"""Shared fixtures: the example config, and temporary copies of the project to break."""

from __future__ import annotations

import copy
import gc
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from components.files import safe_load
from components.regions import REGIONS
from components.stackfiles import stack_files, stack_name

if TYPE_CHECKING:
    # Only a type here: importing the harness (the Pulumi SDK) at module level cost the xdist
    # controller, which loads this conftest but runs no test, 0.35 s before it starts the workers.
    from partner_apps.preview.recorder import StackRun

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = ("Pulumi.yaml", "apps.yaml")
# Every region stack of the project: a new region is one more Pulumi.<region>.yaml, and the
# tests that run per stack pick it up with no other file touched.
STACKS: tuple[str, ...] = tuple(stack_name(path) for path in stack_files(ROOT))
# The regions of the region table (``components/regions.py``) with no stack file here, in table
# order: what tests name when they need a stack that is absent (an unknown stack on the command
# line, a plan another branch left behind) or a new region to add to a copy. Derived, so that a
# team that adds one of them as a region never has a test take its stack for a phantom.
ABSENT_STACKS: tuple[str, ...] = tuple(region for region in REGIONS if region not in STACKS)


# azure-keyvault-secrets remembers each vault's authentication challenge (its tenant) per
# scheme://host:port for the life of the process. The loopback vaults of tests/sam listen on
# ports the system hands out, and a later test's vault can get the port an earlier test's vault
# of another tenant had: the stale challenge then asks for a token of the wrong tenant. How often
# that happens depends on which tests ran before in the same process, so with tests spread over
# several processes (pytest-xdist) it showed up as a rare failure; every test starts without.
_CHALLENGE_CACHE = "azure.keyvault.secrets._shared.http_challenge_cache"


@pytest.fixture(autouse=True)
def _fresh_key_vault_challenges() -> None:
    cache = sys.modules.get(_CHALLENGE_CACHE)
    if cache is not None:
        cache.clear()


@pytest.fixture(autouse=True, scope="session")
def _pinned_audit_time() -> Iterator[None]:
    """The audit's one run-dependent field (the time it is made, ``generatedAt``) pinned as a
    rerun pins it (``SOURCE_DATE_EPOCH``), for every test, every fixture (module-scoped previews
    included) and the processes tests start: two previews or audits of the same plans are
    byte-identical."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1795262400")
        yield


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of the project's config files (stack files, apps.yaml) to edit in a test."""
    return copy_project(tmp_path)


def stack_file_list(stacks: tuple[str, ...] = STACKS) -> str:
    """The stack files of ``stacks`` as the tools name them: ``Pulumi.eu.yaml, Pulumi.us.yaml``."""
    return ", ".join(f"Pulumi.{stack}.yaml" for stack in sorted(stacks))


def preview_args(project: Path, out: Path, *stacks: str) -> list[str]:
    """``partner-apps preview`` arguments for a copy: its plans under ``out/preview``, its
    audit under ``out/audit`` (never the checkout's build/)."""
    return [
        *stacks,
        "--project-dir",
        str(project),
        "--out",
        str(out / "preview"),
        "--audit-dir",
        str(out / "audit"),
    ]


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (relative path -> bytes): what a step wrote or left alone."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def copy_project(target: Path) -> Path:
    """Copy the project's config files (Pulumi.yaml, apps.yaml, the stack files, the generated
    policy config) into ``target``; return it."""
    for name in PROJECT_FILES:
        shutil.copy(ROOT / name, target / name)
    for path in ROOT.glob("Pulumi.*.yaml"):
        shutil.copy(path, target / path.name)
    shutil.copytree(ROOT / "policies" / "config", target / "policies" / "config")
    return target


def git_commit_all(project: Path, message: str = "the project as committed") -> None:
    """Make ``project`` a git checkout (if it is not one yet) and commit every file in it.

    Which of two stack files sharing a tenant is refused is decided by git history first
    (``components/stackfiles.py``): tests of that rule commit the copy, then change it. The
    author and dates are fixed, and nothing of the machine's git configuration applies.
    """
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "tests",
        "GIT_AUTHOR_EMAIL": "tests@example.invalid",
        "GIT_COMMITTER_NAME": "tests",
        "GIT_COMMITTER_EMAIL": "tests@example.invalid",
        "GIT_AUTHOR_DATE": "2026-11-21T12:00:00Z",
        "GIT_COMMITTER_DATE": "2026-11-21T12:00:00Z",
    }
    for command in (
        ["git", "init", "--quiet", "--initial-branch=main"],
        ["git", "add", "--all"],
        ["git", "commit", "--quiet", "--allow-empty", "--message", message],
    ):
        subprocess.run(command, cwd=project, env=env, check=True, capture_output=True)


# libyaml's dumper where PyYAML has it, and the project's libyaml loader
# (``components.files.safe_load``): the pure-Python ones took a fifth of the bad-input suite's time.
_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@cache
def _committed_run(stack: str) -> StackRun:
    # Imported here, not at the top: the xdist controller loads this conftest too (see above).
    from partner_apps.preview.build import run_stack

    run = run_stack(ROOT, stack)
    assert run.error is None, f"Pulumi.{stack}.yaml: the committed stack does not run: {run.error}"
    return run


def committed_run(stack: str) -> StackRun:
    """The program's run of the committed ``Pulumi.<stack>.yaml``, as ``pulumi up`` runs it.

    Run once per test process for every test that only reads it (a run is about 0.1 s); each
    call returns a deep copy, so what one test does with its copy no other test sees. Tests of
    the run itself (two runs agree, a run leaves nothing behind) make their own runs.
    """
    return copy.deepcopy(_committed_run(stack))


def load_yaml(path: Path) -> Any:
    return safe_load(path.read_text(encoding="utf-8"))


def by_urn(run: StackRun) -> list[dict[str, Any]]:
    """A run's registrations in URN order: what is registered, whatever order it came in."""
    return sorted(run.resources, key=lambda record: str(record["urn"]))


def edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    """Apply ``change`` to the parsed YAML document and write it back."""
    document = load_yaml(path)
    change(document)
    text = yaml.dump(document, Dumper=_DUMPER, sort_keys=False, allow_unicode=False)
    path.write_text(text, encoding="utf-8")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze the heap collection built (every imported module, every test item) out of the
    cyclic collector's reach: each full collection then scans only what tests allocate since.
    Full collections took about a second of each worker's 25 before (docs/benchmark.md).

    Then make full collections ten times rarer. With the heap frozen, CPython's rule that holds
    one back until the survivors have grown by a quarter no longer holds back any, and one
    followed every tenth middle-generation collection: 13 to 18 a worker, 0.2 to 0.8 s. The
    young generations keep their thresholds, so short-lived cycles go as soon as before; a
    worker's peak memory stayed at about 170 MB.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 100)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Run the tests that start mypy on the project's own cache last.

    ``make test`` runs ``make typecheck`` beside pytest; on a fresh clone that mypy fills the
    cache in its first 10-15 s. Started earlier, the test's mypy analysed the provider SDKs a
    second time at once (about 4 s cold, 0.3 s warm); last, it finds them cached. Either way it
    checks the same thing.
    """
    late = [item for item in items if item.get_closest_marker("uses_mypy_cache")]
    items[:] = [item for item in items if item not in late] + late
