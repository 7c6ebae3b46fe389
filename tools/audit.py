"""One audit report across every region stack: policies, permissions, credentials, secrets.

For auditors rather than reviewers of one change: which policies pass or fail in which region,
every permission of every app in every region with its reason, AdminAgents membership, every
credential and Key Vault secret with its expiry date, and where the regions differ. Written as
Markdown, JSON (for tooling) and a standalone HTML page, all from the same data.

Usage::

    python -m tools.audit                                  # plans in build/preview → build/audit
    python -m tools.audit build/preview --as-of 2026-11-21 --format md,json

Without ``--as-of`` nothing depends on the day it runs: the output is byte-identical across runs.
With it, each credential and secret also gets a status (expired, expiring within
``--warn-days``, ok) relative to that date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .markdown import (
    code,
    join_words,
    table,
    write_text,
)
from .plan_analysis import (
    StackView,
    analyze,
)
from .plan_format import (
    Catalog,
    Plan,
    PreviewFailure,
    as_str,
    failure_lines,
    load_catalog,
    parse_urn,
    policy_status,
    stack_policies,
)
from .render import DEFAULT_PLANS, display_path, results_for_cli

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "build" / "audit"
FORMATS = ("md", "json", "html")
AUDIT_VERSION = 1


# --------------------------------------------------------------------------------------------
# The data
# --------------------------------------------------------------------------------------------


def _status(date_text: str, as_of: dt.date | None, warn_days: int) -> str | None:
    if as_of is None:
        return None
    try:
        when = dt.date.fromisoformat(date_text[:10])
    except ValueError:
        return "no expiry" if date_text in ("", "(none)") else "unknown"
    if when < as_of:
        return "expired"
    left = (when - as_of).days
    return f"expires in {left} days" if left <= warn_days else "ok"


def audit_data(
    plans: Sequence[Plan],
    catalog: Catalog,
    *,
    as_of: dt.date | None = None,
    warn_days: int = 60,
    failures: Sequence[PreviewFailure] = (),
) -> dict[str, Any]:
    """The audit as one JSON-ready document (sorted lists, no timestamps).

    ``failures``: stacks whose preview failed; they are listed with the error, and every policy
    shows ``preview failed`` for them instead of a result.
    """
    views = [analyze(plan, catalog) for plan in plans]
    stacks = [view.stack for view in views]
    policies, source = _policies(plans, failures)
    projects = [p.project for p in plans] + [f.project for f in failures]
    return {
        "auditVersion": AUDIT_VERSION,
        "project": next((project for project in projects if project), ""),
        "asOf": as_of.isoformat() if as_of else None,
        "stacks": sorted(
            [*(_stack_entry(view) for view in views), *(_failed_entry(f) for f in failures)],
            key=lambda entry: str(entry["stack"]),
        ),
        "policySource": source,
        "policies": policies,
        "violations": [
            {
                "stack": plan.stack,
                "policy": v.policy,
                "severity": v.severity,
                "enforcementLevel": v.enforcement_level,
                "resource": _name(v.urn),
                "urn": v.urn,
                "message": v.message,
            }
            for plan in plans
            for v in plan.violations
        ],
        "apps": _apps(views),
        "permissions": _permissions(views),
        "regionDifferences": _differences(views, stacks),
        "credentials": _credentials(views, as_of, warn_days),
        "secrets": _secrets(views, as_of, warn_days),
    }


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
        "location": "",
        "production": None,
        "apps": 0,
        "resources": 0,
        "checks": [],
        "previewFailed": failure.error,
    }


def _name(urn: str) -> str:
    parsed = parse_urn(urn)
    return parsed.name if parsed else urn


def _stack_entry(view: StackView) -> dict[str, Any]:
    region = view.plan.region
    return {
        "stack": view.stack,
        "region": as_str(region.get("id")) or view.stack,
        "tenantId": as_str(region.get("tenantId")),
        "location": as_str(region.get("location")),
        "production": region.get("production")
        if isinstance(region.get("production"), bool)
        else None,
        "apps": len(view.apps),
        "resources": len(view.plan.resources),
        "checks": list(view.notes),
        "previewFailed": None,
    }


def _apps(views: Sequence[StackView]) -> list[dict[str, Any]]:
    rows = []
    for view in views:
        for app in view.apps:
            rows.append(
                {
                    "app": app.key,
                    "displayName": app.display_name,
                    "stack": view.stack,
                    "clientId": app.client_id,
                    "signInAudience": app.sign_in_audience,
                    "adminAgents": app.in_admin_agents,
                    "adminAgentsGroups": list(app.admin_agents),
                    "identifierUris": list(app.identifier_uris),
                    "redirectUris": list(app.redirect_uris),
                    "knownClients": [r.app or r.client_id for r in app.known_clients],
                    "scopes": [s.value for s in app.scopes],
                    "checks": list(app.notes),
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
    views: Sequence[StackView], as_of: dt.date | None, warn_days: int
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


def _secrets(
    views: Sequence[StackView], as_of: dt.date | None, warn_days: int
) -> list[dict[str, Any]]:
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
    stack: str, vault: str, secret: Any, as_of: dt.date | None, warn_days: int
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


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def _yes(value: Any) -> str:
    if value is None:
        return "unknown"
    return "yes" if value else "no"


def render_markdown(data: Mapping[str, Any]) -> str:
    """The audit as Markdown."""
    stacks = [s["stack"] for s in data["stacks"]]
    lines = ["# Audit: partner-managed apps across regions", ""]
    lines.append(
        f"Project {code(data['project'] or '?')}; stacks {join_words([code(s) for s in stacks])}."
        + (f" Expiry status as of {data['asOf']}." if data["asOf"] else "")
    )
    failed = [s for s in data["stacks"] if s.get("previewFailed")]
    if failed:
        lines += ["", "## ⚠ Previews that failed", ""]
        lines += [
            "Nothing below is known for these stacks: their config or policy config is invalid, "
            "so no plan was recorded.",
            "",
        ]
        for s in failed:
            lines += failure_lines(s["stack"], s["previewFailed"])
    lines += ["", "## Stacks", ""]
    lines += table(
        ("Stack", "Tenant", "Location", "Production", "Apps", "Resources"),
        (
            [code(s["stack"]), "—", "—", "—", "—", "**preview failed**"]
            if s.get("previewFailed")
            else [
                code(s["stack"]),
                code(s["tenantId"] or "?"),
                s["location"] or "?",
                _yes(s["production"]),
                str(s["apps"]),
                str(s["resources"]),
            ]
            for s in data["stacks"]
        ),
    )
    checks = [f"- **{s['stack']}**: {c}" for s in data["stacks"] for c in s["checks"]]
    checks += [
        f"- **{a['stack']}** {code(a['app'])}: {c}" for a in data["apps"] for c in a["checks"]
    ]
    if checks:
        lines += ["", "**Checks**", "", *checks]
    lines += ["", "## Policies", ""]
    source_note = {
        "plan": "Every policy of the pack, with the enforcement each region's policy config "
        "(`policies/config/<region>.json`) gives it; a disabled policy did not run there.",
        "mixed": "From each plan's own list where it has one, else the policy pack's defaults "
        "(older plans do not list the policies that ran).",
        "pack": "Policy list and enforcement from the policy pack's defaults (the plans do not "
        "list the policies that ran, so a region's policy config is not reflected).",
        "violations": "Only policies with a violation somewhere are listed (the policy list is "
        "not available).",
        "none": "No stack has a plan, so no policy result is known.",
    }[data["policySource"]]
    lines += [source_note, ""]
    lines += table(
        ("Policy", "Severity", "Enforcement", *stacks),
        (
            [
                code(p["policy"]),
                p["severity"],
                p["enforcementLevel"],
                *(_result_text(p, s) for s in stacks),
            ]
            for p in data["policies"]
        ),
    )
    if data["violations"]:
        lines += ["", "**Violations**", ""]
        lines += table(
            ("Stack", "Enforcement", "Severity", "Policy", "Resource", "Message"),
            (
                [
                    code(v["stack"]),
                    v["enforcementLevel"],
                    v["severity"],
                    code(v["policy"]),
                    code(v["resource"]),
                    v["message"],
                ]
                for v in sorted(
                    data["violations"], key=lambda v: (v["stack"], v["policy"], v["resource"])
                )
            ),
        )
    lines += ["", "## AdminAgents membership", ""]
    by_app: dict[str, dict[str, bool]] = {}
    for app in data["apps"]:
        by_app.setdefault(app["app"], {})[app["stack"]] = app["adminAgents"]
    lines += table(
        ("App", *stacks),
        (
            [code(app), *("yes" if row.get(s) else ("**no**" if s in row else "—") for s in stacks)]
            for app, row in sorted(by_app.items())
        ),
    )
    lines += ["", "## Permissions", ""]
    lines += table(
        ("App", "Stack", "API", "Permission", "Type", "Admin consent", "Risk", "Reason"),
        (
            [
                code(p["app"]),
                p["stack"],
                p["api"],
                code(p["permission"]) + ("" if p["inCatalog"] else " (unknown, not in catalog)"),
                p["type"],
                _yes(p["adminConsent"]),
                f"**{p['risk']}**" if p["risk"] == "high" else p["risk"],
                p["reason"],
            ]
            for p in data["permissions"]
        ),
    )
    lines += ["", "## Differences between regions", ""]
    if data["regionDifferences"]:
        lines += table(
            ("App", "What", "Present in", "Missing in"),
            (
                [
                    code(d["app"]),
                    d["kind"]
                    + (f": {d['api']} {code(d['permission'])}" if d["permission"] else ""),
                    ", ".join(d["presentIn"]),
                    ", ".join(d["missingIn"]),
                ]
                for d in data["regionDifferences"]
            ),
        )
    else:
        lines.append("Every region has the same apps, permissions and AdminAgents memberships.")
    status = data["asOf"] is not None
    lines += ["", "## Credentials", ""]
    lines += table(
        (
            "Expires",
            "App",
            "Stack",
            "Kind",
            "Resource",
            "Rotation date",
            *(["Status"] if status else []),
        ),
        (
            [
                c["endDate"],
                code(c["app"]),
                c["stack"],
                c["kind"],
                code(c["resource"]),
                c["rotationDate"] or "—",
                *([_status_text(c["status"])] if status else []),
            ]
            for c in data["credentials"]
        ),
    )
    lines += ["", "## Key Vault secrets", ""]
    lines += table(
        ("Expires", "Secret", "Stack", "Vault", "App", "Value", *(["Status"] if status else [])),
        (
            [
                s["expires"],
                code(s["secret"]),
                s["stack"],
                code(s["vault"] or "?"),
                code(s["app"]) if s["app"] else "—",
                "written by Pulumi" if s["valueManagedByPulumi"] else "kept outside Pulumi",
                *([_status_text(s["status"])] if status else []),
            ]
            for s in data["secrets"]
        ),
    )
    return "\n".join(lines) + "\n"


def _result_text(policy: Mapping[str, Any], stack: str) -> str:
    """One policy × stack cell: pass, **fail** (n), disabled, not run or preview failed.

    When the regions enforce the policy differently, the stack's own level follows the result.
    """
    result = policy["results"].get(stack)
    if result is None:
        return "—"
    status = result["status"]
    if status == "fail":
        text = f"**fail** ({result['violations']})"
    elif status == "preview failed":
        text = "**preview failed**"
    else:
        text = status
    level = result.get("enforcementLevel")
    if policy["enforcementLevel"] == "varies" and level and status not in ("disabled",):
        text += f" ({level})"
    return text


def _status_text(status: str | None) -> str:
    if status in (None, "ok"):
        return status or "—"
    return f"**{status}**"


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f23}"
    "table{border-collapse:collapse;margin:0.5rem 0 1.5rem}"
    "th,td{border:1px solid #d0d7de;padding:0.3rem 0.6rem;text-align:left;vertical-align:top}"
    "th{background:#f6f8fa}.fail,.high{color:#b42318;font-weight:600}code{font-size:0.9em}"
)


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[tuple[str, str]]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{css}">{html.escape(text)}</td>'
            if css
            else f"<td>{html.escape(text)}</td>"
            for text, css in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _c(text: Any, css: str = "") -> tuple[str, str]:
    if text is None:
        return ("—", css)
    if isinstance(text, bool):
        return ("yes" if text else "no", css)
    return (str(text), css)


def render_html(data: Mapping[str, Any]) -> str:
    """The audit as one standalone HTML page (no scripts, no external files)."""
    stacks = [s["stack"] for s in data["stacks"]]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>Audit: partner-managed apps across regions</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Audit: partner-managed apps across regions</h1>",
        f"<p>Project {html.escape(data['project'] or '?')}; "
        f"stacks {html.escape(', '.join(stacks))}."
        + (f" Expiry status as of {html.escape(data['asOf'])}." if data["asOf"] else "")
        + "</p>",
        *(
            [
                "<h2>Previews that failed</h2>",
                "<ul>"
                + "".join(
                    f'<li class="fail">{html.escape(s["stack"])}: preview failed: '
                    f"<pre>{html.escape(s['previewFailed'])}</pre></li>"
                    for s in data["stacks"]
                    if s.get("previewFailed")
                )
                + "</ul>",
            ]
            if any(s.get("previewFailed") for s in data["stacks"])
            else []
        ),
        "<h2>Policies</h2>",
        _html_table(
            ["Policy", "Severity", "Enforcement", *stacks],
            [
                [
                    _c(p["policy"]),
                    _c(p["severity"]),
                    _c(p["enforcementLevel"]),
                    *(
                        _c(
                            _result_text(p, s).replace("**", ""),
                            "fail"
                            if p["results"].get(s, {}).get("status") in ("fail", "preview failed")
                            else "",
                        )
                        for s in stacks
                    ),
                ]
                for p in data["policies"]
            ],
        ),
        "<h2>Violations</h2>",
        _html_table(
            ["Stack", "Enforcement", "Severity", "Policy", "Resource", "Message"],
            [
                [
                    _c(v["stack"]),
                    _c(v["enforcementLevel"]),
                    _c(v["severity"]),
                    _c(v["policy"]),
                    _c(v["resource"]),
                    _c(v["message"]),
                ]
                for v in sorted(
                    data["violations"], key=lambda v: (v["stack"], v["policy"], v["resource"])
                )
            ],
        ),
        "<h2>Permissions</h2>",
        _html_table(
            ["App", "Stack", "API", "Permission", "Type", "Admin consent", "Risk", "Reason"],
            [
                [
                    _c(p["app"]),
                    _c(p["stack"]),
                    _c(p["api"]),
                    _c(p["permission"] + ("" if p["inCatalog"] else " (unknown, not in catalog)")),
                    _c(p["type"]),
                    _c(p["adminConsent"]),
                    _c(p["risk"], "high" if p["risk"] == "high" else ""),
                    _c(p["reason"]),
                ]
                for p in data["permissions"]
            ],
        ),
        "<h2>Differences between regions</h2>",
        _html_table(
            ["App", "What", "API", "Permission", "Present in", "Missing in"],
            [
                [
                    _c(d["app"]),
                    _c(d["kind"]),
                    _c(d["api"]),
                    _c(d["permission"]),
                    _c(", ".join(d["presentIn"])),
                    _c(", ".join(d["missingIn"])),
                ]
                for d in data["regionDifferences"]
            ],
        ),
        "<h2>Credentials</h2>",
        _html_table(
            ["Expires", "App", "Stack", "Kind", "Resource", "Rotation date", "Status"],
            [
                [
                    _c(c["endDate"]),
                    _c(c["app"]),
                    _c(c["stack"]),
                    _c(c["kind"]),
                    _c(c["resource"]),
                    _c(c["rotationDate"] or None),
                    _c(c["status"], "fail" if c["status"] not in (None, "ok") else ""),
                ]
                for c in data["credentials"]
            ],
        ),
        "<h2>Key Vault secrets</h2>",
        _html_table(
            ["Expires", "Secret", "Stack", "Vault", "App", "Value", "Status"],
            [
                [
                    _c(s["expires"]),
                    _c(s["secret"]),
                    _c(s["stack"]),
                    _c(s["vault"]),
                    _c(s["app"]),
                    _c("written by Pulumi" if s["valueManagedByPulumi"] else "kept outside Pulumi"),
                    _c(s["status"], "fail" if s["status"] not in (None, "ok") else ""),
                ]
                for s in data["secrets"]
            ],
        ),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def render_json(data: Mapping[str, Any]) -> str:
    """The audit as sorted, indented JSON."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.audit",
        description=(
            "One audit report across every region stack: policies x stacks pass/fail, every "
            "permission of every app in every region with its reason, AdminAgents membership, "
            "credentials and Key Vault secrets with their expiry, and differences between "
            "regions. Written as Markdown, JSON and HTML."
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
        help="date (YYYY-MM-DD) to judge expiry against; without it the report has no status",
    )
    parser.add_argument(
        "--warn-days",
        type=int,
        default=60,
        help="with --as-of: flag what expires within this many days (default: %(default)s)",
    )
    parser.add_argument(
        "--fail-on-mandatory",
        action="store_true",
        help="exit with status 1 when any stack has a mandatory policy violation or its preview "
        "failed (<stack>.error.json: nothing shows that it passes)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    results = results_for_cli(args.plans)
    if results is None:
        return 2
    plans, failures = results
    data = audit_data(
        plans, load_catalog(), as_of=args.as_of, warn_days=args.warn_days, failures=failures
    )
    if args.stdout:
        sys.stdout.write(render_markdown(data))
    else:
        out_dir: Path = args.out_dir or DEFAULT_OUT
        renderers = {"md": render_markdown, "json": render_json, "html": render_html}
        for fmt in args.format:
            target = out_dir / f"audit.{fmt}"
            write_text(target, renderers[fmt](data))
            print(f"-> {display_path(target)}")
        mandatory = sum(1 for v in data["violations"] if v["enforcementLevel"] == "mandatory")
        failing = [
            p["policy"]
            for p in data["policies"]
            if any(r["status"] == "fail" for r in p["results"].values())
        ]
        print(
            f"{len(plans)} stacks"
            + (f" ({len(failures)} more failed to preview)" if failures else "")
            + f", {len(data['permissions'])} permission grants, "
            f"{len(data['credentials'])} credentials, {len(data['secrets'])} secrets; "
            f"{len(failing)} policies failing ({mandatory} mandatory violations)"
        )
    for failure in failures:
        print(f"{failure.stack}: {failure.text}", file=sys.stderr)
    if args.fail_on_mandatory and (
        failures or any(v["enforcementLevel"] == "mandatory" for v in data["violations"])
    ):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
