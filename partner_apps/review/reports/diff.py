"""The reviewer's diff as a typed document (``reports.model``), from the change model.

For every region stack: resources created, deleted, updated and replaced, with their property
changes; then what those changes mean, gathered across regions so one change to ``apps.yaml``
reads once ("adds `Directory.ReadWrite.All` (Microsoft Graph, application, high privilege, …) in eu
and us"). What a reviewer must weigh comes first: previews that failed, a region's identity and
policy config (a new region's whole identity), deletions and replacements of protected resources.

``diff_parts`` builds the parts, ``compose`` puts them in order (``reports/preview_json.py`` adds
its own sections between them); ``to_markdown`` and ``to_html`` of ``reports.model`` render the
result, ``reports/change_json.py`` writes the same change model as JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from partner_apps.review.analysis.views import group_violations
from partner_apps.review.changes.model import (
    Fact,
    StackDiff,
    marked,
)
from partner_apps.review.plan.document import Violation, parse_urn, urn_name
from partner_apps.review.plan.values import join_words
from partner_apps.review.reports.diff_regions import (
    NO_CHANGES,
    NO_CHANGES_LINE,
    OP_TITLES,
    Entry,
    blocks_of,
    codes,
    counts_table,
    failed_section,
    inline,
    item,
    region_sections,
    stack_section,
)
from partner_apps.review.reports.model import (
    Block,
    Inline,
    ListItem,
    Paragraph,
    Report,
    Section,
    Span,
    code,
    strong,
    text,
)

# The parts of the change model's facts, in reading order, with their headings.
SECTIONS = (
    ("apps", "Apps added or removed"),
    ("permissions", "Permissions"),
    ("consent", "Consent path and exposed API"),
    ("secrets", "Credentials, secrets and Key Vault"),
    ("tenants", "Tenants and providers"),
)
# A summary keeps this many lines of each list; the full report has the rest.
SUMMARY_LINES = 25
NO_POLICY_CHANGE = "No change in policy results."
NO_CHANGES_HEADLINE = text(strong(NO_CHANGES))


# --------------------------------------------------------------------------------------------
# Lists that may be cut (a pull-request comment) and grouped into blocks
# --------------------------------------------------------------------------------------------


def _full_report(full_report: str) -> str:
    # The link is written as Markdown's, as the reports always wrote it (the model has no links).
    return f"[the full report]({full_report})" if full_report else "the full report"


def capped(entries: list[Entry], cap: int | None, full_report: str) -> list[Entry]:
    """``entries`` cut to ``cap`` (None: all), saying how many more the full report has."""
    if cap is None or len(entries) <= cap:
        return entries
    more = f"… and {len(entries) - cap} more in {_full_report(full_report)}."
    return [*entries[:cap], item(more)]


# --------------------------------------------------------------------------------------------
# Policy results, protected resources, facts gathered across regions
# --------------------------------------------------------------------------------------------


def _violation_key(v: Violation) -> tuple[str, str, str]:
    parsed = parse_urn(v.urn)
    return (v.policy, parsed.type + "::" + parsed.name if parsed else v.urn, v.message)


def _grouped(stack: str, violations: Sequence[Violation], prefix: str = "") -> list[Entry]:
    """One item per finding; the same finding on several resources once, with a count."""
    entries: list[Entry] = []
    for group in group_violations(violations):
        severity = f" ({group.severity})" if group.severity != "unspecified" else ""
        where: list[Span] = []
        for index, name in enumerate(group.resources):
            where += [Span("text", ", ")] if index else []
            where.append(code(name))
        shown = text(f"{group.count} resources (", tuple(where), ")") if group.count > 1 else where
        entries.append(
            item(
                strong(stack),
                f": {prefix}{group.enforcement_level} violation of ",
                code(group.policy),
                f"{severity} on ",
                tuple(shown),
                f": {group.message}",
            )
        )
    return entries


def _stack_name(urn: str) -> str:
    return urn_name(urn) or "(stack)"


def policy_entries(diffs: Sequence[StackDiff]) -> list[Entry]:
    entries: list[Entry] = []
    unknown = [d.stack for d in diffs if d.head_violations is None]
    changed = False
    sources: dict[str, list[str]] = {}
    for diff in diffs:
        if diff.violations_source:
            sources.setdefault(marked(diff.violations_source), []).append(diff.stack)
    phrases = {marked(d.violations_source): d.violations_source for d in diffs}
    for source in sorted(sources):
        where = join_words(sorted(sources[source]))
        entries.append(
            Paragraph(
                text(
                    f"Results for {where} come from ",
                    inline(phrases[source]),
                    ", not from this preview:",
                )
            )
        )
    for diff in diffs:
        if diff.head_violations is None:
            continue
        if diff.base_violations is None:
            # A preview: no "before" results, so show what holds now.
            entries += _grouped(diff.stack, diff.head_violations)
            if not diff.head_violations:
                entries.append(item(strong(diff.stack), ": no policy violation."))
            changed = True
            continue
        old = {_violation_key(v): v for v in diff.base_violations}
        new = {_violation_key(v): v for v in diff.head_violations}
        entries += _grouped(diff.stack, [new[key] for key in sorted(set(new) - set(old))], "new ")
        for key in sorted(set(old) - set(new)):
            v = old[key]
            now = (diff.head_policies or {}).get(v.policy)
            name = code(_stack_name(v.urn))
            if now is not None and now.enforcement_level == "disabled":
                entries.append(
                    item(
                        strong(diff.stack),
                        ": ",
                        code(v.policy),
                        " no longer reported on ",
                        name,
                        ": the policy is disabled, not satisfied",
                    )
                )
            else:
                entries.append(
                    item(strong(diff.stack), ": resolves ", code(v.policy), " on ", name)
                )
        changed = changed or set(old) != set(new)
    if not changed and not unknown:
        entries.append(Paragraph(text(NO_POLICY_CHANGE)))
    if unknown:
        entries.append(
            item(
                f"Not known for {join_words(unknown)}: ",
                code("pulumi preview --json"),
                " carries no policy results; pass the recorded plan (",
                code("--plan build/preview"),
                ") or run ",
                code("make preview"),
                ".",
            )
        )
    return entries


def protected_entries(diffs: Sequence[StackDiff]) -> list[Entry]:
    """Deletions and replacements of protected resources, then protection being removed."""
    destroyed: list[Entry] = []
    unprotected: list[Entry] = []
    for diff in diffs:
        for change in diff.changes:
            if change.destroys_protected:
                verb = "deletes" if change.op == "delete" else "replaces"
                why: Inline = ()
                if change.op == "replace" and change.replace_reasons:
                    why = text(" (because ", codes(change.replace_reasons), " changes")
                    why = text(why, ", inferred)" if change.inferred else ")")
                destroyed.append(
                    item(
                        strong(diff.stack),
                        f": {verb} protected ",
                        code(change.type),
                        " ",
                        code(change.name),
                        why,
                    )
                )
            elif change.protect_removed:
                unprotected.append(
                    item(
                        strong(diff.stack),
                        ": removes protection from ",
                        code(change.type),
                        " ",
                        code(change.name),
                    )
                )
    return destroyed + unprotected


def gathered(diffs: Sequence[StackDiff], section: str) -> list[Entry]:
    """The facts of one section, each once with the regions it holds in."""
    stacks_by_fact: dict[tuple[bool, str, str, str], set[str]] = {}
    facts: dict[tuple[bool, str, str, str], Fact] = {}
    for diff in diffs:
        for fact in diff.facts:
            if fact.section == section:
                key = (not fact.app, fact.subject, marked(fact.text), marked(fact.detail))
                stacks_by_fact.setdefault(key, set()).add(diff.stack)
                facts.setdefault(key, fact)
    entries: list[Entry] = []
    for key, stacks in sorted(stacks_by_fact.items()):
        fact = facts[key]
        subject = code(fact.subject) if fact.app else Span("text", fact.subject)
        line = text(subject, " ", inline(fact.text), f" in {join_words(sorted(stacks))}")
        if fact.detail:
            line = text(line, ". ", inline(fact.detail))
        entries.append(ListItem(line))
    return entries


@dataclass(frozen=True)
class DiffParts:
    """The diff document in parts, so a caller can place its own sections between them."""

    title: str
    opening: tuple[Block, ...]  # the subtitle and the "Stacks compared" line
    body: tuple[Block, ...]  # failed previews, regions, protected, summary, facts
    policy: tuple[Block, ...]  # the policy results section
    closing: tuple[Block, ...]  # the changes by region (or where the full report is)


def compose(
    parts: DiffParts,
    *,
    after_opening: Sequence[Block] = (),
    before_policy: Sequence[Block] = (),
) -> Report:
    """The parts as one report, with a caller's sections after the opening lines and before
    the policy results."""
    blocks = [*parts.opening, *after_opening, *parts.body, *before_policy, *parts.policy]
    return Report(parts.title, (*blocks, *parts.closing))


# --------------------------------------------------------------------------------------------
# The document
# --------------------------------------------------------------------------------------------


def _nothing(diffs: Sequence[StackDiff]) -> bool:
    return not any(
        d.changes
        or d.facts
        or d.notes
        or d.policy_changes
        or d.pack_changed
        or (d.identity and d.status != "added")
        for d in diffs
    )


def diff_parts(
    diffs: Sequence[StackDiff],
    *,
    title: str = "Plan changes",
    subtitle: Inline = (),
    cap: int | None = None,
    full_report: str = "",
    stacks_line: Inline = (),
    headline: Inline = NO_CHANGES_HEADLINE,
    no_changes: Inline = NO_CHANGES_LINE,
) -> DiffParts:
    """The diff of a set of stacks in parts (``cap``: each list cut to that many items, no
    per-resource section: a pull-request comment). ``stacks_line``, ``headline`` and
    ``no_changes`` replace the default wording (a failed preview never says "No changes.")."""
    opening: list[Block] = [Paragraph(subtitle)] if subtitle else []
    stacks = join_words([d.stack for d in diffs]) or "(none)"
    opening.append(Paragraph(stacks_line or text(f"Stacks compared: {stacks}.")))
    failed = [d for d in diffs if d.status == "failed"]
    body: list[Block] = [failed_section(failed)] if failed else []
    if not failed and _nothing(diffs):
        body.append(Paragraph(headline))
        policy = policy_entries(diffs)
        shown = policy != [Paragraph(text(NO_POLICY_CHANGE))]
        section = (Section("Policy results", tuple(blocks_of(policy))),) if shown else ()
        return DiffParts(title, tuple(opening), tuple(body), section, ())
    body += region_sections(diffs)
    protected = capped(protected_entries(diffs), cap, full_report)
    if protected:
        title_protected = "⚠ Protected resources deleted or replaced"
        body.append(Section(title_protected, tuple(blocks_of(protected))))
    body.append(Section("Summary", (counts_table(diffs),)))
    for section_key, heading in SECTIONS:
        facts = gathered(diffs, section_key)
        if facts:
            body.append(Section(heading, tuple(blocks_of(capped(facts, cap, full_report)))))
    policy_section = Section(
        "Policy results", tuple(blocks_of(capped(policy_entries(diffs), cap, full_report)))
    )
    if cap is not None:
        where = _full_report(full_report)
        closing: tuple[Block, ...] = (
            Paragraph(text(f"Every resource change by region is in {where}.")),
        )
    else:
        regions = tuple(stack_section(diff, no_changes) for diff in diffs)
        closing = (Section("Changes by region", regions),)
    return DiffParts(title, tuple(opening), tuple(body), (policy_section,), closing)


def diff_report(
    diffs: Sequence[StackDiff],
    *,
    title: str = "Plan changes",
    subtitle: Inline = (),
    cap: int | None = None,
    full_report: str = "",
    first: Sequence[Block] = (),
) -> Report:
    """The diff of a set of stacks as one document (``cap``: see ``diff_parts``); ``first``:
    sections that come before everything else (the permission catalog's changes)."""
    parts = diff_parts(diffs, title=title, subtitle=subtitle, cap=cap, full_report=full_report)
    return compose(parts, after_opening=first)


def summary_lines(diffs: Sequence[StackDiff]) -> str:
    """One line per stack for the terminal."""
    lines = []
    for diff in diffs:
        if diff.status == "failed":
            first = (diff.failure or "").strip().splitlines() or ["(no message)"]
            lines.append(f"{diff.stack}: preview failed: {first[0]}")
            continue
        counts = [f"{diff.count(op)} {title.lower()}" for op, title in OP_TITLES if diff.count(op)]
        protected = sum(1 for c in diff.changes if c.destroys_protected)
        said = ", ".join(counts) if counts else "no changes"
        if protected:
            said += f"; {protected} protected resource(s) deleted or replaced"
        lines.append(f"{diff.stack}: {said}")
    return "\n".join(lines)
