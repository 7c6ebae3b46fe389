"""App registration rules: each test changes one baseline property and names the violation."""

from __future__ import annotations

from typing import Any

import pytest

from policies.partner_policies import rules
from tests.policies.fixtures import (
    API_CLIENT_ID,
    API_SCOPE_ID,
    baseline,
    changed,
    find,
    new_findings,
    region_config,
    set_prop,
)

IDENTIFIER_FIX = (
    "Fix: use api://<client id>[/<path>], api://<tenant id>/<path> or https://<verified "
    "domain>/<path>; a multi-tenant app's App ID URI must be globally unique, which only these "
    "forms guarantee."
)
API_FORMS = (
    "(accepted: api://<application (client) id>, optionally followed by /<path>, or "
    "api://<tenant id>/<path>)"
)
TENANT = "3f6b1c2d-4e5a-4b7c-8d9e-0a1b2c3d4e51"
US_DOMAINS = "(verified domains: us.contoso-partner.example, contoso-us.onmicrosoft.example)"


def _scope(**changes: Any) -> dict[str, Any]:
    scope = find(baseline(), "api-app")["inputs"]["api"]["oauth2PermissionScopes"][0]
    return {**scope, **changes}


def test_single_tenant_app_is_refused() -> None:
    assert new_findings(changed("api-app", "signInAudience", "AzureADMyOrg")) == [
        (
            "azuread-application-multi-tenant",
            "mandatory",
            "api-app",
            "api-app: signInAudience is 'AzureADMyOrg'; partner-managed apps must use "
            "AzureADMultipleOrgs. Fix: set signInAudience to AzureADMultipleOrgs.",
        )
    ]


def test_missing_audience_counts_as_the_provider_default() -> None:
    assert new_findings(changed("api-app", "signInAudience")) == [
        (
            "azuread-application-multi-tenant",
            "mandatory",
            "api-app",
            "api-app: signInAudience is not set (the provider default is 'AzureADMyOrg'); "
            "partner-managed apps must use AzureADMultipleOrgs. Fix: set signInAudience to "
            "AzureADMultipleOrgs.",
        )
    ]


def test_identifier_uri_on_an_unverified_domain_is_refused() -> None:
    records = changed("api-app", "identifierUris", ["https://contoso.com/api"])
    assert new_findings(records) == [
        (
            "azuread-application-identifier-uris",
            "mandatory",
            "api-app",
            "api-app: identifierUris[0] 'https://contoso.com/api' uses host 'contoso.com', which "
            f"is not a verified domain of the partner tenant {US_DOMAINS}. {IDENTIFIER_FIX}",
        )
    ]


def test_http_identifier_uri_is_refused() -> None:
    records = changed("api-app", "identifierUris", ["http://us.contoso-partner.example/api"])
    assert new_findings(records) == [
        (
            "azuread-application-identifier-uris",
            "mandatory",
            "api-app",
            "api-app: identifierUris[0] 'http://us.contoso-partner.example/api' is neither api:// "
            f"nor https:// on a verified domain {US_DOMAINS}. {IDENTIFIER_FIX}",
        )
    ]


@pytest.mark.parametrize(
    "uri",
    [
        f"api://{API_CLIENT_ID}",
        f"api://{API_CLIENT_ID}/partner-portal",
        f"api://{TENANT}/partner-portal-api",
        f"API://{API_CLIENT_ID.upper()}",
        "https://us.contoso-partner.example/partner-portal-api",
        "https://apps.us.contoso-partner.example/api",
        "https://CONTOSO-US.onmicrosoft.example/api",
    ],
)
def test_api_scheme_and_verified_domains_pass(uri: str) -> None:
    assert new_findings(changed("api-app", "identifierUris", [uri])) == []


@pytest.mark.parametrize(
    "uri",
    ["api://partner-portal-api", "api://", "api://contoso.com/api", f"api://{API_CLIENT_ID}x/a"],
)
def test_api_scheme_needs_a_guid_right_after_it(uri: str) -> None:
    assert new_findings(changed("api-app", "identifierUris", [uri])) == [
        (
            "azuread-application-identifier-uris",
            "mandatory",
            "api-app",
            f"api-app: identifierUris[0] {uri!r} has no GUID right after api:// {API_FORMS} "
            f"{US_DOMAINS}. {IDENTIFIER_FIX}",
        )
    ]


def test_identifier_uri_resource_is_checked_too() -> None:
    records = changed("api-identifier-uri", "identifierUri", "https://evil.example/api")
    assert new_findings(records) == [
        (
            "azuread-application-identifier-uris",
            "mandatory",
            "api-identifier-uri",
            "api-identifier-uri: identifierUri 'https://evil.example/api' uses host "
            "'evil.example', which is not a verified domain of the partner tenant "
            f"{US_DOMAINS}. {IDENTIFIER_FIX}",
        )
    ]
    records = changed("api-identifier-uri", "identifierUri", "api://partner-portal-api")
    assert [f[3] for f in new_findings(records)] == [
        "api-identifier-uri: identifierUri 'api://partner-portal-api' has no GUID right after "
        f"api:// {API_FORMS} {US_DOMAINS}. {IDENTIFIER_FIX}"
    ]


def test_redirect_uris_resource_is_checked_too() -> None:
    records = changed(
        "web-spa-redirect-uris",
        "redirectUris",
        ["https://portal.contoso-partner.example/spa/callback", "http://portal.example/cb"],
    )
    assert new_findings(records) == [
        (
            "azuread-application-redirect-uris-https",
            "mandatory",
            "web-spa-redirect-uris",
            "web-spa-redirect-uris: redirectUris[1] 'http://portal.example/cb' is not https; "
            "Entra ID sends tokens to it. " + REDIRECT_FIX,
        )
    ]
    records = changed("web-spa-redirect-uris", "redirectUris", ["https://*.example/cb"])
    assert [f[:3] for f in new_findings(records)] == [
        ("azuread-application-redirect-uris-no-wildcards", "mandatory", "web-spa-redirect-uris")
    ]


def test_http_redirect_uri_is_refused() -> None:
    records = changed(
        "web-app", "web.redirectUris", ["http://portal.contoso-partner.example/signin-oidc"]
    )
    assert new_findings(records) == [
        (
            "azuread-application-redirect-uris-https",
            "mandatory",
            "web-app",
            "web-app: web.redirectUris[0] 'http://portal.contoso-partner.example/signin-oidc' is "
            "not https; Entra ID sends tokens to it. " + REDIRECT_FIX,
        )
    ]


def test_localhost_redirect_uri_needs_the_region_to_allow_it() -> None:
    records = changed("web-app", "web.redirectUris", ["http://localhost:5000/signin-oidc"])
    assert new_findings(records) == [
        (
            "azuread-application-redirect-uris-https",
            "mandatory",
            "web-app",
            "web-app: web.redirectUris[0] 'http://localhost:5000/signin-oidc' points at "
            "localhost; only apps marked development (or exactly 'http://localhost/' on the Secure "
            "Application Model app) may use localhost. " + REDIRECT_FIX,
        )
    ]
    config = region_config()
    config["azuread-application-redirect-uris-https"] = {"allowLocalhost": True}
    assert new_findings(records, config) == []
    # Per app: the generated region config lists the apps apps.yaml allows localhost for.
    name = next(r for r in records if r["name"] == "web-app")["inputs"]["displayName"]
    config["azuread-application-redirect-uris-https"] = {"allowLocalhostApps": [name]}
    assert new_findings(records, config) == []
    config["azuread-application-redirect-uris-https"] = {"allowLocalhostApps": ["Other app"]}
    assert [f[0] for f in new_findings(records, config)] == [
        "azuread-application-redirect-uris-https"
    ]
    # The Secure Application Model app may use exactly http://localhost, not a port or a path.
    config["azuread-application-redirect-uris-https"] = {"samLoopbackApps": [name]}
    (finding,) = new_findings(records, config)
    assert "is not the Secure Application Model app's loopback redirect" in finding[3]
    loopback = changed("web-app", "web.redirectUris", ["http://localhost/"])
    assert new_findings(loopback, config) == []


def test_wildcard_redirect_uri_is_refused_in_any_block() -> None:
    records = changed(
        "web-app",
        "singlePageApplication",
        {"redirectUris": ["https://*.contoso-partner.example/cb"]},
    )
    assert new_findings(records) == [
        (
            "azuread-application-redirect-uris-no-wildcards",
            "mandatory",
            "web-app",
            "web-app: singlePageApplication.redirectUris[0] 'https://*.contoso-partner.example/cb' "
            "contains a wildcard. Fix: list every exact redirect URI; wildcards let an "
            "attacker-controlled host receive authorization codes and tokens.",
        )
    ]


def test_implicit_grant_is_refused() -> None:
    records = changed("web-app", "web.implicitGrant.idTokenIssuanceEnabled", True)
    assert new_findings(records) == [
        (
            "azuread-application-implicit-grant-disabled",
            "mandatory",
            "web-app",
            "web-app: web.implicitGrant has idTokenIssuanceEnabled set to true. Fix: set "
            "web.implicitGrant.accessTokenIssuanceEnabled and idTokenIssuanceEnabled to false "
            "and use the authorization code flow (with PKCE for browser clients).",
        )
    ]


def test_scope_id_must_be_a_guid() -> None:
    records = changed("api-app", "api.oauth2PermissionScopes", [_scope(id="not-a-guid")])
    assert new_findings(records) == [
        (
            "azuread-application-scope-ids",
            "mandatory",
            "api-app",
            "api-app: api.oauth2PermissionScopes[0].id 'not-a-guid' is not a GUID. Fix: give "
            "every scope a fixed GUID id (derive it deterministically, never from a random "
            "source) and never change it: clients reference scopes by id.",
        ),
        # The client still requires the old id: changing an id breaks it, as the fix says.
        (
            "stack-app-references-same-stack",
            "mandatory",
            "web-access-api",
            f"web-access-api: requires {API_SCOPE_ID} of api-app, which declares no scope or app "
            "role with that id. Fix: use an id of a scope or app role that api-app declares.",
        ),
    ]


def test_scope_ids_must_be_unique() -> None:
    records = changed(
        "api-app", "api.oauth2PermissionScopes", [_scope(), _scope(value="Portal.Read")]
    )
    assert new_findings(records) == [
        (
            "azuread-application-scope-ids",
            "mandatory",
            "api-app",
            f"api-app: api.oauth2PermissionScopes[1].id {API_SCOPE_ID} repeats the id of "
            "api.oauth2PermissionScopes[0]. Fix: give each scope its own GUID.",
        )
    ]


def test_scope_value_without_spaces() -> None:
    records = changed("api-app", "api.oauth2PermissionScopes", [_scope(value="user impersonation")])
    assert new_findings(records) == [
        (
            "azuread-application-scope-values",
            "mandatory",
            "api-app",
            "api-app: api.oauth2PermissionScopes[0].value 'user impersonation' is not a scope "
            "value Graph accepts (' ' (U+0020 SPACE)): ASCII letters, digits and "
            "!#$%&'()*+,-./:;<=>?@[]^_`{|}~ only, no spaces, not starting with '.'. "
            + SCOPE_VALUE_FIX,
        )
    ]


def test_scope_values_are_unique() -> None:
    second = _scope(id="4b1f0a9e-2c3d-4e5f-8a7b-6c5d4e3f2a14", value="USER_IMPERSONATION")
    records = changed("api-app", "api.oauth2PermissionScopes", [_scope(), second])
    assert new_findings(records) == [
        (
            "azuread-application-scope-values",
            "mandatory",
            "api-app",
            "api-app: api.oauth2PermissionScopes[1].value 'USER_IMPERSONATION' repeats the value "
            "of api.oauth2PermissionScopes[0]. Fix: give each scope a unique value.",
        )
    ]


def test_scope_admin_consent_texts_are_required() -> None:
    records = changed(
        "api-app",
        "api.oauth2PermissionScopes",
        [_scope(adminConsentDisplayName="", adminConsentDescription="  ")],
    )
    assert new_findings(records) == [
        (
            "azuread-application-scope-consent-text",
            "mandatory",
            "api-app",
            "api-app: api.oauth2PermissionScopes[0] has no adminConsentDisplayName or "
            "adminConsentDescription. Fix: write the admin consent display name and "
            "description: they are what a customer administrator reads before consenting.",
        )
    ]


@pytest.mark.parametrize("name", ["api-app", "api-sp"])
def test_owners_are_required_on_apps_and_service_principals(name: str) -> None:
    assert new_findings(changed(name, "owners", [])) == [
        (
            "azuread-owners-present",
            "mandatory",
            name,
            f"{name}: has 0 owner(s); at least 1 required. Fix: set owners to the object ids of "
            "the people accountable for the app (the region's owners list), so someone can "
            "rotate its credentials and answer for it.",
        )
    ]


def test_unknown_values_during_preview_are_not_reported() -> None:
    """A value the engine does not know yet (preview) proves nothing either way."""
    records = changed("api-app", "identifierUris", ["[unknown]"])
    set_prop(records, "web-app", "web.redirectUris", "[unknown]")
    set_prop(records, "api-app", "api.oauth2PermissionScopes", [_scope(id="[unknown]")])
    assert new_findings(records) == []


# --- Scopes declared with an ApplicationPermissionScope ------------------------------------------

REDIRECT_FIX = (
    "Fix: use an https:// redirect URI of at most 256 characters; http://localhost only for an "
    "app marked development (or secureApplicationModel) in apps.yaml."
)
SCOPE_VALUE_FIX = "Fix: use a value such as user_impersonation or Files.Read in apps.yaml."
SCOPE_ID_FIX = (
    "Fix: give every scope a fixed GUID id (derive it deterministically, never from a random "
    "source) and never change it: clients reference scopes by id."
)


def test_permission_scope_resource_id_is_its_scope_id() -> None:
    """ApplicationPermissionScope names the id scopeId; messages use the resource's own name."""
    records = changed("api-scope-manage", "scopeId", "not-a-guid")
    assert new_findings(records) == [
        (
            "azuread-application-scope-ids",
            "mandatory",
            "api-scope-manage",
            f"api-scope-manage: scopeId 'not-a-guid' is not a GUID. {SCOPE_ID_FIX}",
        )
    ]


def test_permission_scope_resource_value_is_checked() -> None:
    records = changed("api-scope-manage", "value", "Partner Manage")
    assert new_findings(records) == [
        (
            "azuread-application-scope-values",
            "mandatory",
            "api-scope-manage",
            "api-scope-manage: value 'Partner Manage' is not a scope value Graph accepts "
            "(' ' (U+0020 SPACE)): ASCII letters, digits and !#$%&'()*+,-./:;<=>?@[]^_`{|}~ "
            "only, no spaces, not starting with '.'. " + SCOPE_VALUE_FIX,
        )
    ]


def test_permission_scope_resource_needs_admin_consent_texts() -> None:
    records = changed("api-scope-manage", "adminConsentDescription", "")
    assert new_findings(records) == [
        (
            "azuread-application-scope-consent-text",
            "mandatory",
            "api-scope-manage",
            "api-scope-manage: scope has no adminConsentDescription. Fix: write the admin consent "
            "display name and description: they are what a customer administrator reads before "
            "consenting.",
        )
    ]


# RFC 6749 section 3.1.2 and Entra's reply-URL restrictions: the same rule as the config edge
# (rules.redirect_scheme_problem), so both give the same verdict on the same URI.
@pytest.mark.parametrize(
    ("uri", "rule"),
    [
        ("https://portal.contoso-partner.example/signin-oidc#done", "has a fragment"),
        ("https://agent@portal.contoso-partner.example/signin-oidc", "has user information"),
        ("https://portal.contoso-partner.example/signin(oidc)", "Entra does not support"),
        ("https://portal.contoso-partner.example/signin-oidc;x", "contains ';'"),
        ("https://portal.contoso-partner.example/signin-oidc\n", "ends with whitespace"),
        ("https://portal.contoso-partner.example/sign\u200bin", "U+200B ZERO WIDTH SPACE"),
        ("https://p\u043ertal.contoso-partner.example/cb", "U+043E CYRILLIC SMALL LETTER O"),
        ("http://localhost/cb#x", "has a fragment"),
    ],
)
def test_redirect_uri_form_is_refused_by_the_policy_and_config_alike(uri: str, rule: str) -> None:
    config = region_config()
    config["azuread-application-redirect-uris-https"] = {"allowLocalhost": True}
    records = changed("web-app", "web.redirectUris", [uri])
    (finding,) = new_findings(records, config)
    assert finding[0] == "azuread-application-redirect-uris-https"
    assert rule in finding[3]
    problem = rules.redirect_uri_problem(uri, allow_localhost=True)
    assert problem is not None
    assert rule in problem


def test_an_upper_case_host_and_a_query_are_still_accepted() -> None:
    records = changed(
        "web-app", "web.redirectUris", ["https://PORTAL.contoso-partner.example/cb?tenant=us"]
    )
    assert new_findings(records) == []
