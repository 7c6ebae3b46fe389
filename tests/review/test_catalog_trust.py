"""The permission catalog as the diff's trust root (issue 27, item 1, offline).

Each plan records the catalog it was made with (``permissionCatalog``); ``partner-apps diff``
reports any entry whose id, risk or flags changed first, as "⚠ Permission catalog changed" with
the old and new id, and ``--fail-on-weakened`` fails. The attack: two ids swapped in
``policies/partner_policies/catalog.py`` make an app request Directory.ReadWrite.All while every
report names Directory.Read.All.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from partner_apps import exitcodes
from partner_apps.review.commands import diff
from partner_apps.review.plan.document import catalog_record
from policies.partner_policies import catalog
from tests.conftest import ROOT, STACKS

from .conftest import plan_document, stacks, write_plans

READ = ("Directory.Read.All", "application")
READ_WRITE = ("Directory.ReadWrite.All", "application")
TITLE = "## ⚠ Permission catalog changed"


def _with_catalog(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    documents = {stack: plan_document(stack) for stack in stacks()}
    for document in documents.values():
        document["permissionCatalog"] = rows
    return documents


def _row(rows: list[dict[str, Any]], value: str, kind: str) -> dict[str, Any]:
    return next(
        r
        for r in rows
        if r["api"] == catalog.GRAPH.app_id and r["permission"] == value and r["type"] == kind
    )


def _diff(tmp_path: Path, head_rows: list[dict[str, Any]]) -> tuple[int, str, dict[str, Any]]:
    base = write_plans(tmp_path / "base", _with_catalog(catalog_record(catalog.PERMISSIONS)))
    head = write_plans(tmp_path / "head", _with_catalog(head_rows))
    out, document = tmp_path / "diff.md", tmp_path / "diff.json"
    code = diff.main(
        [str(base), str(head), "--out", str(out), "--json-out", str(document), "--fail-on-weakened"]
    )
    return code, out.read_text(encoding="utf-8"), json.loads(document.read_text("utf-8"))


def test_two_swapped_ids_are_reported_first_and_fail(tmp_path: Path) -> None:
    rows = catalog_record(catalog.PERMISSIONS)
    read, read_write = _row(rows, *READ), _row(rows, *READ_WRITE)
    old_read, old_read_write = read["id"], read_write["id"]
    read["id"], read_write["id"] = old_read_write, old_read

    code, markdown, document = _diff(tmp_path, rows)

    assert code == exitcodes.WEAKENED, "a swapped catalog id passed --fail-on-weakened"
    headings = re.findall(r"^## .*$", markdown, flags=re.MULTILINE)
    assert headings[0] == TITLE, f"the catalog change is not the first section: {headings}"
    section = markdown.split(TITLE, 1)[1].split("\n## ", 1)[0]
    for value, old, new in (
        ("Directory.Read.All", old_read, old_read_write),
        ("Directory.ReadWrite.All", old_read_write, old_read),
    ):
        line = next(line for line in section.splitlines() if f"`{value}`" in line)
        assert "⚠" in line, line
        assert line.index(old) < line.index(new), f"{value}: before {old} → after {new}: {line}"
    changed = {(c["permission"], c["change"], c["weakening"]) for c in document["catalogChanges"]}
    assert changed == {
        ("Directory.Read.All", "changed", True),
        ("Directory.ReadWrite.All", "changed", True),
    }


def test_a_permission_flag_or_risk_lowered_is_a_catalog_change(tmp_path: Path) -> None:
    rows = catalog_record(catalog.PERMISSIONS)
    read_write = _row(rows, *READ_WRITE)
    read_write["flags"] = [f for f in read_write["flags"] if f != "highPrivilege"]
    read_write["risk"] = "medium"

    code, markdown, _ = _diff(tmp_path, rows)

    assert code == exitcodes.WEAKENED
    assert TITLE in markdown
    assert "highPrivilege" in markdown.split(TITLE, 1)[1].split("\n## ", 1)[0]


def test_an_id_moved_to_a_new_name_is_weakening(tmp_path: Path) -> None:
    """Removing an entry and adding another that carries its id is a swap by another route."""
    rows = catalog_record(catalog.PERMISSIONS)
    victim = _row(rows, *READ_WRITE)
    rows.remove(victim)
    rows.append({**victim, "permission": "Directory.Read.Everything", "risk": "low", "flags": []})

    code, markdown, document = _diff(tmp_path, rows)

    assert code == exitcodes.WEAKENED, markdown
    assert {c["permission"]: c["weakening"] for c in document["catalogChanges"]} == {
        "Directory.Read.Everything": True,
        "Directory.ReadWrite.All": False,
    }


def test_the_honest_variants_pass(tmp_path: Path) -> None:
    """The same catalog: no section; a new permission added: listed, no failure."""
    same = catalog_record(catalog.PERMISSIONS)
    code, markdown, document = _diff(tmp_path / "same", same)
    assert code == exitcodes.OK
    assert "Permission catalog" not in markdown
    assert "catalogChanges" not in document

    added = [
        *catalog_record(catalog.PERMISSIONS),
        {
            "api": catalog.GRAPH.app_id,
            "apiName": "Microsoft Graph",
            "permission": "Example.Read.All",
            "type": "delegated",
            "id": "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
            "risk": "medium",
            "flags": ["adminConsent", "cspAllowed", "customerTenant"],
        },
    ]
    code, markdown, _ = _diff(tmp_path / "added", added)
    assert code == exitcodes.OK, markdown
    assert TITLE in markdown
    assert "no existing entry changed" in markdown


def test_the_attack_on_a_copy_of_the_project_fails_the_diff(tmp_path: Path) -> None:
    """End to end: a copy whose catalog.py swaps two ids, previewed with its own code (as CI
    previews the pull request's checkout), against the committed project's preview."""
    head_project = tmp_path / "head-project"
    shutil.copytree(
        ROOT,
        head_project,
        ignore=shutil.ignore_patterns(".venv", "build", ".git", "__pycache__", "*_cache", "venv"),
    )
    source = head_project / "policies" / "partner_policies" / "catalog.py"
    text = source.read_text(encoding="utf-8")
    read = catalog.lookup("Microsoft Graph", "Directory.Read.All", "application")
    read_write = catalog.lookup("Microsoft Graph", "Directory.ReadWrite.All", "application")
    swapped = (
        text.replace(read.id, "@@READ@@")
        .replace(read_write.id, read.id)
        .replace("@@READ@@", read_write.id)
    )
    assert swapped != text
    source.write_text(swapped, encoding="utf-8")

    def preview(project: Path, out: Path) -> None:
        environment = {**os.environ, "PYTHONPATH": str(project)}
        done = subprocess.run(
            [
                *(sys.executable, "-m", "partner_apps.preview", "--project-dir", str(project)),
                *("--out", str(out), "--audit-dir", str(out.parent / f"{out.name}-audit")),
            ],
            cwd=project,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    preview(ROOT, tmp_path / "base")
    preview(head_project, tmp_path / "head")
    head_plan = json.loads((tmp_path / "head" / f"{STACKS[0]}.json").read_text("utf-8"))
    granted = {p["id"] for app in head_plan["apps"].values() for p in app["permissions"]}
    assert read_write.id in granted, "the copy's own catalog was not the one previewed"

    out = tmp_path / "diff.md"
    code = diff.main(
        [str(tmp_path / "base"), str(tmp_path / "head"), "--out", str(out), "--fail-on-weakened"]
    )
    markdown = out.read_text(encoding="utf-8")
    assert code == exitcodes.WEAKENED, markdown
    assert re.findall(r"^## .*$", markdown, flags=re.MULTILINE)[0] == TITLE
