"""Generated artifacts committed in the repository are current."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from dev.generate import artifacts, stale_artifacts
from tests.conftest import ROOT, copy_project


def test_generated_files_are_current() -> None:
    stale = stale_artifacts()
    assert stale == [], f"stale generated files {stale}: run `make generate` and commit them"


def _generated_tree(target: Path) -> Path:
    """A copy of what ``make generate`` reads and writes, so a test can make one file stale."""
    copy_project(target)
    shutil.copytree(ROOT / "policies" / "reviewed", target / "policies" / "reviewed")
    for relative in artifacts(ROOT):
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, target / relative)
    return target


def test_a_stale_customers_schema_is_named(tmp_path: Path) -> None:
    root = _generated_tree(tmp_path)
    assert stale_artifacts(root) == [], "the copied tree is current"
    schema = root / "schema" / "customers.schema.json"
    document = json.loads(schema.read_text(encoding="utf-8"))
    document["properties"].pop("gdap")  # someone edited the model, not the committed schema
    schema.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    assert stale_artifacts(root) == ["schema/customers.schema.json"]
