"""The set-up benchmark's pieces (a real run clones and installs: `make benchmark-setup`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from dev import benchmark_setup
from tests.conftest import ROOT


def test_every_phase_is_a_makefile_target_or_the_venv() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([\w-]+):", makefile, re.MULTILINE))
    assert "STAMP := $(VENV)/.installed" in makefile
    assert "$(STAMP): " in makefile
    targets.add(".venv/.installed")
    for phase, command in benchmark_setup.PHASES:
        if command[0] == "make":
            assert command[-1] in targets, phase
        else:
            # The Makefile's own first step, as it runs it.
            assert command[1:] == ("-m", "venv", "--without-pip", ".venv"), phase
            assert "$(PYTHON) -m venv --without-pip $(VENV)" in makefile


def test_the_installers_caches_point_into_the_given_folder(tmp_path: Path) -> None:
    env = benchmark_setup._environment(tmp_path)
    for name in ("UV_CACHE_DIR", "PIP_CACHE_DIR", "XDG_CACHE_HOME"):
        assert Path(env[name]).parent == tmp_path
    assert "VIRTUAL_ENV" not in env


def test_the_table_has_the_median_of_each_phase_and_the_targets() -> None:
    names = [phase for phase, _ in benchmark_setup.PHASES]
    names += ["fresh make preview", benchmark_setup.FRESH_TEST, benchmark_setup.SPEED]
    rounds = [benchmark_setup.Round(dict.fromkeys(names, value)) for value in (3.0, 1.0, 2.0)]
    text = benchmark_setup.table(rounds)
    assert (
        text.splitlines()[0] == "| phase (seconds, wall; 3 rounds) | median | min | max | target |"
    )
    assert "| install | 2.00 | 1.00 | 3.00 |  |" in text
    assert "| **fresh make preview** | 2.00 | 1.00 | 3.00 | ≤ 20 |" in text
    # The test-time targets are retired (issue 24): their rows print figures, no target.
    assert "| **fresh make test** | 2.00 | 1.00 | 3.00 |  |" in text
    assert "| **warm make preview** | 2.00 | 1.00 | 3.00 | ≤ 1.2 |" in text
    assert text.splitlines()[-1] == "| machine speed (fixed loop) | 2.00 | 1.00 | 3.00 |  |"


def test_the_machine_speed_is_the_loop_timed_in_a_new_interpreter() -> None:
    # A short loop, twice: the plumbing, not the machine (no bound on the time it reports).
    seconds = benchmark_setup.machine_speed(sys.executable, loop="sum(range(1000))\n", repeats=2)
    assert seconds > 0, "machine_speed: the loop reported no time"
    assert "for i in range(10_000_000)" in benchmark_setup.SPEED_LOOP


def test_a_failing_speed_loop_is_a_setup_error() -> None:
    with pytest.raises(benchmark_setup.SetupError, match="machine speed"):
        benchmark_setup.machine_speed(sys.executable, loop="raise SystemExit(3)\n", repeats=1)
