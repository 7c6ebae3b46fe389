"""Golden files: reviewed expected outputs of the reports, compared byte for byte.

A test renders a report from recorded inputs (pinned date, commit and pack version) and calls
``check("audit/audit.md", text)``. When the output changes on purpose, regenerate every golden
file with one command and review the diff before committing it::

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests

(see ``tests/fixtures/golden/README.md``). Without ``UPDATE_GOLDEN=1`` a missing or different
golden file fails the test with the first differing lines.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "golden"
UPDATE_ENV = "UPDATE_GOLDEN"
COMMAND = f"{UPDATE_ENV}=1 .venv/bin/python -m pytest tests"
_DIFF_LINES = 40


def updating() -> bool:
    return os.environ.get(UPDATE_ENV) == "1"


def check(name: str, actual: str) -> None:
    """Compare ``actual`` with ``tests/fixtures/golden/<name>`` (or write it when updating)."""
    path = GOLDEN / name
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(actual)
        return
    if not path.is_file():
        pytest.fail(f"no golden file {name}: run `{COMMAND}` and review it", pytrace=False)
    expected = path.read_text(encoding="utf-8")
    if expected != actual:
        diff = list(
            difflib.unified_diff(
                expected.splitlines(),
                actual.splitlines(),
                f"golden/{name}",
                "actual",
                lineterm="",
            )
        )
        shown = "\n".join(diff[:_DIFF_LINES]) + ("\n…" if len(diff) > _DIFF_LINES else "")
        pytest.fail(
            f"{name} differs from its golden file; if the change is intended run `{COMMAND}` "
            f"and review the diff:\n{shown}",
            pytrace=False,
        )
