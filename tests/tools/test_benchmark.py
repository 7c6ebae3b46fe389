"""The benchmark script still runs (its figures are in docs/benchmark.md; no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_smallest_benchmark_runs_and_prints_its_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.benchmark", "--apps", "1", "--regions", "2", "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| regions | apps/region | resources |" in result.stdout, result.stdout
    # Both regions previewed without a config or mandatory policy failure: 14 resources each.
    assert "| 2 | 1 | 28 |" in result.stdout, result.stdout
