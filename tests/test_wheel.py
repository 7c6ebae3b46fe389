"""The package installs (issue 26, item 6): a wheel built from a copy of the project, installed
without its dependencies into a clean virtualenv, runs ``partner-apps --help`` and every
command's and verb's ``--help`` from a folder outside the checkout, and works on the project
of the folder it runs in.

Offline: the wheel is built by the pinned backend (setuptools, in the project's .venv) through its
own API, installed with the pip that Python bundles for ensurepip (``--no-index``), and the
already-installed dependencies reach the new virtualenv through a ``.pth`` line naming the
project .venv's site-packages. A ``.pth`` line only adds its folder to ``sys.path`` (the ``.pth``
files in that folder are not read), so the checkout's editable install does not come along: the
commands run from the wheel alone.
"""

from __future__ import annotations

import ensurepip
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the wheel is built from: the packaging and the three packages it ships.
SOURCES = ("pyproject.toml", "README.md", "partner_apps", "components", "policies")
SHIPPED = ("partner_apps/cli/__init__.py", "components/regions.py", "policies/partner_policies/")
NOT_SHIPPED = ("dev/", "tests/", "policies/venv/", "__main__.py", "build/")

# Run inside the clean virtualenv: every command and verb of the installed tree with --help,
# in one process (each in its own would import the Pulumi SDK again, about 2 s each).
WALK = """
import argparse, contextlib, io, json, sys
import partner_apps
from partner_apps import cli

def subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}

paths = []
for name, parser in subparsers(cli.build_parser()).items():
    paths.append([name])
    paths += [[name, verb] for verb in subparsers(parser)]
shown = {}
for path in paths:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main([*path, "--help"])
    shown[" ".join(path)] = [code, out.getvalue().splitlines()[0]]
print(json.dumps({"package": partner_apps.__file__, "help": shown}))
"""


def _copy_sources(target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "venv")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)


def _build_wheel(source: Path, out: Path) -> Path:
    """The wheel, built by the backend pyproject.toml names through its own API (PEP 517),
    without isolation: the pinned backend of the project's .venv, nothing downloaded."""
    project = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))
    script = (
        "import importlib, sys; "
        "print(importlib.import_module(sys.argv[2]).build_wheel(sys.argv[1]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(out), project["build-system"]["build-backend"]],
        cwd=source,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, f"building the wheel of pyproject.toml failed:\n{done.stderr}"
    return out / done.stdout.strip().splitlines()[-1]


def _clean_env(home: Path) -> dict[str, str]:
    """The environment without anything that would point Python at the checkout."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_", "UV_"))
    }
    env["HOME"] = str(home)
    env["PIP_NO_INDEX"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def test_the_wheel_installs_and_every_command_answers_help(tmp_path: Path) -> None:
    source, dist, outside = tmp_path / "source", tmp_path / "dist", tmp_path / "elsewhere"
    for folder in (source, dist, outside):
        folder.mkdir()
    _copy_sources(source)
    wheel = _build_wheel(source, dist)

    names = zipfile.ZipFile(wheel).namelist()
    for shipped in SHIPPED:
        assert any(name.startswith(shipped) for name in names), f"{wheel.name}: no {shipped}"
    for absent in NOT_SHIPPED:
        assert not any(name.startswith(absent) for name in names), f"{wheel.name}: {absent}"

    env_dir = tmp_path / "clean-venv"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    environment = _clean_env(tmp_path)
    bundled = sorted((Path(ensurepip.__file__).parent / "_bundled").glob("pip-*.whl"))
    assert bundled, "Python's ensurepip has no bundled pip wheel to install with"
    subprocess.run(
        [
            str(python),
            f"{bundled[-1]}/pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-compile",
            str(wheel),
        ],
        cwd=outside,
        env=environment,
        check=True,
        capture_output=True,
        timeout=120,
    )
    # The dependencies already installed for the project: their folder, not the checkout.
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    installed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "project-dependencies.pth").write_text("\n".join(sorted(installed)) + "\n")

    top = subprocess.run(
        [str(env_dir / "bin" / "partner-apps"), "--help"],
        cwd=outside,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert top.returncode == 0, top.stderr
    assert top.stdout.startswith("usage: partner-apps "), top.stdout

    walk = subprocess.run(
        [str(python), "-c", WALK],
        cwd=outside,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert walk.returncode == 0, walk.stderr
    found = json.loads(walk.stdout.splitlines()[-1])
    assert Path(found["package"]).is_relative_to(env_dir), (
        f"partner_apps came from {found['package']}, not from the installed wheel"
    )
    assert {"preview", "diff", "audit", "preview-json", "sam status", "route"} <= set(found["help"])
    for path, (code, usage) in found["help"].items():
        assert code == 0, f"partner-apps {path} --help exited {code}"
        assert usage.startswith(f"usage: partner-apps {path} "), f"partner-apps {path}: {usage}"

    # Without --project-dir, a command works on the project of the folder it runs in: the
    # wheel has no checkout around it.
    project = outside / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", *(path.name for path in ROOT.glob("Pulumi.*.yaml")), "apps.yaml"):
        shutil.copy2(ROOT / name, project / name)
    status = subprocess.run(
        [str(env_dir / "bin" / "partner-apps"), "sam", "status", "--outputs", str(dist)],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    # Each region stack of the folder is read; it has no outputs (--outputs: none): CONFIG.
    assert status.returncode == 3, status.stderr
    for stack_file in ROOT.glob("Pulumi.*.yaml"):
        region = stack_file.name.split(".")[1]
        assert f"region {region}: no stack outputs" in status.stderr, status.stderr

    # The offline preview from the wheel, run in that project: it reads the project's files
    # (stack files, apps.yaml, the reviewed and generated policy config) and writes its plans and
    # audit under the project's build/, nothing into the installed package.
    for name in ("policies/config", "policies/reviewed"):
        shutil.copytree(ROOT / name, project / name)
    shutil.copy2(
        ROOT / "policies" / "PulumiPolicy.yaml", project / "policies" / "PulumiPolicy.yaml"
    )
    preview = subprocess.run(
        [str(env_dir / "bin" / "partner-apps"), "preview"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert preview.returncode == 0, preview.stdout + preview.stderr
    stacks = sorted(path.name.split(".")[1] for path in ROOT.glob("Pulumi.*.yaml"))
    written = sorted(path.stem for path in (project / "build" / "preview").glob("*.json"))
    assert written == stacks, f"partner-apps preview from the wheel wrote {written}, not {stacks}"
    assert (project / "build" / "audit" / "audit.json").is_file(), "no audit in <project>/build"
    assert not list(env_dir.rglob("build/preview")), "the preview wrote into the installed package"
