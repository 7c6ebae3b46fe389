"""``partner-apps``: one command line, nouns then verbs, ``--help`` on every level.

argparse (the standard library) rather than click or typer: the tools it fronts already use
argparse, so their options and ``--help`` stay exactly what ``python -m tools.X`` prints, and the
command line adds no dependency to the hash-pinned set that the Pulumi program's virtualenv shares.

The tool subcommands hand their arguments to ``tools.<tool>.main`` unchanged (their exit codes
are theirs). ``sam`` is the Secure Application Model token of each region stack.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar, cast

from components.regions import CLOUDS, Cloud

from . import __version__, exitcodes, routing
from .customers.commands import VERBS
from .customers.remote import RemoteError
from .sam import flows
from .sam.errors import SamError
from .sam.target import (
    Endpoints,
    cloud_of,
    file_outputs,
    pulumi_outputs,
    region_of,
    region_stacks,
)
from .sandbox import demo as sandbox_demo

ROOT = Path(__file__).resolve().parent.parent

# subcommand -> (module, one-line help)
TOOLS: dict[str, tuple[str, str]] = {
    "preview": (
        "partner_apps.preview.command",
        "offline preview of every region stack (make preview)",
    ),
    "diff": ("partner_apps.review.changes.plans", "compare two sets of plans by region"),
    "audit": ("partner_apps.review.audit", "one audit report across all region stacks"),
    "preview-json": (
        "partner_apps.review.changes.preview_json",
        "render `pulumi preview --json` for reviewers",
    ),
    "benchmark": ("dev.benchmark", "time the offline preview at scale"),
    "generate": ("dev.generate", "regenerate schemas, catalogs and policy configs"),
}

SAM_HELP = """\
The Secure Application Model refresh token of one region stack, kept only in that region's vault
(secret <app>-sam-refresh-token). The SAM app's client id and the vault come from the stack's
outputs (`pulumi stack output --json --show-secrets=false --stack <stack>`, or --outputs); the
SAM app's client secret from the vault; Key Vault access from azure-identity's standard chain
(environment, workload identity, managed identity, Azure CLI). The vault refuses public traffic:
run from an allowed IP range, a self-hosted runner or the vault's network.
"""


def _parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="partner-apps",
        description="CSP partner-managed Entra ID apps, one region stack at a time.",
        epilog=exitcodes.epilog(),
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"partner-apps {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, summary) in TOOLS.items():
        commands.add_parser(
            name,
            help=summary,
            description=f"{summary}; the same as `python -m {module}` (see its --help)",
            add_help=False,
        )

    demo = commands.add_parser(
        "demo",
        help="try the customer side against a sandbox of Microsoft's cloud (make demo)",
        description=sandbox_demo.DESCRIPTION,
    )
    sandbox_demo.add_arguments(demo)

    sam = commands.add_parser(
        "sam",
        help="the Secure Application Model token: consent, refresh, status",
        description=SAM_HELP,
        epilog=exitcodes.epilog(),
        formatter_class=formatter,
    )
    verbs = sam.add_subparsers(dest="verb", metavar="VERB", required=True)

    def common(sub: argparse.ArgumentParser, *, stack_required: bool = True) -> None:
        if stack_required:
            sub.add_argument("--stack", required=True, help="the region stack (us, eu, ...)")
        sub.add_argument(
            "--app", help="the secureApplicationModel app of apps.yaml (default: the only one)"
        )
        sub.add_argument(
            "--outputs",
            type=Path,
            help="stack outputs as JSON: a file of this stack's, or a folder of <stack>.json "
            "(default: ask the Pulumi CLI)",
        )
        sub.add_argument(
            "--project-dir", type=Path, default=ROOT, help="the project (default: this checkout)"
        )

    consent = verbs.add_parser(
        "consent",
        help="the one interactive step: a partner admin signs in with MFA",
        description=(
            "A partner admin of the region's partner tenant signs in with MFA (authorization "
            "code with a loopback redirect http://localhost:<free port>/, or --device-code); the "
            "refresh token is stored as a new version in the region's vault. A stored token is "
            "replaced only with --force or when confirmed at a terminal."
        ),
        epilog=exitcodes.epilog(),
        formatter_class=formatter,
    )
    common(consent)
    consent.add_argument(
        "--device-code", action="store_true", help="device-code flow (no browser on this machine)"
    )
    consent.add_argument(
        "--force",
        action="store_true",
        help="consent again even if a token is stored (e.g. to sign in again with MFA)",
    )
    consent.add_argument(
        "--no-browser", action="store_true", help="print the sign-in URL only, open no browser"
    )

    refresh = verbs.add_parser(
        "refresh",
        help="redeem the stored token, store the new one, prove it (run on a schedule)",
        description=(
            "Redeem the stored refresh token for Partner Center against the region's partner "
            "tenant, store the new one as a new version, prove it with a Partner Center call, "
            "then disable versions older than the one it replaced."
        ),
        epilog=exitcodes.epilog(),
        formatter_class=formatter,
    )
    common(refresh)

    status = verbs.add_parser(
        "status",
        help="present or placeholder, issued, last refreshed, expires, days left",
        description=(
            "Per region stack: whether a token is stored or only the placeholder, when it was "
            "issued and last refreshed, when it expires. Exit status non-zero when a token is "
            "missing, expired or within --warn-days of its expiry, so a schedule can alert."
        ),
        epilog=exitcodes.epilog(),
        formatter_class=formatter,
    )
    status.add_argument(
        "--stack", action="append", help="a region stack (repeatable; default: every stack file)"
    )
    common(status, stack_required=False)
    status.add_argument("--warn-days", type=_days, default=30, help="alert threshold (default 30)")
    status.add_argument("--output", choices=("text", "json"), default="text")
    _customers_parser(commands, common)
    _route_parser(commands)
    return parser


_Number = TypeVar("_Number", int, float)


def _checked(
    text: str, convert: Callable[[str], _Number], ok: Callable[[_Number], bool], rule: str
) -> _Number:
    """``text`` as a finite number that satisfies ``ok``; else argparse's usage error (exit 2),
    before any file is read or request made."""
    try:
        value = convert(text)
    except ValueError:
        kind = "whole number" if convert is int else "number"
        raise argparse.ArgumentTypeError(f"{text!r} is not a {kind}") from None
    if not (ok(value) and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text} {rule}")
    return value


def _count(text: str) -> int:
    """Workers, attempts: at least 1 (0 attempts would verify nothing and say so nowhere)."""
    return _checked(text, int, lambda value: value >= 1, "must be at least 1")


def _days(text: str) -> int:
    return _checked(text, int, lambda value: value >= 0, "must be 0 or more")


def _age_days(text: str) -> float:
    """A plan's age limit in days: above 0 (0 would refuse every plan)."""
    return _checked(text, float, lambda value: value > 0, "must be a number of days above 0")


def _seconds(text: str) -> float:
    """A request's timeout: above 0 (urllib3 refuses 0 and less with a ValueError)."""
    return _checked(text, float, lambda value: value > 0, "must be a number of seconds above 0")


def _minutes(text: str) -> float:
    return _checked(text, float, lambda value: value >= 0, "must be a number of minutes, 0 or more")


CUSTOMERS_HELP = """\
Per-customer consent of the region's partner-managed apps (GDAP: AdminAgents membership alone
gives an app no access to a customer tenant). Desired state from apps.yaml, client ids from the
stack outputs, customers from the region's partner tenant (Partner Center customers with an active
GDAP relationship), selected by customers/<stack>.yaml (include / exclude lists of tenant ids).
Tokens: the SAM refresh token of the region's vault (`partner-apps sam consent` first).
"""


def _customers_parser(commands: Any, common: Callable[..., None]) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    customers = commands.add_parser(
        "customers",
        help="plan, apply and verify the apps' consent in every customer tenant of a region",
        description=CUSTOMERS_HELP,
        epilog=exitcodes.epilog(),
        formatter_class=formatter,
    )
    verbs = customers.add_subparsers(dest="verb", metavar="VERB", required=True)
    helps = {
        "plan": "what apply would do per customer and app (exit 0 none, 20 changes, 21 failed)",
        "apply": "make exactly the plan: consents, then Graph grants; resumable; audited",
        "verify": "prove access per customer and app with a new app-only token (matrix)",
    }
    for verb, summary in helps.items():
        sub = verbs.add_parser(
            verb,
            help=summary,
            description=summary,
            epilog=exitcodes.epilog(),
            formatter_class=formatter,
        )
        common(sub)
        sub.add_argument(
            "--only-app", action="append", help="limit to this app of apps.yaml (repeatable)"
        )
        sub.add_argument("--output", choices=("markdown", "json"), default="markdown")
        sub.add_argument("--out-dir", type=Path, help="also write the report as JSON and Markdown")
        sub.add_argument(
            "--workers",
            type=_count,
            help="customers in parallel (default: from the measured round trip, 16 to 128)",
        )
        sub.add_argument("--timeout", type=_seconds, default=30.0, help="seconds per request (30)")
        sub.add_argument("--prune", action="store_true", help="also remove what is not wanted")
        sub.add_argument("--audit-log", type=Path, help="JSON lines audit log (default build/)")
    apply_parser = verbs.choices["apply"]
    apply_parser.add_argument("--plan", type=Path, help="a reviewed plan JSON: apply only it")
    apply_parser.add_argument(
        "--max-plan-age",
        type=_age_days,
        default=7.0,
        help="refuse a --plan older than this many days (7)",
    )
    verify_parser = verbs.choices["verify"]
    verify_parser.add_argument(
        "--recent-minutes",
        type=_minutes,
        default=60.0,
        help="relationships or consents this recent get the wait rule (60)",
    )
    verify_parser.add_argument("--attempts", type=_count, default=5, help="tries when recent (5)")
    part = verbs.add_parser(
        "routing-part",
        help="this region's part of the routing table (its customers, its apps' client ids)",
        description=(
            "Writes this region's routing part (JSON) with this region's own identity: its "
            "customers with an active GDAP relationship and its apps' client ids. "
            "`export-routing` merges the regions' parts."
        ),
        epilog=exitcodes.epilog(),
        formatter_class=formatter,
    )
    common(part)
    part.add_argument("--file", type=Path, help="write here (default stdout)")
    part.add_argument("--timeout", type=_seconds, default=30.0, help="seconds per request (30)")
    export = verbs.add_parser(
        "export-routing",
        help="the routing table (tenant -> region -> client id), merged from the regions' parts",
        description=(
            "Merges the regions' routing parts (files written by `routing-part`; no network) "
            "into the routing table JSON that `partner-apps route` and apps read. Refuses a "
            "tenant two regions claim, a region with two parts, and a region stack without one."
        ),
        epilog=exitcodes.epilog(),
        formatter_class=formatter,
    )
    export.add_argument(
        "--parts",
        type=Path,
        nargs="+",
        required=True,
        help="routing part files, or folders of them (*.json)",
    )
    export.add_argument("--file", type=Path, help="write here (default stdout)")
    export.add_argument(
        "--project-dir", type=Path, default=ROOT, help="the project (default: this checkout)"
    )
    # The merge reads files only: no stack outputs, no SAM app (the runtime is built alike).
    export.set_defaults(outputs=None, app=None)


def _route_parser(commands: Any) -> None:
    route = commands.add_parser(
        "route",
        help="the region and client id for a sign-in name, before sign-in",
        description=(
            "domain -> tenant id (OpenID configuration), tenant -> region (the routing table of "
            "`partner-apps customers export-routing`), region -> the app's client id. "
            "tenant_region_scope is shown as a hint only."
        ),
        epilog=exitcodes.epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    route.add_argument("user", help="user@customer.example")
    route.add_argument("--table", type=Path, required=True, help="the routing table JSON")
    route.add_argument("--app", default="partner-portal-web", help="app key (partner-portal-web)")
    route.add_argument("--output", choices=("text", "json"), default="text")
    clouds = route.add_mutually_exclusive_group()
    clouds.add_argument(
        "--cloud",
        choices=tuple(CLOUDS),
        help="the cloud whose sign-in host is asked for the domain's tenant (default: public)",
    )
    clouds.add_argument("--stack", help="take the cloud from this region stack's file")
    route.add_argument(
        "--project-dir", type=Path, default=ROOT, help="the project (default: this checkout)"
    )


def _route_cloud(args: argparse.Namespace) -> Cloud:
    if args.stack:
        return cloud_of(args.stack, region_of(args.project_dir.resolve(), args.stack))
    return cast(Cloud, args.cloud or "public")


def run_route(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        login = Endpoints.from_env(cloud=_route_cloud(args)).login_url
    except SamError as error:
        print(f"partner-apps route: {error.message}", file=err)
        return error.exit_code
    try:
        router = routing.Router(routing.RoutingTable.load(args.table), login_url=login)
        found = router.route(args.user, args.app)
    except routing.RoutingInputError as error:
        # A local file (the table, the CA bundle): read before any request, a config error.
        print(f"partner-apps route: {error}; nothing was asked of the sign-in service", file=err)
        return exitcodes.CONFIG
    except routing.RoutingUnreachableError as error:
        print(f"partner-apps route: {error}", file=err)
        return exitcodes.UNREACHABLE
    except routing.RoutingError as error:
        print(f"partner-apps route: {error}", file=err)
        return exitcodes.UNROUTABLE
    if args.output == "json":
        print(json.dumps(found.as_json(), indent=2, sort_keys=True), file=out)
    else:
        print(
            f"{found.user}: tenant {found.tenant_id}, region {found.region}, app {found.app}, "
            f"client id {found.client_id}, authority {found.authority}",
            file=out,
        )
    return exitcodes.OK


def run_customers(
    args: argparse.Namespace, out: TextIO, err: TextIO, runtime_factory: RuntimeFactory
) -> int:
    runtime = runtime_factory(args, out, err)
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


def _runtime(args: argparse.Namespace, out: TextIO, err: TextIO) -> flows.Runtime:
    project_dir: Path = args.project_dir.resolve()
    outputs = file_outputs(args.outputs) if args.outputs else pulumi_outputs(project_dir)
    interactive = sys.stdin.isatty() and err.isatty()

    def confirm(question: str) -> bool:
        print(f"{question} [y/N] ", end="", file=err, flush=True)
        return sys.stdin.readline().strip().lower() in ("y", "yes")

    runtime = flows.Runtime(
        project_dir=project_dir,
        outputs=outputs,
        endpoints=Endpoints.from_env(),
        out=out,
        err=err,
        confirm=confirm if interactive else None,
        progress=err.isatty(),
    )
    if getattr(args, "no_browser", False):
        runtime.open_browser = lambda url: None
    return runtime


# Builds what the sam commands reach the world through (the tests pass their own).
RuntimeFactory = Callable[[argparse.Namespace, TextIO, TextIO], flows.Runtime]


def run_sam(
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    runtime_factory: RuntimeFactory = _runtime,
) -> int:
    runtime = runtime_factory(args, out, err)
    try:
        if args.verb == "consent":
            return flows.consent(
                runtime, args.stack, app=args.app, device_code=args.device_code, force=args.force
            )
        if args.verb == "refresh":
            return flows.refresh(runtime, args.stack, app=args.app)
        stacks = args.stack or region_stacks(runtime.project_dir)
        return flows.status(
            runtime, stacks, app=args.app, warn_days=args.warn_days, output=args.output
        )
    except SamError as error:
        print(f"partner-apps sam {args.verb}: {error.message}", file=err)
        return error.exit_code
    except KeyboardInterrupt:
        print(
            f"partner-apps sam {args.verb}: interrupted; the vault keeps the last token stored "
            "in full (every write is one new version): run the command again",
            file=err,
        )
        return exitcodes.INTERRUPTED


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    runtime_factory: RuntimeFactory = _runtime,
) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    if arguments and arguments[0] in TOOLS:
        module = importlib.import_module(TOOLS[arguments[0]][0])
        tool_main: Callable[..., int] = module.main
        # Its usage lines name it as the user typed it, not as `python -m tools.<module>`.
        return int(tool_main(arguments[1:], prog=f"partner-apps {arguments[0]}") or 0)
    parser = _parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as stop:
        return int(stop.code or 0) if isinstance(stop.code, int) else exitcodes.USAGE
    if args.command == "sam":
        return run_sam(args, out, err, runtime_factory)
    if args.command == "customers":
        return run_customers(args, out, err, runtime_factory)
    if args.command == "route":
        return run_route(args, out, err)
    if args.command == "demo":
        return sandbox_demo.run_command(args)
    parser.print_help(err)  # pragma: no cover - argparse requires a command
    return exitcodes.USAGE  # pragma: no cover
