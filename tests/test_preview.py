"""The offline preview end to end: files, determinism, secrets, diffs of real recorded plans."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components.config import (
    REFRESH_TOKENS_KEY,
)
from partner_apps import exitcodes
from partner_apps.preview import command as preview
from partner_apps.review import audit, evidence
from partner_apps.review.analysis import views
from partner_apps.review.commands import diff
from partner_apps.review.plan import document
from partner_apps.review.plan.values import join_words

from .conftest import ROOT, STACKS, edit_yaml, files_under, preview_args

FIXTURE_PLANS = ROOT / "tests" / "fixtures" / "plans"
CANARY_PASSWORD = "CANARY-client-secret-5d1e88a0"
CANARY_TOKEN = "CANARY-refresh-token-9b27c4f3"


def _preview(project: Path, out: Path, *, stacks: tuple[str, ...] = ()) -> int:
    return preview.main(preview_args(project, out, *stacks))


# What `make preview` writes for the two example stacks.
# One plan (JSON and Markdown) per stack file, and one audit of them all.
ARTIFACTS = sorted(
    ["audit/audit.html", "audit/audit.json", "audit/audit.md"]
    + [f"preview/{stack}.{ext}" for stack in STACKS for ext in ("html", "json", "md")]
)


@pytest.fixture(scope="module")
def root_preview(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One preview of the project as committed, for the tests that only read it, and the
    "before" of the tests that change a project copy (``_base``)."""
    out = tmp_path_factory.mktemp("root-preview")
    assert _preview(ROOT, out) == 0
    return out


def _base(root_preview: Path, out: Path) -> Path:
    """``out`` as a preview of an unchanged ``project_copy`` leaves it: a copy of the root
    preview. The plans and reports name no folder, so they are the same bytes
    (``test_two_previews_are_byte_identical`` previews a copy against the root's)."""
    shutil.copytree(root_preview, out, dirs_exist_ok=True)
    return out


def test_preview_writes_plan_markdown_and_audit_for_every_stack(root_preview: Path) -> None:
    assert sorted(files_under(root_preview)) == ARTIFACTS
    plan = json.loads((root_preview / "preview" / "us.json").read_text(encoding="utf-8"))
    assert {"project", "stack", "resources", "outputs", "violations"} <= set(plan)
    first = plan["resources"][0]
    assert {"urn", "type", "name", "parent", "provider", "protect", "inputs"} <= set(first)
    assert [r["urn"] for r in plan["resources"]] == sorted(r["urn"] for r in plan["resources"])


def test_each_plan_is_read_and_analysed_once_per_preview(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preview hands the plans it records to the stack reports and the audit in memory:
    one parse and one analysis per stack, and no plan file read back (issue 26 item 3)."""
    calls: dict[str, list[str]] = {"parse": [], "analyze": []}
    parse, analyze = document.plan_from_document, views.analyze

    def counted_parse(document: Any, source: str = "", **options: Any) -> Any:
        calls["parse"].append(str(document.get("stack")))
        return parse(document, source, **options)

    def counted_analyze(plan: Any, catalog: Any, context: Any = None) -> Any:
        calls["analyze"].append(plan.stack)
        return analyze(plan, catalog, context)

    def no_read_back(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a plan file was read back: {args}")

    monkeypatch.setattr(preview, "plan_from_document", counted_parse)
    monkeypatch.setattr(preview, "analyze", counted_analyze)
    monkeypatch.setattr(evidence, "analyze", no_read_back)
    monkeypatch.setattr(document, "load_results", no_read_back)
    assert _preview(ROOT, tmp_path) == 0
    assert calls == {"parse": sorted(STACKS), "analyze": sorted(STACKS)}
    assert (tmp_path / "audit" / "audit.md").is_file()


def test_two_previews_are_byte_identical(
    root_preview: Path, project_copy: Path, tmp_path: Path
) -> None:
    """Twice the same bytes, also from a copy of the project in another folder."""
    assert _preview(project_copy, tmp_path / "two") == 0
    one, two = files_under(root_preview), files_under(tmp_path / "two")
    assert sorted(one) == sorted(two)
    changed = [name for name in one if one[name] != two[name]]
    assert changed == [], f"differs between two runs: {changed}"


def test_preview_diffed_with_itself_has_no_changes(root_preview: Path, tmp_path: Path) -> None:
    plans = str(root_preview / "preview")
    out = tmp_path / "diff.md"
    assert diff.main([plans, plans, "--out", str(out)]) == 0
    assert "No changes." in out.read_text(encoding="utf-8")


def test_diff_names_an_added_graph_permission_for_each_region(
    tmp_path: Path, project_copy: Path, root_preview: Path
) -> None:
    _base(root_preview, tmp_path / "base")

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
    assert _preview(project_copy, tmp_path / "head") == exitcodes.POLICY_VIOLATED == 40
    out = tmp_path / "diff.md"
    diff.main(
        [str(tmp_path / "base" / "preview"), str(tmp_path / "head" / "preview"), "--out", str(out)]
    )
    text = out.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if "adds `Directory.ReadWrite.All`" in line)
    assert "application" in line
    assert "high privilege" in line
    # Every region stack, as the diff lists them: "in eu and us", "in eu, uk and us".
    assert f"in {join_words(STACKS)}." in line, line


def test_broken_stack_file_exits_3_naming_the_key(
    project_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_yaml(
        project_copy / "Pulumi.us.yaml",
        lambda doc: doc["config"]["partner-apps:region"].update(location="westeurope"),
    )
    assert _preview(project_copy, tmp_path, stacks=("us",)) == 3
    captured = capsys.readouterr()
    assert "Pulumi.us.yaml: partner-apps:region.location: 'westeurope'" in captured.out
    assert "us: nothing registered" in captured.out
    assert "Traceback" not in captured.out + captured.err
    assert not (tmp_path / "preview" / "us.json").exists()


def test_a_failed_preview_replaces_the_old_plan_and_the_diff_says_so(
    project_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], root_preview: Path
) -> None:
    out = _base(root_preview, tmp_path / "out")
    shutil.copytree(out / "preview", tmp_path / "base")

    # The same out folder, as `make preview` reuses build/preview.
    edit_yaml(
        project_copy / "Pulumi.us.yaml",
        lambda doc: doc["config"]["partner-apps:region"].update(location="westeurope"),
    )
    assert _preview(project_copy, out) == 3
    folder = out / "preview"
    others = [
        f"{stack}.{ext}" for stack in STACKS if stack != "us" for ext in ("html", "json", "md")
    ]
    assert sorted(p.name for p in folder.iterdir()) == sorted([*others, "us.error.json"])
    error = json.loads((folder / "us.error.json").read_text(encoding="utf-8"))
    assert sorted(error) == ["error", "project", "stack"]
    assert error["project"] == "partner-apps"
    assert error["stack"] == "us"
    assert "Pulumi.us.yaml: partner-apps:region.location: 'westeurope'" in error["error"]
    audit_md = (out / "audit" / "audit.md").read_text(encoding="utf-8")
    assert "- `us`: preview failed: invalid configuration (1 problem):" in audit_md
    capsys.readouterr()

    # The pull request diff: a failed stack, never a deleted one, and CI does not pass it.
    report = tmp_path / "diff.md"
    args = [str(tmp_path / "base"), str(folder), "--out", str(report), "--fail-on-protected"]
    assert diff.main(args) == diff.EXIT_PREVIEW_FAILED
    text = report.read_text(encoding="utf-8")
    assert "- **us**: preview failed: invalid configuration (1 problem):" in text
    assert "Pulumi.us.yaml: partner-apps:region.location: 'westeurope'" in text
    assert "**Deleted" not in text
    assert "protected" not in text.replace("(including protected resources)", "")
    printed = capsys.readouterr()
    assert "us: preview failed" in printed.out
    assert "deleted" not in printed.out

    # Fixed again: the plan is back and the error file is gone.
    edit_yaml(
        project_copy / "Pulumi.us.yaml",
        lambda doc: doc["config"]["partner-apps:region"].update(location="eastus"),
    )
    assert _preview(project_copy, out) == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{stack}.{ext}" for stack in STACKS for ext in ("html", "json", "md")
    ]


def test_a_policy_the_region_disables_is_recorded_rendered_and_diffed_as_disabled(
    project_copy: Path, tmp_path: Path, root_preview: Path
) -> None:
    _base(root_preview, tmp_path / "base")
    base_plan = json.loads((tmp_path / "base" / "preview" / "eu.json").read_text("utf-8"))
    policies = base_plan["policies"]
    assert policies == sorted(policies, key=lambda p: p["name"])
    assert all(
        sorted(p) == ["enforcementLevel", "name", "properties", "severity"] for p in policies
    )
    # Prefer a policy that reports something, so its findings disappearing shows too.
    name = next(
        (v["policy"] for v in base_plan["violations"]),
        next(p["name"] for p in policies if p["enforcementLevel"] != "disabled"),
    )
    before = next(p["enforcementLevel"] for p in policies if p["name"] == name)
    config_path = project_copy / "policies" / "config" / "eu.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config[name] = "disabled"
    config_path.write_text(json.dumps(config), encoding="utf-8")

    assert _preview(project_copy, tmp_path / "head") == 0
    head = tmp_path / "head"
    plan = json.loads((head / "preview" / "eu.json").read_text(encoding="utf-8"))
    (recorded,) = [p for p in plan["policies"] if p["name"] == name]
    assert recorded["severity"] == _severity(policies, name)
    assert recorded["enforcementLevel"] == "disabled"
    assert [v for v in plan["violations"] if v["policy"] == name] == []
    markdown = (head / "preview" / "eu.md").read_text(encoding="utf-8")
    row = next(line for line in markdown.splitlines() if line.startswith(f"| `{name}` |"))
    assert row.endswith("| disabled | disabled |")
    us_row = next(
        line
        for line in (head / "preview" / "us.md").read_text("utf-8").splitlines()
        if line.startswith(f"| `{name}` |")
    )
    assert "disabled" not in us_row
    audit_lines = (head / "audit" / "audit.md").read_text("utf-8").splitlines()
    header = next(line for line in audit_lines if line.startswith("| Policy | Severity |"))
    audit_row = next(line for line in audit_lines if line.startswith(f"| `{name}` |"))
    # One column per stack, in name order: eu's, wherever it falls among the stacks present.
    cells = dict(zip(_cells(header), _cells(audit_row), strict=True))
    assert cells["Enforcement"] == "varies", audit_row
    assert cells["eu"] == "disabled", audit_row
    out = tmp_path / "diff.md"
    assert (
        diff.main([str(tmp_path / "base" / "preview"), str(head / "preview"), "--out", str(out)])
        == 0
    )
    text = out.read_text(encoding="utf-8")
    assert f"- **eu**: `{name}` enforcement {before} → disabled (**weaker**)" in text


def _cells(row: str) -> list[str]:
    """The cells of a Markdown table row."""
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def _severity(policies: list[dict[str, str]], name: str) -> str:
    return next(p["severity"] for p in policies if p["name"] == name)


def test_two_preview_processes_with_different_hash_seeds_are_byte_identical(
    root_preview: Path, tmp_path: Path
) -> None:
    """Each run in its own interpreter: nothing may depend on set or dict order of a process.

    The root preview was made in this process, whose string hashes are randomised (or seeded
    by ``PYTHONHASHSEED``); a new interpreter makes it again with another seed.
    """
    seed = "4242" if os.environ.get("PYTHONHASHSEED") == "0" else "0"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "partner_apps.preview",
            "--out",
            str(tmp_path / "preview"),
            "--audit-dir",
            str(tmp_path / "audit"),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    one, two = files_under(root_preview), files_under(tmp_path)
    assert sorted(one) == ARTIFACTS
    assert sorted(one) == sorted(two)
    changed = [name for name in one if one[name] != two[name]]
    assert changed == [], f"differs between two processes: {changed}"


def test_the_plan_fixtures_match_a_fresh_recording(root_preview: Path) -> None:
    """The report tools' fixtures are recordings; see tests/fixtures/plans/README.md to refresh.

    They record the example stacks (``us``, ``eu``); a region added later needs none."""
    recorded = sorted(path.stem for path in FIXTURE_PLANS.glob("*.json"))
    assert recorded, "tests/fixtures/plans: no recorded plan"
    for stack in recorded:
        plan = root_preview / "preview" / f"{stack}.json"
        fresh = json.loads(plan.read_text(encoding="utf-8"))
        fixture = json.loads((FIXTURE_PLANS / f"{stack}.json").read_text(encoding="utf-8"))
        for key in ("project", "stack", "region", "apps"):
            assert fixture[key] == fresh[key], f"tests/fixtures/plans/{stack}.json: {key} drifted"
        assert [(r["urn"], r["type"]) for r in fixture["resources"]] == [
            (r["urn"], r["type"]) for r in fresh["resources"]
        ], f"tests/fixtures/plans/{stack}.json: resources drifted"


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
    status, view = preview.preview_stack(project_copy, "us", out, stream, options)
    assert status == 0
    assert view is not None
    plan = json.loads((out / "us.json").read_text(encoding="utf-8"))
    audit.main([str(out / "us.json"), "--out-dir", str(tmp_path / "audit")])
    diff.main([str(out), str(out), "--out", str(tmp_path / "diff.md")])

    # The canaries did reach the program: the recorded secrets are there, masked.
    secrets = [r for r in plan["resources"] if r["type"] == "azure-native:keyvault:Secret"]
    assert {r["inputs"]["properties"]["value"] for r in secrets} == {"[secret]"}

    captured = capsys.readouterr()
    texts = {name: data.decode("utf-8") for name, data in files_under(tmp_path).items()}
    texts["terminal"] = stream.getvalue() + captured.out + captured.err
    texts["logs"] = caplog.text
    texts["stack outputs"] = json.dumps(plan["outputs"])
    for canary in (CANARY_PASSWORD, CANARY_TOKEN):
        leaks = [name for name, text in texts.items() if canary in text]
        assert leaks == [], f"{canary} leaked into {leaks}"


def test_the_preview_validates_each_stack_once_in_the_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan is built from the settings the program validated, not from a second validation."""
    from components import config, program
    from partner_apps.preview import build as plan

    calls: list[str] = []
    real = config.validate

    def counting(**kwargs: Any) -> config.StackSettings:
        calls.append(kwargs["stack"])
        return real(**kwargs)

    # The program's edge imports validate by name; count every caller of it.
    monkeypatch.setattr(program, "validate", counting)
    monkeypatch.setattr(config, "validate", counting)
    monkeypatch.setattr(plan, "validate", counting)
    assert _preview(ROOT, tmp_path) == 0
    assert sorted(calls) == sorted(STACKS), f"validations per stack: {calls}"


def _rename_api_key(document: dict[str, Any], *, alias: bool) -> None:
    apps = document["apps"]
    apps["portal-api"] = apps.pop("partner-portal-api")
    if alias:
        apps["portal-api"]["previousKeys"] = ["partner-portal-api"]
    for app in apps.values():
        for request in app.get("requiredScopes", []):
            if request["app"] == "partner-portal-api":
                request["app"] = "portal-api"
        app["knownClients"] = [
            "portal-api" if client == "partner-portal-api" else client
            for client in app.get("knownClients", [])
        ]


def _diff(base: Path, head: Path, out: Path) -> tuple[int, str]:
    status = diff.main([str(base), str(head), "--out", str(out), "--fail-on-protected"])
    return status, out.read_text(encoding="utf-8")


def test_a_renamed_app_key_without_an_alias_is_explained_with_the_alias_to_keep_it(
    project_copy: Path, tmp_path: Path, root_preview: Path
) -> None:
    _base(root_preview, tmp_path / "base")
    edit_yaml(project_copy / "apps.yaml", lambda doc: _rename_api_key(doc, alias=False))
    assert _preview(project_copy, tmp_path / "head") == 0
    status, text = _diff(
        tmp_path / "base" / "preview", tmp_path / "head" / "preview", tmp_path / "d.md"
    )
    assert status == diff.EXIT_PROTECTED, "eu is production: the old registration is protected"
    line = next(line for line in text.splitlines() if "looks like a rename" in line)
    assert line.startswith("- `portal-api` looks like a rename of `partner-portal-api`"), line
    assert "a new client id in this region" in line
    assert "`previousKeys: [partner-portal-api]` under `apps.portal-api`" in line


def test_a_renamed_app_key_with_previous_keys_keeps_its_resources(
    project_copy: Path, tmp_path: Path, root_preview: Path
) -> None:
    _base(root_preview, tmp_path / "base")
    edit_yaml(project_copy / "apps.yaml", lambda doc: _rename_api_key(doc, alias=True))
    assert _preview(project_copy, tmp_path / "head") == 0
    status, text = _diff(
        tmp_path / "base" / "preview", tmp_path / "head" / "preview", tmp_path / "d.md"
    )
    assert status == 0, text
    assert f"- `portal-api` renamed from `partner-portal-api` in {join_words(STACKS)}." in text
    assert "same client id, every consent stays" in text
    for heading in ("**Created", "**Deleted", "**Replaced", "**Updated"):
        assert heading not in text, f"a rename with previousKeys changes no resource: {heading}"
    assert "`Directory.Read.All`" not in text, "permissions follow the renamed key"


def test_a_renamed_project_names_the_root_cause_instead_of_recreating_everything(
    project_copy: Path, tmp_path: Path, root_preview: Path
) -> None:
    _base(root_preview, tmp_path / "base")
    edit_yaml(project_copy / "Pulumi.yaml", lambda doc: doc.update(name="csp-partner-apps"))
    assert _preview(project_copy, tmp_path / "head") == 0
    status, text = _diff(
        tmp_path / "base" / "preview", tmp_path / "head" / "preview", tmp_path / "d.md"
    )
    assert status == 0, text
    assert "The Pulumi project name changes (`partner-apps` → `csp-partner-apps`" in text
    assert "`pulumi stack rename <org>/csp-partner-apps/<stack>`" in text
    assert "**Created" not in text
    assert "**Deleted" not in text
