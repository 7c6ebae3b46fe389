"""One audit report across every region stack: evidence for auditors, dated and attributable.

For auditors rather than reviewers of one change: which policies pass or fail in which region,
every permission of every app in every region with its reason, AdminAgents membership, every
credential and Key Vault secret with its expiry status, and where the regions differ; per region
the owners of each app, its exposed scopes, known clients and redirect URIs, and the Key Vault's
network rules and role assignments; the latest customer consent results when given.

The audit is built once as data (``audit_data``: the JSON document), then as a report model
(``review.reports.audit``: sections, paragraphs, tables) rendered to Markdown and HTML, so
``audit.md`` and ``audit.html`` carry the same content by construction.

Usage::

    partner-apps audit                                  # plans in build/preview → build/audit
    partner-apps audit build/preview --as-of 2026-11-21 --format md,json

The report states its evaluation date (``--as-of``, default today in UTC), the commit of the
checkout (``git rev-parse HEAD``, "dirty" when the work tree has changes, "unknown" outside a git
checkout) and the policy pack's name and version. Rerunning with ``--as-of`` set to the printed
date on the same commit reproduces the report byte for byte.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.files import safe_load
from partner_apps import exitcodes
from partner_apps.review.analysis.views import AppView, Id, Note, StackView, VaultView, analyze
from partner_apps.review.plan import verify_results
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
    dumps,
    is_unknown,
    load_catalog,
    policy_status,
    stack_policies,
    str_list,
    urn_name,
)
from partner_apps.review.reports import audit as audit_report
from partner_apps.review.reports.markdown import write_text
from partner_apps.review.reports.stack import ASSIGNED, DEFAULT_PLANS, display_path, results_for_cli

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "build" / "audit"
PACK_FILE = ROOT / "policies" / "PulumiPolicy.yaml"
FORMATS = ("md", "json", "html")
AUDIT_VERSION = 2
DEFAULT_WARN_DAYS = 60
UNKNOWN = "unknown"


# --------------------------------------------------------------------------------------------
# Provenance: the date, the commit and the policy pack
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Provenance:
    """What the audit was made from: the checkout's commit and the policy pack."""

    commit: str
    dirty: bool | None
    pack_name: str
    pack_version: str


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


def pack_version(path: Path = PACK_FILE) -> str:
    """The ``version`` of the policy pack's PulumiPolicy.yaml, or "unknown"."""
    try:
        document = safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return UNKNOWN
    version = document.get("version") if isinstance(document, Mapping) else None
    return str(version) if version not in (None, "") else UNKNOWN


def pack_name() -> str:
    from policies.partner_policies import PACK_NAME  # noqa: PLC0415 - loads the pack on use

    return str(PACK_NAME)


def detect_provenance(checkout: Path = ROOT) -> Provenance:
    """The commit of ``checkout`` and the policy pack of this repository."""
    commit, dirty = git_commit(checkout)
    return Provenance(
        commit=commit, dirty=dirty, pack_name=pack_name(), pack_version=pack_version()
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
) -> dict[str, Any]:
    """The audit as one JSON-ready document (sorted lists; the only date is the evaluation date).

    ``as_of``: the evaluation date for expiry status (default: today in UTC). ``provenance``: the
    commit and policy pack (default: detected from this checkout). ``consent``: customer consent
    results (``load_consent_results``). ``failures``: stacks whose preview failed; they are
    listed with the error, and every policy shows ``preview failed`` for them. ``views``: the
    plans already analysed (the offline preview hands its own over), else each is analysed here.
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
        "policyPack": {"name": provenance.pack_name, "version": provenance.pack_version},
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
                "description": as_str(by_urn[r.urn].inputs.get("description"))
                if r.urn in by_urn
                else "",
            }
            for r in vault.role_assignments
        ],
    }


def _setting(value: Any) -> str:
    """A vault setting as text: "(known after apply)" for unknowns, "(not set)" for nothing."""
    if is_unknown(value):
        return "(known after apply)"
    return as_str(value) or "(not set)"


# --------------------------------------------------------------------------------------------
# Customer consent results (issue "Customer consent": a hook until that is built)
# --------------------------------------------------------------------------------------------


def load_consent_results(folder: Path) -> dict[str, Any]:
    """The latest state per region, customer and app from the verify results in ``folder``
    (``review.plan.verify_results``: the one reader of that format), as the audit holds them."""
    return verify_results.read_folder(folder).as_json()


# --------------------------------------------------------------------------------------------
# Rendering: one report model, rendered to Markdown and HTML (partner_apps.review.reports.audit)
# --------------------------------------------------------------------------------------------


def render_markdown(data: Mapping[str, Any]) -> str:
    """The audit as Markdown."""
    return audit_report.markdown(data)


def render_html(data: Mapping[str, Any]) -> str:
    """The audit as one standalone HTML page (no scripts, no external files)."""
    return audit_report.html_page(data)


def render_json(data: Mapping[str, Any]) -> str:
    """The audit as sorted, indented JSON (the plan file's serialisation)."""
    return dumps(data)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _formats(text: str) -> list[str]:
    chosen = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown format {', '.join(unknown) or '(none)'}; choose from {', '.join(FORMATS)}"
        )
    return chosen


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from error


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or "partner-apps audit",
        description=(
            "One audit report across every region stack, dated and naming the commit and policy "
            "pack: policies x stacks pass/fail, every permission of every app in every region "
            "with its reason, AdminAgents membership, credentials and Key Vault secrets with "
            "their expiry status, differences between regions, and per region the owners, "
            "scopes, known clients, redirect URIs and Key Vault network rules and role "
            "assignments. Written as Markdown, JSON and HTML from one report model."
        ),
    )
    parser.add_argument(
        "plans",
        nargs="*",
        type=Path,
        metavar="PLAN",
        help=f"plan files or folders of plans (default: {display_path(DEFAULT_PLANS)})",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help=f"where audit.md, audit.json and audit.html go (default: {display_path(DEFAULT_OUT)})",
    )
    parser.add_argument(
        "--format",
        type=_formats,
        default=list(FORMATS),
        help="comma-separated formats to write: md, json, html (default: all)",
    )
    parser.add_argument(
        "--stdout", action="store_true", help="print the Markdown instead of writing files"
    )
    parser.add_argument(
        "--as-of",
        type=_date,
        help="evaluation date (YYYY-MM-DD) for expiry status (default: today in UTC); the report "
        "prints it, so a rerun with that date reproduces the report",
    )
    parser.add_argument(
        "--warn-days",
        type=int,
        default=DEFAULT_WARN_DAYS,
        help="flag credentials and secrets that expire within this many days "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--checkout",
        type=Path,
        default=ROOT,
        help="git checkout whose commit the report names (default: this repository)",
    )
    parser.add_argument(
        "--consent-results",
        type=Path,
        metavar="DIR",
        help="folder of customer consent results (<region>.json); their latest state per region "
        "is shown",
    )
    parser.add_argument(
        "--fail-on-mandatory",
        action="store_true",
        help=f"exit with status {exitcodes.POLICY_VIOLATED} when any stack has a mandatory policy "
        "violation or its preview failed (<stack>.error.json: nothing shows that it passes)",
    )
    return parser


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """The command; ``prog``: how the caller names it in usage lines
    (``partner-apps <command>``)."""
    return run(build_parser(prog).parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """The command with its arguments parsed (``build_parser``): reads the plan files once."""
    results = results_for_cli(args.plans)
    if results is None:
        return exitcodes.CONFIG
    plans, failures = results
    if args.consent_results and not args.consent_results.is_dir():
        print(f"error: --consent-results {args.consent_results}: no such folder", file=sys.stderr)
        return exitcodes.CONFIG
    catalog = load_catalog()
    return audit(
        [analyze(plan, catalog) for plan in plans],
        failures,
        out_dir=args.out_dir,
        formats=args.format,
        stdout=args.stdout,
        as_of=args.as_of,
        warn_days=args.warn_days,
        checkout=args.checkout,
        consent_results=args.consent_results,
        fail_on_mandatory=args.fail_on_mandatory,
    )


def audit(
    views: Sequence[StackView],
    failures: Sequence[PreviewFailure],
    *,
    out_dir: Path | None = None,
    formats: Sequence[str] = FORMATS,
    stdout: bool = False,
    as_of: dt.date | None = None,
    warn_days: int = DEFAULT_WARN_DAYS,
    checkout: Path = ROOT,
    consent_results: Path | None = None,
    fail_on_mandatory: bool = False,
) -> int:
    """Write the audit of analysed plans and failed previews (what ``partner-apps audit`` does
    once it has read its files; the offline preview hands over what it just recorded)."""
    plans = [view.plan for view in views]
    data = audit_data(
        plans,
        load_catalog(),
        as_of=as_of,
        warn_days=warn_days,
        failures=failures,
        provenance=detect_provenance(checkout),
        consent=load_consent_results(consent_results) if consent_results else None,
        views=views,
    )
    if stdout:
        sys.stdout.write(render_markdown(data))
    elif failures and not plans:
        # Every stack's preview failed: an audit of nothing would replace the last good one with
        # "0 stacks". That one is kept; the failures are on stderr (below) and in the preview.
        kept = display_path(out_dir or DEFAULT_OUT)
        print(
            f"every stack's preview failed: no audit written; {kept} keeps the last one",
            file=sys.stderr,
        )
    else:
        _write(data, out_dir or DEFAULT_OUT, formats, len(plans), len(failures))
    for failure in failures:
        print(f"{failure.stack}: {failure.summary}", file=sys.stderr)
    if fail_on_mandatory and (
        failures or any(v["enforcementLevel"] == "mandatory" for v in data["violations"])
    ):
        return exitcodes.POLICY_VIOLATED
    return exitcodes.OK


def _write(
    data: Mapping[str, Any], out_dir: Path, formats: Sequence[str], plans: int, failures: int
) -> None:
    renderers = {"md": render_markdown, "json": render_json, "html": render_html}
    for fmt in formats:
        target = out_dir / f"audit.{fmt}"
        write_text(target, renderers[fmt](data))
        print(f"-> {display_path(target)}")
    mandatory = sum(1 for v in data["violations"] if v["enforcementLevel"] == "mandatory")
    failing = [
        p["policy"]
        for p in data["policies"]
        if any(r["status"] == "fail" for r in p["results"].values())
    ]
    reported = [
        p["policy"]
        for p in data["policies"]
        if any(r["status"] == "reported" for r in p["results"].values())
    ]
    print(
        f"{plans} stacks"
        + (f" ({failures} more failed to preview)" if failures else "")
        + f", {len(data['permissions'])} permission grants, "
        f"{len(data['credentials'])} credentials, {len(data['secrets'])} secrets; "
        f"{len(failing)} policies failing ({mandatory} mandatory violations), "
        f"{len(reported)} advisory reporting findings (by design); "
        f"as of {data['asOf']}: {audit_report.expiry_summary(data)}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
