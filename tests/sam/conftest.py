"""The ``world`` fixture: both example region stacks against a fresh loopback cloud per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from partner_apps.sandbox.world import World, open_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with open_world(tmp_path) as opened:
        yield opened
