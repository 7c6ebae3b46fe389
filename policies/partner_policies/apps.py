"""App registration policies: audience, App ID URIs, redirect URIs, implicit grant, scopes, owners.

A partner-managed app is a multi-tenant Entra ID app in the regional partner tenant (CSP source
document). Microsoft's app registration guidance fills in the rest: App ID URIs on a verified
domain or ``api://``, https redirect URIs without wildcards, implicit grant off, scopes with stable
GUID ids and consent texts, and owners who answer for the app.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from . import references as ref
from . import rules, tokens
from ._framework import (
    GUID_RE,
    UNKNOWN,
    ConfigProperty,
    PolicySpec,
    ResourceContext,
    as_bool,
    as_text,
    get,
    items_of,
    property_policy,
    resource_policy,
)

MULTI_TENANT_AUDIENCE = "AzureADMultipleOrgs"


def _multi_tenant() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azuread-application-multi-tenant",
        description="Partner-managed apps are multi-tenant (signInAudience AzureADMultipleOrgs).",
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Set sign_in_audience='AzureADMultipleOrgs' on the azuread.Application. "
            "Partner-managed apps act in customer tenants, which a single-tenant app cannot, and "
            "personal Microsoft accounts have no place in a CSP app."
        ),
        url=ref.CSP_GRAPH.url,
        references=(ref.CSP_GRAPH, ref.MS_MULTI_TENANT),
        applies_to=(tokens.APPLICATION,),
        tags=("azuread", "app-registration"),
    )
    return property_policy(
        spec,
        path=("signInAudience",),
        accept=lambda value, _config: value == MULTI_TENANT_AUDIENCE,
        when_missing="AzureADMyOrg",
        expectation=f"partner-managed apps must use {MULTI_TENANT_AUDIENCE}",
        fix=f"set signInAudience to {MULTI_TENANT_AUDIENCE}.",
    )


# --- Identifier URIs -----------------------------------------------------------------------------


def _identifier_uris(resource: ResourceContext) -> list[tuple[str, Any]]:
    if resource.type == tokens.IDENTIFIER_URI:
        return [("identifierUri", get(resource.props, "identifierUri"))]
    uris = get(resource.props, "identifierUris")
    if uris is UNKNOWN:
        return []
    return [(f"identifierUris[{i}]", uri) for i, uri in enumerate(items_of(uris))]


def _check_identifier_uris(resource: ResourceContext) -> Iterable[str]:
    domains = [str(d) for d in resource.config.get("verifiedDomains", [])]
    for where, uri in _identifier_uris(resource):
        if uri is UNKNOWN or uri is None:
            continue
        problem = rules.identifier_uri_problem(str(uri), domains)
        if problem:
            yield resource.violation(
                f"{where} {uri!r} {problem} (verified domains: {', '.join(domains) or 'none'}).",
                "use api://<client id>[/<path>], api://<tenant id>/<path> or "
                "https://<verified domain>/<path>; a multi-tenant app's App ID URI must be "
                "globally unique, which only these forms guarantee.",
            )


def _identifier_uris_policy() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azuread-application-identifier-uris",
        description=(
            "App ID URIs are api://<client id or tenant id>[/...] or https:// on a verified "
            "domain of the tenant."
        ),
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Use api://<client id> (optionally with a /<path>), api://<tenant id>/<path>, or "
            "https://<verified domain>/<app> with a domain listed in verifiedDomains of the "
            "region's policy config (and verified in the partner tenant)."
        ),
        url=ref.MS_IDENTIFIER_URIS.url,
        references=(ref.MS_IDENTIFIER_URIS, ref.MS_MULTI_TENANT, ref.MS_APP_SECURITY),
        applies_to=(tokens.APPLICATION, tokens.IDENTIFIER_URI),
        config=(
            ConfigProperty(
                "verifiedDomains",
                {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Verified domains of the region's partner tenant.",
                },
                required=True,
                loosens="add",
            ),
        ),
        tags=("azuread", "app-registration", "region"),
    )
    return resource_policy(spec, _check_identifier_uris)


# --- Redirect URIs -------------------------------------------------------------------------------


def _redirect_uris(resource: ResourceContext) -> list[tuple[str, str]]:
    """Each redirect URI with where it is; unknown (preview) values are left out."""
    if resource.type == tokens.REDIRECT_URIS:
        blocks = [("redirectUris", get(resource.props, "redirectUris"))]
    else:
        blocks = [
            (f"{block}.redirectUris", get(resource.props, block, "redirectUris"))
            for block in ("web", "singlePageApplication", "publicClient")
        ]
    return [
        (f"{where}[{i}]", uri)
        for where, uris in blocks
        for i, uri in enumerate(items_of(uris))
        if isinstance(uri, str)
    ]


_REDIRECT_TYPES = (tokens.APPLICATION, tokens.REDIRECT_URIS)


def _allows_localhost(resource: ResourceContext) -> bool:
    """Region-wide allowLocalhost, or this app's display name in allowLocalhostApps (generated
    from apps.yaml's development apps)."""
    if as_bool(resource.config.get("allowLocalhost", False)):
        return True
    apps = resource.config.get("allowLocalhostApps") or []
    name = get(resource.props, "displayName")
    return isinstance(name, str) and name in [str(app) for app in apps]


def _is_sam_app(resource: ResourceContext) -> bool:
    """This app's display name in samLoopbackApps (generated from apps.yaml's
    secureApplicationModel apps): exactly http://localhost/ is accepted for it."""
    apps = resource.config.get("samLoopbackApps") or []
    name = get(resource.props, "displayName")
    return isinstance(name, str) and name in [str(app) for app in apps]


def _check_redirect_https(resource: ResourceContext) -> Iterable[str]:
    allow_localhost = _allows_localhost(resource)
    sam_loopback = _is_sam_app(resource)
    for where, uri in _redirect_uris(resource):
        problem = rules.redirect_scheme_problem(
            uri, allow_localhost=allow_localhost, sam_loopback=sam_loopback
        )
        if problem:
            yield resource.violation(
                f"{where} {uri!r} {problem}.",
                "use an https:// redirect URI of at most "
                f"{rules.MAX_REDIRECT_URI_LENGTH} characters; http://localhost only for an app "
                "marked development (or secureApplicationModel) in apps.yaml.",
            )


def _redirect_https_policy() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azuread-application-redirect-uris-https",
        description="Redirect URIs use https (localhost only where the region config allows it).",
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Change every redirect URI to https:// (at most 256 characters). Localhost URIs are "
            "accepted only for the apps listed in allowLocalhostApps (generated from apps.yaml's "
            "development apps) or where allowLocalhost is set; exactly http://localhost/ for the "
            "apps in samLoopbackApps (the Secure Application Model app's consent sign-in)."
        ),
        url=ref.MS_REDIRECT_URIS.url,
        references=(ref.MS_REDIRECT_URIS, ref.MS_APP_SECURITY),
        applies_to=_REDIRECT_TYPES,
        config=(
            ConfigProperty(
                "allowLocalhost",
                {
                    "type": "boolean",
                    "default": False,
                    "description": "Accept http(s)://localhost redirect URIs on every app.",
                },
                loosens="enable",
            ),
            ConfigProperty(
                "allowLocalhostApps",
                {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": (
                        "Display names of the apps that may use localhost redirect URIs "
                        "(generated from apps.yaml)."
                    ),
                },
                loosens="add",
            ),
            ConfigProperty(
                "samLoopbackApps",
                {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": (
                        "Display names of the Secure Application Model apps, which may use "
                        "exactly http://localhost/ (generated from apps.yaml)."
                    ),
                },
                loosens="add",
            ),
        ),
        tags=("azuread", "app-registration"),
    )
    return resource_policy(spec, _check_redirect_https)


def _check_redirect_hosts(resource: ResourceContext) -> Iterable[str]:
    domains = [str(d) for d in resource.config.get("verifiedDomains", [])]
    allowed = [str(h) for h in resource.config.get("allowedExternalHosts", [])]
    for where, uri in _redirect_uris(resource):
        # A URI the mandatory redirect rules refuse (not https, a wildcard, a malformed form)
        # already fails the preview with its own finding; one finding per URI is enough.
        if (
            not uri.startswith("https://")
            or rules.redirect_wildcard_problem(uri)
            or rules.uri_form_problem(uri)
        ):
            continue
        problem = rules.redirect_host_problem(uri, domains, allowed)
        if problem:
            yield resource.violation(
                f"{where} {uri!r} {problem}.",
                "use a redirect URI on one of the region's verified domains; a host the partner "
                "runs outside them is listed, after review, in allowedExternalHosts of "
                "policies/reviewed/default.json (then run `make generate`); tunnel and paste "
                "hosts are never accepted.",
            )


def _redirect_hosts_policy() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azuread-application-redirect-uris-verified-hosts",
        description=(
            "Redirect URIs send tokens to the region's verified domains or reviewed external "
            "hosts, never to a tunnel or paste host."
        ),
        severity=Severity.HIGH,
        # Advisory: a partner may run a sign-in host outside its verified domains; the reviewed
        # allow-list records that decision, and the diff marks every new host with ⚠.
        enforcement=EnforcementLevel.ADVISORY,
        remediation=(
            "Move the redirect URI to a host on one of the region's verified domains, or list "
            "the host (exactly, no wildcard) in allowedExternalHosts of "
            "policies/reviewed/default.json after review and run `make generate`. Tunnel and "
            "paste hosts (ngrok, trycloudflare.com, loca.lt, serveo.net, localhost.run, "
            "devtunnels.ms, ...) are never accepted: whoever runs the tunnel gets the tokens."
        ),
        url=ref.MS_REDIRECT_URIS.url,
        references=(ref.MS_REDIRECT_URIS, ref.MS_APP_SECURITY),
        applies_to=_REDIRECT_TYPES,
        config=(
            ConfigProperty(
                "verifiedDomains",
                {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": (
                        "Verified domains of the region's partner tenant (generated from the "
                        "stack file)."
                    ),
                },
                loosens="add",
            ),
            ConfigProperty(
                "allowedExternalHosts",
                {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": (
                        "Reviewed hosts outside the verified domains that may receive tokens "
                        "(exact host names)."
                    ),
                },
                loosens="add",
            ),
        ),
        tags=("azuread", "app-registration", "region"),
    )
    return resource_policy(spec, _check_redirect_hosts)


def _check_redirect_wildcards(resource: ResourceContext) -> Iterable[str]:
    for where, uri in _redirect_uris(resource):
        if rules.redirect_wildcard_problem(uri):
            yield resource.violation(
                f"{where} {uri!r} contains a wildcard.",
                "list every exact redirect URI; wildcards let an attacker-controlled host receive "
                "authorization codes and tokens.",
            )


def _redirect_wildcards_policy() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azuread-application-redirect-uris-no-wildcards",
        description="Redirect URIs contain no wildcards.",
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation="Replace wildcard redirect URIs with the exact URIs the app uses.",
        url=ref.MS_REDIRECT_URIS.url,
        references=(ref.MS_REDIRECT_URIS, ref.MS_APP_SECURITY),
        applies_to=_REDIRECT_TYPES,
        tags=("azuread", "app-registration"),
    )
    return resource_policy(spec, _check_redirect_wildcards)


# --- Implicit grant ------------------------------------------------------------------------------


def _check_implicit_grant(resource: ResourceContext) -> Iterable[str]:
    enabled = []
    for flag in ("accessTokenIssuanceEnabled", "idTokenIssuanceEnabled"):
        value = get(resource.props, "web", "implicitGrant", flag)
        if value is not UNKNOWN and as_bool(value):
            enabled.append(flag)
    if enabled:
        yield resource.violation(
            f"web.implicitGrant has {' and '.join(enabled)} set to true.",
            "set web.implicitGrant.accessTokenIssuanceEnabled and idTokenIssuanceEnabled to false "
            "and use the authorization code flow (with PKCE for browser clients).",
        )


def _implicit_grant_policy() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azuread-application-implicit-grant-disabled",
        description="Implicit grant (access and ID tokens from the authorization endpoint) is off.",
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Turn off web.implicitGrant.accessTokenIssuanceEnabled and idTokenIssuanceEnabled; "
            "use the authorization code flow."
        ),
        url=ref.MS_IMPLICIT_GRANT.url,
        references=(ref.MS_INTEGRATING_APPS, ref.MS_IMPLICIT_GRANT, ref.MS_APP_SECURITY),
        applies_to=(tokens.APPLICATION,),
        tags=("azuread", "app-registration"),
    )
    return resource_policy(spec, _check_implicit_grant)


# --- Exposed scopes ------------------------------------------------------------------------------

_SCOPE_TYPES = (tokens.APPLICATION, tokens.PERMISSION_SCOPE)


class _Scope:
    """One exposed scope in the Application's shape (``id``, ``value``, consent texts).

    ``field`` names a property as the resource spells it: ``api.oauth2PermissionScopes[0].id``
    inline, ``scopeId`` on an ApplicationPermissionScope (whose other properties have the
    Application's names).
    """

    def __init__(self, where: str, props: Mapping[str, Any], separate: bool) -> None:
        self.where, self.props, self.separate = where, props, separate

    def get(self, name: str) -> Any:
        return self.props.get(name)

    def field(self, name: str) -> str:
        if self.separate:
            return "scopeId" if name == "id" else name
        return f"{self.where}.{name}"


def _scopes(resource: ResourceContext) -> list[_Scope]:
    """Each exposed scope of an Application or ApplicationPermissionScope."""
    if resource.type == tokens.PERMISSION_SCOPE:
        props = dict(resource.props)
        props["id"] = props.get("scopeId")
        return [_Scope("scope", props, separate=True)]
    scopes = get(resource.props, "api", "oauth2PermissionScopes")
    if scopes is UNKNOWN:
        return []
    return [
        _Scope(f"api.oauth2PermissionScopes[{i}]", scope, separate=False)
        for i, scope in enumerate(items_of(scopes))
        if isinstance(scope, Mapping)
    ]


def _check_scope_ids(resource: ResourceContext) -> Iterable[str]:
    seen: dict[str, str] = {}
    for scope in _scopes(resource):
        scope_id = scope.get("id")
        if scope_id is UNKNOWN:
            continue
        if not isinstance(scope_id, str) or not GUID_RE.match(scope_id):
            yield resource.violation(
                f"{scope.field('id')} {scope_id!r} is not a GUID.",
                "give every scope a fixed GUID id (derive it deterministically, never from a "
                "random source) and never change it: clients reference scopes by id.",
            )
            continue
        key = scope_id.lower()
        if key in seen:
            yield resource.violation(
                f"{scope.field('id')} {scope_id} repeats the id of {seen[key]}.",
                "give each scope its own GUID.",
            )
        else:
            seen[key] = scope.where


def _scope_ids_policy() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azuread-application-scope-ids",
        description="Exposed scopes have unique GUID ids.",
        severity=Severity.MEDIUM,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Give each oauth2PermissionScope a stable, unique GUID id. Graph refuses to change or "
            "delete an enabled scope, so an id is chosen once."
        ),
        url=ref.MS_PERMISSION_SCOPE.url,
        references=(ref.MS_PERMISSION_SCOPE, ref.MS_EXPOSE_API),
        applies_to=_SCOPE_TYPES,
        tags=("azuread", "app-registration", "scopes"),
    )
    return resource_policy(spec, _check_scope_ids)


def _check_scope_values(resource: ResourceContext) -> Iterable[str]:
    seen: dict[str, str] = {}
    for scope in _scopes(resource):
        value = scope.get("value")
        if value is UNKNOWN:
            continue
        text = value if isinstance(value, str) else ""
        if not text.strip():
            yield resource.violation(
                f"{scope.field('value')} is empty.",
                "name the scope (for example user_impersonation); clients request it by value.",
            )
            continue
        problem = rules.scope_value_problem(text)
        if problem:
            yield resource.violation(
                f"{scope.field('value')} {text!r} {problem}.",
                "use a value such as user_impersonation or Files.Read in apps.yaml.",
            )
        key = text.lower()
        if key in seen:
            yield resource.violation(
                f"{scope.field('value')} {text!r} repeats the value of {seen[key]}.",
                "give each scope a unique value.",
            )
        else:
            seen[key] = scope.where


def _scope_values_policy() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azuread-application-scope-values",
        description="Exposed scope values are set, unique and contain no spaces.",
        severity=Severity.MEDIUM,
        enforcement=EnforcementLevel.MANDATORY,
        remediation="Give each scope a unique value without whitespace.",
        url=ref.MS_PERMISSION_SCOPE.url,
        references=(ref.MS_PERMISSION_SCOPE, ref.MS_EXPOSE_API),
        applies_to=_SCOPE_TYPES,
        tags=("azuread", "app-registration", "scopes"),
    )
    return resource_policy(spec, _check_scope_values)


def _check_consent_texts(resource: ResourceContext) -> Iterable[str]:
    for scope in _scopes(resource):
        missing = [
            name
            for name in ("adminConsentDisplayName", "adminConsentDescription")
            if scope.get(name) is not UNKNOWN and not (as_text(scope.get(name)) or "")
        ]
        if missing:
            yield resource.violation(
                f"{scope.where} has no {' or '.join(missing)}.",
                "write the admin consent display name and description: they are what a customer "
                "administrator reads before consenting.",
            )


def _consent_text_policy() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azuread-application-scope-consent-text",
        description="Exposed scopes have admin consent display names and descriptions.",
        severity=Severity.LOW,
        enforcement=EnforcementLevel.MANDATORY,
        remediation="Fill adminConsentDisplayName and adminConsentDescription of every scope.",
        url=ref.MS_EXPOSE_API.url,
        references=(ref.MS_EXPOSE_API, ref.MS_CONSENT),
        applies_to=_SCOPE_TYPES,
        tags=("azuread", "app-registration", "scopes"),
    )
    return resource_policy(spec, _check_consent_texts)


# --- Owners --------------------------------------------------------------------------------------


def _check_owners(resource: ResourceContext) -> Iterable[str]:
    owners = get(resource.props, "owners")
    if owners is UNKNOWN:
        return
    minimum = int(resource.config.get("minimumOwners", 1))
    count = len([o for o in items_of(owners) if o is UNKNOWN or (as_text(o) or "")])
    if count < minimum:
        yield resource.violation(
            f"has {count} owner(s); at least {minimum} required.",
            "set owners to the object ids of the people accountable for the app (the region's "
            "owners list), so someone can rotate its credentials and answer for it.",
        )


def _owners_policy() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azuread-owners-present",
        description="App registrations and service principals have owners.",
        severity=Severity.MEDIUM,
        enforcement=EnforcementLevel.MANDATORY,
        remediation="Set owners on the Application and the ServicePrincipal.",
        url=ref.MS_APP_SECURITY.url,
        references=(ref.MS_APP_SECURITY,),
        applies_to=(tokens.APPLICATION, tokens.SERVICE_PRINCIPAL),
        config=(
            ConfigProperty(
                "minimumOwners",
                {
                    "type": "integer",
                    "minimum": 1,
                    "default": 1,
                    "description": "Smallest number of owners an app or service principal has.",
                },
                loosens="decrease",
            ),
        ),
        tags=("azuread", "app-registration"),
    )
    return resource_policy(spec, _check_owners)


def policies() -> list[ResourceValidationPolicy]:
    return [
        _multi_tenant(),
        _identifier_uris_policy(),
        _redirect_https_policy(),
        _redirect_wildcards_policy(),
        _redirect_hosts_policy(),
        _implicit_grant_policy(),
        _scope_ids_policy(),
        _scope_values_policy(),
        _consent_text_policy(),
        _owners_policy(),
    ]
