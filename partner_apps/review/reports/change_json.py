"""The change model as versioned JSON: the diff's (and preview-json's) third renderer.

The document is the data the Markdown and HTML are made from, for other tools (a bot, a
dashboard) to read without parsing a report: per stack its status, resource changes with their
property changes, the facts worded for a reviewer (as plain text), identity and policy config
changes, and policy results. Sorted, no timestamps; values are the plans' (secrets already
``[secret]``). A reader checks ``version`` and refuses one it does not know.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from partner_apps.review.changes.model import (
    MISSING,
    PropertyChange,
    ResourceChange,
    StackDiff,
    plain_words,
)
from partner_apps.review.plan.document import Violation

KIND = "partner-apps/changes"
VERSION = 1


def _property(change: PropertyChange) -> dict[str, Any]:
    found: dict[str, Any] = {"path": change.path, "kind": change.kind, "replace": change.replace}
    if change.old is not MISSING:
        found["old"] = change.old
    if change.new is not MISSING:
        found["new"] = change.new
    return found


def _resource(change: ResourceChange) -> dict[str, Any]:
    return {
        "urn": change.urn,
        "type": change.type,
        "name": change.name,
        "op": change.op,
        "protected": change.resource.protect,
        "destroysProtected": change.destroys_protected,
        "replaceReasons": list(change.replace_reasons),
        "replaceInferred": change.inferred if change.op == "replace" else False,
        "properties": [_property(p) for p in change.properties],
    }


def _violations(violations: Sequence[Violation] | None) -> list[dict[str, str]] | None:
    if violations is None:
        return None
    return [
        {
            "policy": v.policy,
            "enforcementLevel": v.enforcement_level,
            "severity": v.severity,
            "urn": v.urn,
            "message": v.message,
        }
        for v in violations
    ]


def stack_document(diff: StackDiff) -> dict[str, Any]:
    counts = {op: diff.count(op) for op in ("create", "update", "replace", "delete")}
    return {
        "stack": diff.stack,
        "status": diff.status,
        "failure": diff.failure,
        "baseFailure": diff.base_failure,
        "counts": counts,
        "notes": [plain_words(note) for note in diff.notes],
        "identity": [
            {"key": c.key, "label": c.label, "before": c.before, "after": c.after}
            for c in diff.identity
        ],
        "policyConfig": [
            {
                "policy": c.policy,
                "property": c.prop,
                "change": plain_words(c.text),
                "weaker": c.weaker,
            }
            for c in diff.policy_changes
        ],
        "resources": [_resource(c) for c in diff.changes],
        "facts": [
            {
                "section": f.section,
                "subject": f.subject,
                "text": plain_words(f.text),
                "detail": plain_words(f.detail),
                "breaking": f.breaking,
            }
            for f in diff.facts
        ],
        "policyResults": {
            "source": plain_words(diff.violations_source) or None,
            "base": _violations(diff.base_violations),
            "head": _violations(diff.head_violations),
        },
    }


def changes_document(
    diffs: Sequence[StackDiff], *, title: str, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The document: ``kind``, ``version``, the stacks, and what the exit status is made of."""
    return {
        "kind": KIND,
        "version": VERSION,
        "title": title,
        **(extra or {}),
        "stacks": [stack_document(diff) for diff in diffs],
        "protectedDestroyed": sum(1 for d in diffs for c in d.changes if c.destroys_protected),
        "breakingScopes": sum(len(d.breaking) for d in diffs),
        "weakened": any(d.weakened for d in diffs),
        "packChanged": [d.stack for d in diffs if d.pack_changed],
        "failedStacks": [d.stack for d in diffs if d.status == "failed"],
    }


def dumps(document: Mapping[str, Any]) -> str:
    """JSON text: sorted keys, two-space indent, one trailing newline (stable across runs)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def changes_json(
    diffs: Sequence[StackDiff], *, title: str, extra: Mapping[str, Any] | None = None
) -> str:
    return dumps(changes_document(diffs, title=title, extra=extra))
