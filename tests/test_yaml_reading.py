"""Reading YAML files (components.files.read_yaml): what PyYAML alone would let through."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def test_equal_text_of_different_types_and_aliases_are_not_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "apps.yaml"
    path.write_text(
        'base: &base {a: 1}\n1: number\n"1": text\nx: *base\ny: *base\n', encoding="utf-8"
    )
    assert read_yaml(path) == {
        "base": {"a": 1},
        1: "number",
        "1": "text",
        "x": {"a": 1},
        "y": {"a": 1},
    }


def test_the_constructor_refuses_duplicates_too() -> None:
    """The loader class itself refuses them, whoever calls it (yaml.load with it)."""
    import yaml

    from components.files import _Loader

    with pytest.raises(yaml.constructor.ConstructorError, match="defined twice"):
        yaml.load("a: 1\na: 2\n", Loader=_Loader)  # a SafeLoader subclass


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

    def refused(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refused)
    assert _problems(path) == ["apps.yaml: (file): cannot be read (Permission denied)"]
