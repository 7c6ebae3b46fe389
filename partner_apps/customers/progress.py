"""Progress of a customers verb over many customers: a bar at a terminal, a line now and then in
a log.

At a terminal (``Runtime.progress``) a tqdm bar on stderr: customers done, failed, remaining,
the pacer's consents per second and the time left. Elsewhere (a CI log) a plain line every
``interval`` seconds, and always one at the end, so a long apply shows it is alive without a
line per customer. The counts come from the workers' ``done`` calls; the clock is the runtime's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from tqdm import tqdm

INTERVAL = 10.0  # seconds between two plain lines in a log


@dataclass
class Progress:
    label: str  # "[us] apply"
    total: int
    err: TextIO
    terminal: bool
    clock: Callable[[], float]
    rate: Callable[[], float] | None = None  # the pacer's starts per second, if it paces
    interval: float = INTERVAL
    done_count: int = 0
    failed: int = 0
    _started: float = field(default=0.0, init=False)
    _last_line: float = field(default=0.0, init=False)
    _bar: tqdm[Any] | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._started = self._last_line = self.clock()
        if self.terminal and self.total:
            self._bar = tqdm(
                total=self.total, desc=self.label, unit="customer", file=self.err, leave=True
            )

    def done(self, *, failed: bool = False) -> None:
        """One customer finished (``failed``: with a cause)."""
        with self._lock:
            self.done_count += 1
            self.failed += int(failed)
            now = self.clock()
            if self._bar is not None:
                self._bar.set_postfix_str(self._postfix(), refresh=False)
                self._bar.update(1)
            elif now - self._last_line >= self.interval and self.done_count < self.total:
                self._last_line = now
                print(self.line(now), file=self.err, flush=True)

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            if self.total:
                print(self.line(self.clock(), final=True), file=self.err, flush=True)

    def _postfix(self) -> str:
        parts = [f"{self.failed} failed"]
        if self.rate is not None:
            parts.append(f"{self.rate():.1f} consents/s")
        return ", ".join(parts)

    def line(self, now: float, *, final: bool = False) -> str:
        """``[us] apply: 340/1000 customers (2 failed, 658 left), 47.3 consents/s, about 14 s
        left``; at the end ``..., in 23 s``."""
        elapsed = max(now - self._started, 0.0)
        left = self.total - self.done_count
        head = f"{self.label}: {self.done_count}/{self.total} customers ({self.failed} failed"
        head += f", {left} left)" if not final else ")"
        rate = f", {self.rate():.1f} consents/s" if self.rate is not None and not final else ""
        if final:
            return f"{head}, in {elapsed:.0f} s"
        per = elapsed / self.done_count if self.done_count else 0.0
        eta = f", about {per * left:.0f} s left" if self.done_count else ""
        return f"{head}{rate}{eta}"
