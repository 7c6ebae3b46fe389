"""The report of a real ``pulumi preview --json``: the diff's document with what only a preview has.

Composed from typed parts (``reports/diff.py``'s ``diff_parts``): the engine's errors and
warnings right after the opening lines, the coverage warning (changes the offline plan's policy
results never evaluated) before the policy results, and a failed preview never says "No
changes.". Ids only the offline plans made up (``assignedAtDeploy``) read "(assigned at deploy)".
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Mapping, Sequence

from partner_apps.review.changes.coverage import coverage
from partner_apps.review.changes.model import StackDiff, Words
from partner_apps.review.changes.preview_read import Diagnostic, Preview, scrub_preview
from partner_apps.review.changes.preview_steps import resource_changes, stack_diffs, stack_of
from partner_apps.review.plan.document import STACK_TYPE, Catalog, Plan, PreviewFailure, parse_urn
from partner_apps.review.plan.values import join_words
from partner_apps.review.plan.vocabulary import GUID
from partner_apps.review.reports.diff import NO_CHANGES_HEADLINE, compose, diff_parts
from partner_apps.review.reports.diff_regions import NO_CHANGES_LINE, inline
from partner_apps.review.reports.ids import ASSIGNED
from partner_apps.review.reports.model import (
    Block,
    BulletList,
    Inline,
    ListItem,
    Paragraph,
    Quote,
    Report,
    Section,
    Span,
    Table,
    code,
    strong,
    text,
    to_markdown,
)

TITLE = "Preview changes"


def changes_count(count: int) -> str:
    return f"{count} change{'' if count == 1 else 's'}"


def coverage_section(found: Mapping[str, Sequence[Words]]) -> list[Block]:
    """``⚠ Policy results do not cover this preview``, per stack; nothing when covered."""
    if not found:
        return []
    total = sum(len(items) for items in found.values())
    intro = text(
        "The policy results below are the offline plan's (",
        code("--plan"),
        f"), and {changes_count(total)} of this preview {'is' if total == 1 else 'are'} not in "
        f"that plan, so no policy evaluated {'it' if total == 1 else 'them'}. Record the plan "
        "from the same commit (",
        code("make preview"),
        "), or run the real preview with the policy pack and read its event log (",
        code("--event-log FILE"),
        "), whose policy results are the engine's own.",
    )
    items = tuple(
        ListItem(
            text(
                strong(stack),
                f": policy results do not cover {changes_count(len(found[stack]))}:",
            ),
            children=tuple(inline(item) for item in found[stack]),
        )
        for stack in sorted(found)
    )
    title = "⚠ Policy results do not cover this preview"
    return [Section(title, (Paragraph(intro), BulletList(items)))]


def _preview_stacks(preview: Preview) -> list[str]:
    urns = [s.urn for s in preview.steps] + [d.urn for d in preview.diagnostics]
    return sorted({stack_of(urn) for urn in urns} - {""})


def _diagnostic_item(preview: Preview, diagnostic: Diagnostic) -> ListItem:
    stacks = _preview_stacks(preview)
    stack = stack_of(diagnostic.urn) or (stacks[0] if len(stacks) == 1 else "")
    parsed = parse_urn(diagnostic.urn)
    where = text(strong(stack or "(stack not named)"))
    if parsed is not None and parsed.type != STACK_TYPE:
        where = text(where, " on ", code(parsed.name), " (", code(parsed.type), ")")
    first, *rest = diagnostic.message.splitlines() or ["(no message)"]
    return ListItem(text(where, f": {first.strip() or '(no message)'}"), "\n".join(rest))


# A mandatory violation in a digest shows only as this engine error (the digest skips policy
# events), so the report says where to find the policy.
GENERIC_FAILURE = "preview failed"


def failure_section(preview: Preview) -> list[Block]:
    """``⚠ Preview failed`` with the engine's errors; nothing when the preview passed."""
    if not preview.failed:
        return []
    errors, mandatory = preview.errors, preview.mandatory_violations
    counted = [
        f"{len(errors)} error{'s' if len(errors) != 1 else ''}" if errors else "",
        f"{len(mandatory)} mandatory policy violation{'s' if len(mandatory) != 1 else ''}"
        if mandatory
        else "",
    ]
    intro = text(
        f"The engine reported {join_words([c for c in counted if c])}: the preview did not "
        "pass, so ",
        code("pulumi up"),
        " would fail too, and the changes below (if any) may be incomplete. The preview must "
        "pass before this change is merged.",
    )
    items = [_diagnostic_item(preview, diagnostic) for diagnostic in errors]
    if mandatory:
        items.append(
            ListItem(
                text(
                    f"{len(mandatory)} mandatory policy violation(s): see ",
                    strong("Policy results"),
                    " below.",
                )
            )
        )
    blocks: list[Block] = [Paragraph(intro), BulletList(tuple(items))]
    if preview.violations is None and all(d.message == GENERIC_FAILURE for d in errors):
        blocks.append(
            Paragraph(
                text(
                    code("pulumi preview --json"),
                    " leaves policy violations out (the CLI's JSON digest skips policy events), "
                    "so a mandatory violation shows here only as ",
                    code("preview failed"),
                    ". Run ",
                    code("pulumi preview"),
                    " without ",
                    code("--json"),
                    ", or pass its event log (",
                    code("--event-log FILE"),
                    ", which this tool also reads), to see which policy failed.",
                )
            )
        )
    return [Section("⚠ Preview failed", tuple(blocks))]


def warning_section(preview: Preview) -> list[Block]:
    warnings = [d for d in preview.diagnostics if d.severity == "warning"]
    if not warnings:
        return []
    items = tuple(_diagnostic_item(preview, diagnostic) for diagnostic in warnings)
    return [Section("Warnings from the preview", (BulletList(items),))]


SEE_FAILED = text(" (see ", strong("⚠ Preview failed"), " above)")
NO_STEPS = text(
    strong("Nothing is listed: the preview failed before the engine planned any change"),
    SEE_FAILED,
    ".",
)
# Bold as a headline; the words about the failed preview are bold anyway.
FAILED_HEADLINE = text(
    strong("No changes listed, but the preview failed (see "),
    "⚠ Preview failed",
    strong(" above): what it would change is not known."),
)
NO_CHANGES_FAILED = text(
    "No changes listed, but the preview failed", SEE_FAILED, ": what it would change is not known."
)


# --------------------------------------------------------------------------------------------
# Ids the offline plans made up
# --------------------------------------------------------------------------------------------


def offline_ids(preview: Preview, contexts: Mapping[str, Plan]) -> frozenset[str]:
    """Ids only the offline plans made up (``assignedAtDeploy``), lower case; an id that the
    preview's own states hold is the engine's, and is shown."""
    assigned: set[str] = set().union(*(plan.assigned_at_deploy for plan in contexts.values()))
    if not assigned:
        return frozenset()
    in_preview = {
        value.lower()
        for step in preview.steps
        for state in (step.old, step.new)
        if state
        for value in GUID.findall(json.dumps(state))
    }
    return frozenset(assigned - in_preview)


def _label(value: str, assigned: Collection[str]) -> str:
    return GUID.sub(lambda m: ASSIGNED if m.group(0).lower() in assigned else m.group(0), value)


def _labelled(content: Inline, assigned: Collection[str]) -> Inline:
    """A code span that is only a made-up id reads ``(assigned at deploy)``; any other
    occurrence is replaced in place."""
    spans = []
    for span in content:
        if span.kind == "code" and GUID.fullmatch(span.text) and span.text.lower() in assigned:
            spans.append(Span("text", ASSIGNED))
        else:
            spans.append(Span(span.kind, _label(span.text, assigned)))
    return tuple(spans)


def labelled(block: Block, assigned: Collection[str]) -> Block:
    """``block`` with the made-up ids labelled (a list item's preformatted detail is shown as
    the engine wrote it)."""
    if isinstance(block, Paragraph):
        return Paragraph(_labelled(block.content, assigned))
    if isinstance(block, Quote):
        return Quote(_labelled(block.content, assigned))
    if isinstance(block, Table):
        rows = tuple(tuple(_labelled(c, assigned) for c in row) for row in block.rows)
        return Table(block.headers, rows)
    if isinstance(block, BulletList):
        items = tuple(
            ListItem(
                _labelled(item.content, assigned),
                item.detail,
                tuple(_labelled(child, assigned) for child in item.children),
            )
            for item in block.items
        )
        return BulletList(items)
    if isinstance(block, Section):
        blocks = tuple(labelled(child, assigned) for child in block.blocks)
        title = block.title
        return Section(
            _label(title, assigned) if isinstance(title, str) else _labelled(title, assigned),
            blocks,
            block.level,
        )
    return block


def _all_labelled(blocks: Sequence[Block], assigned: Collection[str]) -> tuple[Block, ...]:
    return tuple(labelled(block, assigned) for block in blocks) if assigned else tuple(blocks)


# --------------------------------------------------------------------------------------------
# The document
# --------------------------------------------------------------------------------------------


def preview_report(
    preview: Preview,
    diffs: Sequence[StackDiff],
    uncovered: Mapping[str, Sequence[Words]],
    contexts: Mapping[str, Plan],
) -> Report:
    """The report of a scrubbed preview, its stack diffs and what the offline plan misses."""
    events = " (engine events)" if preview.violations is not None else ""
    subtitle = text("From ", code("pulumi preview --json"), f"{events}.")
    stacks_line: Inline = ()
    headline, no_changes = NO_CHANGES_HEADLINE, NO_CHANGES_LINE
    if preview.failed:
        # A failed preview never says "No changes.": it says why nothing is listed.
        stacks = _preview_stacks(preview)
        if stacks and not diffs:
            stacks_line = text(f"Stacks compared: {join_words(stacks)} (the preview failed).")
        headline = NO_STEPS if not preview.steps else FAILED_HEADLINE
        no_changes = NO_CHANGES_FAILED
    parts = diff_parts(
        diffs,
        title=TITLE,
        subtitle=subtitle,
        stacks_line=stacks_line,
        headline=headline,
        no_changes=no_changes,
    )
    assigned = offline_ids(preview, contexts)
    parts = dataclasses.replace(
        parts,
        opening=_all_labelled(parts.opening, assigned),
        body=_all_labelled(parts.body, assigned),
        policy=_all_labelled(parts.policy, assigned),
        closing=_all_labelled(parts.closing, assigned),
    )
    return compose(
        parts,
        after_opening=[*failure_section(preview), *warning_section(preview)],
        before_policy=coverage_section(uncovered),
    )


def render_preview(
    preview: Preview,
    catalog: Catalog,
    contexts: Mapping[str, Plan],
    failures: Mapping[str, PreviewFailure] | None = None,
) -> str:
    """The Markdown of a parsed preview (scrubbed and diffed here, once)."""
    preview = scrub_preview(preview)
    changes, other = resource_changes(preview.steps)
    diffs = stack_diffs(preview, changes, other, catalog, contexts, failures=failures)
    uncovered = coverage(preview, changes, catalog, contexts)
    return to_markdown(preview_report(preview, diffs, uncovered, contexts))
