"""The benchmark script still runs (its figures are in docs/benchmark.md; no timing is asserted)."""

from __future__ import annotations

import pytest

from dev import benchmark


def test_smallest_benchmark_runs_and_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    # In this process: `python -m dev.benchmark` only calls main (a new interpreter here cost
    # more than the benchmark itself).
    assert benchmark.main(["--apps", "1", "--regions", "2", "--repeat", "1"]) == 0
    output = capsys.readouterr().out
    assert "| regions | apps/region | resources |" in output, output
    # Both regions previewed without a config or mandatory policy failure: 14 resources each.
    assert "| 2 | 1 | 28 |" in output, output
    # The last column: the peak memory of `partner-apps preview` in a process of its own.
    row = next(line for line in output.splitlines() if line.startswith("| 2 | 1 | 28 |"))
    peak = float(row.strip("| ").split("|")[-1])
    assert 50 < peak < 4096, f"peak MiB of the 2 × 1 preview: {row}"
