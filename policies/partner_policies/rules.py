"""The pure checks the program's config edge and the policy pack share: one owner per rule.

The config edge (``components/config.py``) refuses bad input before anything is registered and
names the file and key; the policies (``apps``, ``credentials``) judge the resources a preview
registers and name the resource. Both call these functions, so they cannot disagree on the same
input (``tests/test_rules_agree.py`` checks each rule through both).

This module lives in the pack because a published pack runs alone; it imports nothing but the
standard library, so the program imports it with only its own requirements installed.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
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
SAM_LOOPBACK_REDIRECTS: Final = frozenset({"http://localhost/"})
# terraform-provider-azuread validates every redirect URI with IsRedirectUriFunc, which calls
# IsUriFunc(..., forceTrailingSlash=true): a URI without a path segment ("https://host") is
# refused at preview ("URI must have a trailing slash when there is no path segment").
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

# Characters Entra refuses in a redirect URI (reply-url restrictions: "Redirect URIs do not support
# special characters - ! $ ' ( ) , ;").
REDIRECT_URI_REFUSED_CHARACTERS: Final = "!$'(),;"
# Key Vault network rules: an IPv4 range wider than this prefix admits too much of the internet
# (a /16 is 65,536 addresses); list the exact egress addresses or a narrower range instead.
MIN_IP_RULE_PREFIX: Final = 16
# Ranges the Key Vault firewall never sees as a client address (it sees only public addresses):
# a rule on them admits nothing and usually means a private endpoint was meant.
NON_PUBLIC_RANGES: Final = (
    ("0.0.0.0/8", "'this network' (RFC 1122)"),
    ("10.0.0.0/8", "a private range (RFC 1918)"),
    ("100.64.0.0/10", "the carrier-grade NAT range (RFC 6598)"),
    ("127.0.0.0/8", "the loopback range"),
    ("169.254.0.0/16", "the link-local range"),
    ("172.16.0.0/12", "a private range (RFC 1918)"),
    ("192.168.0.0/16", "a private range (RFC 1918)"),
    ("224.0.0.0/4", "the multicast range"),
    ("240.0.0.0/4", "a reserved range (RFC 1112)"),
)
# GUIDs that are placeholders, never a real tenant, subscription or object id.
PLACEHOLDER_GUIDS: Final = frozenset(
    {"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"}
)
# Reasons that say nothing (compared case-insensitively, surrounding punctuation ignored).
PLACEHOLDER_REASONS: Final = frozenset(
    {"todo", "tbd", "tba", "fixme", "xxx", "n/a", "na", "none", "-", "?", "...", "changeme"}
)
# Letters of other scripts that look like ASCII letters (a few of Unicode's confusables).
_LOOK_ALIKES: Final = {
    "а": "a", "с": "c", "е": "e", "һ": "h", "і": "i", "ј": "j", "ӏ": "l", "о": "o", "р": "p",
    "ԛ": "q", "ѕ": "s", "ԝ": "w", "х": "x", "у": "y", "ο": "o", "α": "a", "ν": "v", "ρ": "p",
    "ι": "i", "κ": "k", "τ": "t", "υ": "u", "ı": "i",
}  # fmt: skip

# oauth2PermissionScope.value: Graph allows these ASCII characters only, no leading dot.
_SCOPE_VALUE_CHAR: Final = re.compile(r"[A-Za-z0-9!#$%&'()*+,\-./:;<=>?@\[\]^_`{|}~]")


def describe_character(char: str) -> str:
    """``'\\u200b' (U+200B ZERO WIDTH SPACE)``: which character, so a reader can find it."""
    name = unicodedata.name(char, "")
    return f"{char!r} (U+{ord(char):04X}{' ' + name if name else ''})"


def _invisible(char: str, *, allow_newlines: bool) -> bool:
    if allow_newlines and char in "\n\t":
        return False
    # Cc: controls (newline, tab, ...), Cf: format characters (zero-width space and joiners,
    # bidirectional overrides, the BOM, soft hyphen), Zl/Zp: line and paragraph separators;
    # any space but the ordinary one (no-break space, en space, ...).
    category = unicodedata.category(char)
    return category in {"Cc", "Cf", "Zl", "Zp"} or (category == "Zs" and char != " ")


# In ASCII the only invisible characters are the controls (category Cc): one regex search
# instead of a category lookup per character, for the common case.
_ASCII_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_ASCII_CONTROL_BUT_NEWLINES: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def hidden_character_problem(value: str, *, allow_newlines: bool = False) -> str | None:
    """Why ``value`` holds a character a reader cannot see (or tell from a space), or ``None``."""
    if value.isascii():
        pattern = _ASCII_CONTROL_BUT_NEWLINES if allow_newlines else _ASCII_CONTROL
        found = pattern.search(value)
        if found is None:
            return None
        value = value[: found.end()]  # the loop below reports it, with its position
    for index, char in enumerate(value):
        if _invisible(char, allow_newlines=allow_newlines):
            return (
                f"contains the invisible character {describe_character(char)} at position "
                f"{index + 1}; retype the value"
            )
    return None


def surrounding_whitespace_problem(value: str) -> str | None:
    """Why ``value`` starts or ends with whitespace (a trailing newline included), or ``None``."""
    if value != value.strip():
        where = "ends" if value[:1] == value.lstrip()[:1] else "starts"
        return f"{where} with whitespace; remove it (YAML block scalars add a final newline)"
    return None


def non_ascii_problem(value: str, what: str) -> str | None:
    """Why ``value`` (a ``what`` that Entra or Azure accepts only in ASCII) is refused, or None."""
    for char in value:
        if not char.isascii():
            hint = _LOOK_ALIKES.get(char.lower())
            looks = f", which looks like the ASCII {hint!r}" if hint else ""
            idn = " (write an internationalised domain in its xn-- form)"
            return (
                f"contains the non-ASCII character {describe_character(char)}{looks}; {what} "
                f"must be ASCII{idn if 'domain' in what or 'URI' in what else ''}"
            )
    return None


def hygiene_problem(value: str, what: str, *, ascii_only: bool = True) -> str | None:
    """Surrounding whitespace, invisible characters and (where asked) non-ASCII characters."""
    return (
        surrounding_whitespace_problem(value)
        or hidden_character_problem(value)
        or (non_ascii_problem(value, what) if ascii_only else None)
    )


def guid_problem(value: str) -> str | None:
    """Why ``value`` is not a usable GUID (any case accepted), or ``None``."""
    problem = hygiene_problem(value, "a GUID")
    if problem:
        return problem
    if not GUID_RE.match(value):
        return "is not a GUID (expected 8-4-4-4-12 hexadecimal digits)"
    if value.lower() in PLACEHOLDER_GUIDS or len(set(value.replace("-", "").lower())) == 1:
        return "is a placeholder GUID, not a real id; use the id the portal or az CLI shows"
    return None


def domain_problem(host: str) -> str | None:
    """Why ``host`` is not an ASCII domain name (look-alike letters of other scripts named)."""
    return hygiene_problem(host, "a domain name")


def text_problem(
    value: str,
    *,
    allow_newlines: bool = True,
    wanted: str = "the text reviewers and users will read",
) -> str | None:
    """Free text (descriptions, consent texts): not blank, no invisible characters."""
    if not value.strip():
        return f"is blank; write {wanted}"
    return hidden_character_problem(value, allow_newlines=allow_newlines)


def reason_problem(value: str) -> str | None:
    """A reason reviewers and auditors read: not blank, not a placeholder."""
    problem = text_problem(value, wanted="why it is needed")
    if problem:
        return problem
    if value.strip().strip(".!").lower() in PLACEHOLDER_REASONS or value.strip() in {"...", "?"}:
        return f"{value.strip()!r} is a placeholder, not a reason; say why it is needed"
    return None


def ip_rule_problem(value: str, min_prefix: int = MIN_IP_RULE_PREFIX) -> str | None:
    """Why a Key Vault firewall (``networkAcls.ipRules``) entry is refused, or ``None``.

    The vault's firewall sees only public client addresses, so a private, loopback, link-local or
    reserved range admits nothing (a private endpoint is what reaches a vault privately); a range
    wider than ``/min_prefix`` opens the vault to a large part of the internet.
    """
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None  # the caller's parser reports a malformed range in its own words
    if network.version != 4:
        return None
    if network.prefixlen == 0:
        return "admits every IPv4 address (the whole internet); list the exact egress addresses"
    reserved = [(ipaddress.IPv4Network(cidr), what) for cidr, what in NON_PUBLIC_RANGES]
    # Inside a non-public range first (10.0.0.0/8 is private before it is wide), then too wide
    # (0.0.0.0/1 is wide before it contains 0.0.0.0/8), then any other overlap.
    inside = [(cidr, what) for cidr, what in reserved if network.subnet_of(cidr)]
    overlapping = inside or [(cidr, what) for cidr, what in reserved if network.supernet_of(cidr)]
    if network.prefixlen < min_prefix and not inside:
        return (
            f"admits {network.num_addresses:,} addresses (/{network.prefixlen}), wider than "
            f"/{min_prefix}; list the exact egress addresses or a narrower range"
        )
    if overlapping:
        cidr, what = overlapping[0]
        return (
            f"overlaps {cidr}, {what}: the Key Vault firewall sees only public addresses; "
            "reach the vault privately through a private endpoint instead"
        )
    return None


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
    problem = hygiene_problem(uri, "an identifier URI")
    if problem:
        return problem
    try:
        parts = urlsplit(uri)
    except ValueError as error:
        return f"is not a valid URL ({error})"
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


def uri_form_problem(uri: str) -> str | None:
    """What any redirect or homepage URI must not hold, whatever its scheme: surrounding
    whitespace, invisible or non-ASCII characters, a fragment (RFC 6749 section 3.1.2), user
    information before the host, and the characters Entra's reply-URL rules refuse."""
    problem = hygiene_problem(uri, "a redirect URI")
    if problem:
        return problem
    try:
        parts = urlsplit(uri)
    except ValueError as error:
        return f"is not a valid URL ({error})"
    if "#" in uri:
        return (
            "has a fragment ('#...'): RFC 6749 section 3.1.2 forbids one in a redirect URI, and "
            "the authorization server would append its own"
        )
    if "@" in parts.netloc:
        return (
            "has user information ('...@') before the host: a reader sees the part before '@' "
            "as the host; remove it"
        )
    refused = sorted({char for char in uri if char in REDIRECT_URI_REFUSED_CHARACTERS})
    if refused:
        return (
            f"contains {', '.join(repr(char) for char in refused)}: Entra does not support the "
            f"characters {' '.join(REDIRECT_URI_REFUSED_CHARACTERS)} in redirect URIs "
            "(percent-encode them if the path needs them)"
        )
    return None


def redirect_scheme_problem(
    uri: str, *, allow_localhost: bool, sam_loopback: bool = False, redirect: bool = True
) -> str | None:
    """https, or http(s) on localhost where allowed; a well-formed URL of Entra's length.

    ``allow_localhost``: any localhost URI (development apps). ``sam_loopback``: exactly
    ``http://localhost/`` (the Secure Application Model app's consent sign-in), no other.
    ``redirect``: a redirect URI (a homepage is not): it needs a path, "/" at least.
    """
    problem = uri_form_problem(uri)
    if problem:
        return problem
    parts = urlsplit(uri)
    if redirect and parts.netloc and not parts.path:
        return (
            'has no path: the azuread provider refuses a redirect URI without one ("URI must '
            "have a trailing slash when there is no path segment\"); end it with '/'"
        )
    host = (parts.hostname or "").lower()
    if host in LOCAL_HOSTS:
        if allow_localhost:
            pass
        elif sam_loopback:
            if uri not in SAM_LOOPBACK_REDIRECTS:
                return (
                    "is not the Secure Application Model app's loopback redirect: it may use "
                    "exactly 'http://localhost/' (no port, no other path; Entra ignores the port "
                    "of a localhost redirect, so this covers the consent sign-in on any port)"
                )
        else:
            return (
                "points at localhost; only apps marked development (or exactly "
                "'http://localhost/' on the Secure Application Model app) may use localhost"
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
    uri: str, *, allow_localhost: bool, sam_loopback: bool = False, redirect: bool = True
) -> str | None:
    """Why Entra should not send tokens to this redirect (or homepage) URI, or ``None``."""
    return redirect_wildcard_problem(uri) or redirect_scheme_problem(
        uri, allow_localhost=allow_localhost, sam_loopback=sam_loopback, redirect=redirect
    )


def scope_value_problem(value: str) -> str | None:
    """Why Graph would refuse this oauth2PermissionScope value, or ``None``."""
    if not value:
        return "is empty; name the scope (clients request it by value)"
    bad = sorted({char for char in value if not _SCOPE_VALUE_CHAR.fullmatch(char)})
    if bad or value.startswith("."):
        shown = ", ".join(describe_character(char) for char in bad) or "a leading '.'"
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
