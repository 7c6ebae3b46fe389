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
checkout), the policy pack's name, version and source digest, who made it (the CI run's URL, else
user@host) and when. Rerunning with ``--as-of`` set to the printed date on the same commit
reproduces the report byte for byte, but for those two dated provenance fields.

The audit judges, it does not copy (``review.judge``): each plan's resources are evaluated again
by the pack with the region's policy config and the plan's evaluation date, and a plan whose
violation list, policy list or pack does not agree (or that cannot be judged: plan format 1) is
listed under "⚠ Plans that do not verify" at the top, with its SHA-256, and the command exits
47 (``PLAN_UNVERIFIED``) with or without ``--fail-on-mandatory``; the pack's findings, not the
plan's list, are what the rest of the report counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from partner_apps import exitcodes, project_dir
from partner_apps.review.analysis.views import StackView, analyze
from partner_apps.review.evidence import (
    AUDIT_VERSION,
    DEFAULT_WARN_DAYS,
    Provenance,
    audit_data,
    detect_provenance,
    git_commit,
    pack_file,
    pack_version,
    today_utc,
)
from partner_apps.review.judge import PlanCheck, check_plan, judged_plan, recorded_by_preview
from partner_apps.review.plan import verify_results
from partner_apps.review.plan.document import PreviewFailure, dumps, load_catalog
from partner_apps.review.plan.inputs import default_plans, display_path, results_for_cli
from partner_apps.review.plan.pack import current_pack
from partner_apps.review.reports import audit as audit_report
from partner_apps.review.reports.markdown import write_text

# The evidence's names, as the tests and other commands import them from the audit command.
__all__ = [
    "AUDIT_VERSION",
    "DEFAULT_WARN_DAYS",
    "FORMATS",
    "Provenance",
    "audit",
    "audit_data",
    "build_parser",
    "detect_provenance",
    "git_commit",
    "load_consent_results",
    "main",
    "pack_file",
    "pack_version",
    "render_html",
    "render_json",
    "render_markdown",
    "run",
    "today_utc",
]


def default_out() -> Path:
    """build/audit of the project a command works on (``partner_apps.project_dir``)."""
    return project_dir() / "build" / "audit"


FORMATS = ("md", "json", "html")


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
        help=f"plan files or folders of plans (default: {display_path(default_plans())})",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="where audit.md, audit.json and audit.html go "
        f"(default: {display_path(default_out())})",
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
        default=None,
        help="git checkout whose commit and policy pack version the report names "
        "(default: the project)",
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
    # Each plan is judged again before anything of it is reported: the pack's own findings
    # replace a violation list that disagrees (``review.judge``).
    project = (args.checkout or project_dir()).resolve()
    pack = current_pack()
    checks = [check_plan(plan, project, pack) for plan in plans]
    judged = [judged_plan(plan, check) for plan, check in zip(plans, checks, strict=True)]
    return audit(
        [analyze(plan, catalog) for plan in judged],
        failures,
        checks=checks,
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
    checkout: Path | None = None,
    consent_results: Path | None = None,
    fail_on_mandatory: bool = False,
    checks: Sequence[PlanCheck] | None = None,
) -> int:
    """Write the audit of analysed plans and failed previews (what ``partner-apps audit`` does
    once it has read its files; the offline preview hands over what it just recorded).

    ``checks``: each plan judged again (``review.judge.check_plan``); None for plans the offline
    preview recorded in this process a moment ago (their violations are the pack's own).
    """
    plans = [view.plan for view in views]
    if checks is None:
        checks = [recorded_by_preview(plan) for plan in plans]
    data = audit_data(
        plans,
        load_catalog(),
        as_of=as_of,
        warn_days=warn_days,
        failures=failures,
        provenance=detect_provenance(checkout),
        consent=load_consent_results(consent_results) if consent_results else None,
        views=views,
        checks=checks,
    )
    if stdout:
        sys.stdout.write(render_markdown(data))
    elif failures and not plans:
        # Every stack's preview failed: an audit of nothing would replace the last good one with
        # "0 stacks". That one is kept; the failures are on stderr (below) and in the preview.
        kept = display_path(out_dir or default_out())
        print(
            f"every stack's preview failed: no audit written; {kept} keeps the last one",
            file=sys.stderr,
        )
    else:
        _write(data, out_dir or default_out(), formats, len(plans), len(failures))
    for failure in failures:
        print(f"{failure.stack}: {failure.summary}", file=sys.stderr)
    unverified = [check for check in checks if not check.verified]
    for check in unverified:
        for problem in check.problems:
            print(f"⚠ {check.source or check.stack}: {problem}", file=sys.stderr)
    if unverified:
        # Always, with or without --fail-on-mandatory: a plan that does not verify is refused
        # as evidence (the report is written, its ⚠ section first, so the auditor sees why).
        return exitcodes.PLAN_UNVERIFIED
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
