"""``partner-apps preview-json``: a real ``pulumi preview --json`` as the reviewer's document.

Where the Pulumi CLI can run (a workstation, CI with cloud credentials), its preview (or engine
event log) is read and scrubbed once (``changes/preview_read.py``), its steps diffed once into the
change model (``changes/preview_steps.py``), checked against the offline plan's policy results
(``changes/coverage.py``) and written as Markdown, HTML or JSON (``reports/preview_json.py``). A
failed preview (an error diagnostic, a mandatory violation, or nothing printed) heads the report
and sets the exit status ``exitcodes.PREVIEW_FAILED`` (see ``EXIT_CODES``).

Usage::

    pulumi preview --stack us --json > preview-us.json
    partner-apps preview-json preview-us.json --plan build/preview [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from partner_apps import exitcodes
from partner_apps.review.changes.coverage import coverage
from partner_apps.review.changes.model import StackDiff, Words, plain_words
from partner_apps.review.changes.preview_read import Preview, read_preview
from partner_apps.review.changes.preview_steps import resource_changes, stack_diffs
from partner_apps.review.plan.document import PlanError, load_catalog, load_results, read_text
from partner_apps.review.plan.inputs import display_path
from partner_apps.review.plan.values import join_words
from partner_apps.review.reports.change_json import changes_json
from partner_apps.review.reports.diff import summary_lines
from partner_apps.review.reports.markdown import write_text
from partner_apps.review.reports.model import to_html, to_markdown
from partner_apps.review.reports.preview_json import TITLE, changes_count, preview_report

# Exit statuses (the one table: partner_apps/exitcodes.py; also in docs/exit-codes.md and --help).
EXIT_OK = exitcodes.OK
EXIT_INPUT = exitcodes.CONFIG  # the preview file cannot be read, or is not a preview
EXIT_PROTECTED = exitcodes.PROTECTED  # --fail-on-protected: a protected resource deleted/replaced
EXIT_PREVIEW_FAILED = exitcodes.PREVIEW_FAILED  # always: errors, a mandatory violation, no output
EXIT_UNCOVERED = exitcodes.UNCOVERED  # --fail-on-uncovered: offline results miss preview changes

EXIT_CODES = f"""exit status:
  {EXIT_OK:>3}  the preview passed (and no option below applies)
  {exitcodes.USAGE:>3}  bad command line
  {EXIT_INPUT:>3}  the input cannot be read or is not a preview
  {EXIT_PROTECTED:>3}  --fail-on-protected: a protected resource would be deleted or replaced
  {EXIT_PREVIEW_FAILED:>3}  the preview failed: the engine reported errors (shown at the top of the
       Markdown), a mandatory policy violation, or `pulumi preview` printed nothing
  {EXIT_UNCOVERED:>3}  --fail-on-uncovered: the offline plan's policy results do not cover changes
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
        "--html-out", type=Path, help="also write the report as one HTML page (the same document)"
    )
    parser.add_argument(
        "--json-out",
        type=Path,
        help="also write the changes as versioned JSON (the change model and the preview's "
        "diagnostics, for other tools)",
    )
    parser.add_argument(
        "--fail-on-protected",
        action="store_true",
        help=f"exit with status {EXIT_PROTECTED} when a protected resource would be deleted or "
        "replaced",
    )
    parser.add_argument(
        "--fail-on-uncovered",
        action="store_true",
        help=f"exit with status {EXIT_UNCOVERED} when the policy results shown come from the "
        "offline plan and the preview has changes (resources, permissions, properties) that "
        "plan does not hold",
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
        preview = read_preview(text, source)  # the one parse and scrub
    except PlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INPUT
    catalog = load_catalog()
    changes, other = resource_changes(preview.steps)  # the one diff
    diffs = stack_diffs(preview, changes, other, catalog, contexts, failures=failures)
    not_covered = coverage(preview, changes, catalog, contexts)
    report = preview_report(preview, diffs, not_covered, contexts)
    markdown = to_markdown(report)
    if args.html_out:
        write_text(args.html_out, to_html(report))
    if args.json_out:
        write_text(
            args.json_out, changes_json(diffs, title=TITLE, extra=_json_extra(preview, not_covered))
        )
    if args.out:
        write_text(args.out, markdown)
        print(summary_lines(diffs))
        for stack in sorted(not_covered):
            print(f"{stack}: policy results do not cover {changes_count(len(not_covered[stack]))}")
        print(f"-> {display_path(args.out)}")
    else:
        sys.stdout.write(markdown)
    return _status(args, preview, diffs, not_covered)


def _json_extra(preview: Preview, not_covered: Mapping[str, Sequence[Words]]) -> dict[str, object]:
    """What the JSON document of a preview adds to the diff's: the engine's verdict and
    diagnostics, and the changes the offline plan's policy results do not cover."""
    return {
        "preview": {
            "failed": preview.failed,
            "policyResultsIncluded": preview.violations is not None,
            "diagnostics": [
                {"severity": d.severity, "urn": d.urn, "message": d.message}
                for d in preview.diagnostics
            ],
            "changeSummary": dict(sorted(preview.change_summary.items())),
            "uncovered": {
                stack: [plain_words(item) for item in items]
                for stack, items in sorted(not_covered.items())
            },
        }
    }


def _status(
    args: argparse.Namespace,
    preview: Preview,
    diffs: Sequence[StackDiff],
    not_covered: Mapping[str, Sequence[Words]],
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
            + join_words(
                [f"{changes_count(len(v))} in {k}" for k, v in sorted(not_covered.items())]
            ),
            file=sys.stderr,
        )
        return EXIT_UNCOVERED
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
