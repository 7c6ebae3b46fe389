"""Read what ``pulumi preview --json`` (or its engine event log) printed, into a ``Preview``.

A ``PreviewDigest`` (``--json``) has ``steps`` with ``op``, ``urn``, ``oldState``, ``newState``,
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
before printing) is a **failed** preview. ``read_preview`` parses and scrubs once: any raw secret
found at a secret-marked place is replaced everywhere before anything else reads the preview.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from partner_apps.review.plan.document import (
    PlanError,
    Violation,
    as_list,
    as_map,
    as_str,
    resource_from_state,
    scrub_document,
)


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


def read_preview(text: str, source: str = "preview") -> Preview:
    """The preview in ``text``, parsed and scrubbed (the one scrub of a run)."""
    return scrub_preview(parse_preview(text, source))
