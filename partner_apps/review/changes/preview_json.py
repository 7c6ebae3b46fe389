"""Turn a real ``pulumi preview --json`` into the same reviewer Markdown as the plan diff.

Where the Pulumi CLI can run (a workstation, CI with cloud credentials), ``pulumi preview --json``
prints a ``PreviewDigest``: ``steps`` with ``op``, ``urn``, ``oldState``, ``newState``,
``diffReasons``, ``replaceReasons`` and ``detailedDiff`` (``{path: {kind, inputDiff}}``, kinds
``add``/``delete``/``update`` and their ``-replace`` forms), ``diagnostics`` (``{urn, message,
severity}``, the ``error: ``/``warning: `` prefix folded into the message) and ``changeSummary``;
every field is omitempty. Secrets there are already ``"[secret]"``. Policy violations are not in
it: ``ShowPreviewDigest`` (pkg/backend/display/json.go in pulumi/pulumi) skips policy events, and a
mandatory violation shows only as the engine's ``preview failed`` error diagnostic
(``deploymentExecutor.reportExecResult``). The engine's event stream (``--event-log`` or
``PULUMI_ENABLE_STREAMING_JSON_PREVIEW``: one JSON event per line) is read too; its
``policyEvent`` lines carry the violations and its ``diagnosticEvent`` lines the errors.

A preview with an error diagnostic or a mandatory violation (or an empty input: the CLI stopped
before printing) is a **failed** preview: its errors head the Markdown, it never says "No
changes.", and the exit status is 4 (see ``EXIT_CODES``).

Steps become resource changes (the engine's op and replace reasons, not inferred ones), the old
and new states become two partial views of the stack, and the same analysis as the plan diff names
permissions, scopes, consent-path and secret changes. ``--plan`` adds a recorded plan as context:
the reasons of permissions, the scopes of apps that did not change, and its policy results (which
the Markdown labels as the offline plan's, since ``pulumi preview --json`` carries none).

Usage::

    pulumi preview --stack us --json > preview-us.json
    partner-apps preview-json preview-us.json --plan build/preview [--out FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partner_apps.review.analysis.views import analyze
from partner_apps.review.changes.plans import (
    MISSING,
    PropertyChange,
    ResourceChange,
    StackDiff,
    id_names,
    meaning,
    property_changes,
    render_diff,
    summary,
    top_key,
)
from partner_apps.review.plan.document import (
    API_ACCESS,
    APPLICATION,
    APPLICATION_REGISTRATION,
    SECRET,
    STACK_TYPE,
    UNKNOWN,
    Catalog,
    Plan,
    PlanError,
    PreviewFailure,
    Resource,
    Violation,
    as_list,
    as_map,
    as_str,
    canonical,
    load_catalog,
    load_results,
    parse_urn,
    read_text,
    resource_from_state,
    scrub_document,
)
from partner_apps.review.plan.values import join_words
from partner_apps.review.reports.markdown import code, write_text
from partner_apps.review.reports.stack import ASSIGNED, GUID, display_path
from policies.partner_policies.catalog import Kind

OFFLINE_PLAN_SOURCE = (
    "the offline plan (`--plan`: the policy pack as `make preview` evaluated it on the recorded "
    "program)"
)
REPLACE_OPS = frozenset({"replace", "create-replacement", "delete-replaced", "discard-replaced"})
CHANGE_OPS = ("create", "update", "replace", "delete")


@dataclass(frozen=True)
class Step:
    """One step of a preview, in the digest's shape whatever the input format."""

    op: str
    urn: str
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    diff_reasons: tuple[str, ...]
    replace_reasons: tuple[str, ...]
    detailed_diff: Mapping[str, Mapping[str, Any]] | None


@dataclass(frozen=True)
class Diagnostic:
    """One engine diagnostic: ``severity`` is ``error``, ``warning``, ``info`` or ``info#err``."""

    severity: str
    urn: str
    message: str


@dataclass(frozen=True)
class Preview:
    """What a preview file holds."""

    steps: tuple[Step, ...]
    violations: tuple[Violation, ...] | None  # None: the format carries no policy results
    change_summary: Mapping[str, int]
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def mandatory_violations(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations or () if v.enforcement_level == "mandatory")

    @property
    def failed(self) -> bool:
        """The engine failed the preview: an error diagnostic or a mandatory violation.

        A mandatory violation sets the step generator's error flag, and the engine then reports
        ``preview failed`` as an error diagnostic (pkg/resource/deploy/deployment_executor.go,
        ``reportExecResult``); both are checked so a cut event log still counts as failed.
        """
        return bool(self.errors or self.mandatory_violations)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _step(entry: Mapping[str, Any]) -> Step:
    detailed = entry.get("detailedDiff")
    return Step(
        op=as_str(entry.get("op")),
        urn=as_str(entry.get("urn")),
        old=as_map(entry.get("oldState") or entry.get("old")) or None,
        new=as_map(entry.get("newState") or entry.get("new")) or None,
        diff_reasons=tuple(str(k) for k in as_list(entry.get("diffReasons", entry.get("diffs")))),
        replace_reasons=tuple(
            str(k) for k in as_list(entry.get("replaceReasons", entry.get("keys")))
        ),
        detailed_diff=(
            {str(k): as_map(v) for k, v in detailed.items()}
            if isinstance(detailed, Mapping)
            else None
        ),
    )


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
DIAGNOSTIC_SEVERITIES = ("error", "warning", "info", "info#err")


def _diagnostic(entry: Mapping[str, Any]) -> Diagnostic | None:
    """A digest ``PreviewDiagnostic`` or an engine ``diagnosticEvent``; None for debug ones.

    The digest folds the prefix into the message (``colors.Never.Colorize(p.Prefix + p.Message)``
    in pkg/backend/display/json.go), so ``"error: "`` is taken off either way.
    """
    severity = as_str(entry.get("severity")) or "info"
    if severity not in DIAGNOSTIC_SEVERITIES or entry.get("ephemeral"):
        return None
    text = _ANSI.sub("", as_str(entry.get("prefix")) + as_str(entry.get("message")))
    text = text.strip()
    for label in ("error", "warning", "info"):
        if text.lower().startswith(f"{label}: "):
            text = text[len(label) + 2 :].lstrip()
            break
    return Diagnostic(severity=severity, urn=as_str(entry.get("urn")), message=text)


def _diagnostics(entries: Iterable[Any]) -> tuple[Diagnostic, ...]:
    found = (_diagnostic(e) for e in entries if isinstance(e, Mapping))
    return tuple(d for d in found if d is not None)


NOTHING_PRINTED = (
    "`pulumi preview` printed nothing: it stopped before the engine ran (for example a login, "
    "stack selection, plugin or policy pack error); its own error is on its standard error"
)


def _events(text: str) -> list[Mapping[str, Any]] | None:
    stripped = text.lstrip()
    if stripped.startswith("["):
        document = json.loads(stripped)
        return (
            [e for e in document if isinstance(e, Mapping)] if isinstance(document, list) else None
        )
    events = []
    for line in stripped.splitlines():
        if line.strip():
            event = json.loads(line)
            if isinstance(event, Mapping):
                events.append(event)
    return events


# The digest's top-level keys (display.PreviewDigest; every one is omitempty, so a preview that
# failed before any step has only "config" and "diagnostics").
DIGEST_KEYS = frozenset({"steps", "changeSummary", "diagnostics"})
EVENT_KEYS = frozenset({"resourcePreEvent", "policyEvent", "summaryEvent", "diagnosticEvent"})


def parse_preview(text: str, source: str = "preview") -> Preview:
    """Read a PreviewDigest (``--json``) or an engine event stream (JSON lines or array).

    Empty input is a failed preview (the CLI printed nothing), not an error of this tool.
    """
    if not text.strip():
        return Preview(
            steps=(),
            violations=None,
            change_summary={},
            diagnostics=(Diagnostic("error", "", NOTHING_PRINTED),),
        )
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError:
        document = None
    if isinstance(document, Mapping) and DIGEST_KEYS & set(document):
        summary_doc = as_map(document.get("changeSummary"))
        return Preview(
            steps=tuple(_step(s) for s in as_list(document.get("steps")) if isinstance(s, Mapping)),
            violations=None,
            change_summary={str(k): int(v) for k, v in summary_doc.items() if isinstance(v, int)},
            diagnostics=_diagnostics(as_list(document.get("diagnostics"))),
        )
    try:
        events = _events(text) if not isinstance(document, Mapping) else [document]
    except json.JSONDecodeError as error:
        raise PlanError(f"{source}: not JSON ({error.msg}, line {error.lineno})") from error
    if events is None or not any(EVENT_KEYS & set(e) for e in events):
        raise PlanError(
            f"{source}: neither `pulumi preview --json` output (no 'steps') nor engine events"
        )
    steps = []
    violations = []
    change_summary: dict[str, int] = {}
    diagnostics = _diagnostics(e.get("diagnosticEvent") for e in events)
    for event in events:
        pre = as_map(event.get("resourcePreEvent"))
        if pre:
            metadata = as_map(pre.get("metadata"))
            steps.append(_step(_normalise_event_diff(metadata)))
        policy = as_map(event.get("policyEvent"))
        if policy:
            violations.append(
                Violation(
                    policy=as_str(policy.get("policyName")),
                    severity=as_str(policy.get("severity")) or "unspecified",
                    enforcement_level=as_str(policy.get("enforcementLevel")) or "advisory",
                    urn=as_str(policy.get("resourceUrn")),
                    message=as_str(policy.get("message")).strip(),
                )
            )
        summary_event = as_map(event.get("summaryEvent"))
        if summary_event:
            changes = as_map(summary_event.get("resourceChanges"))
            change_summary = {str(k): int(v) for k, v in changes.items() if isinstance(v, int)}
    return Preview(
        steps=tuple(steps),
        violations=tuple(sorted(violations, key=Violation.sort_key)),
        change_summary=change_summary,
        diagnostics=diagnostics,
    )


def _normalise_event_diff(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    # Engine events spell the diff kind "diffKind"; the digest spells it "kind".
    detailed = metadata.get("detailedDiff")
    if not isinstance(detailed, Mapping):
        return metadata
    fixed = {
        str(path): {"kind": as_map(d).get("kind", as_map(d).get("diffKind")), **as_map(d)}
        for path, d in detailed.items()
    }
    return {**metadata, "detailedDiff": fixed}


# --------------------------------------------------------------------------------------------
# Steps to resource changes
# --------------------------------------------------------------------------------------------

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


def resource_changes(steps: Iterable[Step]) -> tuple[list[ResourceChange], list[tuple[str, str]]]:
    """Collapse the steps of each URN into one change; also (stack, text) of other steps."""
    found: set[str] = set()
    by_urn: dict[str, list[Step]] = {}
    for step in steps:
        parsed = parse_urn(step.urn)
        if parsed is None or parsed.type == STACK_TYPE:
            continue
        by_urn.setdefault(step.urn, []).append(step)
    changes: list[ResourceChange] = []
    other: list[tuple[str, str]] = []
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
                other.append((parsed.stack, f"{', '.join(sorted(ops))} {code(parsed.name)}"))
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


# --------------------------------------------------------------------------------------------
# Stack diffs from a preview
# --------------------------------------------------------------------------------------------


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


def scrub_preview(preview: Preview) -> Preview:
    """The preview with any raw secret value (found at a secret-marked place in a step's state)
    replaced everywhere: in the states, the diagnostics and the policy messages."""
    found: set[str] = set()
    for step in preview.steps:
        for state in (step.old, step.new):
            if state:
                resource_from_state(state, found)
    if not found:
        return preview
    return dataclasses.replace(
        preview,
        steps=tuple(
            dataclasses.replace(
                step,
                old=scrub_document(step.old, found) if step.old else None,
                new=scrub_document(step.new, found) if step.new else None,
            )
            for step in preview.steps
        ),
        diagnostics=tuple(
            dataclasses.replace(d, message=scrub_document(d.message, found))
            for d in preview.diagnostics
        ),
        violations=None
        if preview.violations is None
        else tuple(
            dataclasses.replace(v, message=scrub_document(v.message, found))
            for v in preview.violations
        ),
    )


def _stack_of(urn: str) -> str:
    parsed = parse_urn(urn)
    return parsed.stack if parsed else ""


def stack_diffs(
    preview: Preview,
    catalog: Catalog,
    contexts: Mapping[str, Plan],
    failures: Mapping[str, PreviewFailure] | None = None,
) -> list[StackDiff]:
    """One StackDiff per stack named in the preview's URNs.

    ``failures``: stacks whose offline preview failed (``--plan`` holds ``<stack>.error.json``).
    """
    preview = scrub_preview(preview)
    steps = preview.steps
    changes, other = resource_changes(steps)
    stacks = sorted({_stack_of(s.urn) for s in steps} - {""})
    diffs = []
    for stack in stacks:
        mine = [c for c in changes if _stack_of(c.urn) == stack]
        context = contexts.get(stack)
        base = _partial_plan(stack, (c.old for c in mine if c.old), context)
        head = _partial_plan(stack, (c.new for c in mine if c.new), context)
        base_view = analyze(base, catalog, context)
        head_view = analyze(head, catalog, context)
        violations: tuple[Violation, ...] | None
        violations_source = ""
        if preview.violations is not None:
            violations = tuple(v for v in preview.violations if _stack_of(v.urn) in (stack, ""))
        else:
            violations = context.violations if context else None
            if context is not None:
                # Not this preview's: the offline evaluation recorded in the plan.
                violations_source = OFFLINE_PLAN_SOURCE
        notes = [f"Also in the preview: {text}." for where, text in other if where == stack]
        failure = (failures or {}).get(stack)
        if context is None and failure is not None:
            first = failure.error.splitlines()[0] if failure.error else ""
            notes.append(
                f"The offline preview of {stack} failed (`--plan`: {first.strip()}): reasons, "
                "the scopes of unchanged apps and policy results are not known here."
            )
        elif context is None:
            notes.append(
                "No recorded plan given (`--plan`): reasons and the scopes of unchanged apps are "
                "not known here."
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


# --------------------------------------------------------------------------------------------
# Policy results coverage: which preview changes the offline plan's results never evaluated
# --------------------------------------------------------------------------------------------

PERMISSION_KEYS = frozenset({"roleIds", "scopeIds", "requiredResourceAccesses"})
ACCESS_KINDS: Mapping[str, Kind] = {"role": "application", "scope": "delegated"}


OWN_API = "(own API)"


def granted(resource: Resource, catalog: Catalog) -> set[tuple[str, str, Kind]]:
    """(API app id, permission id, kind) a resource requests: an ApplicationApiAccess's role
    and scope ids, or an application's inline ``requiredResourceAccesses``.

    An API not in the catalog is one of this project's apps: its client id is made up in the
    offline plan and real in the preview, so it is compared as ``OWN_API`` (its scope and role
    ids come from apps.yaml and are the same on both sides)."""
    found: set[tuple[str, str, Kind]] = set()
    for api, permission_id, kind in _requested(resource):
        found.add((api if catalog.find_api(api) else OWN_API, permission_id, kind))
    return found


def _requested(resource: Resource) -> set[tuple[str, str, Kind]]:
    found: set[tuple[str, str, Kind]] = set()
    if resource.type == API_ACCESS:
        api = as_str(resource.prop("apiClientId")).lower()
        for key, access_type in (("roleIds", "role"), ("scopeIds", "scope")):
            kind = ACCESS_KINDS[access_type]
            found |= {(api, str(i).lower(), kind) for i in as_list(resource.prop(key)) if i}
        return found
    for entry in as_list(resource.prop("requiredResourceAccesses")):
        api = as_str(as_map(entry).get("resourceAppId")).lower()
        for access in as_list(as_map(entry).get("resourceAccesses")):
            access_kind = ACCESS_KINDS.get(as_str(as_map(access).get("type")).lower())
            permission_id = as_str(as_map(access).get("id")).lower()
            if access_kind and permission_id:
                found.add((api, permission_id, access_kind))
    return found


def _permission_text(catalog: Catalog, api: str, permission_id: str, kind: Kind) -> str:
    if api == OWN_API:
        return f"{code(permission_id)} (an API of this project, {kind})"
    permission = catalog.by_id(api, permission_id, kind)
    if permission is not None:
        return f"{code(permission.value)} ({permission.api.name}, {kind})"
    known = catalog.find_api(api)
    return f"{code(permission_id)} ({known.name if known else code(api)}, {kind})"


def _comparable(value: Any, assigned: frozenset[str] = frozenset()) -> bool:
    """False for a value the comparison cannot judge: unknown until apply, a secret, or holding
    an id the offline plan's mocks made up (the real preview has the real one there)."""
    text = canonical(value)
    if UNKNOWN in text or SECRET in text:
        return False
    return not any(guid.lower() in assigned for guid in GUID.findall(text))


def _property_uncovered(
    change: ResourceChange, planned: Resource, assigned: frozenset[str]
) -> list[str]:
    found = []
    for prop in change.properties:
        if prop.path == "(protect)":
            if change.new is not None and change.new.protect != planned.protect:
                found.append("(protect)")
            continue
        if top_key(prop.path) in PERMISSION_KEYS or prop.new is MISSING:
            continue
        recorded = value_at(planned.inputs, split_path(prop.path))
        if not _comparable(prop.new):
            continue
        if recorded is MISSING or (
            _comparable(recorded, assigned) and canonical(recorded) != canonical(prop.new)
        ):
            found.append(prop.path)
    return found


def app_grants(plan: Plan, catalog: Catalog) -> dict[str, set[tuple[str, str, Kind]]]:
    """What the plan's resources request, by their parent (the app component): an app may
    request a permission inline on its application or through an ApplicationApiAccess."""
    grants: dict[str, set[tuple[str, str, Kind]]] = {}
    for resource in plan.resources:
        if resource.type in (API_ACCESS, APPLICATION, APPLICATION_REGISTRATION):
            grants.setdefault(resource.parent or resource.urn, set()).update(
                granted(resource, catalog)
            )
    return grants


def uncovered(
    change: ResourceChange,
    planned: Resource | None,
    catalog: Catalog,
    grants: Mapping[str, set[tuple[str, str, Kind]]],
    assigned: frozenset[str] = frozenset(),
) -> list[str]:
    """What of one created, updated or replaced resource the offline plan does not hold."""
    if change.new is None or change.op == "delete":
        return []
    where = f"{code(change.name)} ({code(change.type)})"
    planned_grants = grants.get(change.new.parent or change.urn, set())
    requested = [
        _permission_text(catalog, *item)
        for item in sorted(granted(change.new, catalog) - planned_grants)
    ]
    if planned is None:
        verb = {"create": "creates", "replace": "replaces", "update": "updates"}[change.op]
        also = f"; it requests {', '.join(requested)}" if requested else ""
        return [f"{verb} {where}, which is not in the offline plan{also}"]
    lines = [f"{where} requests {text}" for text in requested]
    paths = _property_uncovered(change, planned, assigned)
    if paths:
        lines.append(
            f"{where} sets {', '.join(code(p) for p in paths)} to values the offline plan "
            "does not have"
        )
    return lines


def coverage(
    preview: Preview, catalog: Catalog, contexts: Mapping[str, Plan]
) -> dict[str, list[str]]:
    """Per stack whose policy results come from the offline plan: the preview's changes that
    plan does not contain (so no policy evaluated them). Empty when the preview carries its own
    policy results (engine events): those are authoritative."""
    if preview.violations is not None:
        return {}
    changes, _ = resource_changes(scrub_preview(preview).steps)
    grants = {stack: app_grants(plan, catalog) for stack, plan in contexts.items()}
    found: dict[str, list[str]] = {}
    for change in changes:
        context = contexts.get(_stack_of(change.urn))
        if context is None:
            continue
        planned = context.by_urn().get(change.urn)
        missing = uncovered(
            change, planned, catalog, grants[context.stack], context.assigned_at_deploy
        )
        if missing:
            found.setdefault(context.stack, []).extend(missing)
    return found


def _changes(count: int) -> str:
    return f"{count} change{'' if count == 1 else 's'}"


def coverage_section(found: Mapping[str, Sequence[str]]) -> list[str]:
    if not found:
        return []
    total = sum(len(items) for items in found.values())
    lines = [
        "## ⚠ Policy results do not cover this preview",
        "",
        f"The policy results below are the offline plan's (`--plan`), and {_changes(total)} of "
        f"this preview {'is' if total == 1 else 'are'} not in that plan, so no policy evaluated "
        f"{'it' if total == 1 else 'them'}. Record the plan from the same commit (`make "
        "preview`), or run the real preview with the policy pack and read its event log "
        "(`--event-log FILE`), whose policy results are the engine's own.",
        "",
    ]
    for stack in sorted(found):
        items = found[stack]
        lines.append(f"- **{stack}**: policy results do not cover {_changes(len(items))}:")
        lines += [f"  - {item}" for item in items]
    return lines


def _insert_before_policy(markdown: str, section: Sequence[str]) -> str:
    if not section:
        return markdown
    lines = markdown.split("\n")
    at = next((i for i, line in enumerate(lines) if line == "## Policy results"), None)
    if at is None:
        return markdown.rstrip("\n") + "\n\n" + "\n".join(section) + "\n"
    return "\n".join([*lines[:at], *section, "", *lines[at:]])


def _fenced(first: str, rest: Sequence[str]) -> list[str]:
    lines = [first]
    body = [line.rstrip() for line in rest if line.strip()]
    if body:
        fence = "````" if any("```" in line for line in body) else "```"
        lines += ["", f"  {fence}text", *(f"  {line}" for line in body), f"  {fence}"]
    return lines


def _preview_stacks(preview: Preview) -> list[str]:
    urns = [s.urn for s in preview.steps] + [d.urn for d in preview.diagnostics]
    return sorted({_stack_of(urn) for urn in urns} - {""})


def _diagnostic_lines(preview: Preview, diagnostic: Diagnostic) -> list[str]:
    stacks = _preview_stacks(preview)
    stack = _stack_of(diagnostic.urn) or (stacks[0] if len(stacks) == 1 else "")
    parsed = parse_urn(diagnostic.urn)
    where = f"**{stack}**" if stack else "**(stack not named)**"
    if parsed is not None and parsed.type != STACK_TYPE:
        where += f" on {code(parsed.name)} ({code(parsed.type)})"
    first, *rest = diagnostic.message.splitlines() or ["(no message)"]
    return _fenced(f"- {where}: {first.strip() or '(no message)'}", rest)


# A mandatory violation in a digest shows only as this engine error (the digest skips policy
# events), so the Markdown says where to find the policy.
GENERIC_FAILURE = "preview failed"


def failure_section(preview: Preview) -> list[str]:
    """``## ⚠ Preview failed`` with the engine's errors; empty when the preview passed."""
    if not preview.failed:
        return []
    errors, mandatory = preview.errors, preview.mandatory_violations
    counted = [
        f"{len(errors)} error{'s' if len(errors) != 1 else ''}" if errors else "",
        f"{len(mandatory)} mandatory policy violation{'s' if len(mandatory) != 1 else ''}"
        if mandatory
        else "",
    ]
    lines = [
        "## ⚠ Preview failed",
        "",
        f"The engine reported {join_words([c for c in counted if c])}: the preview did not "
        "pass, so `pulumi up` would fail too, and the changes below (if any) may be "
        "incomplete. The preview must pass before this change is merged.",
        "",
    ]
    for diagnostic in errors:
        lines += _diagnostic_lines(preview, diagnostic)
    if mandatory:
        lines.append(
            f"- {len(mandatory)} mandatory policy violation(s): see **Policy results** below."
        )
    if preview.violations is None and all(d.message == GENERIC_FAILURE for d in errors):
        lines += [
            "",
            "`pulumi preview --json` leaves policy violations out (the CLI's JSON digest skips "
            "policy events), so a mandatory violation shows here only as `preview failed`. "
            "Run `pulumi preview` without `--json`, or pass its event log (`--event-log FILE`, "
            "which this tool also reads), to see which policy failed.",
        ]
    return lines


def warning_section(preview: Preview) -> list[str]:
    warnings = [d for d in preview.diagnostics if d.severity == "warning"]
    if not warnings:
        return []
    lines = ["## Warnings from the preview", ""]
    for diagnostic in warnings:
        lines += _diagnostic_lines(preview, diagnostic)
    return lines


def _insert_after_stacks(markdown: str, sections: Sequence[Sequence[str]]) -> str:
    """``markdown`` (render_diff's) with ``sections`` after its "Stacks compared" line."""
    extra = [line for section in sections if section for line in ["", *section]]
    if not extra:
        return markdown
    lines = markdown.split("\n")
    at = next((i for i, line in enumerate(lines) if line.startswith("Stacks compared:")), 0)
    return "\n".join([*lines[: at + 1], *extra, *lines[at + 1 :]])


NO_STEPS = (
    "**Nothing is listed: the preview failed before the engine planned any change** "
    "(see **⚠ Preview failed** above)."
)
NO_CHANGES_FAILED = (
    "No changes listed, but the preview failed (see **⚠ Preview failed** above): what it "
    "would change is not known."
)


def _unclaimed_no_changes(markdown: str, preview: Preview) -> str:
    """A failed preview never says "No changes.": it says why nothing is listed."""
    if not preview.failed:
        return markdown
    headline = NO_STEPS if not preview.steps else f"**{NO_CHANGES_FAILED}**"
    stacks = _preview_stacks(preview)
    named = f"Stacks compared: {join_words(stacks)} (the preview failed)." if stacks else ""
    lines = [
        named if named and line == "Stacks compared: (none)." else line
        for line in markdown.split("\n")
    ]
    lines = [
        headline
        if line == "**No changes.**"
        else NO_CHANGES_FAILED
        if line == "No changes."
        else line
        for line in lines
    ]
    return "\n".join(lines)


def label_offline_ids(markdown: str, preview: Preview, contexts: Mapping[str, Plan]) -> str:
    """Ids that only the offline plans made up (``assignedAtDeploy``) shown as assigned at
    deploy; an id that the preview's own states hold is the engine's, and stays."""
    assigned = set().union(*(plan.assigned_at_deploy for plan in contexts.values()))
    if not assigned:
        return markdown
    in_preview = {
        value.lower()
        for step in preview.steps
        for state in (step.old, step.new)
        if state
        for value in GUID.findall(json.dumps(state))
    }
    return _label_assigned(markdown, assigned - in_preview)


def _label_assigned(markdown: str, assigned: Collection[str]) -> str:
    """``markdown`` with every made-up id (``assigned``, lower case) labelled: a code span that is
    only such an id becomes ``(assigned at deploy)``, any other occurrence is replaced in place.
    Fenced blocks are left alone.

    Moved here from reports/stack.py, which no longer edits rendered text (issue 26 item 2); this
    converter still writes its Markdown as text, and this goes when it builds spans.
    """
    if not assigned:
        return markdown

    def replace(match: re.Match[str]) -> str:
        return ASSIGNED if match.group(0).lower() in assigned else match.group(0)

    def label(line: str) -> str:
        line = re.sub(
            r"`(" + GUID.pattern + r")`",
            lambda m: ASSIGNED if m.group(1).lower() in assigned else m.group(0),
            line,
        )
        return GUID.sub(replace, line)

    out, fenced = [], False
    for line in markdown.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        out.append(line if fenced or line.lstrip().startswith("```") else label(line))
    return "\n".join(out)


def render_preview(
    preview: Preview,
    catalog: Catalog,
    contexts: Mapping[str, Plan],
    failures: Mapping[str, PreviewFailure] | None = None,
) -> str:
    """The Markdown for a parsed preview."""
    preview = scrub_preview(preview)
    markdown = render_diff(
        stack_diffs(preview, catalog, contexts, failures),
        title="Preview changes",
        subtitle="From `pulumi preview --json`"
        + (" (engine events)" if preview.violations is not None else "")
        + ".",
    )
    markdown = label_offline_ids(_unclaimed_no_changes(markdown, preview), preview, contexts)
    markdown = _insert_before_policy(
        markdown, coverage_section(coverage(preview, catalog, contexts))
    )
    return _insert_after_stacks(markdown, [failure_section(preview), warning_section(preview)])


# Exit statuses (also in docs/exit-codes.md and in --help).
EXIT_OK = 0
EXIT_INPUT = 2  # the preview file cannot be read, or is neither a digest nor an event stream
EXIT_PROTECTED = 3  # --fail-on-protected: a protected resource would be deleted or replaced
EXIT_PREVIEW_FAILED = 4  # always: error diagnostics, a mandatory violation, or nothing printed
EXIT_UNCOVERED = 7  # --fail-on-uncovered: the offline policy results miss preview changes

EXIT_CODES = f"""exit status:
  {EXIT_OK}  the preview passed (and no option below applies)
  {EXIT_INPUT}  the input cannot be read or is not a preview
  {EXIT_PROTECTED}  --fail-on-protected: a protected resource would be deleted or replaced
  {EXIT_PREVIEW_FAILED}  the preview failed: the engine reported errors (shown at the top of the
     Markdown), a mandatory policy violation, or `pulumi preview` printed nothing
  {EXIT_UNCOVERED}  --fail-on-uncovered: the offline plan's policy results do not cover changes
     in the preview
The first that applies, in the order {EXIT_PREVIEW_FAILED}, {EXIT_PROTECTED}, {EXIT_UNCOVERED}."""


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or "partner-apps preview-json",
        description=(
            "Turn `pulumi preview --json` output (or the engine event stream of "
            "`--event-log`) into the reviewer Markdown of `partner-apps diff`: protected deletions "
            "and "
            "replacements first, permissions and scopes by name, consent path, credentials and "
            "secrets, and every step's property changes."
        ),
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "preview",
        nargs="?",
        default="-",
        help="the preview JSON file ('-' or nothing: read standard input)",
    )
    parser.add_argument(
        "--plan",
        action="append",
        type=Path,
        default=[],
        metavar="PLAN",
        help="recorded plan(s) or folder (build/preview) for reasons, scopes and policy results",
    )
    parser.add_argument("--out", type=Path, help="write the Markdown here instead of stdout")
    parser.add_argument(
        "--fail-on-protected",
        action="store_true",
        help="exit with status 3 when a protected resource would be deleted or replaced",
    )
    parser.add_argument(
        "--fail-on-uncovered",
        action="store_true",
        help="exit with status 7 when the policy results shown come from the offline plan and "
        "the preview has changes (resources, permissions, properties) that plan does not hold",
    )
    return parser


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """The command; ``prog``: how the caller names it in usage lines
    (``partner-apps <command>``)."""
    return run(build_parser(prog).parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """The command with its arguments parsed (``build_parser``)."""
    try:
        if args.preview == "-":
            text, source = sys.stdin.read(), "standard input"
        else:
            path = Path(args.preview)
            text = read_text(path)
            source = str(path)
        plans, failed = load_results(args.plan)
        contexts = {plan.stack: plan for plan in plans}
        failures = {failure.stack: failure for failure in failed}
        preview = parse_preview(text, source)
    except PlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INPUT
    catalog = load_catalog()
    preview = scrub_preview(preview)
    diffs = stack_diffs(preview, catalog, contexts, failures)
    markdown = render_preview(preview, catalog, contexts, failures)
    not_covered = coverage(preview, catalog, contexts)
    if args.out:
        write_text(args.out, markdown)
        print(summary(diffs))
        for stack in sorted(not_covered):
            print(f"{stack}: policy results do not cover {_changes(len(not_covered[stack]))}")
        print(f"-> {display_path(args.out)}")
    else:
        sys.stdout.write(markdown)
    return _status(args, preview, diffs, not_covered)


def _status(
    args: argparse.Namespace,
    preview: Preview,
    diffs: Sequence[StackDiff],
    not_covered: Mapping[str, Sequence[str]],
) -> int:
    if preview.failed:
        first = preview.errors[0].message if preview.errors else "mandatory policy violation"
        print(f"error: the preview failed: {(first.splitlines() or [''])[0]}", file=sys.stderr)
        return EXIT_PREVIEW_FAILED
    if args.fail_on_protected and any(c.destroys_protected for d in diffs for c in d.changes):
        return EXIT_PROTECTED
    if args.fail_on_uncovered and not_covered:
        print(
            "error: the offline plan's policy results do not cover "
            + join_words([f"{_changes(len(v))} in {k}" for k, v in sorted(not_covered.items())]),
            file=sys.stderr,
        )
        return EXIT_UNCOVERED
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
