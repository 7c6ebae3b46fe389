"""The parts of the diff document about regions and resources: property changes, a region's
identity and policy config, each region's resource changes, the counts, failed previews.

``reports/diff.py`` puts them in order with the facts gathered across regions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from partner_apps.review.changes.model import (
    MISSING,
    Code,
    IdentityChange,
    PropertyChange,
    StackDiff,
    Words,
)
from partner_apps.review.changes.policies import config_order, weakened_summary
from partner_apps.review.changes.properties import scalars
from partner_apps.review.plan.document import SECRET
from partner_apps.review.plan.values import format_unix, join_words, show_value
from partner_apps.review.reports.model import (
    Block,
    BulletList,
    Inline,
    ListItem,
    Paragraph,
    Quote,
    Section,
    Span,
    Table,
    code,
    strong,
    text,
)

OP_TITLES = (
    ("create", "Created"),
    ("replace", "Replaced"),
    ("update", "Updated"),
    ("delete", "Deleted"),
)


def inline(phrase: Words) -> Inline:
    """A phrase of the change model as inline text of the report model."""
    return tuple(
        Span("text", part)
        if isinstance(part, str)
        else code(part.value)
        if isinstance(part, Code)
        else strong(part.value)
        for part in phrase
        if part != ""
    )


def codes(values: Iterable[str]) -> Inline:
    found: list[Span] = []
    for index, value in enumerate(values):
        found += [Span("text", ", ")] if index else []
        found.append(code(value))
    return tuple(found)


# --------------------------------------------------------------------------------------------
# Property changes
# --------------------------------------------------------------------------------------------


def _value(value: Any, names: Mapping[str, str], path: str) -> Inline:
    if value is MISSING:
        return text("(not set)")
    shown = code(show_value(value, limit=100))
    if isinstance(value, str) and value.lower() in names:
        return text(shown, f" ({names[value.lower()]})")
    if path.endswith("expires") and isinstance(value, int) and not isinstance(value, bool):
        return text(shown, f" ({format_unix(value)})")
    if isinstance(value, list) and value and scalars(value):
        named = [names[v.lower()] for v in value if isinstance(v, str) and v.lower() in names]
        if named:
            return text(shown, f" ({', '.join(named)})")
    return text(shown)


def _values(values: Iterable[Any], names: Mapping[str, str], path: str) -> Inline:
    found: list[Span] = []
    for index, value in enumerate(values):
        found += [Span("text", ", ")] if index else []
        found += _value(value, names, path)
    return tuple(found)


def describe(change: PropertyChange, names: Mapping[str, str] | None = None) -> Inline:
    """One line: what changes from what to what (ids named when known)."""
    names = names or {}
    label = code(change.path)
    suffix = " (forces replacement)" if change.replace else ""
    old, new, path = change.old, change.new, change.path
    if isinstance(old, list) and isinstance(new, list) and scalars(old) and scalars(new):
        added = [v for v in new if v not in old]
        removed = [v for v in old if v not in new]
        parts: list[Inline] = []
        if added:
            parts.append(text("adds ", _values(added, names, path)))
        if removed:
            parts.append(text("removes ", _values(removed, names, path)))
        if not parts:
            return text(label, f": reordered{suffix}")
        joined = parts[0] if len(parts) == 1 else text(parts[0], "; ", parts[1])
        return text(label, ": ", joined, suffix)
    if change.kind == "add" or old is MISSING:
        return text(label, ": added ", _value(new, names, path), suffix)
    if change.kind == "delete" or new is MISSING:
        return text(label, ": removed (was ", _value(old, names, path), ")", suffix)
    if old == SECRET and new == SECRET:
        return text(label, f": secret value changes{suffix}")
    return text(label, ": ", _value(old, names, path), " → ", _value(new, names, path), suffix)


Entry = ListItem | Paragraph | Quote


def blocks_of(entries: Iterable[Entry]) -> list[Block]:
    """Entries as blocks: consecutive list items make one list."""
    blocks: list[Block] = []
    items: list[ListItem] = []
    for entry in entries:
        if isinstance(entry, ListItem):
            items.append(entry)
            continue
        if items:
            blocks.append(BulletList(tuple(items)))
            items = []
        blocks.append(entry)
    if items:
        blocks.append(BulletList(tuple(items)))
    return blocks


def item(*parts: Inline | Span | str) -> ListItem:
    return ListItem(text(*parts))


# --------------------------------------------------------------------------------------------
# A region's identity and policy config
# --------------------------------------------------------------------------------------------


def _shown(value: Any) -> Inline:
    if isinstance(value, list):
        return codes(str(v) if isinstance(v, str) else show_value(v) for v in value) or text(
            "(none)"
        )
    if isinstance(value, Mapping):
        parts: list[Span] = []
        for index, (key, item) in enumerate(sorted(value.items())):
            parts += [Span("text", ", ")] if index else []
            parts += text(f"{key} ", _shown(item))
        return tuple(parts) or text("(none)")
    return text(code(value if isinstance(value, str) else show_value(value)))


def identity_inline(change: IdentityChange) -> Inline:
    if change.before is None:
        return text(f"{change.label}: ", _shown(change.after))
    return text(f"{change.label}: ", _shown(change.before), " → ", _shown(change.after))


def policy_config_entries(diffs: Sequence[StackDiff]) -> list[Entry]:
    """Weaker changes first, across regions, then the rest."""
    changes = sorted((c for d in diffs for c in d.policy_changes), key=config_order)
    entries: list[Entry] = []
    for change in changes:
        where = text(code(change.policy), text(" ", code(change.prop)) if change.prop else ())
        mark = text(" (", strong("weaker"), ")") if change.weaker else ()
        entries.append(item(strong(change.stack), ": ", where, " ", inline(change.text), mark))
    return entries


# --------------------------------------------------------------------------------------------
# Regions
# --------------------------------------------------------------------------------------------


def failure_item(stack: str, error: str) -> ListItem:
    first, *rest = error.strip().splitlines() or ["(no message)"]
    return ListItem(text(strong(stack), f": preview failed: {first.strip()}"), "\n".join(rest))


def _identity_blocks(diff: StackDiff) -> list[Block]:
    """What of the region's identity changes (a new region's is at the top of the diff)."""
    if not diff.identity or diff.status == "added":
        return []
    items = tuple(ListItem(identity_inline(change)) for change in diff.identity)
    return [Paragraph(text(strong("⚠ Stack identity changes"))), BulletList(items)]


def _status_blocks(diff: StackDiff) -> list[Block]:
    if diff.status == "added":
        return [Paragraph(text("New stack: every resource is created."))]
    if diff.status == "base-failed":
        return [
            Paragraph(
                text(
                    "The base's preview failed, so there is nothing to compare with: every "
                    "resource is listed as created."
                )
            ),
            BulletList((failure_item(f"{diff.stack} (base)", diff.base_failure or ""),)),
        ]
    if diff.status == "removed":
        return [Paragraph(text("Stack removed: every resource is deleted."))]
    return []


def _change_blocks(diff: StackDiff) -> list[Block]:
    blocks: list[Block] = []
    for op, title in OP_TITLES:
        changes = sorted((c for c in diff.changes if c.op == op), key=lambda c: (c.type, c.name))
        if not changes:
            continue
        blocks.append(Paragraph(text(strong(f"{title} ({len(changes)})"))))
        if op in ("create", "delete"):
            rows = tuple(
                (
                    text(code(c.name)),
                    text(code(c.type)),
                    text(strong("yes")) if c.resource.protect else text("no"),
                )
                for c in changes
            )
            blocks.append(Table(("Resource", "Type", "Protected"), rows))
            continue
        items = []
        for change in changes:
            head = text(code(change.name), " (", code(change.type), ")")
            if change.op == "replace" and change.replace_reasons:
                head = text(
                    head,
                    " — replaced because ",
                    codes(change.replace_reasons),
                    " changes",
                    " (inferred)" if change.inferred else "",
                )
            children = tuple(describe(p, diff.names) for p in change.properties)
            items.append(ListItem(head, children=children))
        blocks.append(BulletList(tuple(items)))
    return blocks


NO_CHANGES = "No changes."
NO_CHANGES_LINE = text(NO_CHANGES)


def stack_section(diff: StackDiff, no_changes: Inline = NO_CHANGES_LINE) -> Section:
    """A region's changes; ``no_changes``: what to say when it has none."""
    if diff.status == "failed":
        failed = text(
            "Preview failed (see ", strong("⚠ Previews that failed"), " above): not compared."
        )
        return Section(diff.stack, (Paragraph(failed),), level=3)
    blocks = [*_identity_blocks(diff), *_status_blocks(diff)]
    blocks += [Quote(inline(note)) for note in diff.notes]
    if not diff.changes:
        config_only = (
            diff.policy_changes or diff.pack_changed or (diff.identity and diff.status == "changed")
        )
        blocks.append(Paragraph(text("No resource changes.") if config_only else no_changes))
    blocks += _change_blocks(diff)
    return Section(diff.stack, tuple(blocks), level=3)


def _new_region(diff: StackDiff) -> Section:
    """A new region's identity and its policy config, as a reviewer reads them first."""
    blocks: list[Block] = []
    if diff.identity:
        items = tuple(ListItem(identity_inline(change)) for change in diff.identity)
        blocks += [Paragraph(text("Identity:")), BulletList(items)]
    if diff.head_policies:
        rows = tuple(
            (
                text(code(policy.name)),
                text(policy.enforcement_level),
                _config(policy.properties),
            )
            for policy in sorted(diff.head_policies.values(), key=lambda p: p.name)
        )
        blocks += [
            Paragraph(text("Policy config (effective enforcement and properties):")),
            Table(("Policy", "Enforcement", "Config"), rows),
        ]
    return Section(f"New region {diff.stack}", tuple(blocks))


def _config(properties: Mapping[str, Any]) -> Inline:
    parts: list[Span] = []
    for index, (key, value) in enumerate(sorted(properties.items())):
        parts += [Span("text", "; ")] if index else []
        parts += text(code(key), ": ", _shown(value))
    return tuple(parts) or text("—")


def pack_section(diffs: Sequence[StackDiff]) -> Section | None:
    """The policy pack's source changed: one line per change, naming the regions, at the top
    (a change to policy code may change no resource and no listed enforcement)."""
    changed: dict[tuple[str, str], list[str]] = {}
    for diff in diffs:
        if diff.pack_changed and diff.base_pack and diff.head_pack:
            key = (diff.base_pack.short, diff.head_pack.short)
            changed.setdefault(key, []).append(diff.stack)
    if not changed:
        return None
    items = tuple(
        item(
            "⚠ policy pack source changed: ",
            code(before),
            " → ",
            code(after),
            f" ({join_words(sorted(stacks))})",
        )
        for (before, after), stacks in sorted(changed.items())
    )
    why = (
        "The policies' code (policies/) differs between the two plans: review it as you would "
        "a change of enforcement. Weakened policies, if any, are listed under Policy config."
    )
    return Section("⚠ Policy pack source changed", (BulletList(items), Paragraph(text(why))))


def region_sections(diffs: Sequence[StackDiff]) -> list[Block]:
    """What a region's configuration itself changes, before any resource: a new region's
    identity (what it is, to be read: not styled as an alarm), the regions' policy config
    (loosening first), then identity changes of existing regions."""
    sections: list[Block] = []
    pack = pack_section(diffs)
    if pack is not None:
        sections.append(pack)
    for diff in diffs:
        if diff.status == "added" and (diff.identity or diff.head_policies):
            sections.append(_new_region(diff))
    config_changes = [change for d in diffs for change in d.policy_changes]
    if config_changes:
        loosened = any(c.weaker for c in config_changes)
        blocks: list[Block] = []
        if loosened:
            summary = f"{weakened_summary(config_changes)}; weaker changes first."
            blocks.append(Paragraph(text(summary)))
        blocks += blocks_of(policy_config_entries(diffs))
        title = "⚠ Policy config loosened" if loosened else "Policy config"
        sections.append(Section(title, tuple(blocks)))
    moved = [d for d in diffs if d.identity and d.status == "changed"]
    if moved:
        items = tuple(
            item(strong(d.stack), ": ", identity_inline(change))
            for d in moved
            for change in d.identity
        )
        sections.append(Section("⚠ Stack identity changes", (BulletList(items),)))
    return sections


def counts_table(diffs: Sequence[StackDiff]) -> Table:
    rows = tuple(
        (text(d.stack, " (", strong("preview failed"), ")"), *(text("—"),) * 4)
        if d.status == "failed"
        else (
            text(d.stack),
            *(text(str(d.count(op))) for op in ("create", "update", "replace", "delete")),
        )
        for d in diffs
    )
    return Table(("Stack", "Created", "Updated", "Replaced", "Deleted"), rows)


def failed_section(failed: Sequence[StackDiff]) -> Section:
    explanation = (
        "These stacks have no plan on the head side: their config or policy config is "
        "invalid. Nothing is known about what they would change (including protected "
        "resources), so they are not compared."
    )
    items = tuple(failure_item(d.stack, d.failure or "") for d in failed)
    return Section("⚠ Previews that failed", (Paragraph(text(explanation)), BulletList(items)))
