"""Changes of the permission catalog between two sets of plans: the offline trust root.

Every permission a report names is named through the catalog (``policies/partner_policies/
catalog.py``); the program grants the catalog's **id**. Two ids swapped in the catalog make an app
request ``Directory.ReadWrite.All`` while each report says ``Directory.Read.All``. Offline there is
no Microsoft to ask (the real path checks the tenant: ``components/published.py``), so each plan
records the catalog it was made with and the diff compares base and head:

* an entry whose id, risk or flags changed, and an id that now names another permission, are
  **weakening**: reported first, and ``diff --fail-on-weakened`` fails;
* an entry added or removed is listed (a new permission, a retired one), without failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from partner_apps.review.plan.model import CatalogEntry, Plan


@dataclass(frozen=True)
class CatalogChange:
    """One catalog entry's change, by (API, permission, kind)."""

    before: CatalogEntry | None
    after: CatalogEntry | None
    weakening: bool

    @property
    def entry(self) -> CatalogEntry:
        entry = self.after or self.before
        assert entry is not None  # a change has at least one side
        return entry

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"


def _catalog_of(plans: Sequence[Plan]) -> dict[tuple[str, str, str], CatalogEntry] | None:
    """The catalog one checkout's plans were made with (every stack records the same one; the
    first stack's, by name, when they differ)."""
    for plan in sorted(plans, key=lambda p: p.stack):
        if plan.permission_catalog is not None:
            return {entry.key: entry for entry in plan.permission_catalog}
    return None


def catalog_changes(base: Sequence[Plan], head: Sequence[Plan]) -> tuple[CatalogChange, ...]:
    """What changed in the catalog from ``base`` to ``head`` (nothing when either side's plans
    record none: plans older than the record)."""
    before, after = _catalog_of(base), _catalog_of(head)
    if before is None or after is None:
        return ()
    old_names = {entry.id.lower(): key for key, entry in before.items()}
    changes: list[CatalogChange] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None:
            if old.judged != new.judged:
                changes.append(CatalogChange(old, new, weakening=True))
        elif new is not None:
            # A new entry carrying an id that named another permission in base is a swap.
            reused = old_names.get(new.id.lower())
            changes.append(CatalogChange(None, new, weakening=reused is not None))
        else:
            changes.append(CatalogChange(old, None, weakening=False))
    return tuple(changes)
