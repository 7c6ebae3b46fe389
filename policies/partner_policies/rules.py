"""The pure checks the program's config edge and the policy pack share: one owner per rule.

The config edge (``components/config.py``) refuses bad input before anything is registered and
names the file and key; the policies (``apps``, ``credentials``) judge the resources a preview
registers and name the resource. Both call these functions, so they cannot disagree on the same
input (``tests/test_rules_agree.py`` checks each rule through both).

This module lives in the pack because a published pack runs alone; besides the standard library
it imports only ``cryptography`` (to read certificates), which the program's and the pack's
requirements both pin at one version, so the program imports it with only its own requirements
installed.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import PublicKeyAlgorithmOID

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


def api_uri_guid(uri: str) -> str | None:
    """The GUID right after ``api://`` (lower case), or ``None`` for any other URI."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if parts.scheme.lower() != "api" or not GUID_RE.match(parts.netloc):
        return None
    return parts.netloc.lower()


def api_uri_owner_problem(uri: str, tenant_id: str, client_id: str | None = None) -> str | None:
    """Why an ``api://<GUID>`` identifier URI does not carry this region's own tenant or app,
    or ``None`` (also for every URI that is not of that form: the form rule reports those).

    Entra's formats (identifier-uri-restrictions: api://<appId>, api://<tenantId>/<appId>,
    api://<tenantId>/<string>) put the app's own client id or its tenant's id right after
    ``api://``: that is what makes the URI unique and ties it to its tenant. A GUID of another
    region (its tenant, one of its apps) would make this region's app claim an identity of
    another partner tenant. ``client_id`` is the app's own client id where it is known (after
    its creation); without it only the tenant id is accepted. ``api://<tenant id>`` alone names
    the tenant, not an app (and only one app of the tenant could hold it): it needs a path.
    """
    guid = api_uri_guid(uri)
    if guid is None:
        return None
    if guid == tenant_id.lower():
        if not urlsplit(uri).path.strip("/"):
            return (
                "is the tenant id alone; an identifier URI on the tenant id names an app with a "
                "path: api://<tenant id>/<path>"
            )
        return None
    if client_id is not None and guid == client_id.lower():
        return None
    app = f" ({client_id})" if client_id else ""
    return (
        f"carries {guid}, which is neither this region's tenant id ({tenant_id}) nor the app's "
        f"own client id{app}: an api:// identifier URI names its own region's tenant or app only"
    )


# Hosts that hand a public name to whoever runs a tunnel or pastes a page: a redirect URI on one
# sends authorization codes and tokens to a machine nobody reviewed, and the name can pass to a
# stranger once the tunnel closes. Suffixes, matched on the host and its parents: ngrok
# (ngrok.io, ngrok-free.app, ngrok.app and their .dev forms), Cloudflare quick tunnels
# (trycloudflare.com), localtunnel (loca.lt), serveo (serveo.net), localhost.run
# (localhost.run, lhr.life), Microsoft dev tunnels (devtunnels.ms), Tailscale Funnel (ts.net),
# pinggy (pinggy.link), and hosts of pasted or user-published pages (pastebin.com, hastebin.com,
# paste.ee, glitch.me, repl.co, webhook.site, requestbin.net, pipedream.net). A reviewed
# allow-list never admits them.
TUNNEL_HOST_SUFFIXES: Final = (
    "ngrok.io",
    "ngrok-free.app",
    "ngrok.app",
    "ngrok-free.dev",
    "ngrok.dev",
    "trycloudflare.com",
    "loca.lt",
    "serveo.net",
    "localhost.run",
    "lhr.life",
    "devtunnels.ms",
    "ts.net",
    "pinggy.link",
    "pastebin.com",
    "hastebin.com",
    "paste.ee",
    "glitch.me",
    "repl.co",
    "webhook.site",
    "requestbin.net",
    "pipedream.net",
)


def _within(host: str, domain: str) -> bool:
    domain = domain.lower().rstrip(".")
    return host == domain or host.endswith("." + domain)


def redirect_host(uri: str) -> str | None:
    """The host a redirect URI sends tokens to (lower case, no trailing dot), or None when it has
    none or is not a URL (the https and form rules judge those)."""
    try:
        host = urlsplit(uri.strip()).hostname
    except ValueError:
        return None
    return host.rstrip(".").lower() if host else None


def redirect_host_problem(
    uri: str, verified_domains: Iterable[str], allowed_hosts: Iterable[str] = ()
) -> str | None:
    """Why a redirect URI's host is outside the region's reach, or None.

    A host is in reach when it is one of the tenant's verified domains or below one, or listed
    exactly in the reviewed allow-list of external redirect hosts. Loopback hosts keep their own
    rule (``redirect_scheme_problem``). A tunnel or paste host (``TUNNEL_HOST_SUFFIXES``) is
    never in reach.
    """
    host = redirect_host(uri)
    if host is None or host in LOCAL_HOSTS:
        return None
    tunnel = next((s for s in TUNNEL_HOST_SUFFIXES if _within(host, s)), None)
    if tunnel is not None:
        return (
            f"sends tokens to {host}, a tunnel or paste host ({tunnel}): anyone who runs such a "
            "tunnel can receive them"
        )
    domains = [str(d) for d in verified_domains]
    if any(_within(host, d) for d in domains):
        return None
    if host in {str(h).lower().rstrip(".") for h in allowed_hosts}:
        return None
    return (
        f"sends tokens to {host}, outside the region's verified domains "
        f"({', '.join(domains) or 'none'}) and not in the reviewed allowedExternalHosts"
    )


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


# --- Certificate credentials ---------------------------------------------------------------------
#
# The public certificate of a certificate credential, checked the same way at the config edge (the
# PEM file of the repository) and by the pack (the value of an ApplicationCertificate). The
# certificate is read with `cryptography` (pinned in the pack's own requirements, at the
# program's version). What stays here is what it does not offer: the PEM file's layout (text
# outside or after the blocks, which its PEM loader does not report), the length of the
# certificate's DER element (to say how much trailing data follows it), and key material told
# from its first bytes, which a key cut short still has (`_looks_like_key`).
#
# What Entra accepts, and what the docs do not say:
# * Entra uses the certificate's public key to verify the client assertion the app signs; the
#   assertion's documented algorithms are RSA signatures only ("alg: PS256", earlier "RS256":
#   https://learn.microsoft.com/entra/identity-platform/certificate-credentials). The docs name
#   no elliptic curve, so an EC key (or Ed25519, DSA, an RSA-PSS-only key) is refused as the
#   safe reading: a credential the app may not be able to sign in with.
# * At least 2048 bits for RSA: the floor issue 28 gives, after the Graph keyCredential and
#   certificate-credential docs. Assumption: the parts of those pages read for this change state
#   no number (keyCredential says only "the certificate's raw data"); 2048 bits is also NIST SP
#   800-131A's minimum for RSA signatures since 2014, so nothing weaker is accepted.
# * Only the public key: "You should only provide the public key value when adding a certificate
#   credential to your application. Adding a private key certificate to your application risks
#   compromising the application." (Graph application: addKey). Anything in the file that looks
#   like key material is refused, with or without its PEM header lines.
# * A CA certificate (basicConstraints CA:TRUE) is refused: its key signs other certificates, and
#   an app credential must be the app's own end-entity certificate (assumption: Entra itself
#   accepts one; the rule is hygiene, like the private key rule).
# * Not yet valid: Entra starts the credential when the certificate does, so a certificate that
#   starts after the day of the `pulumi up` would replace a working credential with one that signs
#   nobody in until then (the same reasoning as a secret's rotation date).

MIN_RSA_KEY_BITS: Final = 2048
# How a certificate's key other than RSA is named, by its algorithm (SubjectPublicKeyInfo).
_KEY_ALGORITHMS: Final = {
    PublicKeyAlgorithmOID.EC_PUBLIC_KEY: "an elliptic-curve (EC) key",
    PublicKeyAlgorithmOID.RSASSA_PSS: "an RSA-PSS-only key (id-RSASSA-PSS)",
    PublicKeyAlgorithmOID.ED25519: "an Ed25519 key",
    PublicKeyAlgorithmOID.ED448: "an Ed448 key",
    PublicKeyAlgorithmOID.DSA: "a DSA key",
    x509.ObjectIdentifier("1.2.840.10046.2.1"): "a Diffie-Hellman key",
}
# The NIST names of the curves `cryptography` names by their SEC 2 names (others keep those).
_CURVES: Final = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
# What `cryptography` raises on a certificate it cannot read: bad DER, a version other than 1 to
# 3, a malformed, repeated or unsupported extension or name, an RSA key it cannot load.
_UNREADABLE: Final = (
    ValueError,
    UnsupportedAlgorithm,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)
_PUBLIC_ONLY_FIX: Final = (
    "commit only the public certificate (openssl x509 -in <file> -out <public>.pem) and keep "
    "the key in Key Vault"
)
_PEM_LINE: Final = re.compile(r"-----(BEGIN|END) ([^-]*)-----")
# A line of base64 (a PEM body line, a key pasted without its header lines).
_BASE64_LINE: Final = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}\Z")
_MAX_DER_LENGTH_BYTES: Final = 4


def _header_end(data: bytes, offset: int) -> int | None:
    """Where the content of the DER element at ``offset`` starts (its length need not fit), or
    ``None`` when the data ends before its length byte."""
    if offset + 2 > len(data):
        return None
    first = data[offset + 1]
    return offset + 2 + (first & 0x7F if first >= 0x80 else 0)


def _element_end(data: bytes) -> int | None:
    """Where the DER element that starts ``data`` ends, by the length in its header: what comes
    after it is trailing data. ``None`` when that header holds no DER length (indefinite, or more
    than ``_MAX_DER_LENGTH_BYTES`` length bytes) or the element runs past the data (the
    certificate parser reports those). `cryptography` refuses trailing data without saying how
    much, hence this one header read."""
    start = _header_end(data, 0)
    if start is None or start > len(data):
        return None
    first = data[1]
    if first >= 0x80 and not 0 < first & 0x7F <= _MAX_DER_LENGTH_BYTES:
        return None
    end = start + (int.from_bytes(data[2:start], "big") if first >= 0x80 else first)
    return end if end <= len(data) else None


def _looks_like_key(der: bytes) -> bool:
    """DER of key material rather than of a certificate, judged from its first bytes (so a key
    body cut short still counts): a SEQUENCE that starts with an INTEGER (PKCS#8
    PrivateKeyInfo, PKCS#1 RSAPrivateKey, SEC1 ECPrivateKey, a DSA key and a PKCS#12 bundle all
    start with their version), or one that starts with an algorithm identifier (an
    EncryptedPrivateKeyInfo). A certificate starts with its to-be-signed SEQUENCE, whose own
    first element is a version tag or the serial number, never an algorithm's OID.

    Not `cryptography`'s ``load_der_private_key``: it loads only a whole key, and refuses with
    the same ``ValueError`` as garbage what this rule must still call key material: a body cut
    short (a base64 line of under 16 characters is not taken for base64 outside the PEM blocks;
    a body pasted into a block stops at the first character that is not base64), a PKCS#12
    bundle, a key of an algorithm or encryption it does not support. (An encrypted PKCS#8 key it
    does recognise, by a ``TypeError`` for the missing password.) Every key it loads has one of
    the shapes above, so asking it first would change no verdict.
    """
    if not der or der[0] != 0x30:
        return False
    inner = _header_end(der, 0)
    if inner is None or inner >= len(der):
        return False
    if der[inner] == 0x02:
        return True
    innermost = _header_end(der, inner)
    return (
        der[inner] == 0x30
        and innermost is not None
        and innermost < len(der)
        and der[innermost] == 0x06
    )


def _public_key(certificate: x509.Certificate) -> tuple[str, int]:
    """``("rsa", bits)``, or what the certificate's key is instead and 0 (an EC key with its
    curve where `cryptography` loads it). Raises ``ValueError`` for an RSA key it cannot load."""
    algorithm = certificate.public_key_algorithm_oid
    if algorithm == PublicKeyAlgorithmOID.RSAES_PKCS1_v1_5:
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("not an RSA key")
        return "rsa", key.key_size
    what = _KEY_ALGORITHMS.get(algorithm, f"a key of algorithm {algorithm.dotted_string}")
    if algorithm == PublicKeyAlgorithmOID.EC_PUBLIC_KEY:
        try:
            key = certificate.public_key()
        except (ValueError, UnsupportedAlgorithm):
            return what, 0  # a curve it does not support, a point not on the curve
        if isinstance(key, ec.EllipticCurvePublicKey):
            what = f"{what} (curve {_CURVES.get(key.curve.name, key.curve.name)})"
    return what, 0


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca


def certificate_der_problem(der: bytes, today: date | None = None) -> str | None:
    """Why this DER certificate (the one sent to Entra) is refused, or ``None``: key material,
    not a certificate, a key Entra's certificate credentials do not document, RSA below
    ``MIN_RSA_KEY_BITS``, a CA certificate, or (with ``today``) not valid yet."""
    if _looks_like_key(der):
        return (
            f"looks like a private key (or a PKCS#12 bundle), not a certificate; {_PUBLIC_ONLY_FIX}"
        )
    end = _element_end(der)
    trailing = der[end:] if end is not None else b""
    if trailing:
        if _looks_like_key(trailing):
            return (
                f"has key material after the certificate, inside its PEM block; {_PUBLIC_ONLY_FIX}"
            )
        return (
            f"has {len(trailing)} bytes of data after the certificate, inside its PEM block; the "
            "file must hold the certificate alone: openssl x509 -in <file> -out <public>.pem "
            "writes it so"
        )
    try:
        certificate = x509.load_der_x509_certificate(der)
        key, rsa_bits = _public_key(certificate)
        is_ca = _is_ca(certificate)
        not_before = certificate.not_valid_before_utc.date()
    except _UNREADABLE:
        return "is not a valid X.509 certificate (its DER structure does not parse)"
    if key != "rsa":
        return (
            f"has {key}; Entra's certificate credentials are documented for RSA "
            "signatures only (client assertion alg PS256, earlier RS256): issue the certificate "
            f"with an RSA key of at least {MIN_RSA_KEY_BITS} bits"
        )
    if rsa_bits < MIN_RSA_KEY_BITS:
        return (
            f"has an RSA key of {rsa_bits} bits; Entra needs at least "
            f"{MIN_RSA_KEY_BITS}: issue a new certificate with a {MIN_RSA_KEY_BITS}-bit (or "
            "larger) RSA key"
        )
    if is_ca:
        return (
            "is a CA certificate (basicConstraints CA:TRUE): a CA's key signs other "
            "certificates and must not be an app's sign-in credential; issue an end-entity "
            "certificate (CA:FALSE) for the app"
        )
    if today is not None and not_before > today:
        return (
            f"is not valid yet: it starts on {not_before.isoformat()}, after today "
            f"({today.isoformat()}), and Entra starts the credential with it, so the app would "
            "have no working certificate until then; add it on or after that day"
        )
    return None


@dataclass(frozen=True)
class _PemBlock:
    label: str
    line: int  # of its BEGIN line
    body: str
    end: int  # the line of its END line


def _pem_structure(text: str) -> tuple[list[_PemBlock], list[tuple[int, str]]] | str:
    """The PEM blocks of ``text`` and its non-blank lines outside them, or why it is not PEM."""
    blocks: list[_PemBlock] = []
    outside: list[tuple[int, str]] = []
    current: tuple[str, int, list[str]] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        match = _PEM_LINE.fullmatch(stripped)
        if match is None:
            if current is not None:
                current[2].append(stripped)
            elif stripped:
                outside.append((number, stripped))
        elif match[1] == "BEGIN" and current is None:
            current = (match[2], number, [])
        elif match[1] == "END" and current is not None and match[2] == current[0]:
            blocks.append(_PemBlock(current[0], current[1], "".join(current[2]), number))
            current = None
        else:
            return f"is not a well-formed PEM file (line {number}: {stripped!r} out of place)"
    if current is not None:
        return f"is not a well-formed PEM file (the block at line {current[1]} has no END line)"
    return blocks, outside


def _b64_prefix(text: str) -> bytes:
    """The bytes the leading base64 of ``text`` decodes to (padding and any rest dropped): enough
    to tell key material from its first bytes."""
    head = re.match(r"[A-Za-z0-9+/]*", "".join(text.split()))
    digits = head[0] if head else ""
    return base64.b64decode(digits[: len(digits) - len(digits) % 4])


def _outside_problem(outside: list[tuple[int, str]], last_end: int) -> str | None:
    """Why text outside the PEM blocks is refused, or ``None``.

    Explanatory text before a block is what OpenSSL writes (``subject=...``, ``Bag
    Attributes``) and RFC 7468 section 5.2 lets parsers skip: it stays, but only as words.
    Refused: base64 (a private key's body pasted without its header lines looks exactly so),
    text that speaks of a private key (``openssl rsa -text`` prints one in hexadecimal), and
    anything after the last END line (trailing data, which nothing reads and anything can hide
    in).
    """
    encoded = [(number, line) for number, line in outside if _BASE64_LINE.fullmatch(line)]
    if encoded:
        number = encoded[0][0]
        der = _b64_prefix("".join(line for _, line in encoded))
        what = (
            "a private key's base64 body without its PEM header lines"
            if _looks_like_key(der)
            else "base64 data outside the PEM blocks, which may be key material (a private key "
            "without its header lines)"
        )
        return f"holds {what} (line {number}); never commit key material: {_PUBLIC_ONLY_FIX}"
    for number, line in outside:
        if "private" in line.lower():
            return (
                f"holds text that describes key material (line {number}: {_excerpt(line)!r}); "
                f"never commit key material: {_PUBLIC_ONLY_FIX}"
            )
    trailing = [(number, line) for number, line in outside if number > last_end]
    if trailing:
        number, line = trailing[0]
        return (
            f"has data after the certificate's END line (line {number}: {_excerpt(line)!r}); "
            "the file must end with the certificate: openssl x509 -in <file> -out "
            "<public>.pem writes it so"
        )
    return None


def _excerpt(value: str, width: int = 40) -> str:
    return value if len(value) <= width else f"{value[:width]}..."


def _block_contents(blocks: list[_PemBlock]) -> list[bytes] | str:
    """The DER of every PEM block, or why one is refused (not base64, or key material)."""
    ders: list[bytes] = []
    for block in blocks:
        try:
            der = base64.b64decode(block.body, validate=True)
        except ValueError:
            # Base64 after the padding: a second body (a key's?) pasted into the block.
            pasted = re.split(r"(?<==)(?=[^=])", block.body)[1:]
            if any(_looks_like_key(_b64_prefix(part)) for part in pasted):
                return (
                    f"holds key material in its {block.label!r} block (line {block.line}), "
                    f"after the certificate's own base64; {_PUBLIC_ONLY_FIX}"
                )
            return f"has a {block.label!r} block (line {block.line}) that is not valid base64"
        if _looks_like_key(der):
            return (
                f"holds key material in its {block.label!r} block (line {block.line}); "
                f"{_PUBLIC_ONLY_FIX}"
            )
        ders.append(der)
    for block in blocks:
        if block.label != "CERTIFICATE":
            return (
                f"holds a {block.label!r} block (line {block.line}); only CERTIFICATE blocks "
                "belong in a certificate credential's file"
            )
    return ders


def _pem_text(data: bytes) -> tuple[str, str | None]:
    """The text of a PEM file and ``None``, or ``""`` and why it is refused before parsing."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if _looks_like_key(data):
            return "", f"looks like a private key in binary (DER) form; {_PUBLIC_ONLY_FIX}"
        if b"-----BEGIN" in data:
            return "", (
                f"holds binary data (byte 0x{data[error.start]:02x} at offset {error.start}) "
                "besides its PEM text; the file must hold the certificate alone: openssl x509 "
                "-in <file> -out <public>.pem writes it so"
            )
        return "", _NOT_PEM
    if re.search(r"-----(BEGIN|END)[^-\n]*PRIVATE KEY", text, re.IGNORECASE):
        return "", f"contains a private key; {_PUBLIC_ONLY_FIX}"
    return text, None


def certificate_file_problem(data: bytes, today: date | None = None) -> str | None:
    """Why a certificate credential's PEM (a file of the repository, or the value of an
    ApplicationCertificate with encoding ``pem``) is refused, or ``None``.

    The file holds CERTIFICATE blocks (a chain is fine), with at most explanatory text before
    them and nothing after the last one; the first is the one Entra receives and is checked by
    ``certificate_der_problem``; any block, line or byte that is or may be key material is
    refused, with or without PEM header lines.
    """
    text, refused = _pem_text(data)
    if refused is not None:
        return refused
    structure = _pem_structure(text)
    if isinstance(structure, str):
        return structure
    blocks, outside = structure
    if not blocks and not any(_BASE64_LINE.fullmatch(line) for _, line in outside):
        return _NOT_PEM
    # Key material first, wherever it is: it is the one problem that must never be committed.
    ders = _block_contents(blocks)
    outside_problem = _outside_problem(outside, blocks[-1].end if blocks else 0)
    if isinstance(ders, str) and "key material" in ders:
        return ders
    if outside_problem is not None:
        return outside_problem
    if isinstance(ders, str):
        return ders
    return certificate_der_problem(ders[0], today)


_NOT_PEM: Final = (
    "is not a PEM certificate (convert a DER file with openssl x509 -inform der -outform pem)"
)
