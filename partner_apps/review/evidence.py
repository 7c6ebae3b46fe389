"""The audit's evidence: one JSON-ready document across every region stack (``audit_data``),
dated and attributable (``Provenance``: the commit and the policy pack).

``review.audit`` is the command that reads the plans and writes the renderings; the renderings
come from ``review.reports.audit``. The only date in the document is the evaluation date.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import socket
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.files import safe_load
from partner_apps import project_dir
from partner_apps.review.analysis.views import AppView, Id, Note, StackView, VaultView, analyze
from partner_apps.review.judge import PlanCheck
from partner_apps.review.plan.document import (
    APPLICATION,
    APPLICATION_REGISTRATION,
    SERVICE_PRINCIPAL,
    Catalog,
    Plan,
    PreviewFailure,
    as_list,
    as_map,
    as_str,
    is_unknown,
    policy_status,
    stack_policies,
    str_list,
    urn_name,
)
from partner_apps.review.plan.pack import current_pack
from partner_apps.review.reports.ids import ASSIGNED

# 3 (issue 27): the generator and time of the audit, the pack's digest, and each plan judged
# again (``plans``: file, SHA-256, origin, the pack that recorded it, what disagrees).
AUDIT_VERSION = 3
DEFAULT_WARN_DAYS = 60
UNKNOWN = "unknown"


# --------------------------------------------------------------------------------------------
# Provenance: the date, the commit and the policy pack
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Provenance:
    """What the audit was made from (the checkout's commit and the policy pack), by whom (the
    CI run, else user@host) and when (UTC): the dated fields of the evidence header."""

    commit: str
    dirty: bool | None
    pack_name: str
    pack_version: str
    pack_digest: str = ""
    generator: str = ""
    generated_at: str = ""


def generator(environ: Mapping[str, str] | None = None) -> str:
    """Who made the audit: the CI run's URL when GitHub Actions runs it, else ``user@host``.

    GitHub sets ``GITHUB_SERVER_URL``, ``GITHUB_REPOSITORY`` and ``GITHUB_RUN_ID`` in every job
    ("Default environment variables", GitHub Actions docs); a run's page is
    ``<server>/<repository>/actions/runs/<run id>``.
    """
    env = os.environ if environ is None else environ
    parts = [env.get(name, "") for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY")]
    run_id = env.get("GITHUB_RUN_ID", "")
    if all(parts) and run_id:
        return f"{parts[0].rstrip('/')}/{parts[1]}/actions/runs/{run_id}"
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = UNKNOWN
    return f"{user}@{socket.gethostname() or UNKNOWN}"


def now_utc(environ: Mapping[str, str] | None = None) -> str:
    """The time the audit is made, UTC to the second (a provenance field, never a result).

    ``SOURCE_DATE_EPOCH`` (seconds since 1970, the reproducible-builds convention:
    reproducible-builds.org/specs/source-date-epoch) pins it, so a rerun or a test can
    reproduce the report byte for byte.
    """
    env = os.environ if environ is None else environ
    pinned = env.get("SOURCE_DATE_EPOCH", "").strip()
    when = (
        dt.datetime.fromtimestamp(int(pinned), dt.UTC)
        if pinned.isdigit()
        else dt.datetime.now(dt.UTC)
    )
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def today_utc() -> dt.date:
    """Today's date in UTC (the default evaluation date; never reaches a resource input)."""
    return dt.datetime.now(dt.UTC).date()


def _git(checkout: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(checkout), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_commit(checkout: Path) -> tuple[str, bool | None]:
    """(commit, dirty) of a git checkout; ("unknown", None) when it is not one, has no commit yet
    or git is absent.

    One ``git status`` gives both: porcelain v2 with ``--branch`` heads its output with
    ``# branch.oid <commit>`` (``(initial)`` before the first commit), and every other line is a
    change, untracked files included, as in ``git status --porcelain``. It is half the cost of
    ``rev-parse`` and ``status`` one after the other, on every preview.
    """
    status = _git(checkout, "status", "--porcelain=v2", "--branch")
    if status is None:
        return UNKNOWN, None
    lines = status.splitlines()
    heads = [line.split()[2] for line in lines if line.startswith("# branch.oid ")]
    if not heads or heads[0] == "(initial)":
        return UNKNOWN, None
    return heads[0], any(line and not line.startswith("#") for line in lines)


def pack_file(project: Path | None = None) -> Path:
    """The policy pack's PulumiPolicy.yaml in ``project`` (default: the project a command works
    on, ``partner_apps.project_dir``)."""
    return (project or project_dir()) / "policies" / "PulumiPolicy.yaml"


def pack_version(path: Path | None = None) -> str:
    """The ``version`` of the policy pack's PulumiPolicy.yaml, or "unknown"."""
    path = path or pack_file()
    try:
        document = safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return UNKNOWN
    version = document.get("version") if isinstance(document, Mapping) else None
    return str(version) if version not in (None, "") else UNKNOWN


def pack_name() -> str:
    from policies.partner_policies import PACK_NAME  # noqa: PLC0415 - loads the pack on use

    return str(PACK_NAME)


def detect_provenance(checkout: Path | None = None) -> Provenance:
    """The commit of ``checkout`` (default: the project) and the version of its policy pack."""
    checkout = checkout or project_dir()
    commit, dirty = git_commit(checkout)
    return Provenance(
        commit=commit,
        dirty=dirty,
        pack_name=pack_name(),
        pack_version=pack_version(pack_file(checkout)),
        pack_digest=current_pack().digest,
        generator=generator(),
        generated_at=now_utc(),
    )


# --------------------------------------------------------------------------------------------
# The data
# --------------------------------------------------------------------------------------------


def _status(date_text: str, as_of: dt.date, warn_days: int) -> str:
    """expired, expires in N days (within ``warn_days``), ok, no expiry or unknown."""
    try:
        when = dt.date.fromisoformat(date_text[:10])
    except ValueError:
        return "no expiry" if date_text in ("", "(none)") else UNKNOWN
    if when < as_of:
        return "expired"
    left = (when - as_of).days
    return f"expires in {left} days" if left <= warn_days else "ok"


def audit_data(
    plans: Sequence[Plan],
    catalog: Catalog,
    *,
    as_of: dt.date | None = None,
    warn_days: int = DEFAULT_WARN_DAYS,
    failures: Sequence[PreviewFailure] = (),
    provenance: Provenance | None = None,
    consent: Mapping[str, Any] | None = None,
    views: Sequence[StackView] | None = None,
    checks: Sequence[PlanCheck] = (),
) -> dict[str, Any]:
    """The audit as one JSON-ready document (sorted lists; the only date is the evaluation date).

    ``as_of``: the evaluation date for expiry status (default: today in UTC). ``provenance``: the
    commit and policy pack (default: detected from this checkout). ``consent``: customer consent
    results (``load_consent_results``). ``failures``: stacks whose preview failed; they are
    listed with the error, and every policy shows ``preview failed`` for them. ``views``: the
    plans already analysed (the offline preview hands its own over), else each is analysed here.
    ``checks``: each plan judged again (``review.judge``); a plan without one is listed as not
    judged, never as verified.
    """
    as_of = as_of or today_utc()
    provenance = provenance or detect_provenance()
    if views is None:
        views = [analyze(plan, catalog) for plan in plans]
    stacks = [view.stack for view in views]
    policies, source = _policies(plans, failures)
    projects = [p.project for p in plans] + [f.project for f in failures]
    return {
        "auditVersion": AUDIT_VERSION,
        "project": next((project for project in projects if project), ""),
        "asOf": as_of.isoformat(),
        "warnDays": warn_days,
        "commit": provenance.commit,
        "dirty": provenance.dirty,
        "generator": provenance.generator,
        "generatedAt": provenance.generated_at,
        "policyPack": {
            "name": provenance.pack_name,
            "version": provenance.pack_version,
            "digest": provenance.pack_digest,
        },
        "plans": _plan_checks(plans, checks),
        "stacks": sorted(
            [*(_stack_entry(view) for view in views), *(_failed_entry(f) for f in failures)],
            key=lambda entry: str(entry["stack"]),
        ),
        "policySource": source,
        "policies": policies,
        "violations": _violations(plans),
        "apps": _apps(views),
        "permissions": _permissions(views),
        "regionDifferences": _differences(views, stacks),
        "credentials": _credentials(views, as_of, warn_days),
        "secrets": _secrets(views, as_of, warn_days),
        "vaults": _vaults(views),
        "consentResults": dict(consent) if consent is not None else {"given": False},
    }


def _plan_checks(plans: Sequence[Plan], checks: Sequence[PlanCheck]) -> list[dict[str, Any]]:
    """Each plan as the evidence names it: file, SHA-256 of its bytes, origin, the pack that
    recorded it, and whether the audit's own judgement agrees with it (what does not)."""
    by_stack = {check.stack: check for check in checks}
    entries = []
    for plan in plans:
        check = by_stack.get(plan.stack)
        pack = plan.pack.as_json() if plan.pack else None
        entries.append(
            {
                "stack": plan.stack,
                "file": Path(plan.source).name if plan.source else "",
                "sha256": plan.sha256,
                "origin": plan.origin or UNKNOWN,
                "recordedBy": pack,
                "evaluationDate": plan.evaluation_date,
                "judged": bool(check and check.judged),
                "verified": bool(check and check.verified),
                "problems": list(check.problems) if check else ["not judged by this audit"],
            }
        )
    return sorted(entries, key=lambda entry: str(entry["stack"]))


def _violations(plans: Sequence[Plan]) -> list[dict[str, Any]]:
    return [
        {
            "stack": plan.stack,
            "policy": v.policy,
            "severity": v.severity,
            "enforcementLevel": v.enforcement_level,
            "resource": urn_name(v.urn),
            "urn": v.urn,
            "message": v.message,
        }
        for plan in plans
        for v in plan.violations
    ]


def _policies(
    plans: Sequence[Plan], failures: Sequence[PreviewFailure]
) -> tuple[list[dict[str, Any]], str]:
    """Policies × stacks: each stack's effective enforcement and result, and the list's source."""
    per_plan = {plan.stack: stack_policies(plan) for plan in plans}
    names = sorted({name for listed, _ in per_plan.values() for name in listed})
    sources = {source for _, source in per_plan.values()}
    source = sources.pop() if len(sources) == 1 else ("mixed" if sources else "none")
    rows = []
    for name in names:
        results: dict[str, dict[str, Any]] = {}
        infos = []
        for plan in plans:
            info = per_plan[plan.stack][0].get(name)
            count = sum(1 for v in plan.violations if v.policy == name)
            results[plan.stack] = {
                "status": policy_status(info, count),
                "enforcementLevel": info.enforcement_level if info else None,
                "violations": count,
            }
            if info is not None:
                infos.append(info)
        for failure in failures:
            results[failure.stack] = {
                "status": "preview failed",
                "enforcementLevel": None,
                "violations": 0,
            }
        levels = sorted({info.enforcement_level for info in infos})
        rows.append(
            {
                "policy": name,
                "severity": infos[0].severity if infos else "unspecified",
                "enforcementLevel": levels[0] if len(levels) == 1 else "varies",
                "results": dict(sorted(results.items())),
            }
        )
    return rows, source


def _failed_entry(failure: PreviewFailure) -> dict[str, Any]:
    return {
        "stack": failure.stack,
        "region": failure.stack,
        "tenantId": "",
        "subscriptionId": "",
        "location": "",
        "production": None,
        "apps": 0,
        "resources": 0,
        "checks": [],
        "previewFailed": failure.error,
    }


def _stack_entry(view: StackView) -> dict[str, Any]:
    region = view.plan.region
    return {
        "stack": view.stack,
        "region": as_str(region.get("id")) or view.stack,
        "tenantId": as_str(region.get("tenantId")),
        "subscriptionId": as_str(region.get("subscriptionId")),
        "location": as_str(region.get("location")),
        "production": region.get("production")
        if isinstance(region.get("production"), bool)
        else None,
        "apps": len(view.apps),
        "resources": len(view.plan.resources),
        "checks": [_check(note) for note in view.notes],
        "previewFailed": None,
    }


def _owners(app: AppView, *types: str) -> list[str]:
    """The owners (object ids) the plan gives the app's registration or service principal."""
    owners: set[str] = set()
    for resource in app.resources:
        if resource.type in types:
            owners |= {o for o in str_list(resource.prop("owners")) if o}
    return sorted(owners)


def _real(value: Id | None) -> str | None:
    """An id as the audit may state it: one the offline preview made up is not evidence, so it
    is shown as assigned at deploy (the typed id says so, from the plan's own record)."""
    if value is None:
        return None
    return ASSIGNED if value.assigned_at_deploy else value.value


def _check(note: Note) -> str:
    """A note as the audit document's text: identifiers in code marks, as every report shows
    them (the Markdown and HTML renderings show those as code)."""
    return "".join(part if isinstance(part, str) else f"`{part.value}`" for part in note.parts)


def _apps(views: Sequence[StackView]) -> list[dict[str, Any]]:
    rows = []
    for view in views:
        for app in view.apps:
            rows.append(
                {
                    "app": app.key,
                    "displayName": app.display_name,
                    "stack": view.stack,
                    "clientId": _real(app.client),
                    "servicePrincipalObjectId": _real(app.service_principal),
                    "signInAudience": app.sign_in_audience,
                    "owners": _owners(app, APPLICATION, APPLICATION_REGISTRATION),
                    "servicePrincipalOwners": _owners(app, SERVICE_PRINCIPAL),
                    "adminAgents": app.in_admin_agents,
                    "adminAgentsGroups": list(app.admin_agents),
                    "identifierUris": list(app.identifier_uris),
                    "redirectUris": list(app.redirect_uris),
                    "knownClients": [
                        {
                            "clientId": ASSIGNED if r.assigned_at_deploy else r.client_id,
                            "app": r.app,
                        }
                        for r in app.known_clients
                    ],
                    "scopes": [
                        {
                            "value": s.value,
                            "id": s.id,
                            "type": s.type,
                            "enabled": s.enabled,
                            "adminConsentDisplayName": s.admin_consent_display_name,
                        }
                        for s in app.scopes
                    ],
                    "checks": [_check(note) for note in app.notes],
                }
            )
    return sorted(rows, key=lambda r: (r["app"], r["stack"]))


def _permissions(views: Sequence[StackView]) -> list[dict[str, Any]]:
    rows = [
        {
            "app": app.key,
            "stack": view.stack,
            "api": row.in_plan_api or row.api,
            "apiId": row.api_id,
            "permission": row.permission,
            "permissionId": row.permission_id,
            "type": row.kind,
            "adminConsent": row.admin_consent,
            "risk": row.risk,
            "highPrivilege": row.high_privilege,
            "inCatalog": row.known,
            "cspAllowed": row.csp_allowed,
            "retiredApi": row.retired,
            "reason": row.reason,
        }
        for view in views
        for app in view.apps
        for row in app.permissions
    ]
    return sorted(
        rows,
        key=lambda r: (r["app"], r["api"].lower(), r["permission"].lower(), r["type"], r["stack"]),
    )


def _differences(views: Sequence[StackView], stacks: Sequence[str]) -> list[dict[str, Any]]:
    """Permissions, AdminAgents membership and apps that not every region has."""
    present: dict[tuple[str, str, str, str], set[str]] = {}
    for view in views:
        for app in view.apps:
            present.setdefault((app.key, "app", "", ""), set()).add(view.stack)
            if app.in_admin_agents:
                present.setdefault((app.key, "AdminAgents member", "", ""), set()).add(view.stack)
            for row in app.permissions:
                what = (
                    app.key,
                    "permission",
                    row.in_plan_api or row.api,
                    f"{row.permission} ({row.kind})",
                )
                present.setdefault(what, set()).add(view.stack)
    differences = []
    for (key, kind, api, permission), where in sorted(present.items()):
        if len(where) < len(stacks):
            differences.append(
                {
                    "app": key,
                    "kind": kind,
                    "api": api,
                    "permission": permission,
                    "presentIn": sorted(where),
                    "missingIn": sorted(set(stacks) - where),
                }
            )
    return differences


def _credentials(
    views: Sequence[StackView], as_of: dt.date, warn_days: int
) -> list[dict[str, Any]]:
    rows = [
        {
            "stack": view.stack,
            "app": app.key,
            "kind": c.kind,
            "resource": c.name,
            "displayName": c.display_name,
            "endDate": c.end_date,
            "rotationDate": c.rotation_date,
            "status": _status(c.end_date, as_of, warn_days),
        }
        for view in views
        for app in view.apps
        for c in app.credentials
    ]
    return sorted(rows, key=lambda r: (r["endDate"], r["app"], r["stack"], r["resource"]))


def _secrets(views: Sequence[StackView], as_of: dt.date, warn_days: int) -> list[dict[str, Any]]:
    rows = []
    for view in views:
        seen = set()
        for vault in view.vaults:
            for s in vault.secrets:
                seen.add(s.urn)
                rows.append(_secret_entry(view.stack, vault.name, s, as_of, warn_days))
        for s in view.unassigned_secrets:
            if s.urn not in seen:
                rows.append(_secret_entry(view.stack, s.vault_name, s, as_of, warn_days))
    return sorted(rows, key=lambda r: (r["expires"], r["secret"], r["stack"]))


def _secret_entry(
    stack: str, vault: str, secret: Any, as_of: dt.date, warn_days: int
) -> dict[str, Any]:
    return {
        "stack": stack,
        "vault": vault,
        "secret": secret.secret_name,
        "app": secret.app,
        "contentType": secret.content_type,
        "expires": secret.expires,
        "valueManagedByPulumi": secret.value_managed,
        "status": _status(secret.expires, as_of, warn_days),
    }


def _vaults(views: Sequence[StackView]) -> list[dict[str, Any]]:
    """Each Key Vault's network rules and role assignments, as the plan gives them."""
    return sorted(
        (_vault_entry(view, vault) for view in views for vault in view.vaults),
        key=lambda v: (v["stack"], v["vault"]),
    )


def _network_values(values: Any, key: str) -> list[str]:
    """IP or virtual network rules as text (``{"value": ...}`` / ``{"id": ...}`` or strings)."""
    texts = [as_str(as_map(v).get(key)) if isinstance(v, Mapping) else as_str(v) for v in values]
    return sorted(t for t in texts if t)


def _vault_entry(view: StackView, vault: VaultView) -> dict[str, Any]:
    by_urn = view.plan.by_urn()
    resource = by_urn.get(vault.urn)
    properties = as_map(resource.prop("properties")) if resource else {}
    acls = as_map(properties.get("networkAcls"))
    return {
        "stack": view.stack,
        "vault": vault.name,
        "resourceGroup": vault.resource_group,
        "publicNetworkAccess": _setting(properties.get("publicNetworkAccess")),
        "defaultAction": _setting(acls.get("defaultAction")),
        "bypass": _setting(acls.get("bypass")),
        "ipRules": _network_values(as_list(acls.get("ipRules")), "value"),
        "virtualNetworkRules": _network_values(as_list(acls.get("virtualNetworkRules")), "id"),
        "roleAssignments": [
            {
                "principalId": r.principal_id,
                "principalType": r.principal_type,
                "role": r.role,
                "scope": r.scope,
                "description": r.description,
                "risk": r.risk,
            }
            for r in vault.role_assignments
        ],
    }


def _setting(value: Any) -> str:
    """A vault setting as text: "(known after apply)" for unknowns, "(not set)" for nothing."""
    if is_unknown(value):
        return "(known after apply)"
    return as_str(value) or "(not set)"
