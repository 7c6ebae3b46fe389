"""The customers benchmark still runs (figures in docs/benchmark.md; no timing is asserted)."""

from __future__ import annotations

import pytest

from tools import customers_benchmark


def test_smallest_customers_benchmark_runs_and_prints_its_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert customers_benchmark.main(["--customers", "4", "--workers", "2"]) == 0
    shown = capsys.readouterr().out
    assert "4 customers × 3 apps" in shown
    assert "consents per app [4, 4, 4, 4]" in shown
    lines = {line.split()[0]: line.split() for line in shown.splitlines() if line[:1].islower()}
    assert lines["apply"][1] == "0"  # apply's exit code
    assert "ratio" in shown
