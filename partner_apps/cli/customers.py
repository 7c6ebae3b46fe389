"""``partner-apps customers``: plan, apply and verify the apps' consent in every customer tenant
of a region, and the routing table built from the regions' parts."""

from __future__ import annotations

import argparse
from pathlib import Path

from partner_apps import exitcodes

from .base import (
    Commands,
    Context,
    Noun,
    add_command,
    age_days,
    count,
    minutes,
    project_argument,
    seconds,
)
from .sam import target_arguments

NAME = "customers"

DESCRIPTION = """\
Per-customer consent of the region's partner-managed apps (GDAP: AdminAgents membership alone
gives an app no access to a customer tenant). Desired state from apps.yaml, client ids from the
stack outputs, customers from the region's partner tenant (Partner Center customers with an active
GDAP relationship), selected by customers/<stack>.yaml (include / exclude lists of tenant ids).
Tokens: the SAM refresh token of the region's vault (`partner-apps sam consent` first).
"""

PLAN_VERBS = {
    "plan": "what apply would do per customer and app (exit 0 none, 20 changes, 21 failed)",
    "apply": "make exactly the plan: consents, then Graph grants; resumable; audited",
    "verify": "prove access per customer and app with a new app-only token (matrix)",
}


def add_to(commands: Commands) -> argparse.ArgumentParser:
    customers = add_command(commands, NAME, summary=NOUN.summary, description=DESCRIPTION)
    verbs = customers.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, summary in PLAN_VERBS.items():
        sub = add_command(verbs, verb, under=NAME, summary=summary, description=summary)
        target_arguments(sub)
        sub.add_argument(
            "--only-app", action="append", help="limit to this app of apps.yaml (repeatable)"
        )
        sub.add_argument("--output", choices=("markdown", "json"), default="markdown")
        sub.add_argument("--out-dir", type=Path, help="also write the report as JSON and Markdown")
        sub.add_argument(
            "--workers",
            type=count,
            help="customers in parallel (default: from the measured round trip, 16 to 128)",
        )
        sub.add_argument("--timeout", type=seconds, default=30.0, help="seconds per request (30)")
        sub.add_argument("--prune", action="store_true", help="also remove what is not wanted")
        sub.add_argument("--audit-log", type=Path, help="JSON lines audit log (default build/)")
    apply_parser = verbs.choices["apply"]
    apply_parser.add_argument("--plan", type=Path, help="a reviewed plan JSON: apply only it")
    apply_parser.add_argument(
        "--max-plan-age",
        type=age_days,
        default=7.0,
        help="refuse a --plan older than this many days (7)",
    )
    verify_parser = verbs.choices["verify"]
    verify_parser.add_argument(
        "--recent-minutes",
        type=minutes,
        default=60.0,
        help="relationships or consents this recent get the wait rule (60)",
    )
    verify_parser.add_argument("--attempts", type=count, default=5, help="tries when recent (5)")
    _routing_verbs(verbs)
    return customers


def _routing_verbs(verbs: Commands) -> None:
    part = add_command(
        verbs,
        "routing-part",
        under=NAME,
        summary="this region's part of the routing table (its customers, its apps' client ids)",
        description=(
            "Writes this region's routing part (JSON) with this region's own identity: its "
            "customers with an active GDAP relationship and its apps' client ids. "
            "`export-routing` merges the regions' parts."
        ),
    )
    target_arguments(part)
    part.add_argument("--file", type=Path, help="write here (default stdout)")
    part.add_argument("--timeout", type=seconds, default=30.0, help="seconds per request (30)")
    export = add_command(
        verbs,
        "export-routing",
        under=NAME,
        summary="the routing table (tenant -> region -> client id), merged from the regions' parts",
        description=(
            "Merges the regions' routing parts (files written by `routing-part`; no network) "
            "into the routing table JSON that `partner-apps route` and apps read. Refuses a "
            "tenant two regions claim, a region with two parts, and a region stack without one."
        ),
    )
    export.add_argument(
        "--parts",
        type=Path,
        nargs="+",
        required=True,
        help="routing part files, or folders of them (*.json)",
    )
    export.add_argument("--file", type=Path, help="write here (default stdout)")
    project_argument(export)
    # The merge reads files only: no stack outputs, no SAM app (the runtime is built alike).
    export.set_defaults(outputs=None, app=None)


def run(args: argparse.Namespace, context: Context) -> int:
    # Partner Center, Graph and the Azure clients: loaded when a customers command runs.
    from partner_apps.customers.commands import VERBS  # noqa: PLC0415
    from partner_apps.customers.remote import RemoteError  # noqa: PLC0415 - the same
    from partner_apps.sam.errors import SamError  # noqa: PLC0415 - the same

    err = context.err
    runtime = context.runtime_factory(args, context.out, err)
    try:
        return VERBS[args.verb](runtime, args)
    except SamError as error:
        print(f"partner-apps customers {args.verb}: {error.message}", file=err)
        return error.exit_code
    except RemoteError as error:
        # The partner tenant itself (SAM token, customer list) failed: nothing was written.
        where = getattr(args, "stack", None) or "-"
        print(
            f"partner-apps customers {args.verb}: region {where}: {error.cause}; {error.fix}",
            file=err,
        )
        return exitcodes.SIGN_IN if error.code else exitcodes.UNREACHABLE
    except KeyboardInterrupt:
        print(
            f"partner-apps customers {args.verb}: interrupted; every write done so far is in the "
            "audit log and each write is checked before it is made: run the command again",
            file=err,
        )
        return exitcodes.INTERRUPTED


NOUN = Noun(
    name=NAME,
    summary="plan, apply and verify the apps' consent in every customer tenant of a region",
    add_to=add_to,
    run=run,
)
