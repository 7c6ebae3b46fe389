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
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from . import __version__, exitcodes
from .sam import flows
from .sam.errors import SamError
from .sam.target import Endpoints, file_outputs, pulumi_outputs, region_stacks

ROOT = Path(__file__).resolve().parent.parent

# subcommand -> (module, one-line help)
TOOLS: dict[str, tuple[str, str]] = {
    "preview": ("tools.preview", "offline preview of every region stack (make preview)"),
    "diff": ("tools.diff", "compare two sets of plans by region"),
    "audit": ("tools.audit", "one audit report across all region stacks"),
    "preview-json": ("tools.preview_json", "render `pulumi preview --json` for reviewers"),
    "benchmark": ("tools.benchmark", "time the offline preview at scale"),
    "generate": ("tools.generate", "regenerate schemas, catalogs and policy configs"),
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
            "code with a loopback redirect http://localhost:<free port>, or --device-code); the "
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
    consent.add_argument("--force", action="store_true", help="replace a stored token")
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
    status.add_argument("--warn-days", type=int, default=30, help="alert threshold (default 30)")
    status.add_argument("--output", choices=("text", "json"), default="text")
    return parser


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
        tool_main: Callable[[list[str]], int] = module.main
        return int(tool_main(arguments[1:]) or 0)
    parser = _parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as stop:
        return int(stop.code or 0) if isinstance(stop.code, int) else exitcodes.USAGE
    if args.command == "sam":
        return run_sam(args, out, err, runtime_factory)
    parser.print_help(err)  # pragma: no cover - argparse requires a command
    return exitcodes.USAGE  # pragma: no cover
