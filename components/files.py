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


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` on libyaml's safe loader where PyYAML has it (the pinned wheels do):
    the same documents and the same ``yaml.YAMLError``s, about eight times faster than the
    pure-Python loader ``yaml.safe_load`` uses. For files the customer-side commands read whole;
    the program's config goes through ``read_yaml``."""
    return yaml.load(text, Loader=_SAFE_LOADER)


class _Loader(_SAFE_LOADER):  # type: ignore[valid-type,misc]
    """The safe loader (libyaml when available) that refuses a mapping key defined twice.

    PyYAML keeps the last of two equal keys without a word: a second app definition or a second
    ``tenantId`` would silently win. ``construct_mapping`` is the guard for every mapping; the
    file-level reader walks the node tree first to name the key path and both lines.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        duplicate = _first_duplicate(node)
        if duplicate is not None:
            first, second = duplicate
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {second.value!r} is defined twice (lines {first.start_mark.line + 1} and "
                f"{second.start_mark.line + 1})",
                second.start_mark,
            )
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def _first_duplicate(node: yaml.MappingNode) -> tuple[yaml.Node, yaml.Node] | None:
    seen: dict[tuple[str, Any], yaml.Node] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        identity = (key_node.tag, key_node.value)
        if identity in seen:
            return seen[identity], key_node
        seen[identity] = key_node
    return None


def _key_path(parts: Sequence[str | int]) -> str:
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else (part or '""')
    return path


def _duplicate_keys(root: yaml.Node, file: str, under: str | None) -> list[Problem]:
    """Every key defined twice in its mapping, by key path, naming both lines."""
    problems: list[Problem] = []
    visited: set[int] = set()
    pending: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(root, ())]
    while pending:
        node, parts = pending.pop()
        if id(node) in visited:  # an alias of a node already walked
            continue
        visited.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            pending.extend((item, (*parts, index)) for index, item in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            lines: dict[tuple[str, Any], int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                line = key_node.start_mark.line + 1
                here = (*parts, str(key_node.value))
                identity = (key_node.tag, key_node.value)
                if key_node.tag != "tag:yaml.org,2002:merge" and identity in lines:
                    shown = here[1:] if under is not None and here[:1] == (under,) else here
                    problems.append(
                        Problem(
                            file,
                            _key_path(shown),
                            f"is defined twice (lines {lines[identity]} and {line}); YAML keeps "
                            "only the last one, silently: remove or merge one of them",
                        )
                    )
                lines.setdefault(identity, line)
                pending.append((value_node, here))
    return sorted(problems, key=lambda problem: problem.key)


def _decode(data: bytes, file: str) -> str:
    """The file's text: UTF-8, with or without a byte order mark; anything else is refused."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            detail = "it is UTF-16 (its byte order mark says so)"
        else:
            line = data[: error.start].count(b"\n") + 1
            detail = (
                f"byte 0x{data[error.start]:02x} at offset {error.start} (line {line}) is not "
                "valid UTF-8, as in a file saved as Latin-1 or Windows-1252"
            )
        raise ConfigError(
            [Problem(file, "(file)", f"is not UTF-8: {detail}; save the file as UTF-8")]
        ) from None


def read_yaml(path: Path, *, under: str | None = None) -> Any:
    """Parse a YAML file; a syntax error, a file that is not UTF-8 or a key defined twice
    becomes a ConfigError naming the file and line (or key path) instead of a stack trace.

    ``under``: a top-level key that key paths in messages start below (``config`` in a stack
    file, whose messages name ``partner-apps:region.tenantId``).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([Problem(path.name, "(file)", "file not found")]) from None
    except IsADirectoryError:
        raise ConfigError([Problem(path.name, "(file)", "is a directory, not a file")]) from None
    except OSError as error:  # no permission, an I/O error: still the file's problem, by name
        reason = error.strerror or type(error).__name__
        raise ConfigError([Problem(path.name, "(file)", f"cannot be read ({reason})")]) from None
    # The C loader (libyaml, in the pinned PyYAML wheels) parses the same YAML ~8x faster.
    loader = _Loader(_decode(data, path.name))
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        duplicates = _duplicate_keys(node, path.name, under)
        if duplicates:
            raise ConfigError(duplicates)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        reason = getattr(error, "problem", None) or str(error)
        raise ConfigError([Problem(path.name, where, f"not valid YAML: {reason}")]) from None
    finally:
        loader.dispose()
