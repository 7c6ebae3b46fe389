"""A failed preview: each problem printed once, and the last good audit kept (issue 29)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from partner_apps.preview import command as preview
from partner_apps.review.plan.values import join_words
from tests.conftest import STACKS, copy_project, load_yaml, preview_args

BAD_LOCATION = "partner-apps:region.location: 'nowhere' is outside region"


def _break(project: Path, stack: str) -> None:
    path = project / f"Pulumi.{stack}.yaml"
    good = load_yaml(path)["config"]["partner-apps:region"]["location"]
    path.write_text(path.read_text().replace(f"location: {good}", "location: nowhere"))


def _preview(project: Path) -> tuple[int, str]:
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown), contextlib.redirect_stderr(shown):
        code = preview.main(preview_args(project, project / "build"))
    return code, shown.getvalue()


def test_a_config_problem_is_printed_once(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    _break(project, "us")
    code, shown = _preview(project)
    assert code == preview.EXIT_CONFIG
    assert shown.count(BAD_LOCATION) == 1, shown
    # The audit's line points at the error file instead of repeating the message.
    assert "us: preview failed: invalid configuration (1 problem): (the whole message: " in shown


def test_when_every_preview_fails_the_last_good_audit_is_kept(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    code, _ = _preview(project)
    assert code == 0
    audit = project / "build" / "audit" / "audit.md"
    good = audit.read_text()
    assert f"stacks {join_words([f'`{stack}`' for stack in STACKS])}." in good
    for stack in STACKS:
        _break(project, stack)
    code, shown = _preview(project)
    assert code == preview.EXIT_CONFIG
    assert "every stack's preview failed: no audit written" in shown
    assert audit.read_text() == good


def test_when_one_preview_fails_the_audit_says_so_at_its_top(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    _break(project, "eu")
    _preview(project)
    text = (project / "build" / "audit" / "audit.md").read_text()
    assert "## ⚠ Previews that failed" in text
    assert text.index("## ⚠ Previews that failed") < text.index("## Policies")
