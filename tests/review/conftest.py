"""Fixtures for the report tools: plan documents to copy and change, and helpers to find things.

The plans in ``tests/fixtures/plans`` are recordings of this repository's stacks by the offline
preview (``tests/fixtures/plans/README.md`` says how to refresh them; a test in
``tests/test_preview.py`` fails when they drift). Tests find resources by behaviour (type, owning
app, permission) rather than by fixture names, so they keep passing when the recording changes.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from partner_apps.review.plan import document as pf
from policies.partner_policies import catalog as permissions

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
PLANS = FIXTURES / "plans"
PREVIEWS = FIXTURES / "preview-json"
GRAPH = "00000003-0000-0000-c000-000000000000"
DIRECTORY_READ_WRITE_ALL_ROLE = "19dbc75e-c2e2-444c-a770-ec69d8559fc7"


def plan_document(stack: str) -> dict[str, Any]:
    """A fresh copy of a fixture plan's JSON (parsed anew: nothing is shared between calls)."""
    document: dict[str, Any] = json.loads((PLANS / f"{stack}.json").read_text(encoding="utf-8"))
    return document


def stacks() -> list[str]:
    return sorted(path.stem for path in PLANS.glob("*.json"))


def resources(document: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in document["resources"] if r["type"] == type_]


def owner(document: dict[str, Any], resource: dict[str, Any]) -> str | None:
    """The app key of the component that contains ``resource``."""
    by_urn = {r["urn"]: r for r in document["resources"]}
    current = resource.get("parent")
    while current:
        parsed = pf.parse_urn(current)
        if parsed and parsed.type == pf.APP_COMPONENT:
            prefix = f"{document['stack']}-"
            return parsed.name.removeprefix(prefix)
        parent = by_urn.get(current)
        current = parent.get("parent") if parent else None
    return None


def graph_application_access(document: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(app key, resource) of the first app with Graph application permissions."""
    for resource in resources(document, pf.API_ACCESS):
        if resource["inputs"].get("apiClientId") == GRAPH and resource["inputs"].get("roleIds"):
            key = owner(document, resource)
            assert key is not None
            return key, resource
    raise AssertionError("no app with Microsoft Graph application permissions in the plan")


def rejudged(document: dict[str, Any]) -> list[dict[str, str]]:
    """The violations the pack finds in ``document``'s resources, as the preview records them
    (the region's policy config, the plan's evaluation date): a test that changes a resource
    and wants an honest plan, not one the audit flags as tampered with, records these."""
    from policies.partner_policies import evaluate

    config = json.loads(
        (ROOT / "policies" / "config" / f"{document['stack']}.json").read_text(encoding="utf-8")
    )
    when = dt.date.fromisoformat(document["evaluationDate"])
    return evaluate(document["resources"], config, evaluation_date=when)


def write_plans(folder: Path, documents: dict[str, dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stack, document in documents.items():
        (folder / f"{stack}.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    return folder


@pytest.fixture
def catalog() -> pf.Catalog:
    """The project's real permission catalog."""
    return permissions


@pytest.fixture
def documents() -> dict[str, dict[str, Any]]:
    """Fresh copies of every fixture plan, by stack."""
    return {stack: plan_document(stack) for stack in stacks()}


@pytest.fixture
def plan_dirs(
    tmp_path: Path, documents: dict[str, dict[str, Any]]
) -> Callable[[Callable[[dict[str, Any]], None]], tuple[Path, Path]]:
    """Write base plans and head plans (base changed by a function) to two folders."""

    def make(change: Callable[[dict[str, Any]], None]) -> tuple[Path, Path]:
        base = write_plans(tmp_path / "base", documents)
        head_documents = copy.deepcopy(documents)
        for document in head_documents.values():
            change(document)
        head = write_plans(tmp_path / "head", head_documents)
        return base, head

    return make
