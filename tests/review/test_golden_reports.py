"""Golden files of the reviewer reports: the stack Markdown and the plan diff.

Rendered from the recorded plans (``tests/fixtures/plans``) and, for the diff, from a head that
exercises what a reviewer must see at once: a loosened allow-list, a changed owner, a new
application permission, a disabled policy and a renamed app key. Regenerate with
``UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests`` and review the diff (tests/golden.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from partner_apps.review.commands import diff
from partner_apps.review.plan import document as pf
from partner_apps.review.reports import stack as render
from tests import golden

from .conftest import GRAPH, plan_document, resources, stacks, write_plans
from .test_audit import _html_outline, _markdown_outline


@pytest.mark.parametrize("stack", stacks())
def test_the_stack_markdown_matches_its_golden_file(stack: str, catalog: pf.Catalog) -> None:
    golden.check(f"render/{stack}.md", render.render_plan(plan_document(stack), catalog))
    golden.check(f"render/{stack}.html", render.render_plan_html(plan_document(stack), catalog))


@pytest.mark.parametrize("stack", stacks())
def test_the_stack_markdown_and_html_carry_the_same_content(
    stack: str, catalog: pf.Catalog
) -> None:
    """One report model, two renderers: the same headings, table cells and text."""
    markdown = _markdown_outline(render.render_plan(plan_document(stack), catalog))
    page = _html_outline(render.render_plan_html(plan_document(stack), catalog))
    assert markdown["headings"] == page["headings"]
    assert markdown["rows"] == page["rows"]
    assert markdown["text"] == page["text"]


def _reviewed_change(document: dict[str, Any]) -> None:
    """The head of the golden diff: several things a pull request changes at once."""
    policies = {entry["name"]: entry for entry in document["policies"]}
    allow = policies["azuread-required-access-allow-list"]["properties"]
    allow["allowedApplicationPermissions"] = [
        *allow["allowedApplicationPermissions"],
        "Microsoft Graph/RoleManagement.ReadWrite.Directory",
    ]
    policies["azuread-application-password-prefer-certificate"]["enforcementLevel"] = "disabled"
    document["region"]["owners"] = [
        *document["region"]["owners"][:-1],
        "0f0e0d0c-0b0a-4909-8807-060504030201",
    ]
    access = next(
        r
        for r in resources(document, pf.API_ACCESS)
        if r["inputs"].get("apiClientId") == GRAPH and "-partner-portal-api-" in r["name"]
    )
    role_ids = list(access["inputs"].get("roleIds") or [])
    access["inputs"]["roleIds"] = sorted([*role_ids, "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8"])


def test_the_plan_diff_matches_its_golden_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    documents = {stack: plan_document(stack) for stack in stacks()}
    base = write_plans(tmp_path / "base", documents)
    for document in documents.values():
        _reviewed_change(document)
    head = write_plans(tmp_path / "head", documents)
    out, summary, page = tmp_path / "diff.md", tmp_path / "summary.md", tmp_path / "diff.html"
    status = diff.main(
        [
            str(base),
            str(head),
            "--out",
            str(out),
            "--summary-out",
            str(summary),
            "--html-out",
            str(page),
            "--fail-on-weakened",
            "--base-label",
            "main",
            "--head-label",
            "#42",
        ]
    )
    capsys.readouterr()
    assert status == diff.EXIT_WEAKENED
    golden.check("diff/diff.md", out.read_text(encoding="utf-8"))
    golden.check("diff/summary.md", summary.read_text(encoding="utf-8"))
    golden.check("diff/diff.html", page.read_text(encoding="utf-8"))
    # One report model, two renderers: the same headings, table cells and text.
    markdown = _markdown_outline(out.read_text(encoding="utf-8"))
    html = _html_outline(page.read_text(encoding="utf-8"))
    assert markdown["headings"] == html["headings"]
    assert markdown["rows"] == html["rows"]
    assert markdown["text"] == html["text"]
