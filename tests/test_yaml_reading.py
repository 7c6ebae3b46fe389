"""Reading YAML files (components.files.read_yaml): what PyYAML alone would let through."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import pytest

from components import files
from components.files import ConfigError, read_yaml


def _problems(path: Path, **kwargs: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        read_yaml(path, **kwargs)
    return [str(problem) for problem in caught.value.problems]


def test_keys_defined_twice_are_named_by_path_and_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.us.yaml"
    path.write_text(
        "config:\n"
        "  partner-apps:region:\n"
        "    tenantId: a\n"
        "    owners:\n"
        "      - {id: 1, id: 2}\n"
        "    tenantId: b\n",
        encoding="utf-8",
    )
    assert _problems(path, under="config") == [
        "Pulumi.us.yaml: partner-apps:region.owners[0].id: is defined twice (lines 5 and 5); "
        "YAML keeps only the last one, silently: remove or merge one of them",
        "Pulumi.us.yaml: partner-apps:region.tenantId: is defined twice (lines 3 and 6); "
        "YAML keeps only the last one, silently: remove or merge one of them",
    ]


def test_equal_text_of_different_types_is_not_a_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "apps.yaml"
    path.write_text('1: number\n"1": text\n', encoding="utf-8")
    assert read_yaml(path) == {1: "number", "1": "text"}


def test_the_constructor_refuses_duplicates_too() -> None:
    """The loader class itself refuses them, whoever calls it (yaml.load with it)."""
    import yaml

    from components.files import _Loader

    with pytest.raises(yaml.constructor.ConstructorError, match="defined twice"):
        yaml.load("a: 1\na: 2\n", Loader=_Loader)  # a SafeLoader subclass


def test_the_loader_class_applies_the_hostile_yaml_rules_too() -> None:
    """``yaml.load(text, Loader=_Loader)`` refuses an alias as ``read_yaml`` does."""
    import yaml

    from components.files import RefusedYAMLError, _Loader

    with pytest.raises(RefusedYAMLError, match="anchors and aliases are not accepted"):
        yaml.load("a: &x [1]\nb: *x\n", Loader=_Loader)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "apps.yaml"
    path.write_bytes(b"\xef\xbb\xbfapps: {}\n")
    assert read_yaml(path) == {"apps": {}}


def test_latin1_is_refused_with_the_byte_offset_and_line(tmp_path: Path) -> None:
    path = tmp_path / "apps.yaml"
    path.write_bytes("# ok\nname: caf\u00e9\n".encode("latin-1"))
    assert _problems(path) == [
        "apps.yaml: (file): is not UTF-8: byte 0xe9 at offset 14 (line 2) is not valid UTF-8, "
        "as in a file saved as Latin-1 or Windows-1252; save the file as UTF-8"
    ]


def test_utf16_is_named(tmp_path: Path) -> None:
    path = tmp_path / "apps.yaml"
    path.write_bytes("apps: {}\n".encode("utf-16"))
    assert "is not UTF-8: it is UTF-16" in _problems(path)[0]


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "apps.yaml").mkdir()
    assert _problems(tmp_path / "apps.yaml") == ["apps.yaml: (file): is a directory, not a file"]


def test_a_file_that_cannot_be_opened_is_named_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No permission (the tests run as root, so chmod cannot show it): a ConfigError naming the
    file, which the program and the customer-side commands both report as such."""
    path = tmp_path / "apps.yaml"
    path.write_text("apps: {}\n", encoding="utf-8")

    def refused(path: Path) -> int:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(files, "_open_for_reading", refused)
    assert _problems(path) == ["apps.yaml: (file): cannot be read (Permission denied)"]


# --- Hostile YAML (issue 28): refused before anything is built, naming the line and the rule ----

BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)
ANCHORS = "anchors and aliases are not accepted"
DEEP = "nest more than 32 levels deep"
TAG = "is not accepted: only the YAML core schema's"
MERGE = "merge key '<<' is not accepted"


def _nested_block_mappings(depth: int) -> str:
    return "".join(f"{'  ' * level}k{level}:\n" for level in range(depth)) + "  " * depth + "v\n"


def _nested_block_sequences(depth: int) -> str:
    return "".join(f"{'  ' * level}-\n" for level in range(depth)) + "  " * depth + "v\n"


def _nested_lists(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth - 1):
        value = [value]
    return value


HOSTILE = {
    "billion-laughs": (BILLION_LAUGHS, 1, f"anchor '&a': {ANCHORS}"),
    "alias-bomb-in-one-flow-line": ("x: [&a [1, 2], [*a, *a], [*a, *a]]\n", 1, ANCHORS),
    "alias-bomb-of-mappings": (
        "a: &a {x: 1, y: 1}\nb: &b {p: *a, q: *a}\nc: {p: *b, q: *b}\n",
        1,
        ANCHORS,
    ),
    "anchor-on-a-scalar-alone": ("a: 1\nb: &tenant 3f6b\n", 2, "anchor '&tenant'"),
    "alias-of-an-undefined-anchor": ("a: *nowhere\n", 1, "alias '*nowhere'"),
    "3000-deep-flow-sequences": ("a: " + "[" * 3000 + "]" * 3000 + "\n", 1, DEEP),
    "3000-deep-flow-mappings": ("a: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", 1, DEEP),
    "deep-block-mappings": (_nested_block_mappings(40), 33, DEEP),
    "deep-block-sequences": (_nested_block_sequences(40), 33, DEEP),
    "deep-lists-in-mappings-in-lists": (
        "a:\n  - b:\n      c: " + "[" * 40 + "]" * 40 + "\n",
        3,
        DEEP,
    ),
    "set-tag": ("a: !!set {x, y}\n", 1, f"tag '!!set' {TAG}"),
    "binary-tag": ("a: !!binary aGVsbG8=\n", 1, f"tag '!!binary' {TAG}"),
    "omap-tag": ("a: !!omap [x: 1, y: 2]\n", 1, f"tag '!!omap' {TAG}"),
    "pairs-tag": ("a: !!pairs [x: 1]\n", 1, f"tag '!!pairs' {TAG}"),
    "timestamp-tag": ("a: !!timestamp 2026-10-01\n", 1, f"tag '!!timestamp' {TAG}"),
    "python-object-tag": (
        "a: !!python/object/apply:os.system ['id']\n",
        1,
        f"tag '!!python/object/apply:os.system' {TAG}",
    ),
    "python-name-tag": ("a: !!python/name:os.system ''\n", 1, "'!!python/name:os.system'"),
    "explicit-merge-tag": ("a:\n  !!merge x: {b: 1}\n", 2, f"tag '!!merge' {TAG}"),
    "local-tag": ("a: !Ref tenant\n", 1, f"tag '!Ref' {TAG}"),
    "tag-handle-redefined": (
        "%TAG !! tag:example.com,2000:\n---\na: !!str x\n",
        3,
        f"tag 'tag:example.com,2000:str' {TAG}",
    ),
    "core-map-tag-on-a-value": ("a: !!map x\n", 1, "tag '!!map' does not fit a single value"),
    "core-seq-tag-on-a-mapping": ("a: !!seq {x: 1}\n", 1, "tag '!!seq' does not fit a mapping"),
    "core-str-tag-on-a-list": ("a: !!str [x]\n", 1, "tag '!!str' does not fit a list"),
    "int-tag-on-text": ("a: !!int xyz\n", 1, "'xyz' is not a valid !!int"),
    "null-tag-on-text": ("a: !!null tenant\n", 1, "'tenant' is not a valid !!null"),
    "bool-tag-on-text": ("a: !!bool maybe\n", 1, "'maybe' is not a valid !!bool"),
    "merge-key": ("a:\n  <<: {x: 1}\n  y: 2\n", 2, MERGE),
    "two-merge-keys": ("a:\n  <<: {x: 1}\n  <<: {x: 2}\n", 2, MERGE),
    "merge-key-in-a-list-item": ("a:\n  - b: 1\n    <<: {c: 2}\n", 3, MERGE),
    "merge-key-with-the-non-specific-tag": ("a:\n  ! <<: {x: 1}\n", 2, MERGE),
    "a-date-that-does-not-exist": ("a: 2026-13-45\n", 1, "reads as a date but is not a valid one"),
    "a-time-zone-beyond-a-day": (
        "a: 2026-01-01 10:00:00 +25:00\n",
        1,
        "reads as a date but is not a valid one",
    ),
    "an-integer-of-5000-digits": ("a: " + "9" * 5000 + "\n", 1, "reads as an integer but is not"),
    "a-nul-character": ("a: b\nc: \x00\n", 2, "control characters are not allowed"),
}


@pytest.mark.parametrize(("text", "line", "rule"), HOSTILE.values(), ids=list(HOSTILE))
def test_hostile_yaml_is_refused_naming_the_line_and_rule(
    tmp_path: Path, text: str, line: int, rule: str
) -> None:
    path = tmp_path / "apps.yaml"
    path.write_text(text, encoding="utf-8")
    (problem,) = _problems(path)
    assert problem.startswith(f"apps.yaml: line {line}: "), problem
    assert rule in problem, problem


HONEST = {
    "a-byte-order-mark": ("\ufeffa: 1\n", {"a": 1}),
    "a-quoted-merge-key-is-text": ("'<<': 1\n", {"<<": 1}),
    "ampersands-and-stars-in-text": ("a: 'x &y *z'\nb: \"*c\"\n", {"a": "x &y *z", "b": "*c"}),
    "core-tags-on-their-own-kind": (
        "a: !!str 12\nb: !!int '7'\nc: !!float 1\nd: !!null ~\ne: !!bool true\n"
        "f: !!seq [1]\ng: !!map {x: 1}\nh: !<tag:yaml.org,2002:str> 3\n",
        {
            "a": "12",
            "b": 7,
            "c": 1.0,
            "d": None,
            "e": True,
            "f": [1],
            "g": {"x": 1},
            "h": "3",
        },
    ),
    "an-unquoted-date-stays-a-date": ("a: 2026-10-01\n", {"a": date(2026, 10, 1)}),
    "32-levels-of-nesting": ("a: " + "[" * 31 + "]" * 31 + "\n", {"a": _nested_lists(31)}),
}


@pytest.mark.parametrize(("text", "expected"), HONEST.values(), ids=list(HONEST))
def test_honest_yaml_is_read_as_before(tmp_path: Path, text: str, expected: object) -> None:
    path = tmp_path / "apps.yaml"
    path.write_text(text, encoding="utf-8")
    assert read_yaml(path) == expected


def test_the_alias_bomb_costs_nothing(tmp_path: Path) -> None:
    """Refused at its first anchor: nothing is composed, let alone expanded."""
    path = tmp_path / "Pulumi.us.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(ConfigError):
        read_yaml(path)
    assert time.perf_counter() - started < 1.0


# --- The file itself: a regular file of the repository, of bounded size --------------------------


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "customers").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text("name: partner-apps\n", encoding="utf-8")
    return project


def test_a_symlink_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (tmp_path / "elsewhere.yaml").write_text("apps: {}\n", encoding="utf-8")
    (project / "apps.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    (problem,) = _problems(project / "apps.yaml")
    assert problem.startswith("apps.yaml: (file): is a symbolic link (or lies under one) that ")
    assert "leads outside the repository" in problem


def test_a_file_under_a_linked_folder_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    """customers/ itself a link out: the customer selection of another checkout is not read."""
    project = _project(tmp_path)
    (project / "customers").rmdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "us.yaml").write_text("include: []\n", encoding="utf-8")
    (project / "customers").symlink_to(tmp_path / "other")
    (problem,) = _problems(project / "customers" / "us.yaml")
    assert "leads outside the repository" in problem


def test_a_symlink_within_the_repository_is_fine(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "config").mkdir()
    (project / "config" / "apps.yaml").write_text("apps: {}\n", encoding="utf-8")
    (project / "apps.yaml").symlink_to(Path("config") / "apps.yaml")
    (project / "customers" / "us.yaml").symlink_to(project / "config" / "apps.yaml")
    assert read_yaml(project / "apps.yaml") == {"apps": {}}
    assert read_yaml(project / "customers" / "us.yaml") == {"apps": {}}


def test_a_symlink_loop_is_refused(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "apps.yaml").symlink_to(project / "apps.yaml")
    (problem,) = _problems(project / "apps.yaml")
    assert problem.startswith("apps.yaml: (file): cannot be resolved"), problem


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    project = _project(tmp_path)
    os.mkfifo(project / "apps.yaml")
    (problem,) = _problems(project / "apps.yaml")
    assert problem.startswith("apps.yaml: (file): is not a regular file: it is a named pipe")


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = _project(tmp_path) / "apps.yaml"
    with path.open("wb") as handle:
        handle.truncate(files.MAX_YAML_BYTES + 1)  # sparse: costs no disk
    (problem,) = _problems(path)
    assert problem == (
        f"apps.yaml: (file): is larger than {files.MAX_YAML_BYTES:,} bytes, the most a file of "
        "this kind may hold (no config file or certificate of the project comes near it); it is "
        "not read"
    )


def test_a_file_at_the_size_cap_is_read(tmp_path: Path) -> None:
    path = _project(tmp_path) / "apps.yaml"
    body = "apps: {}\n"
    path.write_text(body + "#" * (files.MAX_YAML_BYTES - len(body) - 1) + "\n", encoding="utf-8")
    assert read_yaml(path) == {"apps": {}}
