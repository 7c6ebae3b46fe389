"""What went wrong, as the admin must act on it.

Entra's answers are mapped from ``error_codes`` (the AADSTS numbers), never from
``error_description``: the description is free text that changes, may be localized, and can echo
request details. The message names region, app and vault, and what to do next; it never carries
token material.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from partner_apps import exitcodes


class SamError(Exception):
    """A failure with the exit code the command returns and a message for the admin."""

    def __init__(self, message: str, exit_code: int = exitcodes.ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


@dataclass(frozen=True)
class Advice:
    what: str
    action: str
    exit_code: int = exitcodes.SIGN_IN


CONSENT_AGAIN = "a partner admin must run `partner-apps sam consent --stack {stack} --force`"

# Partner Center's answer to an App+User call whose token shows no MFA (enforced from 2026-04-01):
# HTTP 401 with error 900421 (Partner Center authentication: "all App+User usage of Partner Center
# APIs will enforce the usage of MFA"; the partner announcements name 401 and 900421). The body's
# exact shape is not documented: ``partner_center_error_code`` reads Partner Center's REST error
# shape (``{"code": 900421, "description": ...}``), ``error.code``/``errorCode``, a description
# naming the number, and a ``WWW-Authenticate`` header naming it.
PARTNER_CENTER_MFA_REQUIRED = 900421
MFA_REQUIRED_CAUSE = (
    "Partner Center refused the SAM token: multi-factor authentication is required for "
    "App+User calls (error 900421)"
)


def mfa_fix(stack: str | None = None) -> str:
    """What to do about a token without MFA: a partner admin consents again, signing in with MFA
    (``--force``: even though a token is stored)."""
    where = f" --stack {stack}" if stack else ""
    return f"sign in again with MFA: `partner-apps sam consent{where} --force`"


_NUMBER = re.compile(r"(?<!\d)(9\d{5})(?!\d)")


def partner_center_error_code(status: int, headers: Mapping[str, str], body: Any) -> int:
    """The error number of a Partner Center answer (``body``: its parsed JSON, or its text), else
    0. Read from, in turn: ``code``, ``error.code`` and ``errorCode`` (a number other than the HTTP
    status), then a ``description``/``message`` naming a 9xxxxx number, then the
    ``WWW-Authenticate`` header naming one."""
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body or "null")
        except ValueError:
            body = None
    texts: list[str] = []
    if isinstance(body, dict):
        error = body.get("error")
        inner = error if isinstance(error, dict) else {}
        for candidate in (body.get("code"), inner.get("code"), body.get("errorCode")):
            try:
                value = int(str(candidate))
            except ValueError:
                continue
            if value not in (0, status):
                return value
        texts += [str(item) for item in (body.get("description"), inner.get("message")) if item]
    texts += [value for key, value in headers.items() if key.lower() == "www-authenticate"]
    for text in texts:
        found = _NUMBER.search(text)
        if found:
            return int(found.group(1))
    return 0


def is_mfa_required(status: int, headers: Mapping[str, str], body: Any) -> bool:
    return status == 401 and (
        partner_center_error_code(status, headers, body) == PARTNER_CENTER_MFA_REQUIRED
    )


# AADSTS number -> what happened and what to do. Codes from Microsoft's error reference.
AADSTS: Mapping[int, Advice] = {
    700082: Advice("the refresh token expired after 90 days without use", CONSENT_AGAIN),
    50173: Advice(
        "the grant was revoked (password reset or sessions revoked)",
        CONSENT_AGAIN,
    ),
    70008: Advice(
        "the refresh token or authorization code has expired or was revoked", CONSENT_AGAIN
    ),
    54005: Advice("the authorization code was already redeemed", "run the consent again"),
    65001: Advice(
        "the app has no consent for Partner Center in the partner tenant",
        "an admin grants admin consent to the app (its adminConsentUrl stack output), then "
        + CONSENT_AGAIN,
    ),
    50076: Advice(
        "multi-factor authentication is required",
        "sign in again with MFA: " + CONSENT_AGAIN,
    ),
    50078: Advice("the MFA of the sign-in has expired", "sign in again with MFA: " + CONSENT_AGAIN),
    50079: Advice(
        "the user must enrol in multi-factor authentication",
        "enrol the admin in MFA, then " + CONSENT_AGAIN,
    ),
    70043: Advice(
        "a sign-in frequency policy ended the session",
        "exclude the SAM app from sign-in frequency or " + CONSENT_AGAIN,
    ),
    53003: Advice(
        "Conditional Access blocked the request",
        "allow this job's network or identity in the Conditional Access policy of the partner "
        "tenant (its sign-in log names the policy)",
    ),
    50020: Advice(
        "the user is not a member of this region's partner tenant",
        "sign in with an admin of this region's partner tenant",
    ),
    7000222: Advice(
        "the app's client secret has expired",
        "rotate it (change credential.rotationDate in apps.yaml and run pulumi up), then retry",
    ),
    7000215: Advice(
        "the app's client secret is invalid",
        "check the <app>-client-secret secret in the vault against the app, then retry",
    ),
    90099: Advice(
        "the app is not authorised for partner admins in this tenant",
        "check the app's AdminAgents membership and Partner Center consent",
    ),
    700016: Advice(
        "the app was not found in the tenant",
        "check that the stack outputs are this region's and that pulumi up has run",
        exitcodes.CONFIG,
    ),
}


def codes_of(result: Mapping[str, Any]) -> list[int]:
    raw = result.get("error_codes") or []
    return [code for code in raw if isinstance(code, int)] if isinstance(raw, list) else []


def from_token_error(result: Mapping[str, Any], where: str, stack: str, doing: str) -> SamError:
    """A SamError for an MSAL error result, from its ``error_codes`` only."""
    codes = codes_of(result)
    for code in codes:
        advice = AADSTS.get(code)
        if advice is not None:
            return SamError(
                f"{where}: {doing} failed: AADSTS{code}: {advice.what}; "
                f"{advice.action.format(stack=stack)}",
                advice.exit_code,
            )
    label = ", ".join(f"AADSTS{code}" for code in codes) or str(result.get("error", "unknown"))
    trace = result.get("correlation_id")
    trace_text = f" (correlation id {trace})" if isinstance(trace, str) else ""
    return SamError(
        f"{where}: {doing} failed: {label}{trace_text}; look it up in the sign-in logs of the "
        "partner tenant",
        exitcodes.SIGN_IN,
    )


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` without any of ``secrets`` (a last line of defence for unexpected errors)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text
