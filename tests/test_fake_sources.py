"""The loopback cloud's behaviour table (sandbox/fakecloud/README.md) names real tests."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "partner_apps" / "sandbox" / "fakecloud" / "README.md"


def test_every_test_the_fake_behaviour_table_names_exists() -> None:
    named = set(re.findall(r"`(test_\w+)`", TABLE.read_text(encoding="utf-8")))
    assert named, f"{TABLE}: names no test"
    defined = {
        name
        for path in (ROOT / "tests").rglob("test_*.py")
        for name in re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.M)
    }
    assert not named - defined, f"{TABLE} names tests that do not exist: {sorted(named - defined)}"


def test_every_row_of_the_fake_behaviour_table_names_a_source() -> None:
    rows = [
        line
        for line in TABLE.read_text(encoding="utf-8").splitlines()
        if line.startswith("| ") and not line.startswith("| Behaviour")
    ]
    assert rows
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split(" | ")]
        assert len(cells) >= 2, row
        assert cells[-1], f"{TABLE}: a behaviour without its source: {row}"
