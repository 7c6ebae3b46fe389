"""The offline preview end to end: files, determinism, secrets, diffs of real recorded plans."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from components.config import REFRESH_TOKENS_KEY
from tools import audit, diff, preview

from .conftest import ROOT, edit_yaml

CANARY_PASSWORD = "CANARY-client-secret-5d1e88a0"
CANARY_TOKEN = "CANARY-refresh-token-9b27c4f3"


def _preview(project: Path, out: Path, *, stacks: tuple[str, ...] = ("eu", "us")) -> int:
    return preview.main(
        [
            *stacks,
            "--project-dir",
            str(project),
            "--out",
            str(out / "preview"),
            "--audit-dir",
            str(out / "audit"),
        ]
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_preview_writes_plan_markdown_and_audit_for_every_stack(tmp_path: Path) -> None:
    assert _preview(ROOT, tmp_path) == 0
    assert sorted(_files(tmp_path)) == [
        "audit/audit.html",
        "audit/audit.json",
        "audit/audit.md",
        "preview/eu.json",
        "preview/eu.md",
        "preview/us.json",
        "preview/us.md",
    ]
    plan = json.loads((tmp_path / "preview" / "us.json").read_text(encoding="utf-8"))
    assert {"project", "stack", "resources", "outputs", "violations"} <= set(plan)
    first = plan["resources"][0]
    assert {"urn", "type", "name", "parent", "provider", "protect", "inputs"} <= set(first)
    assert [r["urn"] for r in plan["resources"]] == sorted(r["urn"] for r in plan["resources"])


def test_two_previews_are_byte_identical(tmp_path: Path) -> None:
    assert _preview(ROOT, tmp_path / "one") == 0
    assert _preview(ROOT, tmp_path / "two") == 0
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert sorted(one) == sorted(two)
    changed = [name for name in one if one[name] != two[name]]
    assert changed == [], f"differs between two runs: {changed}"


def test_preview_diffed_with_itself_has_no_changes(tmp_path: Path) -> None:
    assert _preview(ROOT, tmp_path) == 0
    out = tmp_path / "diff.md"
    assert diff.main([str(tmp_path / "preview"), str(tmp_path / "preview"), "--out", str(out)]) == 0
    assert "No changes." in out.read_text(encoding="utf-8")


def test_diff_names_an_added_graph_permission_for_each_region(
    tmp_path: Path, project_copy: Path
) -> None:
    assert _preview(project_copy, tmp_path / "base") in (0, 1)

    def add_permission(doc: dict[str, Any]) -> None:
        doc["apps"]["partner-portal-api"]["permissions"].append(
            {
                "api": "Microsoft Graph",
                "permission": "Directory.ReadWrite.All",
                "type": "application",
                "reason": "Writes customer directory objects for onboarding.",
            }
        )

    edit_yaml(project_copy / "apps.yaml", add_permission)
    # Not on the region allow-lists: the preview must block it and name the policy.
    assert _preview(project_copy, tmp_path / "head") == 1
    out = tmp_path / "diff.md"
    diff.main(
        [str(tmp_path / "base" / "preview"), str(tmp_path / "head" / "preview"), "--out", str(out)]
    )
    text = out.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if "adds `Directory.ReadWrite.All`" in line)
    assert "application" in line
    assert "high privilege" in line
    assert line.rstrip(".").endswith("in eu and us") or "in eu and us." in line


def test_broken_stack_file_exits_2_naming_the_key(
    project_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_yaml(
        project_copy / "Pulumi.us.yaml",
        lambda doc: doc["config"]["partner-apps:region"].update(location="westeurope"),
    )
    assert _preview(project_copy, tmp_path, stacks=("us",)) == 2
    captured = capsys.readouterr()
    assert "Pulumi.us.yaml: partner-apps:region.location: 'westeurope'" in captured.out
    assert "us: nothing registered" in captured.out
    assert "Traceback" not in captured.out + captured.err
    assert not (tmp_path / "preview" / "us.json").exists()


def test_no_secret_value_in_any_artifact(
    project_copy: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    edit_yaml(
        project_copy / "Pulumi.us.yaml",
        lambda doc: doc["config"].update(
            {REFRESH_TOKENS_KEY: {"partner-center-sam": {"secure": "v1:canary"}}}
        ),
    )
    stream = io.StringIO()
    options = {
        "secret_values": {"applicationPassword": CANARY_PASSWORD},
        "config_overrides": {REFRESH_TOKENS_KEY: {"partner-center-sam": CANARY_TOKEN}},
    }
    out = tmp_path / "preview"
    status, plan = preview.preview_stack(project_copy, "us", out, stream, options)
    assert status == 0
    assert plan is not None
    audit.main([str(out / "us.json"), "--out-dir", str(tmp_path / "audit")])
    diff.main([str(out), str(out), "--out", str(tmp_path / "diff.md")])

    # The canaries did reach the program: the recorded secrets are there, masked.
    secrets = [r for r in plan["resources"] if r["type"] == "azure-native:keyvault:Secret"]
    assert {r["inputs"]["properties"]["value"] for r in secrets} == {"[secret]"}

    captured = capsys.readouterr()
    texts = {name: data.decode("utf-8") for name, data in _files(tmp_path).items()}
    texts["terminal"] = stream.getvalue() + captured.out + captured.err
    texts["logs"] = caplog.text
    texts["stack outputs"] = json.dumps(plan["outputs"])
    for canary in (CANARY_PASSWORD, CANARY_TOKEN):
        leaks = [name for name, text in texts.items() if canary in text]
        assert leaks == [], f"{canary} leaked into {leaks}"
