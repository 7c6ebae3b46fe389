"""``partner-apps diff``: compare two sets of plans (say the base branch's and the pull
request's) as a reviewer's document, in Markdown, HTML and JSON.

Each plan folder is read once (``load_results``); the plan-vs-plan adapter
(``changes/plan_diff.py``) fills the change model, ``reports/diff.py`` makes it a document.

Usage::

    partner-apps diff BASE_DIR HEAD_DIR [--out FILE] [--fail-on-protected]

The output depends only on the two sets of plans: sorted, no timestamps.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from partner_apps import exitcodes
from partner_apps.review.changes.catalog import CatalogChange, catalog_changes
from partner_apps.review.changes.model import StackDiff, marked
from partner_apps.review.changes.plan_diff import diff_plans
from partner_apps.review.changes.policies import weakened_summary
from partner_apps.review.plan.document import PlanError, load_catalog, load_results
from partner_apps.review.plan.inputs import display_path
from partner_apps.review.plan.values import join_words
from partner_apps.review.reports.catalog import catalog_json, catalog_section
from partner_apps.review.reports.change_json import changes_json
from partner_apps.review.reports.diff import SUMMARY_LINES, diff_report, summary_lines
from partner_apps.review.reports.markdown import write_text
from partner_apps.review.reports.model import strong, text, to_html, to_markdown

EXIT_OK = exitcodes.OK
EXIT_INPUT = exitcodes.CONFIG  # a plan folder cannot be read, or holds no plan
EXIT_PROTECTED = exitcodes.PROTECTED
EXIT_PREVIEW_FAILED = exitcodes.PREVIEW_FAILED
EXIT_BREAKING_SCOPE = exitcodes.BREAKING_SCOPE
EXIT_WEAKENED = exitcodes.WEAKENED

EXIT_CODES = f"""exit status:
  {EXIT_OK:>3}  success (and no option below applies)
  {exitcodes.USAGE:>3}  bad command line
  {EXIT_INPUT:>3}  a plan folder cannot be read, or holds neither a plan nor a failed preview
  {EXIT_PROTECTED:>3}  --fail-on-protected: a protected resource would be deleted or replaced
  {EXIT_PREVIEW_FAILED:>3}  --fail-on-protected: a head stack's preview failed (<stack>.error.json)
  {EXIT_BREAKING_SCOPE:>3}  --fail-on-protected: an enabled scope removed, renamed or renumbered
  {EXIT_WEAKENED:>3}  --fail-on-weakened: a region's policy config or the pack's code is loosened,
       or the permission catalog changed what a permission stands for
The first that applies, in the order {EXIT_PROTECTED}, {EXIT_PREVIEW_FAILED}, \
{EXIT_BREAKING_SCOPE}, {EXIT_WEAKENED}."""


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or "partner-apps diff",
        description=(
            "Compare two sets of recorded plans (for example the base branch's and the pull "
            "request's build/preview) and print a reviewer Markdown diff by region: protected "
            "deletions and replacements first, then permissions, consent path, credentials and "
            "secrets, policy results, and every resource change."
        ),
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "base", metavar="BASE_DIR", type=Path, help="plans before the change (folder or plan file)"
    )
    parser.add_argument(
        "head", metavar="HEAD_DIR", type=Path, help="plans after the change (folder or plan file)"
    )
    parser.add_argument("--out", type=Path, help="write the Markdown here instead of stdout")
    parser.add_argument(
        "--title", default="Plan changes", help="title of the Markdown (default: %(default)s)"
    )
    parser.add_argument(
        "--base-label", default="base", help="name of the base side (default: %(default)s)"
    )
    parser.add_argument(
        "--head-label", default="head", help="name of the head side (default: %(default)s)"
    )
    parser.add_argument(
        "--fail-on-protected",
        action="store_true",
        help=f"exit with status {exitcodes.PROTECTED} when a protected resource would be deleted "
        f"or replaced, with status {exitcodes.PREVIEW_FAILED} when a head stack's preview failed "
        "(<stack>.error.json), since its protected resources cannot be checked, and with status "
        f"{exitcodes.BREAKING_SCOPE} when an enabled scope is removed, renamed or renumbered "
        "(disable it in one change, remove it in the next)",
    )
    parser.add_argument(
        "--html-out",
        type=Path,
        help="also write the diff as one HTML page (the same report model as the Markdown)",
    )
    parser.add_argument(
        "--json-out",
        type=Path,
        help="also write the changes as versioned JSON (the change model, for other tools)",
    )
    parser.add_argument(
        "--summary-out",
        type=Path,
        help=f"also write a summary for a pull-request comment (each list cut to {SUMMARY_LINES} "
        "lines, no per-resource changes; warnings, counts and headings all kept)",
    )
    parser.add_argument(
        "--full-report-url",
        default="",
        help="where the full diff can be read (linked from the summary)",
    )
    parser.add_argument(
        "--fail-on-weakened",
        action="store_true",
        help=f"exit with status {exitcodes.WEAKENED} when a region's policy config is loosened "
        "(a policy's enforcement lowered, or a property changed in the direction the policy "
        "declares as looser: an allow-list entry added, a high-privilege entry removed, a "
        "limit raised...) or the policy pack's code is (a policy removed, disabled or lowered "
        "in code, or no longer reporting a finding on a resource that does not change), or "
        "when the permission catalog changed an entry's id, risk or flags (what a permission "
        "name stands for)",
    )
    return parser


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """The command; ``prog``: how the caller names it in usage lines
    (``partner-apps <command>``)."""
    return run(build_parser(prog).parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """The command with its arguments parsed (``build_parser``)."""
    try:
        base, base_failures = load_results([args.base])
        head, head_failures = load_results([args.head])
    except PlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INPUT
    if not base and not head and not base_failures and not head_failures:
        print(f"error: no plan in {args.base} or {args.head}", file=sys.stderr)
        return EXIT_INPUT
    diffs = diff_plans(
        base, head, load_catalog(), base_failures=base_failures, head_failures=head_failures
    )
    catalog = catalog_changes(base, head)
    first = catalog_section(catalog)
    subtitle = text("From ", strong(args.base_label), " to ", strong(args.head_label), ".")
    report = diff_report(diffs, title=args.title, subtitle=subtitle, first=first)
    markdown = to_markdown(report)
    if args.html_out:
        write_text(args.html_out, to_html(report))
    if args.json_out:
        extra = {"catalogChanges": catalog_json(catalog)} if catalog else None
        write_text(args.json_out, changes_json(diffs, title=args.title, extra=extra))
    if args.summary_out:
        cut = diff_report(
            diffs,
            title=args.title,
            subtitle=subtitle,
            cap=SUMMARY_LINES,
            full_report=args.full_report_url,
            first=first,
        )
        write_text(args.summary_out, to_markdown(cut))
    if args.out:
        write_text(args.out, markdown)
        print(summary_lines(diffs))
        print(f"-> {display_path(args.out)}")
    else:
        sys.stdout.write(markdown)
    return status(args, diffs, catalog)


def status(
    args: argparse.Namespace, diffs: Sequence[StackDiff], catalog: Sequence[CatalogChange] = ()
) -> int:
    """The exit status: the first of EXIT_CODES that applies (its error on standard error)."""
    if args.fail_on_protected and any(c.destroys_protected for d in diffs for c in d.changes):
        return EXIT_PROTECTED
    if args.fail_on_protected and any(d.status == "failed" for d in diffs):
        print(
            "error: preview failed for "
            + join_words([d.stack for d in diffs if d.status == "failed"])
            + ": protected resources cannot be checked",
            file=sys.stderr,
        )
        return EXIT_PREVIEW_FAILED
    breaking = sorted(
        {f"{d.stack}: {f.subject} {marked(f.text)}" for d in diffs for f in d.breaking}
    )
    if args.fail_on_protected and breaking:
        print(
            "error: an enabled scope would be removed or renamed in one step, breaking every "
            "client and consent that uses its id; set enabled: false in one change and remove "
            "or rename the scope in the next:\n  " + "\n  ".join(breaking),
            file=sys.stderr,
        )
        return EXIT_BREAKING_SCOPE
    swapped = [change for change in catalog if change.weakening]
    if args.fail_on_weakened and swapped:
        named = ", ".join(
            f"{c.entry.api_name}/{c.entry.permission} ({c.entry.kind})" for c in swapped
        )
        print(
            f"error: the permission catalog changed what a permission stands for: {named}; "
            "check each id against Microsoft's published permissions",
            file=sys.stderr,
        )
        return EXIT_WEAKENED
    if args.fail_on_weakened and any(d.weakened for d in diffs):
        changes = [change for d in diffs for change in d.policy_changes]
        print(f"error: {weakened_summary(changes)}", file=sys.stderr)
        return EXIT_WEAKENED
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
