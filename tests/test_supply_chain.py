"""Supply chain (issue 28, item 8): everything installed is hash-pinned, on every documented path.

The Makefile installs from hash-pinned requirement files only (uv, the program's and the tests'
packages, and `make lock`'s pip-tools), and the documented path for the Pulumi CLI
(docs/running-for-real.md) creates the virtualenv with the Makefile instead of `pulumi install`,
whose pip toolchain upgrades pip, setuptools and wheel without hashes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENT_FILES = (
    "requirements.txt",
    "requirements-dev.txt",
    "requirements-bootstrap.txt",
    "requirements-lock.txt",
    "policies/requirements.txt",
)


def _recipe_commands() -> list[str]:
    """The Makefile's recipe commands, continuation lines joined."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line.strip() for line in joined.splitlines() if line.startswith("\t")]


def _installs() -> list[str]:
    return [command for command in _recipe_commands() if re.search(r"\binstall\b", command)]


def test_every_install_of_the_makefile_uses_hash_pinned_files_or_only_the_project() -> None:
    installs = _installs()
    assert len(installs) >= 5, installs  # uv, the set (uv and pip), the project (twice), lock
    for command in installs:
        words = command.split()
        files = [words[index + 1] for index, word in enumerate(words[:-1]) if word == "-r"]
        if files:
            assert "--require-hashes" in words, command
            assert all(name in REQUIREMENT_FILES for name in files), command
            continue
        # The project itself, editable, from its own folder: nothing comes from an index.
        assert "--no-index" in words, command
        assert words[-2:] == ["-e", "."], command


def test_make_lock_installs_pip_tools_from_its_hash_pinned_file() -> None:
    lock = [command for command in _recipe_commands() if "requirements-lock.txt" in command]
    assert any("--require-hashes" in command for command in lock), lock
    assert "pip-tools" not in " ".join(_installs()).replace("requirements-lock.txt", "")
    pins = (ROOT / "requirements-lock.txt").read_text(encoding="utf-8")
    # pip-tools and what it needs, pip, setuptools and wheel among them.
    for name in ("pip-tools", "pip", "setuptools", "wheel", "build", "click", "pyproject-hooks"):
        assert re.search(rf"^{re.escape(name)}==", pins, re.MULTILINE), name


@pytest.mark.parametrize("name", REQUIREMENT_FILES)
def test_every_requirement_is_pinned_with_hashes_and_names_no_index(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    requirements = re.split(r"\n(?=\S)", text)
    pinned = [entry for entry in requirements if not entry.startswith("#") and entry.strip()]
    assert pinned, name
    for entry in pinned:
        assert re.match(r"^[A-Za-z0-9._-]+==\S+ \\\n", entry), entry.splitlines()[0]
        assert "--hash=sha256:" in entry, entry.splitlines()[0]
    assert "--index-url" not in text
    assert "--extra-index-url" not in text
    assert "://" not in text, "no package registry's address in a committed requirement file"


def test_the_docs_create_the_pulumi_virtualenv_with_make_not_pulumi_install() -> None:
    page = (ROOT / "docs" / "running-for-real.md").read_text(encoding="utf-8")
    section = page.split("# Running it for real", 1)[1].split("\n## ", 1)[0]
    commands = [
        line.split("#", 1)[0].strip()
        for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
        for line in block.splitlines()
    ]
    assert "make venv" in commands
    assert "pulumi install" not in commands
    assert "Do not run `pulumi install`" in section
    # The CLI uses that virtualenv as it is: the one Pulumi.yaml names, with pip's toolchain
    # (which installs only into a missing or empty virtualenv folder).
    options = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))["runtime"]
    assert options["options"] == {"toolchain": "pip", "virtualenv": ".venv"}
    # `make venv`: the hash-pinned set, then Python's bundled pip (the CLI runs `pip list`).
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^venv: \$\(STAMP\)\n\t\$\(ENSURE_PIP\)$", makefile, re.MULTILINE)
    assert re.search(r"^ENSURE_PIP = .*-m ensurepip --default-pip", makefile, re.MULTILINE)


def test_the_build_backend_is_hash_pinned_at_the_version_pyproject_names() -> None:
    """The editable install builds without isolation from the installed backend: the version
    pyproject.toml requires is the one requirements-dev.txt pins with hashes (else the install
    would build with another version, or need a download)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (requirement,) = project["build-system"]["requires"]
    name, version = requirement.split("==")
    pins = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    assert re.search(rf"^{re.escape(name)}=={re.escape(version)} \\\n\s+--hash=", pins, re.M), (
        f"pyproject.toml requires {requirement}: requirements-dev.txt must pin it with hashes"
    )
    dev_in = (ROOT / "requirements-dev.in").read_text(encoding="utf-8")
    assert re.search(rf"^{re.escape(requirement)}$", dev_in, re.MULTILINE), "requirements-dev.in"
