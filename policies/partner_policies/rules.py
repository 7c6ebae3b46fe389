"""The pure checks the program's config edge and the policy pack share: one owner per rule.

The config edge (``components/config.py``) refuses bad input before anything is registered and
names the file and key; the policies (``apps``, ``credentials``) judge the resources a preview
registers and name the resource. Both call these functions, so they cannot disagree on the same
input (``tests/test_rules_agree.py`` checks each rule through both).

This module lives in the pack because a published pack runs alone; it imports nothing but the
standard library, so the program imports it with only its own requirements installed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Final
from urllib.parse import urlsplit

GUID_RE: Final = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z"
)
LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})
# The one localhost redirect the Secure Application Model app registers: `partner-apps sam
# consent` signs the admin in through msal's loopback redirect (http://localhost:<free port>),
# and Entra ignores the port of a localhost redirect URI when it matches one (reply-url docs,
# "Localhost exceptions"), so this single entry covers every port and nothing else.
SAM_LOOPBACK_REDIRECTS: Final = frozenset({"http://localhost", "http://localhost/"})
# Entra refuses longer redirect URIs.
MAX_REDIRECT_URI_LENGTH: Final = 256
# The longest client-secret life Microsoft's portal offers, and the one both sides allow.
MAX_SECRET_LIFETIME_DAYS: Final = 730
# How far after "today" a secret's rotation date may lie: not at all. A new rotation date
# replaces the secret in that `pulumi up` (the old one is deleted), so a later start is an outage.
MAX_ROTATION_DAYS_AHEAD: Final = 0

API_URI_FORMS: Final = (
    "api://<application (client) id>, optionally followed by /<path>, or api://<tenant id>/<path>"
)
IMPLICIT_GRANT_REFUSAL: Final = (
    "implicit grant is not offered: the mandatory policy azuread-application-implicit-grant-"
    "disabled refuses it in every region (tokens in the URL fragment); use the authorization code "
    "flow, with PKCE for browser clients"
)

# oauth2PermissionScope.value: Graph allows these ASCII characters only, no leading dot.
_SCOPE_VALUE_CHAR: Final = re.compile(r"[A-Za-z0-9!#$%&'()*+,\-./:;<=>?@\[\]^_`{|}~]")


def on_verified_domain(host: str, verified_domains: Iterable[str]) -> bool:
    """A verified domain or one of its subdomains (Entra accepts both for App ID URIs)."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in (x.lower() for x in verified_domains))


def identifier_uri_problem(uri: str, verified_domains: Iterable[str]) -> str | None:
    """Why an App ID URI is not acceptable for a multi-tenant app, or ``None``.

    ``api://`` URIs must start with a GUID (the app's client id or the tenant id): Entra only
    guarantees those unique across tenants. ``https://`` URIs need a host on a verified domain
    of the tenant (or a subdomain of one), and no wildcard.
    """
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if "*" in uri:
        return "contains a wildcard"
    if scheme == "api":
        if GUID_RE.match(parts.netloc):
            return None
        return f"has no GUID right after api:// (accepted: {API_URI_FORMS})"
    if scheme == "https":
        host = parts.hostname or ""
        if host and on_verified_domain(host, verified_domains):
            return None
        return f"uses host {host!r}, which is not a verified domain of the partner tenant"
    return "is neither api:// nor https:// on a verified domain"


def redirect_wildcard_problem(uri: str) -> str | None:
    if "*" in uri:
        return "contains a wildcard; register each redirect URI explicitly"
    return None


def redirect_scheme_problem(
    uri: str, *, allow_localhost: bool, sam_loopback: bool = False
) -> str | None:
    """https, or http(s) on localhost where allowed; a well-formed URL of Entra's length.

    ``allow_localhost``: any localhost URI (development apps). ``sam_loopback``: exactly
    ``http://localhost`` (the Secure Application Model app's consent sign-in), no other.
    """
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    if host in LOCAL_HOSTS:
        if allow_localhost:
            pass
        elif sam_loopback:
            if uri not in SAM_LOOPBACK_REDIRECTS:
                return (
                    "is not the Secure Application Model app's loopback redirect: it may use "
                    "exactly 'http://localhost' (no port, no path; Entra ignores the port of a "
                    "localhost redirect, so this covers the consent sign-in on any port)"
                )
        else:
            return (
                "points at localhost; only apps marked development (or exactly "
                "'http://localhost' on the Secure Application Model app) may use localhost"
            )
    elif parts.scheme.lower() != "https":
        return "is not https; Entra ID sends tokens to it"
    elif "*" not in uri and not re.match(r"^https://[a-z0-9.-]+(:\d+)?(/\S*)?\Z", uri.lower()):
        # (a wildcard is the wildcard rule's to report, once)
        return "is not a valid https URL"
    if len(uri) > MAX_REDIRECT_URI_LENGTH:
        return (
            f"is {len(uri)} characters long; Entra accepts redirect URIs of at most "
            f"{MAX_REDIRECT_URI_LENGTH}"
        )
    return None


def redirect_uri_problem(
    uri: str, *, allow_localhost: bool, sam_loopback: bool = False
) -> str | None:
    """Why Entra should not send tokens to this redirect (or homepage) URI, or ``None``."""
    return redirect_wildcard_problem(uri) or redirect_scheme_problem(
        uri, allow_localhost=allow_localhost, sam_loopback=sam_loopback
    )


def scope_value_problem(value: str) -> str | None:
    """Why Graph would refuse this oauth2PermissionScope value, or ``None``."""
    if not value:
        return "is empty; name the scope (clients request it by value)"
    bad = sorted({char for char in value if not _SCOPE_VALUE_CHAR.fullmatch(char)})
    if bad or value.startswith("."):
        shown = ", ".join(repr(char) for char in bad) or "a leading '.'"
        return (
            f"is not a scope value Graph accepts ({shown}): ASCII letters, digits and "
            "!#$%&'()*+,-./:;<=>?@[]^_`{|}~ only, no spaces, not starting with '.'"
        )
    return None


def lifetime_days_problem(days: int, max_days: int = MAX_SECRET_LIFETIME_DAYS) -> str | None:
    """Why a client secret living ``days`` days is refused, or ``None``."""
    if days < 1:
        return f"lives {days} days: a secret must live at least one day"
    if days > max_days:
        return (
            f"lives {days} days, more than {max_days}: "
            "prefer shorter-lived secrets or a certificate"
        )
    return None


def secret_lifetime_problem(
    start: date, end: date, max_days: int = MAX_SECRET_LIFETIME_DAYS
) -> str | None:
    """Why a client secret living from ``start`` to ``end`` is refused, or ``None``."""
    if end <= start:
        return f"ends on {end.isoformat()}, not after its start {start.isoformat()}"
    problem = lifetime_days_problem((end - start).days, max_days)
    return f"({start.isoformat()} to {end.isoformat()}) {problem}" if problem else None


def rotation_date_problem(
    rotation: date, today: date, max_days_ahead: int = MAX_ROTATION_DAYS_AHEAD
) -> str | None:
    """Why a secret's rotation (start) date is refused on ``today``, or ``None``."""
    latest = today + timedelta(days=max_days_ahead)
    if rotation <= latest:
        return None
    where = f"after today ({today.isoformat()})"
    if max_days_ahead:
        where = (
            f"{(rotation - today).days} days after today ({today.isoformat()}), more than "
            f"{max_days_ahead}"
        )
    return (
        f"{rotation.isoformat()} is {where}: changing it replaces the secret now, and a secret "
        "that starts later would leave the app without a valid one; rotate on or after that day "
        "instead"
    )
