"""Exit codes of ``partner-apps``: one table, documented in docs/exit-codes.md and in ``--help``.

The tool subcommands (preview, diff, ...) keep the exit codes of ``python -m tools.X``.
"""

from __future__ import annotations

from typing import Final

OK: Final = 0
ERROR: Final = 1  # unexpected failure (a bug): the message says where
USAGE: Final = 2  # bad command line (argparse)
CONFIG: Final = 3  # a config file or the stack outputs missing, unreadable, or of another region
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
PLAN_CHANGED: Final = 25  # customers apply --plan: apps.yaml or the outputs changed since
PLAN_EXPIRED: Final = 26  # customers apply --plan: older than --max-plan-age
# 27-29: reserved for the customers' GDAP lifecycle (issue 30).
# The review commands (preview, diff, audit, preview-json) and `make generate`: 40-49, so that no
# code means two things across the whole command line (issue 26; they used 1-7 before).
POLICY_VIOLATED: Final = 40  # preview, audit --fail-on-mandatory: a mandatory policy is violated
PROTECTED: Final = 41  # --fail-on-protected: a protected resource would be deleted or replaced
PREVIEW_FAILED: Final = 42  # diff/preview-json: a stack's preview failed (nothing can be checked)
BREAKING_SCOPE: Final = 43  # diff --fail-on-protected: an enabled scope removed/renamed in one step
WEAKENED: Final = 44  # diff --fail-on-weakened: a region's policy config is loosened
UNCOVERED: Final = 45  # preview-json --fail-on-uncovered: the offline plan misses preview changes
STALE: Final = 46  # make generate --check: a generated file is stale
STALLED: Final = 124  # preview: a stack's program stalled and was stopped by the watchdog
INTERRUPTED: Final = 130  # Ctrl-C: nothing half-written (the stored token is unchanged)

TABLE: Final = (
    (OK, "success"),
    (ERROR, "unexpected failure"),
    (USAGE, "bad command line"),
    (CONFIG, "a config file or the outputs missing, unreadable or of another region"),
    (TOKEN_MISSING, "no refresh token in the vault, or only the placeholder"),
    (TOKEN_EXPIRING, "the refresh token expires within the warning threshold"),
    (TOKEN_EXPIRED, "the refresh token has expired"),
    (SIGN_IN, "Entra refused the sign-in or refresh: an admin must act (message says what)"),
    (TOKEN_REFUSED, "a token without MFA, or for another tenant or app, was refused"),
    (VAULT, "Key Vault could not be read or written; the stored token is unchanged"),
    (PARTNER_CENTER, "the new token did not work against Partner Center"),
    (ALREADY_CONSENTED, "a token is already stored: use --force (or confirm) to replace it"),
    (UNREACHABLE, "Entra could not be reached or answered unexpectedly; nothing changed"),
    (CHANGES, "customers plan: changes to apply (0: none)"),
    (CUSTOMERS_FAILED, "customers: some customers failed; the others were done (see report)"),
    (UNROUTABLE, "route: unknown domain, tenant of no region, or app not deployed there"),
    (LOCKED, "customers apply: another apply of this region is running (its lock names it)"),
    (PLAN_OTHER_REGION, "customers apply --plan: the plan is of another region"),
    (PLAN_CHANGED, "customers apply --plan: apps.yaml or the stack outputs changed since"),
    (PLAN_EXPIRED, "customers apply --plan: the plan is older than --max-plan-age"),
    (INTERRUPTED, "interrupted; run the command again (nothing is half-written)"),
)


def epilog() -> str:
    """The exit-code table as ``--help`` shows it."""
    lines = ["exit codes:"]
    lines += [f"  {code:>3}  {meaning}" for code, meaning in TABLE]
    return "\n".join(lines)
