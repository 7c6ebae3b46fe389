"""Regions are isolated (issue 28): a broken stack file fails its own region, never another one.

Each test breaks a copy of the project's stack files and previews every stack (or one), then
checks that the broken file's region fails naming that file, the key and the rule, and that
the other regions still preview. When two files name the same tenant, subscription, verified
domain or vault, only the newer file is refused: git first (a file with changes not committed,
then the file added by the later commit), else the order of the region table
(``components/stackfiles.py``).
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from components.files import REGION_KEY
from components.regions import REGIONS
from components.stackfiles import RegionFiles, check_all, region_view
from partner_apps.preview import command as preview
from partner_apps.preview.build import run_stack

from .conftest import (
    ABSENT_STACKS,
    STACKS,
    edit_yaml,
    git_commit_all,
    load_yaml,
    preview_args,
    stack_file_list,
)

R = REGION_KEY
EU_TENANT = "9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c62"
US_TENANT = "3f6b1c2d-4e5a-4b7c-8d9e-0a1b2c3d4e51"


def _preview(
    project: Path, out: Path, capsys: pytest.CaptureFixture[str], *stacks: str
) -> tuple[int, str]:
    """``partner-apps preview [stacks]`` on the copy; (exit status, stdout + stderr)."""
    code = preview.main(preview_args(project, out, *stacks))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out + captured.err


def _problem_lines(text: str, file: str) -> list[str]:
    """The problem lines of ``text`` that blame ``file`` (``  <file>: <key>: <rule>``)."""
    return [line.strip() for line in text.splitlines() if line.strip().startswith(f"{file}: ")]


def _copy_us_as_eu(project: Path) -> None:
    """Pulumi.eu.yaml made from Pulumi.us.yaml, as a team would start a region: the id,
    location and tag changed, the tenant, subscription, domains and vault still the US's."""
    shutil.copy(project / "Pulumi.us.yaml", project / "Pulumi.eu.yaml")

    def eu(document: dict[str, Any]) -> None:
        region = document["config"][R]
        region.update(id="eu", location="westeurope")
        region["tags"]["region"] = "eu"

    edit_yaml(project / "Pulumi.eu.yaml", eu)


def _take_eu_tenant(document: dict[str, Any]) -> None:
    document["config"][R]["tenantId"] = EU_TENANT


def _assert_plan(out: Path, stack: str) -> None:
    plan = json.loads((out / "preview" / f"{stack}.json").read_text(encoding="utf-8"))
    assert plan["stack"] == stack
    assert plan["resources"], f"{stack}: nothing registered"
    assert not (out / "preview" / f"{stack}.error.json").exists()


def _error(out: Path, stack: str) -> str:
    assert not (out / "preview" / f"{stack}.json").exists()
    document = json.loads((out / "preview" / f"{stack}.error.json").read_text(encoding="utf-8"))
    return str(document["error"])


def test_a_stack_file_copied_from_another_is_refused_and_the_original_still_previews(
    project_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _copy_us_as_eu(project_copy)
    out = tmp_path / "out"

    code, text = _preview(project_copy, out, capsys)

    assert code == preview.EXIT_CONFIG
    _assert_plan(out, "us")
    error = _error(out, "eu")
    for key, what in (
        ("tenantId", "tenant"),
        ("subscriptionId", "subscription"),
        ("verifiedDomains[0]", "verified domain"),
        ("keyVault.name", "Key Vault name"),
    ):
        line = f"Pulumi.eu.yaml: {R}.{key}: "
        assert any(
            line in row and f"is also the {what} of stack 'us' (Pulumi.us.yaml)" in row
            for row in error.splitlines()
        ), (key, error)
    assert "of the two files this one is the newer: no git history; region 'eu' is listed" in error
    assert _problem_lines(text, "Pulumi.us.yaml") == [], "the US file is not to blame"
    assert f"us: note: Pulumi.eu.yaml: {R}.tenantId: also names stack us's tenant" in text
    audit = load_yaml(out / "audit" / "audit.json")
    failed = {stack["stack"]: stack["previewFailed"] is not None for stack in audit["stacks"]}
    assert failed == {stack: stack == "eu" for stack in STACKS}, "only the copy fails"

    # The real program, as `pulumi up` runs it, agrees: US registers, EU registers nothing.
    us = run_stack(project_copy, "us")
    assert us.error is None
    assert us.resources
    eu = run_stack(project_copy, "eu")
    assert eu.error is not None
    assert f"Pulumi.eu.yaml: {R}.tenantId: " in eu.error
    assert eu.resources == []


def test_a_new_region_copied_from_eu_is_refused_and_every_other_region_still_previews(
    project_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new region (``uk`` beside ``us`` and ``eu``: the first public region of the table with
    no stack file here) whose file kept the EU tenant: only its own file is named."""
    new = next(region for region in ABSENT_STACKS if REGIONS[region].cloud == "public")
    shutil.copy(project_copy / "Pulumi.eu.yaml", project_copy / f"Pulumi.{new}.yaml")
    config = project_copy / "policies" / "config"
    shutil.copy(config / "eu.json", config / f"{new}.json")

    def own_values_but_the_tenant(document: dict[str, Any]) -> None:
        region = document["config"][R]
        region.update(
            id=new,
            location=REGIONS[new].locations[0],
            # Its own subscription (no other file of any region has this one), domain, vault.
            subscriptionId=str(uuid.uuid5(uuid.NAMESPACE_URL, f"subscription:{new}")),
            verifiedDomains=[f"{new}.contoso-partner.example"],
        )
        region["keyVault"]["name"] = f"kv-cspapps-{new}-01"

    edit_yaml(project_copy / f"Pulumi.{new}.yaml", own_values_but_the_tenant)
    out = tmp_path / "out"

    code, text = _preview(project_copy, out, capsys)

    assert code == preview.EXIT_CONFIG
    for stack in STACKS:
        _assert_plan(out, stack)
    error = _error(out, new)
    assert (
        f"Pulumi.{new}.yaml: {R}.tenantId: '{EU_TENANT}' is also the tenant of stack 'eu' "
        "(Pulumi.eu.yaml)" in error
    )
    assert _problem_lines(text, "Pulumi.eu.yaml") == []


def test_with_git_the_file_with_uncommitted_changes_is_the_newer(
    project_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The US file edited after the last commit to take the EU tenant: US is refused, although
    the region table lists it first; EU keeps previewing."""
    git_commit_all(project_copy)
    edit_yaml(project_copy / "Pulumi.us.yaml", _take_eu_tenant)
    out = tmp_path / "out"

    code, text = _preview(project_copy, out, capsys)

    assert code == preview.EXIT_CONFIG
    _assert_plan(out, "eu")
    error = _error(out, "us")
    assert f"Pulumi.us.yaml: {R}.tenantId: '{EU_TENANT}' is also the tenant of stack 'eu'" in error
    assert "Pulumi.us.yaml has changes not committed to git yet, Pulumi.eu.yaml has none" in error
    assert _problem_lines(text, "Pulumi.eu.yaml") == []


def test_with_git_the_file_added_by_the_later_commit_is_the_newer(
    project_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """EU committed first, then a US file holding the EU tenant in a commit of its own: US is
    refused (the region table alone would refuse EU)."""
    us = project_copy / "Pulumi.us.yaml"
    kept = us.read_bytes()
    us.unlink()
    git_commit_all(project_copy, "EU first")
    us.write_bytes(kept)
    edit_yaml(us, _take_eu_tenant)
    git_commit_all(project_copy, "then US")

    problems = check_all(project_copy)
    assert [f"{p.file}: {p.key}" for p in problems] == [f"Pulumi.us.yaml: {R}.tenantId"]
    assert "git history: Pulumi.us.yaml was added after Pulumi.eu.yaml" in problems[0].message

    out = tmp_path / "out"
    code, _ = _preview(project_copy, out, capsys)
    assert code == preview.EXIT_CONFIG
    _assert_plan(out, "eu")
    assert f"Pulumi.us.yaml: {R}.tenantId: " in _error(out, "us")


def test_without_git_the_region_table_decides_and_always_the_same_way(
    project_copy: Path,
) -> None:
    """No history (an exported copy, no .git): the region listed later in components/regions.py
    is the newer, whichever file was edited last and whatever the files' times say."""
    edit_yaml(project_copy / "Pulumi.us.yaml", _take_eu_tenant)

    first = check_all(project_copy)
    assert [f"{p.file}: {p.key}" for p in first] == [f"Pulumi.eu.yaml: {R}.tenantId"]
    assert "no git history; region 'eu' is listed after 'us'" in first[0].message
    assert check_all(project_copy) == first


def test_an_unreadable_stack_file_fails_its_own_region_only(
    project_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eu = project_copy / "Pulumi.eu.yaml"
    eu.write_text(eu.read_text(encoding="utf-8") + "  extra: [unclosed\n", encoding="utf-8")
    out = tmp_path / "out"

    code, text = _preview(project_copy, out, capsys)

    assert code == preview.EXIT_CONFIG
    _assert_plan(out, "us")
    assert "Pulumi.eu.yaml" in _error(out, "eu")
    assert "us: note: Pulumi.eu.yaml cannot be read (region eu fails on its own)" in text
    assert _problem_lines(text, "Pulumi.us.yaml") == []


def test_one_region_previews_alone_while_another_file_is_broken(
    project_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`partner-apps preview us` is not held up by a broken EU file: exit 0 for US, with the
    EU problem printed apart as a note."""
    _copy_us_as_eu(project_copy)
    out = tmp_path / "out"

    code, text = _preview(project_copy, out, capsys, "us")

    assert code == preview.EXIT_OK
    _assert_plan(out, "us")
    assert not (out / "preview" / "eu.error.json").exists()
    assert "us: note: Pulumi.eu.yaml: " in text


def test_the_region_view_keeps_other_regions_problems_apart(project_copy: Path) -> None:
    """The shared loading function one-region commands use (``region_view``)."""
    _copy_us_as_eu(project_copy)

    us = region_view(project_copy, "us")
    assert us.problems == ()
    assert us.region["tenantId"] == US_TENANT
    assert "eu" not in us.others, "a newer conflicting file is not what US is checked against"
    assert us.elsewhere
    assert all(line.startswith("Pulumi.eu.yaml: ") for line in us.elsewhere)

    eu = region_view(project_copy, "eu")
    assert sorted(p.key for p in eu.problems) == sorted(
        f"{R}.{key}"
        for key in (
            "keyVault.name",
            "subscriptionId",
            "tenantId",
            "verifiedDomains[0]",
            "verifiedDomains[1]",
        )
    )
    assert all(p.file == "Pulumi.eu.yaml" for p in eu.problems)
    assert eu.others.newer_because["us"].startswith("no git history")

    gone = ABSENT_STACKS[0]
    missing = RegionFiles.read(project_copy).view(gone)
    assert [str(p) for p in missing.problems] == [
        f"Pulumi.{gone}.yaml: (file): no such stack file (present: {stack_file_list()})"
    ]
