"""The layout's dependency rules, checked over every import of the code (issue 26, item 8).

The review product is a pipeline: the plan file (``review/plan``) is read, analysed
(``review/analysis``) and compared (``review/changes``) into values; only ``review/reports``
turns values into words and markup. The customer side reaches the review product only through its
reports. The policy pack is published alone, so it imports nothing of the project outside
``policies/``; the Pulumi program (``components``) imports neither the command line nor the
review product; nothing installed imports the developer scripts (``dev/``) or the tests.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in ``path``, relative ones made absolute,
    including imports inside functions."""
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield node.lineno, module
            # `from partner_apps.review import reports` imports the package named by the alias.
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def _files(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


# The one file format both sides share: the customers' verify command writes its results with the
# module the audit reads them with (one reader and writer per file format, issue 26 item 3).
SHARED_FORMATS = ("partner_apps.review.plan.verify_results",)


# (the code under, what it must not import, why)
RULES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "partner_apps/review/plan",
        (
            "partner_apps.review.reports",
            "partner_apps.review.analysis",
            "partner_apps.review.changes",
            "partner_apps.review.audit",
        ),
        "the plan file is the bottom of the pipeline: it knows no view, change or report",
    ),
    (
        "partner_apps/review/analysis",
        ("partner_apps.review.reports", "partner_apps.review.changes", "partner_apps.review.audit"),
        "views hold values; words and markup are the reports'",
    ),
    (
        "partner_apps/review/changes",
        ("partner_apps.review.reports", "partner_apps.review.audit"),
        "the change model holds values; words and markup are the reports'",
    ),
    (
        "partner_apps/review",
        ("partner_apps.cli", "partner_apps.sam", "partner_apps.customers", "partner_apps.sandbox"),
        "the review product is used by the command line, it does not use it",
    ),
    (
        "partner_apps/sam",
        (
            "partner_apps.review.plan",
            "partner_apps.review.analysis",
            "partner_apps.review.changes",
            "partner_apps.review.audit",
            "partner_apps.preview",
        ),
        "the customer side reaches the review product only through review/reports",
    ),
    (
        "partner_apps/customers",
        (
            "partner_apps.review.plan",
            "partner_apps.review.analysis",
            "partner_apps.review.changes",
            "partner_apps.review.audit",
            "partner_apps.preview",
        ),
        "the customer side reaches the review product only through review/reports",
    ),
    (
        "policies",
        ("components", "partner_apps", "dev", "tests"),
        "the policy pack is published alone (pulumi preview --policy-pack policies)",
    ),
    (
        "components",
        ("partner_apps", "dev", "tests"),
        "the Pulumi program needs neither the command line nor the review product",
    ),
    ("partner_apps", ("dev", "tests"), "the installed package cannot import what is not installed"),
)


@pytest.mark.parametrize(("folder", "forbidden", "why"), RULES, ids=[rule[0] for rule in RULES])
def test_no_import_crosses_a_forbidden_edge(
    folder: str, forbidden: tuple[str, ...], why: str
) -> None:
    crossings = sorted(
        {
            f"{path.relative_to(ROOT)}:{line} imports {prefix}"
            for path in _files(folder)
            for line, module in _imports(path)
            for prefix in forbidden
            if _within(module, prefix)
            and not any(_within(module, shared) for shared in SHARED_FORMATS)
        }
    )
    assert not crossings, f"{folder} must not import {', '.join(forbidden)} ({why}):\n  " + (
        "\n  ".join(crossings)
    )


def test_the_checker_sees_relative_and_nested_imports(tmp_path: Path) -> None:
    """The check itself: a relative import and one inside a function are both found."""
    package = ROOT / "partner_apps" / "review" / "analysis"
    probe = package / "_probe_for_test.py"
    try:
        probe.write_text(
            "from ..reports import model\n\ndef f():\n    import partner_apps.review.reports\n",
            encoding="utf-8",
        )
        found = [module for _, module in _imports(probe)]
    finally:
        probe.unlink()
    assert "partner_apps.review.reports" in found
    assert "partner_apps.review.reports.model" in found
