"""Reading region stack files, and the rule that no two region stacks share a target.

A tenant id, subscription, verified domain or Key Vault name may appear in only one
``Pulumi.<stack>.yaml`` of the repository: a value copied from the EU file into the US file would
point the US stack at the EU tenant. The program checks its own stack against the others before
registering anything; a test checks every pair.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .files import REGION_KEY, ConfigError, Problem, read_yaml

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


def other_regions(project_dir: Path, stack: str) -> dict[str, Any]:
    """``partner-apps:region`` of every other stack file (unparsable files are skipped here:
    their own stack reports them)."""
    result: dict[str, Any] = {}
    for path in stack_files(project_dir):
        name = stack_name(path)
        if name == stack:
            continue
        try:
            result[name] = load_stack_file(path).config.get(REGION_KEY)
        except ConfigError:
            continue
    return result


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


def uniqueness_problems(
    stack: str, raw_region: Any, other_stacks: Mapping[str, Any]
) -> list[Problem]:
    """Problems of ``stack`` whose targets also appear in another stack file."""
    problems = []
    for path, what, value in _targets(raw_region):
        for other in sorted(other_stacks):
            if any(v == value for _, w, v in _targets(other_stacks[other]) if w == what):
                problems.append(
                    Problem(
                        f"Pulumi.{stack}.yaml",
                        path,
                        f"{value!r} is also the {what} of stack {other!r} (Pulumi.{other}.yaml); "
                        "each region stack must target only its own tenant and resources",
                    )
                )
    return problems


def check_all(project_dir: Path) -> list[Problem]:
    """Uniqueness problems across every stack file of the project."""
    regions = {
        stack_name(path): load_stack_file(path).config.get(REGION_KEY)
        for path in stack_files(project_dir)
    }
    problems = []
    for stack, raw in regions.items():
        others = {name: value for name, value in regions.items() if name != stack}
        problems.extend(uniqueness_problems(stack, raw, others))
    return problems
