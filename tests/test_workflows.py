"""The workflows' per-region matrices come from the stack files, never from a hand-kept list."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT, STACKS, load_yaml

WORKFLOW = ROOT / ".github" / "workflows" / "pull-request.yml"


def _matrix_script(workflow: Path) -> str:
    steps = load_yaml(workflow)["jobs"]["stacks"]["steps"]
    (run,) = [step["run"] for step in steps if step.get("id") == "list"]
    match = re.search(r"<<'PY'\n(.*?)\nPY\n", run, re.DOTALL)
    assert match, f"{workflow.name}: jobs.stacks step 'list' has no inline Python"
    return match.group(1)


def test_the_live_matrix_lists_every_stack_file(tmp_path: Path) -> None:
    script = _matrix_script(WORKFLOW)
    live = load_yaml(WORKFLOW)["jobs"]["live"]
    assert live["strategy"]["matrix"] == "${{ fromJSON(needs.stacks.outputs.matrix) }}", (
        f"{WORKFLOW.name}: jobs.live.strategy.matrix must come from the stacks job"
    )
    for stacks in (STACKS, (*STACKS, "uk")):
        for stack in stacks:
            (tmp_path / f"Pulumi.{stack}.yaml").write_text("config: {}\n", encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        name, _, value = result.stdout.strip().partition("=")
        assert name == "matrix"
        assert json.loads(value) == {
            "include": [{"stack": s, "region": s.upper()} for s in sorted(stacks)]
        }
