"""Reading region stack files, and the rule that no two region stacks share a target.

A tenant id, subscription, verified domain or Key Vault name may appear in only one
``Pulumi.<stack>.yaml`` of the repository: a value copied from the EU file into the US file would
point the US stack at the EU tenant. The program checks its own stack against the others before
registering anything; a test checks every pair.

Regions are isolated (issue 28): a broken stack file fails its own region only. A file that
cannot be read is left out of the other regions' checks (its own stack reports it), and when two
files name the same target only the **newer** one is refused, naming the older: a stack file
copied from another one, or edited to take another region's value, is the one that introduced
the problem, and the region that had the value first keeps previewing and deploying. Which of
two files is newer is decided without looking at modification times (a fresh clone sets them
all at once, in no meaningful order), first rule that tells them apart:

1. git: a file with changes not committed yet (or not in git at all) is newer than a committed
   one;
2. git: the file added by the later commit is newer (the commit that last added it, so a file
   deleted and added again counts from its return);
3. the region table, ``REGIONS`` in ``components/regions.py``: the region listed later is newer
   (``us``, ``eu``, ``au``, ``ca``, ``jp``, ``uk``, ``usgov``; a stack not in the table after
   all of them, by name). This decides outside a git checkout, in a shallow clone (CI's
   default checkout has one commit) and between files added by the same commit.

git is asked only when two files do conflict, so the usual run starts no process.
``RegionFiles`` reads every stack file once and answers per stack: ``others`` (what a stack is
checked against) and ``view`` (one region, with the other regions' problems apart).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from .files import REGION_KEY, ConfigError, Problem, read_yaml
from .regions import REGIONS

# What the offline preview uses for a value it cannot decrypt (no passphrase, no cloud KMS here).
# It is marked secret like the real value, so it is never printed.
OFFLINE_SECRET_PLACEHOLDER = "offline-preview-placeholder"


@dataclass(frozen=True)
class StackFile:
    """One ``Pulumi.<stack>.yaml``: its config values and which keys are secret."""

    stack: str
    path: Path
    config: dict[str, Any]
    secret_keys: frozenset[str]


def _replace_secure(value: Any) -> tuple[Any, bool]:
    """Replace ``{secure: ...}`` leaves by a placeholder; report whether any were found."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return OFFLINE_SECRET_PLACEHOLDER, True
        found = False
        result = {}
        for key, item in value.items():
            result[key], inner = _replace_secure(item)
            found = found or inner
        return result, found
    if isinstance(value, list):
        items = [_replace_secure(item) for item in value]
        return [item for item, _ in items], any(inner for _, inner in items)
    return value, False


def _as_cli_reads(value: Any, file: str, path: str, problems: list[Problem]) -> Any:
    """A parsed value as the Pulumi CLI reads it: a YAML date or timestamp is text (the CLI hands
    it to the program as a string, not a date), and mapping keys must be strings (the engine
    passes structured values to the program as JSON objects)."""
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                problems.append(
                    Problem(file, path, f"key {key!r} is not a string; quote it in the YAML file")
                )
                continue
            result[key] = _as_cli_reads(item, file, f"{path}.{key}", problems)
        return result
    if isinstance(value, list):
        return [
            _as_cli_reads(item, file, f"{path}[{index}]", problems)
            for index, item in enumerate(value)
        ]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def stack_files(project_dir: Path) -> Iterator[Path]:
    """Every region stack file of the project, in name order."""
    yield from sorted(project_dir.glob("Pulumi.*.yaml"))


def stack_name(path: Path) -> str:
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")


def load_stack_file(path: Path) -> StackFile:
    document = read_yaml(path, under="config")
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError([Problem(path.name, "(file)", "must be a YAML mapping")])
    raw = document.get("config") or {}
    if not isinstance(raw, dict):
        raise ConfigError([Problem(path.name, "config", "must be a mapping of config keys")])
    config: dict[str, Any] = {}
    secret_keys: set[str] = set()
    problems: list[Problem] = []
    for key, value in raw.items():
        as_read = _as_cli_reads(value, path.name, str(key), problems)
        config[str(key)], secret = _replace_secure(as_read)
        if secret:
            secret_keys.add(str(key))
    if problems:
        raise ConfigError(problems)
    return StackFile(stack_name(path), path, config, frozenset(secret_keys))


def engine_config(stack_file: StackFile) -> tuple[dict[str, str], list[str]]:
    """The config as the engine hands it to a program (PULUMI_CONFIG): structured values as JSON."""
    values = {
        key: value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        for key, value in stack_file.config.items()
    }
    return values, sorted(stack_file.secret_keys)


def other_regions(project_dir: Path, stack: str) -> OtherRegions:
    """``partner-apps:region`` of the other stack files that ``stack`` is checked against.

    Left out: files that cannot be read (their own stack reports them) and newer files that
    share a target with ``stack`` (the conflict is theirs, reported in their own stack)."""
    return RegionFiles.read(project_dir).others(stack)


def _targets(raw_region: Any) -> Iterator[tuple[str, str, str]]:
    """(key path, what it is, normalised value) for every value that must be unique."""
    if not isinstance(raw_region, dict):
        return
    for key, what in (("tenantId", "tenant"), ("subscriptionId", "subscription")):
        value = raw_region.get(key)
        if isinstance(value, str):
            yield f"{REGION_KEY}.{key}", what, value.lower()
    domains = raw_region.get("verifiedDomains")
    if isinstance(domains, list):
        for index, domain in enumerate(domains):
            if isinstance(domain, str):
                yield f"{REGION_KEY}.verifiedDomains[{index}]", "verified domain", domain.lower()
    vault = raw_region.get("keyVault")
    if isinstance(vault, dict) and isinstance(vault.get("name"), str):
        yield f"{REGION_KEY}.keyVault.name", "Key Vault name", vault["name"].lower()


class OtherRegions(dict[str, Any]):
    """Stack name -> ``partner-apps:region`` of the other stack files a stack is checked against,
    and for each of them that shares a target with it why this stack's file is the newer one
    (``newer_because``): the message of the conflict says so, since the file refused is the one
    to fix."""

    def __init__(
        self,
        regions: Mapping[str, Any] | None = None,
        newer_because: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(regions or {})
        self.newer_because: dict[str, str] = dict(newer_because or {})


def uniqueness_problems(
    stack: str, raw_region: Any, other_stacks: Mapping[str, Any]
) -> list[Problem]:
    """Problems of ``stack`` whose targets also appear in another stack file of ``other_stacks``.

    ``other_stacks`` holds the stacks this one must not share a target with: from
    ``other_regions`` only the older files (a newer file that shares one is refused itself).
    """
    reasons = other_stacks.newer_because if isinstance(other_stacks, OtherRegions) else {}
    problems = []
    for path, what, value in _targets(raw_region):
        for other in sorted(other_stacks):
            if any(v == value for _, w, v in _targets(other_stacks[other]) if w == what):
                message = _shared_message(value, what, other, reasons.get(other))
                problems.append(Problem(f"Pulumi.{stack}.yaml", path, message))
    return problems


def _shared_message(value: str, what: str, other: str, why: str | None) -> str:
    return (
        f"{value!r} is also the {what} of stack {other!r} (Pulumi.{other}.yaml); each region "
        "stack must target only its own tenant and resources"
        + (f" (of the two files this one is the newer: {why})" if why else "")
    )


@dataclass(frozen=True)
class Conflict:
    """Two stack files naming one target: ``newer`` is refused, ``older`` keeps the value."""

    newer: str
    older: str
    key: str  # the key path in the newer file
    what: str
    value: str
    why: str  # why ``newer`` is the newer file

    def problem(self) -> Problem:
        """The problem, on the newer file, as its own stack reports it."""
        return Problem(
            f"Pulumi.{self.newer}.yaml",
            self.key,
            _shared_message(self.value, self.what, self.older, self.why),
        )


@dataclass(frozen=True)
class RegionView:
    """One region stack as a command for that region sees the repository.

    ``problems`` are this region's own: its file cannot be read, or it shares a target with an
    older stack file; any of them fails this region. ``others`` is what its values are checked
    against (``validate``'s ``other_stacks``). ``elsewhere`` says, one line each, what is wrong
    in other files and touches this region, for a command to print apart: none of it fails
    this region (each is the failure of its own region).
    """

    stack: str
    region: Any  # the file's ``partner-apps:region`` (None: unreadable or absent)
    problems: tuple[Problem, ...]
    others: OtherRegions
    elsewhere: tuple[str, ...]


@dataclass(frozen=True)
class RegionFiles:
    """Every region stack file of a project, read once: each readable file's
    ``partner-apps:region`` and why each other file cannot be read."""

    project_dir: Path
    regions: Mapping[str, Any]
    unreadable: Mapping[str, ConfigError] = field(default_factory=dict)

    @classmethod
    def read(cls, project_dir: Path) -> RegionFiles:
        regions: dict[str, Any] = {}
        unreadable: dict[str, ConfigError] = {}
        for path in stack_files(project_dir):
            try:
                regions[stack_name(path)] = load_stack_file(path).config.get(REGION_KEY)
            except ConfigError as error:
                unreadable[stack_name(path)] = error
        return cls(project_dir, regions, unreadable)

    @cached_property
    def _ages(self) -> _Ages:
        return _Ages.of(self.project_dir, sorted({*self.regions, *self.unreadable}))

    def conflicts(self) -> list[Conflict]:
        """Every pair of files that name one target, each reported on the newer file."""
        found: list[Conflict] = []
        stacks = sorted(self.regions)
        for index, first in enumerate(stacks):
            for second in stacks[index + 1 :]:
                found.extend(self._between(first, second))
        return found

    def _between(self, first: str, second: str) -> list[Conflict]:
        shared = [
            (what, value)
            for _, what, value in _targets(self.regions[first])
            if any(w == what and v == value for _, w, v in _targets(self.regions[second]))
        ]
        if not shared:
            return []
        newer, why = self._ages.newer(first, second)
        older = second if newer == first else first
        return [
            Conflict(newer, older, path, what, value, why)
            for path, what, value in _targets(self.regions[newer])
            if (what, value) in shared
        ]

    def others(self, stack: str) -> OtherRegions:
        """The other stacks' regions ``stack`` is checked against: every readable file but the
        newer ones that share a target with it; for the older ones that do, why this file is
        the newer."""
        result = OtherRegions()
        for other in sorted(self.regions):
            if other == stack:
                continue
            conflicts = self._between(stack, other) if stack in self.regions else []
            if conflicts and conflicts[0].newer == other:
                continue  # the conflict is the other file's: refused in its own region
            result[other] = self.regions[other]
            if conflicts:
                result.newer_because[other] = conflicts[0].why
        return result

    def view(self, stack: str) -> RegionView:
        """``stack``'s region, its own problems, and the other files' problems apart."""
        problems: list[Problem] = []
        if stack in self.unreadable:
            problems.extend(self.unreadable[stack].problems)
        elif stack not in self.regions:
            present = sorted({*self.regions, *self.unreadable})
            known = ", ".join(f"Pulumi.{name}.yaml" for name in present) or "none"
            problems.append(
                Problem(f"Pulumi.{stack}.yaml", "(file)", f"no such stack file (present: {known})")
            )
        others = self.others(stack)
        if stack in self.regions:
            problems.extend(uniqueness_problems(stack, self.regions[stack], others))
        elsewhere = [
            f"Pulumi.{other}.yaml cannot be read (region {other} fails on its own); "
            f"region {stack} is not checked against it"
            for other in sorted(self.unreadable)
            if other != stack
        ]
        for other in sorted(self.regions):
            if other == stack or other in others or stack not in self.regions:
                continue
            for conflict in self._between(stack, other):
                elsewhere.append(
                    f"{conflict.problem().file}: {conflict.key}: also names stack {stack}'s "
                    f"{conflict.what} {conflict.value!r}: refused in region {other}, the newer "
                    f"file ({conflict.why}); region {stack} keeps it"
                )
        return RegionView(stack, self.regions.get(stack), tuple(problems), others, tuple(elsewhere))


def region_view(project_dir: Path, stack: str) -> RegionView:
    """One region of the project, with the other regions' problems reported apart (``view``)."""
    return RegionFiles.read(project_dir).view(stack)


def check_all(project_dir: Path) -> list[Problem]:
    """Uniqueness problems across every stack file of the project, each on the newer file."""
    return [conflict.problem() for conflict in RegionFiles.read(project_dir).conflicts()]


# --- Which of two stack files is newer ------------------------------------------------------------

_GIT_TIMEOUT = 10.0  # seconds; git answers these in milliseconds


@dataclass(frozen=True)
class _Ages:
    """What tells two stack files' ages apart (module docstring, rules 1-3)."""

    git: bool  # a git history was read
    uncommitted: frozenset[str]  # stacks whose file differs from the last commit, or is new
    added: Mapping[str, int]  # stack -> position of the commit that added it (0: the newest)

    @classmethod
    def of(cls, project_dir: Path, stacks: Iterable[str]) -> _Ages:
        names = [f"Pulumi.{stack}.yaml" for stack in stacks]
        status = _git(project_dir, "status", "--porcelain=v1", "-z", "--", *names)
        log = _git(
            project_dir,
            "log",
            "--diff-filter=A",
            "--relative",
            "--name-only",
            "--format=%x00%H",
            "--",
            *names,
        )
        if status is None or log is None:
            return cls(False, frozenset(), {})
        changed = {Path(entry[3:]).name for entry in status.split("\0") if len(entry) > 3}
        added: dict[str, int] = {}
        for position, commit in enumerate(chunk for chunk in log.split("\0") if chunk.strip()):
            for line in commit.splitlines()[1:]:
                name = Path(line.strip()).name
                if name:
                    added.setdefault(stack_name(Path(name)), position)
        uncommitted = frozenset(
            stack_name(Path(name))
            for name in names
            if name in changed or stack_name(Path(name)) not in added
        )
        return cls(True, uncommitted, added)

    def newer(self, first: str, second: str) -> tuple[str, str]:
        """The newer of two stacks' files, and why (the first rule that tells them apart)."""
        for stack, other in ((first, second), (second, first)):
            if stack in self.uncommitted and other not in self.uncommitted:
                return stack, (
                    f"Pulumi.{stack}.yaml has changes not committed to git yet, "
                    f"Pulumi.{other}.yaml has none"
                )
        for stack, other in ((first, second), (second, first)):
            # A file git has no commit of (-1) was added after any file it has.
            if self.git and self.added.get(stack, -1) < self.added.get(other, -1):
                return stack, (
                    f"git history: Pulumi.{stack}.yaml was added after Pulumi.{other}.yaml"
                )
        history = "git does not order them" if self.git else "no git history"
        newer, older = sorted((first, second), key=_table_position)[::-1]
        if newer in REGIONS:
            order = f"region {newer!r} is listed after {older!r}"
        elif older in REGIONS:
            order = f"region {newer!r} is not listed"
        else:
            order = f"neither is listed and {newer!r} sorts after {older!r}"
        return newer, f"{history}; {order} in the region table of components/regions.py"


def _table_position(stack: str) -> tuple[int, str]:
    """Where a stack's region is in the region table; stacks not in it after all, by name."""
    positions = {region: index for index, region in enumerate(REGIONS)}
    return positions.get(stack, len(positions)), stack


def _git(project_dir: Path, *args: str) -> str | None:
    """A git command's output in ``project_dir``, or None: no git, no repository, any failure
    (rule 3 then decides alone). Never writes: no optional locks, no index refresh."""
    try:
        done = subprocess.run(
            ["git", "-c", "core.quotepath=off", "--no-pager", *args],
            cwd=project_dir,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None
