"""Demo: ``partner-apps sam`` for both region stacks against the loopback cloud.

``python -m tests.sam.demo`` starts the fake (127.0.0.1 only, stops when done), signs a partner
admin in per region, then runs consent, refresh and status through the real command line and
clients, printing what a platform team would see. Nothing leaves this machine.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.sam.world import STACKS, World, open_world


def _show(world: World, *argv: str) -> int:
    print(f"$ partner-apps {' '.join(argv)}")
    result = world.run(*argv)
    for text in (result.out, result.err):
        if text:
            print(text.rstrip())
    print(f"(exit {result.code})\n")
    return result.code


def main() -> int:
    with tempfile.TemporaryDirectory() as directory, open_world(Path(directory)) as world:
        _show(world, "sam", "status")
        for stack in STACKS:
            region = world.regions[stack]
            world.cloud.sign_in_as(region.tenant_id, region.admin.upn)
            _show(world, "sam", "consent", "--stack", stack)
            world.advance(days=7)
            _show(world, "sam", "refresh", "--stack", stack)
        return _show(world, "sam", "status")


if __name__ == "__main__":
    sys.exit(main())
