"""The customers benchmark still runs (figures in docs/benchmark.md; no timing is asserted)."""

from __future__ import annotations

import re

import pytest

from dev import customers_benchmark


def test_smallest_customers_benchmark_runs_and_prints_its_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = customers_benchmark.main(
        ["--customers", "4", "--workers", "2", "--latency", "0,5", "--storm-customers", "20"]
    )
    assert code == 0
    shown = capsys.readouterr().out
    assert "4 customers × 3 apps" in shown
    # The SAM app, the web app and the worker: one consent each per customer (the API app has
    # application permissions only: no consent). One apply per latency.
    assert shown.count("consents per app [4, 4, 4]") == 2
    rows = [line.split() for line in shown.splitlines() if line.startswith("apply ")]
    rows = [row for row in rows if row[1] != "at"]  # the table's rows, not the "apply at" lines
    assert [(row[1], row[3], row[6]) for row in rows] == [("0", "0", "2"), ("5", "0", "2")]
    summary = shown.split("summary of the applies:\n")[1].splitlines()
    assert summary[0].split() == [
        "latency", "seconds", "requests", "429s", "floor", "ratio", "CPU", "s/1k", "workers",
        "in", "flight",
    ]  # fmt: skip
    assert [line.split()[:2] for line in summary[1:3]] == [["0", "ms"], ["5", "ms"]]
    assert "client CPU" in shown
    storm = next(line for line in shown.splitlines() if line.startswith("429 storm"))
    assert "apply exit 0" in storm
    assert storm.endswith("requests inside a throttle window 0")


def test_latencies_are_milliseconds_zero_or_more() -> None:
    assert customers_benchmark._latencies("0, 50,150") == [0.0, 50.0, 150.0]
    for wrong in ("", "fast", "-1"):
        with pytest.raises(Exception, match="milliseconds"):
            customers_benchmark._latencies(wrong)


def test_gdap_benchmark_reads_the_steady_state_and_writes_no_gdap(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = customers_benchmark.main(
        ["--customers", "4", "--workers", "2", "--latency", "0", "--storm-customers", "0", "--gdap"]
    )
    assert code == 0
    shown = capsys.readouterr().out
    assert "4 customers × 3 apps (and the SAM app's own consent), GDAP steady state" in shown
    # The consents are made as without GDAP: the seeded relationships change none of them.
    assert "consents per app [4, 4, 4]" in shown
    rows = [
        line.split() for line in shown.splitlines() if line.split()[:1] in (["apply"], ["plan"])
    ]
    rows = [row for row in rows if row[1] != "at"]
    # The first plan has consents to make (20), the apply succeeds, the plan after it is clean:
    # the seeded relationships are exactly what the template asks for.
    assert [row[-5] for row in rows] == ["20", "0", "0"], rows
    gdap = next(line for line in shown.splitlines() if line.startswith("GDAP Graph requests"))
    # Steady state: GDAP is read (the region's listings and each relationship's access
    # assignments), never written.
    assert gdap.endswith("GDAP writes 0"), gdap
    counts = [int(part) for part in re.findall(r"(?:plan|apply|again) (\d+) \(", gdap)]
    assert len(counts) == 3, gdap
    # At least the listing and each customer's relationship's assignments, in every step.
    assert min(counts) >= 4 + 1, gdap
