"""Progress over many customers: a bar at a terminal, a line now and then in a log (issue 29)."""

from __future__ import annotations

import io

from partner_apps import exitcodes
from partner_apps.customers.progress import Progress
from partner_apps.sandbox.customer_world import CustomerWorld


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_log_gets_a_line_every_interval_and_one_at_the_end() -> None:
    clock, err = _Clock(), io.StringIO()
    progress = Progress(
        "[us] apply", 100, err, terminal=False, clock=clock, rate=lambda: 47.5, interval=10.0
    )
    for number in range(100):
        clock.now += 0.5  # a customer every half second: 50 s in all
        progress.done(failed=number % 25 == 0)
    progress.close()
    lines = err.getvalue().splitlines()
    assert len(lines) == 5  # at 10, 20, 30, 40 s, then the end
    assert lines[0] == (
        "[us] apply: 20/100 customers (1 failed, 80 left), 47.5 consents/s, about 40 s left"
    )
    assert lines[-1] == "[us] apply: 100/100 customers (4 failed), in 50 s"


def test_a_terminal_gets_a_bar_with_the_failures_and_the_rate() -> None:
    clock, err = _Clock(), io.StringIO()
    progress = Progress("[eu] apply", 3, err, terminal=True, clock=clock, rate=lambda: 12.0)
    for failed in (False, True, False):
        progress.done(failed=failed)
    progress.close()
    shown = err.getvalue()
    assert "[eu] apply" in shown
    assert "3/3" in shown
    assert "1 failed, 12.0 consents/s" in shown


def test_an_apply_in_a_log_ends_with_its_progress_line(cw: CustomerWorld) -> None:
    result = cw.run("customers", "apply", "--stack", "us")
    assert result.code == exitcodes.OK
    assert "[us] apply: 3/3 customers (0 failed), in " in result.err
    plan = cw.run("customers", "plan", "--stack", "us")
    assert "[us] plan: 3/3 customers (0 failed), in " in plan.err
    verified = cw.run("customers", "verify", "--stack", "us")
    assert verified.code == exitcodes.OK
    assert "[us] verify: 3/3 customers (0 failed), in " in verified.err
