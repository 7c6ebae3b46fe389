"""Generated artifacts committed in the repository are current."""

from __future__ import annotations

from dev.generate import stale_artifacts


def test_generated_files_are_current() -> None:
    stale = stale_artifacts()
    assert stale == [], f"stale generated files {stale}: run `make generate` and commit them"
