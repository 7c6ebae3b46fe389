"""mypy still checks the project's use of the provider SDKs' public types.

pyproject.toml tells mypy not to follow pulumi-azure-native's top-level ``__init__`` (it imports
all ~260 subpackages and makes a cold check take a minute and 3 GB). That is only sound while the
project imports the subpackages by name, so this module checks both halves: no project file
imports the top-level package (which would now be ``Any``), and a wrong argument to a provider
class, through the import style the project uses, is still an error under the project's config.
"""

from __future__ import annotations

import importlib.util
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

# `import pulumi_azure_native` (with or without `as`) reaches the subpackages through the skipped
# top-level module, so mypy would see Any; `from pulumi_azure_native import keyvault` names the
# submodule and is checked, but `from pulumi_azure_native import Provider` is an attribute: Any.
_PLAIN_IMPORT = re.compile(r"^\s*import\s+pulumi_azure_native\s*(?:$|as\b|,|#)", re.MULTILINE)
_FROM_IMPORT = re.compile(
    r"^\s*from\s+pulumi_azure_native\s+import\s+(\([^)]*\)|[^\n]*)", re.MULTILINE
)
_PROJECT_DIRS = ("components", "partner_apps", "policies", "tools", "tests")

# One mistake per provider SDK, written the way the project imports them.
_MISUSE = """\
import pulumi_azuread as azuread
from pulumi_azure_native import keyvault, provider as azure_native_provider

keyvault.Vault("v", resource_group_name="rg", propertiez=None)
azure_native_provider.Provider("p", tenant_idd="t")
azuread.Application("a", display_namez="x")
keyvault.SkuArgs(family="A", name=3)
"""


def _project_sources() -> list[Path]:
    files = [ROOT / "__main__.py"]
    for folder in _PROJECT_DIRS:
        files.extend(
            path
            for path in sorted((ROOT / folder).rglob("*.py"))
            if "venv" not in path.relative_to(ROOT).parts
        )
    return files


def _top_level_uses(source: str, submodules: set[str]) -> list[str]:
    """What ``source`` takes from pulumi_azure_native's top-level module rather than a submodule."""
    uses = [match.group(0).strip() for match in _PLAIN_IMPORT.finditer(source)]
    for match in _FROM_IMPORT.finditer(source):
        names = match.group(1).split("#")[0].strip("() \n")
        for item in names.split(","):
            name = item.split(" as ")[0].strip()
            if name and name not in submodules:
                uses.append(f"from pulumi_azure_native import {name}")
    return uses


def _azure_native_submodules() -> set[str]:
    spec = importlib.util.find_spec("pulumi_azure_native")
    assert spec is not None
    assert spec.submodule_search_locations is not None
    return {module.name for module in pkgutil.iter_modules(spec.submodule_search_locations)}


def test_no_project_file_uses_the_azure_native_top_level_module() -> None:
    submodules = _azure_native_submodules()
    assert {"keyvault", "provider", "resources", "authorization"} <= submodules
    offenders = {
        str(path.relative_to(ROOT)): uses
        for path in _project_sources()
        if (uses := _top_level_uses(path.read_text(encoding="utf-8"), submodules))
    }
    assert offenders == {}


def test_the_top_level_check_tells_module_imports_from_attribute_imports() -> None:
    submodules = {"keyvault", "provider"}
    assert _top_level_uses("import pulumi_azure_native\n", submodules)
    assert _top_level_uses("import pulumi_azure_native as azure_native\n", submodules)
    assert _top_level_uses("from pulumi_azure_native import Provider\n", submodules)
    assert _top_level_uses(
        "from pulumi_azure_native import (\n  keyvault,\n  Provider,\n)\n", submodules
    )
    assert not _top_level_uses(
        "from pulumi_azure_native import keyvault, provider as p\n", submodules
    )
    assert not _top_level_uses("import pulumi_azure_native.keyvault as keyvault\n", submodules)
    assert not _top_level_uses("from pulumi_azure_native.keyvault import Vault\n", submodules)


@pytest.mark.uses_mypy_cache
def test_mypy_reports_a_wrong_argument_to_a_provider_class(tmp_path: Path) -> None:
    misuse = tmp_path / "provider_sdk_misuse.py"
    misuse.write_text(_MISUSE, encoding="utf-8")
    # The project's own config and cache (after `make typecheck` the SDK modules are cached).
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            "--no-pretty",
            str(misuse),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert 'Unexpected keyword argument "propertiez" for overloaded function "Vault"' in out
    assert 'Unexpected keyword argument "tenant_idd" for overloaded function "Provider"' in out
    assert 'Unexpected keyword argument "display_namez"' in out
    assert 'Argument "name" to "SkuArgs" has incompatible type "int"' in out
