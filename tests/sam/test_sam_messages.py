"""What the `sam` commands say about inputs of the wrong kind, and where errors go (issue 29)."""

from __future__ import annotations

import json
from pathlib import Path

from partner_apps import exitcodes
from partner_apps.sandbox.world import World


def test_a_preview_plan_passed_as_outputs_is_named_as_such(world: World, tmp_path: Path) -> None:
    plans = tmp_path / "preview"
    plans.mkdir()
    plan = {"planVersion": 1, "stack": "us", "region": {"id": "us"}, "resources": []}
    (plans / "us.json").write_text(json.dumps(plan))
    result = world.run("sam", "status", "--stack", "us", "--outputs", str(plans))
    assert result.code == exitcodes.CONFIG
    assert f"--outputs {plans / 'us.json'}: a plan of the offline preview" in result.err
    assert "pulumi stack output --json --show-secrets=false --stack us" in result.err
    assert "{'" not in result.err  # no mapping dumped into the message
    assert result.out == ""  # an error is not the report


def test_outputs_naming_another_kind_of_region_are_refused_without_dumping_them(
    world: World, tmp_path: Path
) -> None:
    outputs = json.loads((world.outputs_dir / "us.json").read_text())
    outputs["region"] = {"id": "us", "tenantId": "x"}
    (tmp_path / "us.json").write_text(json.dumps(outputs))
    result = world.run("sam", "status", "--stack", "us", "--outputs", str(tmp_path))
    assert result.code == exitcodes.CONFIG
    assert "the stack outputs' region is a dict, not 'us'" in result.err
    assert "tenantId" not in result.err


def test_status_prints_the_states_read_to_stdout_and_a_region_it_cannot_read_to_stderr(
    world: World, tmp_path: Path
) -> None:
    (tmp_path / "us.json").write_text((world.outputs_dir / "us.json").read_text())
    result = world.run("sam", "status", "--outputs", str(tmp_path))  # eu has no outputs here
    assert "region us, app partner-center-sam" in result.out
    assert "region eu" not in result.out
    assert "region eu" in result.err
    assert "no stack outputs" in result.err
