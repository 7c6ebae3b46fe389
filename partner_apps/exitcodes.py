"""Exit codes of ``partner-apps`` and ``make generate``: the one table.

Every code is defined here once, with what it means and which commands return it; no code means
two things anywhere on the command line (issue 26). ``--help`` of each command shows the rows of
its own codes (``epilog``), docs/exit-codes.md has one row per code, and tests/test_cli.py checks
that all three agree.

The review commands used 1-7 before; they now use 40-46 (``POLICY_VIOLATED`` ...), because 1-12
already meant token and sign-in states (exit 6 was both "token expired" and "policy loosened").
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Final

OK: Final = 0
ERROR: Final = 1  # unexpected failure (a bug): the message says where
USAGE: Final = 2  # bad command line (argparse)
CONFIG: Final = 3  # a config or input file missing, unreadable, of another shape or region
TOKEN_MISSING: Final = 4  # no refresh token in the vault, or still the placeholder
TOKEN_EXPIRING: Final = 5  # the token expires within the warning threshold
TOKEN_EXPIRED: Final = 6  # the token has expired
SIGN_IN: Final = 7  # Entra refused: an admin must act (consent, MFA, Conditional Access, secret)
TOKEN_REFUSED: Final = 8  # a token without MFA, or issued for another tenant or app
VAULT: Final = 9  # Key Vault could not be read or written (the stored token is unchanged)
PARTNER_CENTER: Final = 10  # the new token did not work against Partner Center
ALREADY_CONSENTED: Final = 11  # a token exists: consent again only with --force or confirmed
UNREACHABLE: Final = 12  # Entra could not be reached or answered unexpectedly: nothing changed
CHANGES: Final = 20  # customers plan: there are changes to apply
CUSTOMERS_FAILED: Final = 21  # customers: some customers failed (the others were done)
UNROUTABLE: Final = 22  # route: the domain, tenant or app could not be routed
LOCKED: Final = 23  # customers apply: another apply of the region holds its lock
PLAN_OTHER_REGION: Final = 24  # customers apply --plan: a plan of another region
PLAN_CHANGED: Final = 25  # customers apply --plan: apps.yaml, outputs or customer file changed
PLAN_EXPIRED: Final = 26  # customers apply --plan: older than --max-plan-age
# 27-29: reserved for the customers' GDAP lifecycle (issue 30).
# The review commands (preview, diff, audit, preview-json) and `make generate`: 40-49.
POLICY_VIOLATED: Final = 40  # preview, audit --fail-on-mandatory: a mandatory policy is violated
PROTECTED: Final = 41  # --fail-on-protected: a protected resource would be deleted or replaced
PREVIEW_FAILED: Final = 42  # diff/preview-json: a stack's preview failed (nothing can be checked)
BREAKING_SCOPE: Final = 43  # diff --fail-on-protected: an enabled scope removed/renamed in one step
WEAKENED: Final = 44  # diff --fail-on-weakened: a region's policy config is loosened
UNCOVERED: Final = 45  # preview-json --fail-on-uncovered: the offline plan misses preview changes
STALE: Final = 46  # make generate --check: a generated file is stale
PLAN_UNVERIFIED: Final = 47  # audit: a plan does not verify (judged again, it disagrees)
STALLED: Final = 124  # preview: a stack's program stalled and was stopped by the watchdog
INTERRUPTED: Final = 130  # Ctrl-C: nothing half-written (the stored token is unchanged)

# The commands of the table: a noun names all of its verbs ("sam"), a noun and verb only that
# verb ("sam status"). `generate` is `make generate` (dev/generate.py), not a partner-apps command.
REVIEW: Final = ("preview", "diff", "audit", "preview-json")
EVERY: Final = ("sam", "customers", "route", "demo", *REVIEW, "generate")


@dataclass(frozen=True)
class Code:
    """One exit code: its number, what it means, and the commands that return it."""

    code: int
    meaning: str
    commands: tuple[str, ...]

    def applies_to(self, command: str) -> bool:
        """Whether ``command`` (``""``: the top level, ``"sam"``: any of its verbs,
        ``"sam status"``: that verb) can exit with this code."""
        if not command:
            return True
        return any(
            entry == command or entry.startswith(f"{command} ") or command.startswith(f"{entry} ")
            for entry in self.commands
        )


TABLE: Final = (
    Code(OK, "success", EVERY),
    Code(ERROR, "unexpected failure (a bug: the message says where)", EVERY),
    Code(USAGE, "bad command line", EVERY),
    Code(
        CONFIG,
        "a config or input file missing, unreadable, of another shape or of another region",
        ("sam", "customers", "route", *REVIEW, "generate"),
    ),
    Code(
        TOKEN_MISSING,
        "no refresh token in the vault, or only the placeholder",
        ("sam", "customers"),
    ),
    Code(TOKEN_EXPIRING, "the refresh token expires within --warn-days", ("sam status",)),
    Code(TOKEN_EXPIRED, "the refresh token has expired", ("sam status",)),
    Code(
        SIGN_IN,
        "Entra refused the sign-in or refresh: an admin must act (message says what)",
        ("sam", "customers"),
    ),
    Code(TOKEN_REFUSED, "a token without MFA, or for another tenant or app, was refused", ("sam",)),
    Code(
        VAULT,
        "Key Vault could not be read or written; the stored token is unchanged",
        ("sam", "customers"),
    ),
    Code(
        PARTNER_CENTER,
        "Partner Center refused the new token or the customer listing",
        ("sam", "customers"),
    ),
    Code(
        ALREADY_CONSENTED,
        "a token is already stored: use --force (or confirm) to replace it",
        ("sam consent",),
    ),
    Code(
        UNREACHABLE,
        "a service could not be reached or answered unexpectedly; nothing changed",
        ("sam", "customers", "route"),
    ),
    Code(CHANGES, "there are changes to apply (0: none)", ("customers plan",)),
    Code(
        CUSTOMERS_FAILED,
        "some customers failed; the others were done (see the report)",
        ("customers",),
    ),
    Code(UNROUTABLE, "unknown domain, tenant of no region, or app not deployed there", ("route",)),
    Code(
        LOCKED,
        "another apply of this region is running (its lock names it)",
        ("customers apply",),
    ),
    Code(PLAN_OTHER_REGION, "--plan: the plan is of another region", ("customers apply",)),
    Code(
        PLAN_CHANGED,
        "--plan: apps.yaml, the stack outputs or customers/<region>.yaml changed since the plan",
        ("customers apply",),
    ),
    Code(PLAN_EXPIRED, "--plan: the plan is older than --max-plan-age", ("customers apply",)),
    Code(
        POLICY_VIOLATED,
        "a mandatory policy is violated (audit: with --fail-on-mandatory, or a preview failed)",
        ("preview", "audit"),
    ),
    Code(
        PROTECTED,
        "--fail-on-protected: a protected resource would be deleted or replaced",
        ("diff", "preview-json"),
    ),
    Code(
        PREVIEW_FAILED,
        "a stack's preview failed: nothing shows what it would change",
        ("diff", "preview-json"),
    ),
    Code(
        BREAKING_SCOPE,
        "--fail-on-protected: an enabled scope removed or renamed in one step",
        ("diff",),
    ),
    Code(
        WEAKENED,
        "--fail-on-weakened: a region's policy config or the policy pack's code is loosened, "
        "or the permission catalog changed what a permission stands for",
        ("diff",),
    ),
    Code(
        UNCOVERED,
        "--fail-on-uncovered: the offline plan does not cover the preview's changes",
        ("preview-json",),
    ),
    Code(STALE, "--check: a generated file is stale (each is named)", ("generate",)),
    Code(
        PLAN_UNVERIFIED,
        "a plan does not verify: judged again, its violations, policies or pack disagree",
        ("audit",),
    ),
    Code(STALLED, "a stack's program stalled and was stopped by the watchdog", ("preview",)),
    Code(
        INTERRUPTED,
        "interrupted; run the command again (nothing is half-written)",
        ("sam", "customers", "route"),
    ),
)


# Commands that can meet several of their codes at once exit with the first that applies.
PRECEDENCE: Final = {"preview-json": (PREVIEW_FAILED, PROTECTED, UNCOVERED)}


def codes(command: str = "") -> tuple[Code, ...]:
    """The rows of ``command``'s exit codes (``""``: every row)."""
    return tuple(row for row in TABLE if row.applies_to(command))


def epilog(command: str = "") -> str:
    """``command``'s exit codes as its ``--help`` shows them (``""``: the whole table)."""
    lines = ["exit codes:"]
    for row in codes(command):
        # The whole table (the top level) says whose code each is; a command's own does not.
        whose = "" if command or row.commands == EVERY else f"{', '.join(row.commands)}: "
        text = f"{whose}{row.meaning}"
        lines.append(
            textwrap.fill(text, 96, initial_indent=f"  {row.code:>3}  ", subsequent_indent=" " * 7)
        )
    if command in PRECEDENCE:
        order = ", ".join(str(code) for code in PRECEDENCE[command])
        lines.append(f"The first that applies, in the order {order}.")
    lines.append("(every code and what to do: docs/exit-codes.md)")
    return "\n".join(lines)
