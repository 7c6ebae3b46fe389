"""Config file primitives shared by the config models and the stack-file readers.

The config keys a stack file may carry, the ``Problem``/``ConfigError`` pair every validation step
reports through (one line per problem: file, key path, rule), and YAML reading that turns a syntax
error into such a problem instead of a stack trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

NAMESPACE = "partner-apps"
REGION_KEY = f"{NAMESPACE}:region"
REFRESH_TOKENS_KEY = f"{NAMESPACE}:refreshTokens"
DISABLE_DEFAULT_PROVIDERS_KEY = "pulumi:disable-default-providers"
APPS_FILE = "apps.yaml"


@dataclass(frozen=True)
class Problem:
    """One config problem: file, key path and the rule it breaks."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}"


class ConfigError(Exception):
    """Invalid configuration; carries every problem found, one line each."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        header = f"invalid configuration ({count} problem{'s' if count != 1 else ''}):"
        super().__init__("\n".join([header, *(f"  {problem}" for problem in self.problems)]))


_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a syntax error becomes a ConfigError naming the file and line."""
    try:
        # The C loader (libyaml, in the pinned PyYAML wheels) parses the same YAML ~8x faster.
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except FileNotFoundError:
        raise ConfigError([Problem(path.name, "(file)", "file not found")]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        reason = getattr(error, "problem", None) or str(error)
        raise ConfigError([Problem(path.name, where, f"not valid YAML: {reason}")]) from None
