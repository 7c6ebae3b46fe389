"""``partner-apps demo`` (``make demo``): the whole customer side against the loopback cloud.

Starts the sandbox's Microsoft cloud (127.0.0.1 only, TLS with a throw-away CA, stops when done)
with both example regions of this checkout and a few customers each, then runs, printing each
command as a platform team would type it and what it answers: ``sam consent`` (device code, the
fake's partner admin approves with MFA) → ``sam status`` → per region ``customers plan`` →
``apply --plan`` → ``verify`` → ``routing-part``, then ``export-routing`` → ``route`` → the
offline ``preview`` and the ``audit`` with the consent results. No Azure, no network beyond
loopback, nothing written outside a temporary folder (``--keep DIR`` keeps the reports there).

The commands run in this process through ``partner_apps.cli.main`` with the real clients (MSAL,
azure-identity, azure-keyvault-secrets, requests); only the clock is the sandbox's, so the seed's
3-minute propagation wait of ``verify`` passes at once.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from partner_apps import exitcodes

if TYPE_CHECKING:  # the sandbox (servers, TLS CA) is imported when the demo runs, not before
    from .customer_world import CustomerWorld

# What each step may answer and still be a good demo (plan: 20 = changes to apply).
_EXPECTED = {"plan": (exitcodes.OK, exitcodes.CHANGES)}


def _show(cw: CustomerWorld, *argv: str, quiet: bool = False) -> int:
    print(f"$ partner-apps {' '.join(argv)}", flush=True)
    result = cw.run(*argv)
    for text in (result.out, result.err):
        if text.strip() and not quiet:
            print(text.rstrip())
    print(f"(exit {result.code})\n", flush=True)
    allowed = _EXPECTED.get(argv[1] if len(argv) > 1 else "", (exitcodes.OK,))
    if result.code not in allowed:
        raise SystemExit(f"demo: `partner-apps {' '.join(argv)}` exited {result.code}")
    return result.code


def run(folder: Path, *, us: int, eu: int) -> int:
    from .customer_world import open_customer_world  # noqa: PLC0415 - see the import above

    reports = folder / "reports"
    started = time.perf_counter()
    (folder / "world").mkdir(parents=True, exist_ok=True)
    with open_customer_world(folder / "world", us=us, eu=eu) as cw:
        cw.audit_dir = reports / "audit-log"
        stacks = sorted(cw.customers)
        print(
            f"A sandbox of Microsoft's cloud on 127.0.0.1: regions {', '.join(stacks)}, "
            f"{sum(len(c) for c in cw.customers.values())} customers with GDAP relationships.\n"
        )
        for stack in stacks:
            region = cw.world.regions[stack]
            cw.cloud.sign_in_as(region.tenant_id, region.admin.upn)  # approves the device code
            _show(cw, "sam", "consent", "--stack", stack, "--device-code", "--force")
        _show(cw, "sam", "status")
        parts = reports / "routing-parts"
        for stack in stacks:
            plans = reports / "plans"
            _show(cw, "customers", "plan", "--stack", stack, "--out-dir", str(plans))
            _show(
                cw,
                "customers",
                "apply",
                "--stack",
                stack,
                "--plan",
                str(plans / f"{stack}-plan.json"),
                "--out-dir",
                str(reports / "applied"),
            )
            _show(cw, "customers", "verify", "--stack", stack, "--out-dir", str(reports / "verify"))
            _show(
                cw,
                "customers",
                "routing-part",
                "--stack",
                stack,
                "--file",
                str(parts / f"{stack}.json"),
            )
        table = reports / "routing.json"
        _show(cw, "customers", "export-routing", "--parts", str(parts), "--file", str(table))
        user = f"anna@c1.{stacks[0]}.customer.example"
        _show(cw, "route", user, "--table", str(table))
        preview = reports / "preview"
        _show(
            cw,
            "preview",
            "--project-dir",
            str(cw.project_dir),
            "--out",
            str(preview),
            "--audit-dir",
            str(reports / "preview-audit"),
            quiet=True,
        )
        _show(
            cw,
            "audit",
            str(preview),
            "--out-dir",
            str(reports / "audit"),
            "--consent-results",
            str(reports / "verify"),
        )
    print(f"Done in {time.perf_counter() - started:.0f} s; the sandbox has stopped.")
    return exitcodes.OK


def serve(folder: Path, *, us: int, eu: int, minutes: float, wait: Callable[[float], None]) -> int:
    """Keep the sandbox up for hands-on trials: write the environment that points any
    ``partner-apps`` command at it (``sandbox.env``: the endpoint overrides, the CA bundle, and
    per region the job identity azure-identity reads the vault with) and the stack outputs, print
    how to use them, and stop after ``minutes`` or at Ctrl-C."""
    from .customer_world import open_customer_world  # noqa: PLC0415 - see the import above

    (folder / "world").mkdir(parents=True, exist_ok=True)
    with open_customer_world(folder / "world", us=us, eu=eu, lifetime=minutes * 60 + 5) as cw:
        outputs = cw.world.outputs_dir
        shared = {**cw.world.fake.env(), "NO_PROXY": "127.0.0.1,localhost"}
        files = []
        for stack, region in sorted(cw.world.regions.items()):
            values = {
                **shared,
                # azure-identity's EnvironmentCredential: the region's job identity, which the
                # region's vault lets read the SAM token and the apps' secrets.
                "AZURE_TENANT_ID": region.tenant_id,
                "AZURE_CLIENT_ID": region.job.client_id,
                "AZURE_CLIENT_SECRET": region.job.secret,
            }
            path = folder / f"sandbox-{stack}.env"
            path.write_text(
                "".join(
                    f"export {key}={_quoted(value)}\n" for key, value in sorted(values.items())
                ),
                encoding="utf-8",
            )
            path.chmod(0o600)  # a throw-away secret of the sandbox, but a secret all the same
            files.append((stack, path))
        print(f"The sandbox is up on 127.0.0.1 for {minutes:g} minutes (Ctrl-C stops it sooner).")
        print("In another shell, from this checkout, per region:\n")
        for stack, path in files:
            print(f"  source {path}")
            print(f"  partner-apps sam status --stack {stack} --outputs {outputs}")
            print(f"  partner-apps customers plan --stack {stack} --outputs {outputs}")
            print(f"  partner-apps customers apply --stack {stack} --outputs {outputs}")
            print(f"  partner-apps customers verify --stack {stack} --outputs {outputs}\n")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            wait(minutes * 60)
    print("The sandbox has stopped.")
    return exitcodes.OK


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo's options (``partner-apps demo`` and ``python -m partner_apps.sandbox.demo``)."""
    parser.add_argument("--us", type=_customers, default=3, help="customers of region us (3)")
    parser.add_argument("--eu", type=_customers, default=2, help="customers of region eu (2)")
    parser.add_argument("--keep", type=Path, help="copy the reports (plans, matrix, audit) here")
    parser.add_argument(
        "--serve",
        type=_minutes,
        metavar="MINUTES",
        help="instead of the demo, keep the sandbox up this many minutes (at most 120) for "
        "commands typed in another shell",
    )


def _customers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 200:
        raise argparse.ArgumentTypeError(f"{value} must be between 1 and 200")
    return value


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if not 0 < value <= 120:
        raise argparse.ArgumentTypeError(f"{value:g} must be above 0 and at most 120 minutes")
    return value


def run_command(args: argparse.Namespace, wait: Callable[[float], None] = time.sleep) -> int:
    with tempfile.TemporaryDirectory(prefix="partner-apps-demo-") as directory:
        if args.serve is not None:
            return serve(Path(directory), us=args.us, eu=args.eu, minutes=args.serve, wait=wait)
        code = run(Path(directory), us=args.us, eu=args.eu)
        if args.keep is not None:
            shutil.copytree(Path(directory) / "reports", args.keep, dirs_exist_ok=True)
            print(f"The reports are in {args.keep}.")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="partner-apps demo", description=DESCRIPTION)
    add_arguments(parser)
    return run_command(parser.parse_args(argv))


DESCRIPTION = (
    "The whole customer side against a sandbox of Microsoft's cloud on 127.0.0.1: sam consent, "
    "status, customers plan, apply, verify, routing, route, preview and audit, each command "
    "printed as typed. No Azure, no network beyond loopback; under a minute."
)


if __name__ == "__main__":
    sys.exit(main())
