"""The customers' verify results (``partner-apps customers verify --out-dir DIR``): one format,
one writer and one reader.

Each ``<region>.json`` is ``{"kind": "customers-verify", "verifyResultsVersion": 1, "stack":
"<region>", "checkedAt": "<ISO date-time>", "auditLog": "<path of the apply audit log>",
"results": [{"customer": "<name>", "tenantId": "<tenant id>", "app": "<app key>", "state":
"<verified|failed|...>", "roles": [...], "checkedAt": "<ISO date-time>", "cause": ..., "fix":
...}]}``. ``stack`` defaults to the file name, a result's ``checkedAt`` to the file's; only
``customer``, ``app`` and ``state`` are needed. A file without ``verifyResultsVersion`` is of
version 1 (what the customers command wrote before the field); any other version is refused,
naming the file, rather than misread.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from partner_apps.review.plan.access import as_list, as_map, as_str

KIND: Final = "customers-verify"
VERSION_KEY: Final = "verifyResultsVersion"
VERSION: Final = 1
KNOWN_VERSIONS: Final = frozenset({VERSION})
UNKNOWN_STATE: Final = "unknown"


@dataclass(frozen=True)
class ConsentResult:
    """One customer's consent to one app in one region, as last verified."""

    stack: str
    customer: str
    tenant_id: str
    app: str
    state: str
    checked_at: str
    roles: str
    failure: str

    def as_json(self) -> dict[str, str]:
        return {
            "stack": self.stack,
            "customer": self.customer,
            "tenantId": self.tenant_id,
            "app": self.app,
            "state": self.state,
            "checkedAt": self.checked_at,
            "roles": self.roles,
            "failure": self.failure,
        }


@dataclass(frozen=True)
class VerifyResults:
    """The latest state per region, customer and app of a folder of verify results."""

    results: tuple[ConsentResult, ...]
    audit_logs: Mapping[str, str]
    problems: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """As the audit document holds them (``consentResults``)."""
        return {
            "given": True,
            "results": [result.as_json() for result in self.results],
            "auditLogs": dict(sorted(self.audit_logs.items())),
            "problems": list(self.problems),
        }


def verify_document(
    stack: str, checked_at: str, audit_log: str | None, results: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """The document ``customers verify`` writes for one region (what ``read_folder`` reads)."""
    return {
        "kind": KIND,
        VERSION_KEY: VERSION,
        "stack": stack,
        "region": stack,
        "checkedAt": checked_at,
        "auditLog": audit_log,
        "results": [dict(result) for result in results],
    }


class VerifyResultsError(Exception):
    """A verify results file that cannot be read; the message names the file."""


def read_document(path: Path) -> Mapping[str, Any] | None:
    """One file's document; None for another document of that folder (a plan or apply report,
    whose ``kind`` differs). Raises VerifyResultsError naming the file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:  # ValueError: not JSON, or not UTF-8
        raise VerifyResultsError(f"{path.name}: not readable JSON ({error})") from error
    if not isinstance(document, Mapping):
        raise VerifyResultsError(f"{path.name}: not a JSON object")
    if as_str(document.get("kind")) not in ("", KIND):
        return None
    version = document.get(VERSION_KEY, VERSION)
    if version not in KNOWN_VERSIONS or isinstance(version, bool):
        raise VerifyResultsError(
            f"{path.name}: {VERSION_KEY} {version!r} is not one this reader knows "
            f"({', '.join(str(v) for v in sorted(KNOWN_VERSIONS))})"
        )
    return document


def read_folder(folder: Path) -> VerifyResults:
    """The latest state per region, customer and app from the ``<region>.json`` files of
    ``folder``. Of several results for one customer and app the one checked last wins. Files that
    cannot be read are listed as problems rather than failing the reader."""
    latest: dict[tuple[str, str, str], ConsentResult] = {}
    logs: dict[str, str] = {}
    problems: list[str] = [] if folder.is_dir() else [f"{folder.name}: no such folder"]
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            document = read_document(path)
        except VerifyResultsError as error:
            problems.append(str(error))
            continue
        if document is None:
            continue
        stack = as_str(document.get("stack")) or path.stem
        if as_str(document.get("auditLog")):
            logs[stack] = as_str(document.get("auditLog"))
        for item in as_list(document.get("results")):
            result = _result(stack, as_map(item), as_str(document.get("checkedAt")))
            key = (result.stack, result.customer, result.app)
            if key not in latest or result.checked_at >= latest[key].checked_at:
                latest[key] = result
    return VerifyResults(
        results=tuple(latest[key] for key in sorted(latest)),
        audit_logs=logs,
        problems=tuple(problems),
    )


def _result(stack: str, item: Mapping[str, Any], checked_at: str) -> ConsentResult:
    cause, fix = as_str(item.get("cause")), as_str(item.get("fix"))
    return ConsentResult(
        stack=stack,
        customer=as_str(item.get("customer")) or as_str(item.get("tenantId")) or "?",
        tenant_id=as_str(item.get("tenantId")),
        app=as_str(item.get("app")) or "?",
        state=as_str(item.get("state")) or as_str(item.get("status")) or UNKNOWN_STATE,
        checked_at=as_str(item.get("checkedAt")) or checked_at,
        roles=", ".join(as_str(role) for role in as_list(item.get("roles"))),
        failure=f"{cause} → {fix}" if cause and fix else cause,
    )
