"""The plan file: its one writer and reader (versioned), and the plan model reports read.

A *plan* is the JSON file the offline preview records per stack (``build/preview/<stack>.json``):
the program's resources as the engine would register them (camelCase inputs, secrets already
shown as ``"[secret]"``), the ``apps`` block with the reason of every permission, and the policy
violations. ``dumps`` writes it (and ``<stack>.error.json``, a failed preview); ``load_results``
reads plans and failures, refusing a ``planVersion`` this reader does not know, with the second
line of defence for secrets (``review.plan.secrets``) so no renderer can print one.

The vocabulary (type tokens, secret markers, URN names) is ``review.plan.vocabulary``, re-exported
here for the readers that import it with the model. The analysis of a plan is
``review.analysis.views``; values as text are ``review.plan.values``. Everything is sorted and
nothing reads the clock: the same plan always gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from partner_apps.review.plan.access import as_list, as_map, as_str, canonical, dig, str_list
from partner_apps.review.plan.model import (
    Catalog,
    CatalogEntry,
    Plan,
    PlanError,
    PolicyInfo,
    PreviewFailure,
    Recorded,
    Resource,
    Violation,
    load_catalog,
    policy_list,
    policy_status,
    stack_policies,
)
from partner_apps.review.plan.pack import PackRecord, record_from_json
from partner_apps.review.plan.secrets import (
    redact_resource_props,
    scrub_document,
    unwrap_envelopes,
)
from partner_apps.review.plan.vocabulary import (
    API_ACCESS,
    APP_COMPONENT,
    APPLICATION,
    APPLICATION_REGISTRATION,
    CERTIFICATE,
    FEDERATED_CREDENTIAL,
    GROUP_MEMBER,
    IDENTIFIER_URI,
    KEY_VAULT_ROLES,
    KNOWN_CLIENTS,
    PASSWORD,
    PERMISSION_SCOPE,
    PRE_AUTHORIZED,
    REDIRECT_URIS,
    RESOURCE_GROUP,
    RISK_ORDER,
    ROLE_ASSIGNMENT,
    SECRET,
    SECRET_PATHS,
    SERVICE_PRINCIPAL,
    SEVERITY_ORDER,
    STACK_TYPE,
    UNKNOWN,
    VAULT,
    VAULT_COMPONENT,
    VAULT_SECRET,
    Urn,
    is_unknown,
    parse_urn,
    urn_name,
)
from policies.partner_policies.catalog import Permission

# Names other modules import from here (defined in vocabulary, access, secrets and model).
__all__ = [
    "API_ACCESS",
    "APPLICATION",
    "APPLICATION_REGISTRATION",
    "APP_COMPONENT",
    "CERTIFICATE",
    "ERROR_SUFFIX",
    "FEDERATED_CREDENTIAL",
    "GROUP_MEMBER",
    "IDENTIFIER_URI",
    "KEY_VAULT_ROLES",
    "KNOWN_CLIENTS",
    "OFFLINE_ORIGIN",
    "PASSWORD",
    "PERMISSION_SCOPE",
    "PLAN_VERSION",
    "PRE_AUTHORIZED",
    "REDIRECT_URIS",
    "RESOURCE_GROUP",
    "RISK_ORDER",
    "ROLE_ASSIGNMENT",
    "SECRET",
    "SECRET_PATHS",
    "SERVICE_PRINCIPAL",
    "SEVERITY_ORDER",
    "STACK_TYPE",
    "UNKNOWN",
    "VAULT",
    "VAULT_COMPONENT",
    "VAULT_SECRET",
    "Catalog",
    "PackRecord",
    "Plan",
    "PlanError",
    "PolicyInfo",
    "PreviewFailure",
    "Recorded",
    "Resource",
    "Urn",
    "Violation",
    "as_list",
    "as_map",
    "as_str",
    "canonical",
    "dig",
    "dumps",
    "error_document",
    "failure_from_document",
    "is_error_document",
    "is_plan_document",
    "is_unknown",
    "load_catalog",
    "load_plan",
    "load_plans",
    "load_results",
    "parse_urn",
    "plan_from_document",
    "policy_list",
    "policy_status",
    "read_json",
    "read_text",
    "redact_resource_props",
    "resource_from_state",
    "scrub_document",
    "scrub_plan",
    "stack_policies",
    "str_list",
    "urn_name",
]

# The plan file's format version (``planVersion``): bump it when a reader of the old format
# would misread the new one; the reader refuses any other. 2 (issue 27): the plan records the
# policy pack that judged it (``policyPack``: name, version, source digest), the evaluation date
# of its date checks (``evaluationDate``) and what it is a plan of (``origin``). Format 1 is still
# read (a base branch's plans), but the audit cannot judge it again: it is flagged, not trusted.
PLAN_VERSION: Final = 2
KNOWN_PLAN_VERSIONS: Final = frozenset({1, PLAN_VERSION})
# ``origin`` of a plan the offline preview records: the program run under mocks on the declared
# config, not the live state of a deployed stack.
OFFLINE_ORIGIN: Final = "offline plan of the declared config"


def dumps(document: Any) -> str:
    """The one serialisation of plans and reports: sorted keys, two-space indent, newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def resource_from_state(state: Mapping[str, Any], found: set[str]) -> Resource:
    """A Resource from a plan entry or an engine state (``apitype.ResourceV3`` shape)."""
    urn = as_str(state.get("urn"))
    parsed = parse_urn(urn)
    type_ = as_str(state.get("type")) or (parsed.type if parsed else "")
    name = as_str(state.get("name")) or (parsed.name if parsed else urn)
    secret_outputs = str_list(state.get("additionalSecretOutputs"))
    inputs, outputs = redact_resource_props(
        type_, state.get("inputs"), state.get("outputs"), secret_outputs, found
    )
    return Resource(
        urn=urn,
        type=type_,
        name=name,
        parent=as_str(state.get("parent")) or None,
        provider=as_str(state.get("provider")) or None,
        protect=bool(state.get("protect")),
        custom=bool(state.get("custom", True)),
        inputs=inputs,
        outputs=outputs,
        dependencies=str_list(state.get("dependencies")),
        ignore_changes=str_list(state.get("ignoreChanges")),
        additional_secret_outputs=secret_outputs,
        retain_on_delete=bool(state.get("retainOnDelete")),
        alias_names=str_list(state.get("aliasNames")),
    )


def _violation(entry: Mapping[str, Any]) -> Violation:
    return Violation(
        policy=as_str(entry.get("policy") or entry.get("policyName")),
        severity=as_str(entry.get("severity")) or "unspecified",
        enforcement_level=as_str(entry.get("enforcementLevel")) or "advisory",
        urn=as_str(entry.get("urn") or entry.get("resourceUrn")),
        message=as_str(entry.get("message")).strip(),
    )


def plan_from_document(document: Mapping[str, Any], source: str = "", *, sha256: str = "") -> Plan:
    """Build a Plan from the recorder's JSON; raises PlanError when it is not a plan.

    ``sha256``: of the file's bytes as read, so the audit can name exactly what it judged.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("resources"), list):
        raise PlanError(f"{source or 'document'}: not a plan (no 'resources' list)")
    version = document.get("planVersion", PLAN_VERSION)
    if version not in KNOWN_PLAN_VERSIONS or isinstance(version, bool):
        raise PlanError(
            f"{source or 'document'}: planVersion {version!r} is not one this reader knows "
            f"({', '.join(str(v) for v in sorted(KNOWN_PLAN_VERSIONS))}): record the plan "
            "again with this checkout's `make preview`"
        )
    found: set[str] = set()
    resources = [
        resource_from_state(entry, found)
        for entry in document["resources"]
        if isinstance(entry, Mapping)
    ]
    outputs = unwrap_envelopes(as_map(document.get("outputs")), found)
    region = as_map(document.get("region"))
    stack = as_str(document.get("stack")) or as_str(region.get("id"))
    if not stack:
        stacks = {p.stack for p in (parse_urn(r.urn) for r in resources) if p}
        stack = min(stacks) if stacks else Path(source).stem
    policies_doc = document.get("policies")
    policies = (
        tuple(
            sorted(
                (
                    PolicyInfo(
                        name=as_str(entry.get("name") or entry.get("policy")),
                        severity=as_str(entry.get("severity")) or "unspecified",
                        enforcement_level=as_str(entry.get("enforcementLevel")) or "advisory",
                        description=as_str(entry.get("description")),
                        properties=dict(as_map(entry.get("properties"))),
                    )
                    for entry in policies_doc
                    if isinstance(entry, Mapping)
                ),
                key=lambda p: p.name,
            )
        )
        if isinstance(policies_doc, list)
        else None
    )
    plan = Plan(
        project=as_str(document.get("project")),
        stack=stack,
        region=region,
        apps={key: as_map(value) for key, value in as_map(document.get("apps")).items()},
        resources=tuple(sorted(resources, key=lambda r: r.urn)),
        outputs=outputs,
        violations=tuple(
            sorted(
                (
                    _violation(v)
                    for v in as_list(document.get("violations"))
                    if isinstance(v, Mapping)
                ),
                key=Violation.sort_key,
            )
        ),
        policies=policies,
        source=source,
        assigned_at_deploy=frozenset(
            v.lower() for v in as_list(document.get("assignedAtDeploy")) if isinstance(v, str)
        ),
        permission_catalog=_catalog(document.get("permissionCatalog")),
        pack=record_from_json(document.get("policyPack")),
        evaluation_date=as_str(document.get("evaluationDate")),
        origin=as_str(document.get("origin")),
        sha256=sha256,
        recorded=Recorded(
            resources=tuple(e for e in document["resources"] if isinstance(e, Mapping)),
            violations=tuple(
                e for e in as_list(document.get("violations")) if isinstance(e, Mapping)
            ),
        ),
    )
    return scrub_plan(plan, found)


# The flags of a catalog entry a plan records, by their name in the plan.
_CATALOG_FLAGS: Final = ("adminConsent", "cspAllowed", "customerTenant", "highPrivilege")


def catalog_record(permissions: Iterable[Permission]) -> list[dict[str, Any]]:
    """The permission catalog as a plan records it (``permissionCatalog``): every entry's id,
    risk and flags, so a diff of two plans sees any change of the catalog (issue 27 item 1:
    the catalog is the offline trust root of every permission name a report shows)."""
    rows = []
    for permission in permissions:
        values = {
            "adminConsent": permission.admin_consent,
            "cspAllowed": permission.csp_allowed,
            "customerTenant": permission.customer_tenant,
            "highPrivilege": permission.high_privilege,
        }
        rows.append(
            {
                "api": permission.api_app_id,
                "apiName": permission.api.name,
                "permission": permission.value,
                "type": permission.kind,
                "id": permission.id,
                "risk": permission.risk,
                "flags": [flag for flag in _CATALOG_FLAGS if values[flag]],
            }
        )
    return sorted(rows, key=lambda row: (row["api"], row["permission"], row["type"]))


def _catalog(value: Any) -> tuple[CatalogEntry, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(
        CatalogEntry(
            api=as_str(row.get("api")),
            api_name=as_str(row.get("apiName")),
            permission=as_str(row.get("permission")),
            kind=as_str(row.get("type")),
            id=as_str(row.get("id")),
            risk=as_str(row.get("risk")),
            flags=tuple(sorted(str_list(row.get("flags")))),
        )
        for row in value
        if isinstance(row, Mapping)
    )


def scrub_plan(plan: Plan, found: set[str]) -> Plan:
    """``plan`` with every raw secret value in ``found`` replaced wherever it occurs."""
    if not any(len(value) >= 6 for value in found):
        return plan
    resources = tuple(
        dataclasses.replace(
            r,
            inputs=scrub_document(r.inputs, found),
            outputs=scrub_document(r.outputs, found),
        )
        for r in plan.resources
    )
    violations = tuple(
        Violation(
            policy=v.policy,
            severity=v.severity,
            enforcement_level=v.enforcement_level,
            urn=v.urn,
            message=scrub_document(v.message, found),
        )
        for v in plan.violations
    )
    return dataclasses.replace(
        plan,
        region=scrub_document(plan.region, found),
        apps=scrub_document(plan.apps, found),
        resources=resources,
        outputs=scrub_document(plan.outputs, found),
        violations=violations,
    )


ERROR_SUFFIX = ".error.json"


def error_document(project: str, stack: str, error: str) -> dict[str, str]:
    """The content of ``<stack>.error.json``."""
    return {"project": project, "stack": stack, "error": error}


def is_error_document(document: Any) -> bool:
    """True for a ``<stack>.error.json`` written by the offline preview."""
    return (
        isinstance(document, Mapping)
        and "resources" not in document
        and isinstance(document.get("stack"), str)
        and isinstance(document.get("error"), str)
    )


def failure_from_document(document: Mapping[str, Any], source: str = "") -> PreviewFailure:
    return PreviewFailure(
        project=as_str(document.get("project")),
        stack=as_str(document.get("stack")),
        error=as_str(document.get("error")).strip() or "(no message)",
        source=source,
    )


def read_text(path: Path) -> str:
    """A file's UTF-8 text; PlanError names the file (and the byte) when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise PlanError(f"{path}: cannot read ({error.strerror or error})") from error
    except UnicodeDecodeError as error:
        raise PlanError(
            f"{path}: not UTF-8 (byte 0x{error.object[error.start]:02x} at offset {error.start})"
        ) from error


def read_json(path: Path) -> Any:
    """Parse a JSON file; PlanError names the file when it cannot."""
    return _read_json_hashed(path)[0]


def _read_json_hashed(path: Path) -> tuple[Any, str]:
    """A JSON file's document and the SHA-256 of the bytes it was parsed from (read once, so
    the digest is of exactly what was judged)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PlanError(f"{path}: cannot read ({error.strerror or error})") from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PlanError(
            f"{path}: not UTF-8 (byte 0x{error.object[error.start]:02x} at offset {error.start})"
        ) from error
    try:
        return json.loads(text), hashlib.sha256(data).hexdigest()
    except json.JSONDecodeError as error:
        raise PlanError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from error


def load_plan(path: Path) -> Plan:
    """Read one plan file."""
    document, sha256 = _read_json_hashed(path)
    return plan_from_document(document, source=str(path), sha256=sha256)


def is_plan_document(document: Any) -> bool:
    """True for the recorder's plan JSON (and not, say, an audit report next to it)."""
    return isinstance(document, Mapping) and isinstance(document.get("resources"), list)


def load_plans(paths: Iterable[Path]) -> list[Plan]:
    """Plans from files and directories (every ``*.json`` plan in a directory), by stack name.

    Stacks whose preview failed (``<stack>.error.json``) are left out: see ``load_results``.
    """
    return load_results(paths)[0]


def load_results(paths: Iterable[Path]) -> tuple[list[Plan], list[PreviewFailure]]:
    """Plans and failed previews from files and directories, each sorted by stack name.

    A stack may come from one file only: a plan and an error file for the same stack is an error.
    """
    found: dict[str, Plan | PreviewFailure] = {}
    for path in paths:
        if not path.exists():
            raise PlanError(f"{path}: no such file or folder")
        if path.is_dir():
            for child in sorted(path.glob("*.json")):
                document, sha256 = _read_json_hashed(child)
                if is_plan_document(document):
                    plan = plan_from_document(document, source=str(child), sha256=sha256)
                    _add_result(found, plan)
                elif is_error_document(document):
                    _add_result(found, failure_from_document(document, source=str(child)))
        else:
            document, sha256 = _read_json_hashed(path)
            if is_error_document(document):
                _add_result(found, failure_from_document(document, source=str(path)))
            else:
                _add_result(found, plan_from_document(document, source=str(path), sha256=sha256))
    plans = [r for _, r in sorted(found.items()) if isinstance(r, Plan)]
    failures = [r for _, r in sorted(found.items()) if isinstance(r, PreviewFailure)]
    return plans, failures


def _add_result(found: dict[str, Plan | PreviewFailure], result: Plan | PreviewFailure) -> None:
    if result.stack in found:
        raise PlanError(
            f"{result.source}: stack {result.stack!r} also comes from {found[result.stack].source}"
        )
    found[result.stack] = result
