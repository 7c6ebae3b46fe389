"""The ``cw`` fixture: both region stacks with their customers against a fresh loopback cloud."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from partner_apps.sandbox.customer_world import CustomerWorld, open_customer_world


@pytest.fixture
def cw(tmp_path: Path) -> Iterator[CustomerWorld]:
    with open_customer_world(tmp_path) as opened:
        yield opened
