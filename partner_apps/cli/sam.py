"""``partner-apps sam``: the Secure Application Model token of each region stack (consent,
refresh, status)."""

from __future__ import annotations

import argparse
from pathlib import Path

from partner_apps import exitcodes

from .base import Commands, Context, Noun, add_command, days, project_argument

NAME = "sam"

DESCRIPTION = """\
The Secure Application Model refresh token of one region stack, kept only in that region's vault
(secret <app>-sam-refresh-token). The SAM app's client id and the vault come from the stack's
outputs (`pulumi stack output --json --show-secrets=false --stack <stack>`, or --outputs); the
SAM app's client secret from the vault; Key Vault access from azure-identity's standard chain
(environment, workload identity, managed identity, Azure CLI). The vault refuses public traffic:
run from an allowed IP range, a self-hosted runner or the vault's network.
"""


def target_arguments(parser: argparse.ArgumentParser, *, stack_required: bool = True) -> None:
    """The region stack, its SAM app and outputs, and the project (sam and customers verbs)."""
    if stack_required:
        parser.add_argument("--stack", required=True, help="the region stack (us, eu, ...)")
    parser.add_argument(
        "--app", help="the secureApplicationModel app of apps.yaml (default: the only one)"
    )
    parser.add_argument(
        "--outputs",
        type=Path,
        help="stack outputs as JSON: a file of this stack's, or a folder of <stack>.json "
        "(default: ask the Pulumi CLI)",
    )
    project_argument(parser)


def add_to(commands: Commands) -> argparse.ArgumentParser:
    sam = add_command(commands, NAME, summary=NOUN.summary, description=DESCRIPTION)
    verbs = sam.add_subparsers(dest="verb", metavar="VERB", required=True)
    consent = add_command(
        verbs,
        "consent",
        under=NAME,
        summary="the one interactive step: a partner admin signs in with MFA",
        description=(
            "A partner admin of the region's partner tenant signs in with MFA (authorization "
            "code with a loopback redirect http://localhost:<free port>/, or --device-code); the "
            "refresh token is stored as a new version in the region's vault. A stored token is "
            "replaced only with --force or when confirmed at a terminal."
        ),
    )
    target_arguments(consent)
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
    refresh = add_command(
        verbs,
        "refresh",
        under=NAME,
        summary="redeem the stored token, store the new one, prove it (run on a schedule)",
        description=(
            "Redeem the stored refresh token for Partner Center against the region's partner "
            "tenant, store the new one as a new version, prove it with a Partner Center call, "
            "then disable versions older than the one it replaced."
        ),
    )
    target_arguments(refresh)
    status = add_command(
        verbs,
        "status",
        under=NAME,
        summary="present or placeholder, issued, last refreshed, expires, days left",
        description=(
            "Per region stack: whether a token is stored or only the placeholder, when it was "
            "issued and last refreshed, when it expires. Exit status non-zero when a token is "
            "missing, expired or within --warn-days of its expiry, so a schedule can alert."
        ),
    )
    status.add_argument(
        "--stack", action="append", help="a region stack (repeatable; default: every stack file)"
    )
    target_arguments(status, stack_required=False)
    status.add_argument("--warn-days", type=days, default=30, help="alert threshold (default 30)")
    status.add_argument("--output", choices=("text", "json"), default="text")
    return sam


def run(args: argparse.Namespace, context: Context) -> int:
    # MSAL and the Azure clients: loaded when a sam command runs, not for --help.
    from partner_apps.sam import flows  # noqa: PLC0415
    from partner_apps.sam.errors import SamError  # noqa: PLC0415 - the same
    from partner_apps.sam.target import region_stacks  # noqa: PLC0415 - the same

    runtime = context.runtime_factory(args, context.out, context.err)
    try:
        if args.verb == "consent":
            return flows.consent(
                runtime, args.stack, app=args.app, device_code=args.device_code, force=args.force
            )
        if args.verb == "refresh":
            return flows.refresh(runtime, args.stack, app=args.app)
        stacks = args.stack or region_stacks(runtime.project_dir)
        if not stacks:
            # Outside a project (an installed wheel run elsewhere) there is nothing to report,
            # which must not read as "every token is fine".
            print(
                f"partner-apps sam status: no Pulumi.<stack>.yaml in {runtime.project_dir}: run "
                "it in the project's folder, or pass --project-dir",
                file=context.err,
            )
            return exitcodes.CONFIG
        return flows.status(
            runtime, stacks, app=args.app, warn_days=args.warn_days, output=args.output
        )
    except SamError as error:
        print(f"partner-apps sam {args.verb}: {error.message}", file=context.err)
        return error.exit_code
    except KeyboardInterrupt:
        print(
            f"partner-apps sam {args.verb}: interrupted; the vault keeps the last token stored "
            "in full (every write is one new version): run the command again",
            file=context.err,
        )
        return exitcodes.INTERRUPTED


NOUN = Noun(
    name=NAME,
    summary="the Secure Application Model token: consent, refresh, status",
    add_to=add_to,
    run=run,
)
