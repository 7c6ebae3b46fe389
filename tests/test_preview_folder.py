"""The preview's output folder holds exactly the stacks present (issue 28, item 7).

The diff and the audit read every plan in `build/preview`: an unknown stack must leave
nothing there, and a plan left by a stack that has no stack file (another branch's region, a
removed region) must not show up as a region of this checkout.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from partner_apps import cli, exitcodes
from partner_apps.preview import command as preview
from partner_apps.review import audit
from partner_apps.review.commands import diff
from partner_apps.review.plan.document import load_results

from .conftest import (
    ABSENT_STACKS,
    STACKS,
    files_under,
    load_yaml,
    preview_args,
    stack_file_list,
)

# Two regions of the region table with no stack file here (``uk`` and ``ca`` in a project of
# ``us`` and ``eu``): a stack named on the command line that does not exist, and the plans
# another branch's region or a removed one left behind. Never a stack of this checkout.
GONE, REMOVED = ABSENT_STACKS[:2]


@pytest.mark.parametrize("entry", ["python -m", "partner-apps preview"])
def test_preview_of_an_unknown_stack_names_the_stack_files_and_writes_nothing(
    entry: str, project_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = preview_args(project_copy, out, GONE)

    code = preview.main(args) if entry == "python -m" else cli.main(["preview", *args])

    assert code == exitcodes.CONFIG == preview.EXIT_CONFIG
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert (
        f"Pulumi.{GONE}.yaml: (file): no such stack file, so no stack '{GONE}' to preview; the "
        f"stack files present: {stack_file_list()}" in captured.err
    )
    assert "policies/config" not in captured.out + captured.err, "not a policy config problem"
    assert not out.exists(), "nothing is written: no plan, no error file, no audit"


def test_an_unknown_stack_among_known_ones_previews_none_and_touches_no_output(
    project_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert preview.main(preview_args(project_copy, out)) == preview.EXIT_OK
    before = files_under(out)
    capsys.readouterr()

    assert preview.main(preview_args(project_copy, out, STACKS[0], GONE)) == preview.EXIT_CONFIG

    assert files_under(out) == before
    assert f"Pulumi.{GONE}.yaml: (file): no such stack file" in capsys.readouterr().err


def _plant_stale(folder: Path) -> None:
    """What another branch's preview of a `GONE` stack left (`uk` beside `us` and `eu`), and a
    failure of a removed `REMOVED` one (`ca`)."""
    plan = json.loads((folder / f"{STACKS[0]}.json").read_text(encoding="utf-8"))
    plan["stack"] = GONE
    (folder / f"{GONE}.json").write_text(json.dumps(plan), encoding="utf-8")
    (folder / f"{GONE}.md").write_text(f"# {GONE}\n", encoding="utf-8")
    (folder / f"{GONE}.html").write_text(f"<h1>{GONE}</h1>\n", encoding="utf-8")
    failure = {"project": "partner-apps", "stack": REMOVED, "error": "invalid configuration"}
    (folder / f"{REMOVED}.error.json").write_text(json.dumps(failure), encoding="utf-8")
    # Not a preview's output: never touched.
    (folder / "notes.json").write_text('{"kept": true}', encoding="utf-8")
    (folder / "README.md").write_text("kept\n", encoding="utf-8")


def test_each_preview_removes_plans_of_stacks_not_present_with_a_line(
    project_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    folder = out / "preview"
    assert preview.main(preview_args(project_copy, out)) == preview.EXIT_OK
    _plant_stale(folder)
    capsys.readouterr()

    assert preview.main(preview_args(project_copy, out)) == preview.EXIT_OK

    printed = capsys.readouterr().out
    assert (
        f"removed {folder / f'{GONE}.json'}, {GONE}.md, {GONE}.html: "
        f"stack '{GONE}' has no Pulumi.{GONE}.yaml" in printed
    )
    assert (
        f"removed {folder / f'{REMOVED}.error.json'}: "
        f"stack '{REMOVED}' has no Pulumi.{REMOVED}.yaml" in printed
    )
    names = sorted(path.name for path in folder.iterdir())
    assert names == sorted(
        ["README.md", "notes.json"]
        + [f"{stack}.{ext}" for stack in STACKS for ext in ("html", "json", "md")]
    )
    # What reads the folder sees the regions present, no phantom.
    plans, failures = load_results([folder])
    assert [plan.stack for plan in plans] == list(STACKS)
    assert failures == []
    assert audit.main([str(folder), "--out-dir", str(tmp_path / "audit2")]) == 0
    report = load_yaml(tmp_path / "audit2" / "audit.json")
    assert [stack["stack"] for stack in report["stacks"]] == list(STACKS)


def test_a_preview_of_one_stack_keeps_the_other_present_stacks_and_removes_stale_ones(
    project_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    folder = out / "preview"
    assert preview.main(preview_args(project_copy, out)) == preview.EXIT_OK
    base = tmp_path / "base"
    shutil.copytree(folder, base)
    _plant_stale(folder)
    capsys.readouterr()

    previewed, *others = STACKS
    assert preview.main(preview_args(project_copy, out, previewed)) == preview.EXIT_OK

    for other in others:
        assert (folder / f"{other}.json").is_file(), f"{other} is present: its plan stays"
    assert not (folder / f"{GONE}.json").exists()
    assert not (folder / f"{REMOVED}.error.json").exists()
    # The diff of the base against this folder: no region appears or disappears.
    markdown = tmp_path / "diff.md"
    assert diff.main([str(base), str(folder), "--out", str(markdown)]) == 0
    text = markdown.read_text(encoding="utf-8")
    assert GONE not in text.split()
    assert "No changes." in text


def test_a_plan_under_another_name_is_removed_as_it_would_be_read_twice(
    project_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`us-old.json` holding a US plan: load_results would refuse the folder (the stack twice)."""
    out = tmp_path / "out"
    folder = out / "preview"
    assert preview.main(preview_args(project_copy, out)) == preview.EXIT_OK
    shutil.copy(folder / "us.json", folder / "us-old.json")
    capsys.readouterr()

    assert preview.main(preview_args(project_copy, out, "eu")) == preview.EXIT_OK

    assert not (folder / "us-old.json").exists()
    assert (folder / "us.json").is_file()
    assert "the preview of stack 'us' is us.json, not us-old.json" in capsys.readouterr().out
    plans, _ = load_results([folder])
    assert [plan.stack for plan in plans] == list(STACKS)
