"""Config file primitives shared by the config models and the stack-file readers.

The config keys a stack file may carry, the ``Problem``/``ConfigError`` pair every validation step
reports through (one line per problem: file, key path, rule), and the one safe way to read a
project file: ``read_yaml`` for the stack files, ``apps.yaml`` and ``customers/<stack>.yaml``,
``read_regular_file`` for the files they name (certificates).

What a hostile file cannot do here (issue 28):

* leave the repository: a file (or a folder above it) that is a symbolic link leading outside
  the project is refused, and so is anything but a regular file (a named pipe would block the
  read, a device never ends);
* be large: a file is read up to a cap and refused beyond it;
* attack the YAML reader: anchors and aliases (a "billion laughs" alias bomb expands a few
  hundred bytes into billions of values, and every walk over the result hangs), nesting deeper
  than a cap (3,000 levels end in a RecursionError), tags outside the YAML core schema
  (``!!set``, ``!!binary``, ``!!omap``, ``!!python/...``: values the config cannot hold) and
  merge keys (``<<``: two of them silently keep one value) are refused before a single node is
  built, each naming the file, the line and the rule;
* end in a stack trace: a value that does not fit its type (``2026-13-45``, an integer of
  thousands of digits) is a problem naming its line, like a syntax error.

"The core schema" here means what the YAML 1.2 core schema can express: strings, integers,
floats, booleans, null, sequences and mappings. Those seven are the only *explicit* tags
accepted, on the kind of node they belong to and with a value of their type. Untagged values
are still resolved the way PyYAML's safe loader (YAML 1.1) always resolved them here, which
includes unquoted dates (``rotationDate: 2026-10-01`` is a date the models expect) and the
YAML 1.1 booleans the models refuse with their own message (``region: no``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import yaml

NAMESPACE = "partner-apps"
REGION_KEY = f"{NAMESPACE}:region"
REFRESH_TOKENS_KEY = f"{NAMESPACE}:refreshTokens"
DISABLE_DEFAULT_PROVIDERS_KEY = "pulumi:disable-default-providers"
APPS_FILE = "apps.yaml"
# The Pulumi project file: the folder holding it is the repository a config file belongs to.
PROJECT_FILE = "Pulumi.yaml"

# The largest config file read. apps.yaml with 100 apps (the scale benchmark's size) is about
# 80 KB; 2 MiB holds some 2,500 apps or 50,000 customer tenant ids and still parses in about a
# second, while a file of gigabytes (or a device that never ends) is refused before it is read.
MAX_YAML_BYTES: Final = 2 * 1024 * 1024
# How deep mappings and lists may nest. The deepest path of the project's files is 6 levels
# (config > partner-apps:region > keyVault > secretsOfficers > [0] > principalId); 32 leaves
# room for any hand-written file, far below where the recursive constructors and validators of
# PyYAML and pydantic would exhaust the stack (3,000 levels did).
MAX_YAML_DEPTH: Final = 32

_CORE: Final = "tag:yaml.org,2002:"
_MERGE_TAG: Final = f"{_CORE}merge"
# The YAML 1.2 core schema's tags, and the kind of node each belongs on.
_SCALAR_TAGS: Final = frozenset(
    f"{_CORE}{name}" for name in ("str", "int", "float", "bool", "null")
)
_COLLECTION_TAGS: Final[dict[type[yaml.Event], tuple[str, str]]] = {
    yaml.MappingStartEvent: (f"{_CORE}map", "a mapping"),
    yaml.SequenceStartEvent: (f"{_CORE}seq", "a list"),
}
# What an untagged value that looks like one of these types is called in a message.
_TYPE_NAMES: Final = {
    f"{_CORE}timestamp": "a date",
    f"{_CORE}int": "an integer",
    f"{_CORE}float": "a number",
    f"{_CORE}bool": "a boolean",
}
_CORE_TAGS_SHOWN: Final = "!!str, !!int, !!float, !!bool, !!null, !!seq and !!map"
# ``!`` is YAML's non-specific tag: "resolve this as if untagged" (a plain string, list or map).
_NON_SPECIFIC_TAG: Final = "!"


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


# --- Reading a file of the repository ------------------------------------------------------------


class FileRefusedError(Exception):
    """A project file that cannot or must not be read; ``reason`` completes "<file> ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def project_root(path: Path) -> Path:
    """The repository ``path`` belongs to: the nearest folder above it that holds the Pulumi
    project file (``customers/us.yaml`` belongs to the folder above ``customers``), else the
    file's own folder. Looked up on the path as given, before any symbolic link is followed."""
    start = path.absolute().parent
    for folder in (start, *start.parents):
        candidate = folder / PROJECT_FILE
        if candidate.exists() or candidate.is_symlink():
            return folder
    return start


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), whose read would wait for a writer"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def _open_for_reading(path: Path) -> int:
    """A descriptor of ``path`` for reading. Non-blocking, so that opening a named pipe returns
    at once (its type is then refused) instead of waiting for a writer that never comes."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    return os.open(path, flags | getattr(os, "O_CLOEXEC", 0))


def read_regular_file(path: Path, *, limit: int, root: Path | None = None) -> bytes:
    """The bytes of ``path``, a regular file of the repository of at most ``limit`` bytes.

    A symbolic link is followed only while it stays inside ``root`` (default: ``project_root``):
    a link within the repository is fine, one that leads out is refused, so a checkout cannot be
    made to read (and send to Entra, or print in an error) a file of the machine it runs on.
    Raises ``FileRefusedError`` with the reason.
    """
    base = project_root(path) if root is None else root
    try:
        resolved = path.resolve()
        inside = resolved.is_relative_to(base.resolve())
    except (OSError, RuntimeError) as error:  # a symbolic link loop (RuntimeError on 3.11)
        raise FileRefusedError(f"cannot be resolved ({error})") from None
    if not inside:
        raise FileRefusedError(
            "is a symbolic link (or lies under one) that leads outside the repository, to "
            f"{str(resolved)!r}; commit the file itself"
        )
    try:
        descriptor = _open_for_reading(path)
    except FileNotFoundError:
        raise FileRefusedError("file not found") from None
    except IsADirectoryError:
        raise FileRefusedError("is a directory, not a file") from None
    except OSError as error:  # no permission, an I/O error: still the file's problem, by name
        raise FileRefusedError(
            f"cannot be read ({error.strerror or type(error).__name__})"
        ) from None
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise FileRefusedError("is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise FileRefusedError(f"is not a regular file: it is {_file_kind(mode)}")
    except BaseException:
        os.close(descriptor)
        raise
    with os.fdopen(descriptor, "rb") as handle:
        return _read_limited(handle, limit)


def _read_limited(handle: IO[bytes], limit: int) -> bytes:
    try:
        data = handle.read(limit + 1)  # one byte more tells a file at the cap from a larger one
    except OSError as error:
        raise FileRefusedError(
            f"cannot be read ({error.strerror or type(error).__name__})"
        ) from None
    if len(data) > limit:
        raise FileRefusedError(
            f"is larger than {limit:,} bytes, the most a file of this kind may hold (no "
            "config file or certificate of the project comes near it); it is not read"
        )
    return data


# --- YAML ----------------------------------------------------------------------------------------

_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` on libyaml's safe loader where PyYAML has it (the pinned wheels do):
    the same documents and the same ``yaml.YAMLError``s, about eight times faster than the
    pure-Python loader ``yaml.safe_load`` uses. For files the project writes itself (the audit
    pack, benchmark copies); config a person writes goes through ``read_yaml``."""
    return yaml.load(text, Loader=_SAFE_LOADER)


class RefusedYAMLError(yaml.MarkedYAMLError):
    """YAML that parses but that the project refuses (an alias, a deep nest, a foreign tag...):
    ``problem`` is the rule, ``problem_mark`` where it is broken."""


def _refuse(event: Any, rule: str) -> RefusedYAMLError:
    return RefusedYAMLError(None, None, rule, event.start_mark)


def _shown_tag(tag: str) -> str:
    return f"!!{tag.removeprefix(_CORE)}" if tag.startswith(_CORE) else tag


def _resolve(loader: yaml.SafeLoader, value: str, implicit: tuple[bool, bool]) -> str:
    """The tag PyYAML's resolver gives an untagged scalar (what the composer would give it)."""
    return loader.resolve(yaml.ScalarNode, value, implicit)  # type: ignore[no-untyped-call,no-any-return]


_ANCHORS_RULE: Final = (
    "anchors and aliases are not accepted in the project's config files (none of them needs "
    "one, and aliases let a few hundred bytes expand into billions of values); write the value "
    "out where it is used"
)


def _tag_problem(event: Any, loader: yaml.SafeLoader) -> str | None:
    """Why the explicit tag of ``event`` is refused, or ``None`` (untagged, ``!`` or a core tag
    on its own kind of node with a value of its type)."""
    tag: str | None = getattr(event, "tag", None)
    if tag is None or tag == _NON_SPECIFIC_TAG:
        return None
    shown = _shown_tag(tag)
    collection_tags = {own for own, _ in _COLLECTION_TAGS.values()}
    if tag not in _SCALAR_TAGS and tag not in collection_tags:
        return (
            f"tag {shown!r} is not accepted: only the YAML core schema's {_CORE_TAGS_SHOWN} "
            "are (a set, binary data, an ordered map or a language object cannot be config); "
            "remove the tag"
        )
    collection = _COLLECTION_TAGS.get(type(event))
    if collection is not None:
        own, what = collection
        return None if tag == own else f"tag {shown!r} does not fit {what}"
    if tag in collection_tags:
        return f"tag {shown!r} does not fit a single value"
    value: str = event.value
    resolved = _resolve(loader, value, (True, False))
    fits = tag in (resolved, f"{_CORE}str") or (tag, resolved) == (f"{_CORE}float", f"{_CORE}int")
    if not fits:
        return (
            f"{_excerpt(value)!r} is not a valid {shown}; write a value of that type or drop "
            "the tag"
        )
    return None


def _excerpt(value: str, width: int = 40) -> str:
    return value if len(value) <= width else f"{value[:width]}..."


def _structure_problem(event: Any, depth: int, loader: yaml.SafeLoader) -> str | None:
    """Why ``event`` (at nesting ``depth``, itself included) is refused, or ``None``."""
    kind = type(event)
    if kind is yaml.AliasEvent:
        return f"alias '*{event.anchor}': {_ANCHORS_RULE}"
    anchor = getattr(event, "anchor", None)
    if anchor is not None:
        return f"anchor '&{anchor}': {_ANCHORS_RULE}"
    if depth > MAX_YAML_DEPTH:
        return (
            f"mappings and lists nest more than {MAX_YAML_DEPTH} levels deep; the project's "
            "files need 6: flatten the document"
        )
    if (
        kind is yaml.ScalarEvent
        and event.tag in (None, _NON_SPECIFIC_TAG)
        and _resolve(loader, event.value, event.implicit) == _MERGE_TAG
    ):
        return (
            "merge key '<<' is not accepted: it copies the keys of another mapping and, given "
            "twice, silently keeps one value; write the keys out (quote '<<' if it is meant as "
            "text)"
        )
    return _tag_problem(event, loader)


def _check_events(text: str | bytes, loader: yaml.SafeLoader) -> None:
    """Refuse what the project's files never need and a hostile file uses, on the parser's event
    stream, before any node is composed: the checks stop at the first offending event, so an
    alias bomb or a million-level nest costs no more than reading up to it."""
    parser = _SAFE_LOADER(text)
    try:
        depth = 0
        while True:
            event: Any = parser.get_event()  # type: ignore[no-untyped-call]
            kind = type(event)
            if kind is yaml.StreamEndEvent:
                return
            if kind in (yaml.MappingStartEvent, yaml.SequenceStartEvent):
                depth += 1
            elif kind in (yaml.MappingEndEvent, yaml.SequenceEndEvent):
                depth -= 1
            problem = _structure_problem(event, depth, loader)
            if problem is not None:
                raise _refuse(event, problem)
    finally:
        parser.dispose()


class _Loader(_SAFE_LOADER):  # type: ignore[valid-type,misc]
    """The safe loader (libyaml when available) with the project's rules, whoever calls it
    (``read_yaml``, or ``yaml.load(text, Loader=_Loader)``):

    * the event checks above run before the document is composed (``get_single_node``);
    * a mapping key defined twice is refused: PyYAML keeps the last of two equal keys without a
      word, so a second app definition or a second ``tenantId`` would silently win
      (``construct_mapping`` is the guard for every mapping; the file-level reader walks the
      node tree first to name the key path and both lines);
    * a value that does not fit the type it resolved to (``2026-13-45`` looks like a date, an
      integer of 5,000 digits exceeds Python's limit) is a ``RefusedYAMLError`` at its line,
      not the ``ValueError`` PyYAML lets through.
    """

    def __init__(self, stream: str | bytes | IO[str] | IO[bytes]) -> None:
        # The event checks parse the text a second time, so a file object is read here once.
        text = stream if isinstance(stream, str | bytes) else stream.read()
        super().__init__(text)
        self._text = text

    def get_single_node(self) -> yaml.Node | None:
        _check_events(self._text, self)
        return super().get_single_node()  # type: ignore[no-any-return]

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as error:
            shown = _excerpt(str(node.value)) if isinstance(node, yaml.ScalarNode) else "the value"
            what = _TYPE_NAMES.get(node.tag, _shown_tag(node.tag))
            raise _refuse(
                node,
                f"{shown!r} reads as {what} but is not a valid one ({error}); quote it if it is "
                "text",
            ) from None

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
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
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
    pending: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(root, ())]
    while pending:  # a tree: the event checks refused every alias
        node, parts = pending.pop()
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
                if identity in lines:
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


def _yaml_problem(error: yaml.YAMLError, file: str, text: str) -> Problem:
    mark = getattr(error, "problem_mark", None)
    where = f"line {mark.line + 1}" if mark is not None else "(file)"
    position = getattr(error, "position", None)  # a ReaderError (a control character) has no mark
    if mark is None and isinstance(position, int):
        where = f"line {text[:position].count(chr(10)) + 1}"
    reason = getattr(error, "problem", None) or str(error)
    if isinstance(error, RefusedYAMLError):
        return Problem(file, where, reason)
    return Problem(file, where, f"not valid YAML: {reason}")


def read_yaml(path: Path, *, under: str | None = None) -> Any:
    """Parse a config file of the repository; every problem becomes a ConfigError naming the
    file and the line (or key path), never a stack trace: a file that is missing, not a regular
    file, a symbolic link out of the repository or larger than ``MAX_YAML_BYTES``; a file that
    is not UTF-8; a syntax error; anchors, aliases, deep nesting, tags outside the core schema
    and merge keys (see the module docstring); a key defined twice; a value that does not fit
    its type.

    ``under``: a top-level key that key paths in messages start below (``config`` in a stack
    file, whose messages name ``partner-apps:region.tenantId``).
    """
    try:
        data = read_regular_file(path, limit=MAX_YAML_BYTES)
    except FileRefusedError as refused:
        raise ConfigError([Problem(path.name, "(file)", refused.reason)]) from None
    text = _decode(data, path.name)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        duplicates = _duplicate_keys(node, path.name, under)
        if duplicates:
            raise ConfigError(duplicates)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise ConfigError([_yaml_problem(error, path.name, text)]) from None
    finally:
        loader.dispose()
