"""The catalog's changes as the diff shows them first (``changes/catalog.py`` says why)."""

from __future__ import annotations

from collections.abc import Sequence

from partner_apps.review.changes.catalog import CatalogChange
from partner_apps.review.plan.model import CatalogEntry
from partner_apps.review.reports.model import (
    Block,
    Inline,
    Paragraph,
    Section,
    Table,
    code,
    strong,
    text,
)

TITLE = "⚠ Permission catalog changed"


def _side(entry: CatalogEntry | None) -> Inline:
    if entry is None:
        return text("(not in the catalog)")
    flags = ", ".join(entry.flags) or "no flags"
    return text(code(entry.id), f" ({entry.risk} risk; {flags})")


def catalog_section(changes: Sequence[CatalogChange]) -> tuple[Block, ...]:
    """A section naming each changed entry with its id, risk and flags before and after; none
    when the catalog did not change."""
    if not changes:
        return ()
    weakening = [change for change in changes if change.weakening]
    lead = (
        text(
            strong(f"{len(weakening)} catalog entr{'y' if len(weakening) == 1 else 'ies'}"),
            " changed what a permission name stands for: every report below names permissions "
            "through this catalog, and ",
            code("pulumi up"),
            " grants its ids. Check each id against Microsoft's published permissions before "
            "approving.",
        )
        if weakening
        else text("Permissions added to or removed from the catalog; no existing entry changed.")
    )
    rows = tuple(
        (
            text("⚠ " if change.weakening else "", code(change.entry.permission)),
            text(change.entry.api_name),
            text(change.entry.kind),
            text(change.kind),
            _side(change.before),
            _side(change.after),
        )
        for change in changes
    )
    table = Table(("Permission", "API", "Kind", "Change", "Before", "After"), rows)
    return (Section(TITLE, (Paragraph(lead), table)),)


def catalog_json(changes: Sequence[CatalogChange]) -> list[dict[str, object]]:
    """The catalog's changes for the diff's JSON document."""

    def side(entry: CatalogEntry | None) -> dict[str, object] | None:
        if entry is None:
            return None
        return {"id": entry.id, "risk": entry.risk, "flags": list(entry.flags)}

    return [
        {
            "api": change.entry.api,
            "apiName": change.entry.api_name,
            "permission": change.entry.permission,
            "type": change.entry.kind,
            "change": change.kind,
            "weakening": change.weakening,
            "before": side(change.before),
            "after": side(change.after),
        }
        for change in changes
    ]
