"""The preview adapter: a ``pulumi preview --json`` (or event log) into the change model.

Steps become resource changes (the engine's op and replace reasons, not inferred ones), the old
and new states become two partial views of the stack, and the same analysis as the plan diff
(``changes/facts.py``) names permissions, scopes, consent-path and secret changes. A recorded
plan (``--plan``) is context: the reasons of permissions, the scopes of apps that did not change,
and its policy results (which the report labels as the offline plan's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from partner_apps.review.analysis.views import analyze
from partner_apps.review.changes.facts import id_names, meaning
from partner_apps.review.changes.model import (
    MISSING,
    Code,
    PropertyChange,
    ResourceChange,
    StackDiff,
    Words,
    words,
)
from partner_apps.review.changes.preview_read import Preview, Step
from partner_apps.review.changes.properties import property_changes, top_key
from partner_apps.review.plan.document import (
    STACK_TYPE,
    Catalog,
    Plan,
    PreviewFailure,
    Resource,
    Violation,
    as_str,
    parse_urn,
    resource_from_state,
)

REPLACE_OPS = frozenset({"replace", "create-replacement", "delete-replaced", "discard-replaced"})
OFFLINE_PLAN_SOURCE: Words = (
    "the offline plan (",
    Code("--plan"),
    ": the policy pack as ",
    Code("make preview"),
    " evaluated it on the recorded program)",
)


_PATH_TOKEN = re.compile(r'\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|\.?([^.\[\]]+)')


def split_path(path: str) -> list[str | int]:
    """Split an engine property path (``a.b[0]["c.d"]``) into keys and indexes."""
    parts: list[str | int] = []
    for index, quoted, plain in _PATH_TOKEN.findall(path):
        if index:
            parts.append(int(index))
        elif quoted:
            parts.append(quoted.replace('\\"', '"'))
        elif plain:
            parts.append(plain)
    return parts


def value_at(source: Any, parts: Sequence[str | int]) -> Any:
    """The value at a split path, or MISSING."""
    for part in parts:
        if isinstance(part, int):
            if not isinstance(source, list) or part >= len(source):
                return MISSING
            source = source[part]
        else:
            if not isinstance(source, Mapping) or part not in source:
                return MISSING
            source = source[part]
    return source


def _join(parts: Sequence[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_$][\w$-]*", part):
            text += f".{part}" if text else part
        else:
            text += f'["{part}"]'
    return text


def _lookup(resource: Resource | None, parts: Sequence[str | int], input_diff: bool) -> Any:
    if resource is None:
        return MISSING
    first, second = (
        (resource.inputs, resource.outputs) if input_diff else (resource.outputs, resource.inputs)
    )
    value = value_at(first, parts)
    return value_at(second, parts) if value is MISSING else value


def _property_changes(
    step: Step, old: Resource | None, new: Resource | None
) -> list[PropertyChange]:
    if step.detailed_diff:
        found = []
        for path in sorted(step.detailed_diff):
            detail = step.detailed_diff[path]
            kind = as_str(detail.get("kind") or detail.get("diffKind")) or "update"
            parts = split_path(path)
            input_diff = bool(detail.get("inputDiff", True))
            found.append(
                PropertyChange(
                    path=_join(parts),
                    kind=kind.removesuffix("-replace"),
                    old=_lookup(old, parts, input_diff)
                    if kind.startswith(("update", "delete"))
                    else MISSING,
                    new=_lookup(new, parts, True)
                    if kind.startswith(("update", "add"))
                    else MISSING,
                    replace=kind.endswith("-replace"),
                )
            )
        return found
    old_inputs = old.inputs if old else {}
    new_inputs = new.inputs if new else {}
    changes = property_changes(old_inputs, new_inputs)
    if step.diff_reasons:
        reasons = set(step.diff_reasons)
        changes = [c for c in changes if top_key(c.path) in reasons] or [
            PropertyChange(
                key, "update", old_inputs.get(key, MISSING), new_inputs.get(key, MISSING)
            )
            for key in sorted(reasons)
        ]
    replace_keys = set(step.replace_reasons)
    return [
        PropertyChange(c.path, c.kind, c.old, c.new, top_key(c.path) in replace_keys)
        for c in changes
    ]


def _collapsed_op(ops: set[str], old: Resource | None, new: Resource | None) -> str | None:
    """The one op a URN's steps amount to; None when nothing changes that a reviewer sees."""
    if ops & REPLACE_OPS:
        return "replace"
    if ops & {"create", "import"}:
        return "create"
    if "delete" in ops:
        return "delete"
    if "update" in ops:
        return "update"
    # A "same" step is shown only when the protect flag changes.
    if old is not None and new is not None and old.protect != new.protect:
        return "update"
    return None


def resource_changes(
    steps: Iterable[Step],
) -> tuple[list[ResourceChange], list[tuple[str, Words]]]:
    """Collapse the steps of each URN into one change; also (stack, text) of other steps."""
    found: set[str] = set()
    by_urn: dict[str, list[Step]] = {}
    for step in steps:
        parsed = parse_urn(step.urn)
        if parsed is None or parsed.type == STACK_TYPE:
            continue
        by_urn.setdefault(step.urn, []).append(step)
    changes: list[ResourceChange] = []
    other: list[tuple[str, Words]] = []
    for urn in sorted(by_urn):
        group = by_urn[urn]
        ops = {s.op for s in group}
        old_state = next((s.old for s in group if s.old), None)
        new_state = next((s.new for s in group if s.new and s.op != "delete-replaced"), None)
        old = resource_from_state(old_state, found) if old_state else None
        new = resource_from_state(new_state, found) if new_state else None
        op = _collapsed_op(ops, old, new)
        if op is None:
            parsed = parse_urn(urn)
            if parsed is not None and not ops <= {"same"}:
                other.append((parsed.stack, (f"{', '.join(sorted(ops))} ", Code(parsed.name))))
            continue
        main = next(
            (s for s in group if s.op in ("replace", "update", "create-replacement")), group[0]
        )
        properties = _property_changes(main, old, new) if op in ("update", "replace") else []
        if old is not None and new is not None and old.protect != new.protect:
            properties.append(PropertyChange("(protect)", "update", old.protect, new.protect))
        reasons = tuple(
            sorted(
                {r for s in group for r in s.replace_reasons}
                | {top_key(p.path) for p in properties if p.replace}
            )
        )
        changes.append(
            ResourceChange(
                urn=urn,
                op=op,
                old=old,
                new=new,
                properties=tuple(properties),
                replace_reasons=reasons if op == "replace" else (),
                inferred=False,
            )
        )
    return changes, other


def _partial_plan(stack: str, resources: Iterable[Resource], context: Plan | None) -> Plan:
    return Plan(
        project=context.project if context else "",
        stack=stack,
        region=context.region if context else {},
        apps={},
        resources=tuple(sorted(resources, key=lambda r: r.urn)),
        outputs={},
        violations=(),
    )


def stack_of(urn: str) -> str:
    parsed = parse_urn(urn)
    return parsed.stack if parsed else ""


def stack_diffs(
    preview: Preview,
    changes: Sequence[ResourceChange],
    other: Sequence[tuple[str, Words]],
    catalog: Catalog,
    contexts: Mapping[str, Plan],
    *,
    failures: Mapping[str, PreviewFailure] | None = None,
) -> list[StackDiff]:
    """One StackDiff per stack named in the preview's URNs, from its (scrubbed) preview and the
    resource changes of its steps (``resource_changes``, computed once).

    ``failures``: stacks whose offline preview failed (``--plan`` holds ``<stack>.error.json``).
    """
    stacks = sorted({stack_of(s.urn) for s in preview.steps} - {""})
    diffs = []
    for stack in stacks:
        mine = [c for c in changes if stack_of(c.urn) == stack]
        context = contexts.get(stack)
        base = _partial_plan(stack, (c.old for c in mine if c.old), context)
        head = _partial_plan(stack, (c.new for c in mine if c.new), context)
        base_view = analyze(base, catalog, context)
        head_view = analyze(head, catalog, context)
        violations: tuple[Violation, ...] | None
        violations_source: Words = ()
        if preview.violations is not None:
            violations = tuple(v for v in preview.violations if stack_of(v.urn) in (stack, ""))
        else:
            violations = context.violations if context else None
            if context is not None:
                # Not this preview's: the offline evaluation recorded in the plan.
                violations_source = OFFLINE_PLAN_SOURCE
        notes = [
            words("Also in the preview: ", said, ".") for where, said in other if where == stack
        ]
        failure = (failures or {}).get(stack)
        if context is None and failure is not None:
            first = failure.error.splitlines()[0] if failure.error else ""
            notes.append(
                (
                    f"The offline preview of {stack} failed (",
                    Code("--plan"),
                    f": {first.strip()}): reasons, the scopes of unchanged apps and policy "
                    "results are not known here.",
                )
            )
        elif context is None:
            notes.append(
                (
                    "No recorded plan given (",
                    Code("--plan"),
                    "): reasons and the scopes of unchanged apps are not known here.",
                )
            )
        context_view = analyze(context, catalog) if context else None
        diffs.append(
            StackDiff(
                stack=stack,
                changes=mine,
                facts=meaning(base_view, head_view, mine),
                base_violations=None,
                head_violations=violations,
                notes=notes,
                names=id_names([base_view, head_view, context_view]),
                violations_source=violations_source,
            )
        )
    return diffs
