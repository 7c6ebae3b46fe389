"""Stack-wide rules: AdminAgents membership, same-stack references, scopes, providers, protection.

First-preview tests use ``first_preview()``: every generated id unknown, with the property
dependencies the engine reports.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from policies.partner_policies import PolicyConfigError, evaluate
from tests.policies.fixtures import (
    ADMIN_AGENTS,
    API_ADMIN_SCOPE_ID,
    API_CLIENT_ID,
    API_OBJECT_ID,
    API_SCOPE_ID,
    AZURE_NATIVE_PROVIDER,
    AZUREAD_PROVIDER,
    EVALUATION_DATE,
    TENANT,
    WEB_APP_URN,
    WEB_CLIENT_ID,
    WEB_OBJECT_ID,
    WEB_SP_OBJECT_ID,
    Finding,
    baseline,
    changed,
    find,
    first_preview,
    new_findings,
    record,
    region_config,
    set_prop,
    urn,
)

OUTSIDER = "99999999-0000-4000-8000-000000000001"
GROUP = f"the AdminAgents group ({ADMIN_AGENTS})"
MEMBERSHIP_FIX = (
    "Fix: add an azuread.GroupMember with group_object_id=<AdminAgents object id> and "
    "member_object_id=service_principal.object_id."
)
PRINCIPAL_FIX = (
    "Fix: create an azuread.ServicePrincipal with client_id=app.client_id and add it to "
    f"{GROUP} with an azuread.GroupMember."
)
KNOWN_CLIENT_FIX = (
    "Fix: list only client ids of this stack's apps (app.client_id); an app of another tenant or "
    "region cannot be consented together with this one."
)
SCOPE_FIX = "Fix: use an id of a scope or app role that api-app declares."
UNIQUE_SCOPE_FIX = (
    "Fix: give every scope of an application its own id and value, whether it is declared inline "
    "(api.oauth2PermissionScopes) or with an ApplicationPermissionScope."
)


def _not_a_member(object_id: str) -> Finding:
    return (
        "stack-partner-apps-admin-agents",
        "mandatory",
        "web-app",
        f"web-app: service principal web-sp ({object_id}) is not a member of {GROUP}, so the app "
        f"is not partner-managed (not pre-consented in customer tenants). {MEMBERSHIP_FIX}",
    )


def _stack_findings(records: list[dict[str, Any]], policy: str) -> list[Finding]:
    return [f for f in new_findings(records) if f[0] == policy]


# --- AdminAgents membership ----------------------------------------------------------------------


def test_service_principal_outside_admin_agents_is_refused() -> None:
    records = changed("web-admin-agents", "memberObjectId", OUTSIDER)
    assert new_findings(records) == [_not_a_member(WEB_SP_OBJECT_ID)]


def test_configured_admin_agents_group_must_be_the_one() -> None:
    config = region_config()
    other_group = "6e7f8a9b-0c1d-4e2f-a3b4-c5d6e7f8a9ff"
    config["stack-partner-apps-admin-agents"] = {"adminAgentsGroupObjectId": other_group}
    found = new_findings(baseline(), config)
    assert [f[:3] for f in found] == [
        ("stack-partner-apps-admin-agents", "mandatory", "api-app"),
        ("stack-partner-apps-admin-agents", "mandatory", "web-app"),
    ]
    assert f"the AdminAgents group ({other_group})" in found[0][3]
    config["stack-partner-apps-admin-agents"] = {"adminAgentsGroupObjectId": ADMIN_AGENTS}
    assert new_findings(baseline(), config) == []


def test_admin_agents_group_id_is_required() -> None:
    config = region_config()
    del config["stack-partner-apps-admin-agents"]
    with pytest.raises(
        PolicyConfigError,
        match="stack-partner-apps-admin-agents: adminAgentsGroupObjectId is required",
    ):
        evaluate(baseline(), config)


def test_app_without_service_principal_is_refused() -> None:
    records = [r for r in baseline() if r["name"] not in ("web-sp", "web-admin-agents")]
    assert new_findings(records) == [
        (
            "stack-partner-apps-admin-agents",
            "mandatory",
            "web-app",
            f"web-app: partner-managed app (client id {WEB_CLIENT_ID}) has no service principal "
            f"in this stack, so it cannot be pre-consented. {PRINCIPAL_FIX}",
        )
    ]


def test_first_preview_with_every_id_unknown_passes() -> None:
    """New apps, principals and memberships: the property dependencies tie them together."""
    assert new_findings(first_preview()) == []


def test_first_preview_foreign_literal_member_is_refused() -> None:
    """A known member id that is no principal of the stack counts for none, unknowns or not."""
    records = first_preview()
    set_prop(records, "web-admin-agents", "memberObjectId", OUTSIDER, propertyDependencies={})
    assert new_findings(records) == [_not_a_member("object id not known yet")]


def test_first_preview_missing_membership_is_refused_while_another_principal_is_new() -> None:
    records = [r for r in first_preview() if r["name"] != "web-admin-agents"]
    # api-admin-agents' member id is unknown too, but it comes from api-sp, not from web-sp.
    assert find(records, "api-admin-agents")["inputs"]["memberObjectId"] == "[unknown]"
    assert new_findings(records) == [_not_a_member("object id not known yet")]


def test_first_preview_app_without_service_principal_is_refused() -> None:
    records = [r for r in first_preview() if r["name"] not in ("web-sp", "web-admin-agents")]
    assert new_findings(records) == [
        (
            "stack-partner-apps-admin-agents",
            "mandatory",
            "web-app",
            "web-app: partner-managed app (client id not known yet) has no service principal in "
            f"this stack, so it cannot be pre-consented. {PRINCIPAL_FIX}",
        )
    ]


def test_unknown_ids_without_property_dependencies_are_not_reported() -> None:
    """Without the engine's dependencies an unknown id could be anyone's: no claim is made."""
    records = [r for r in first_preview() if r["name"] != "web-admin-agents"]
    for item in records:
        item["propertyDependencies"] = {}
    assert new_findings(records) == []
    # Absent outputs (a mock that returns nothing) count as unknown too.
    records = [r for r in baseline() if r["name"] != "web-admin-agents"]
    set_prop(records, "web-sp", "objectId")
    set_prop(records, "api-sp", "objectId")
    set_prop(records, "api-admin-agents", "memberObjectId", "[unknown]", propertyDependencies={})
    assert new_findings(records) == []


def test_membership_in_a_group_not_known_yet_is_not_reported() -> None:
    records = changed("web-admin-agents", "groupObjectId", "[unknown]")
    assert new_findings(records) == []


# --- References between apps ---------------------------------------------------------------------


def test_known_client_of_another_stack_is_refused() -> None:
    records = changed("api-app", "api.knownClientApplications", [OUTSIDER])
    assert new_findings(records) == [
        (
            "stack-app-references-same-stack",
            "mandatory",
            "api-app",
            f"api-app: api.knownClientApplications[0] {OUTSIDER} is not an app of this stack. "
            + KNOWN_CLIENT_FIX,
        )
    ]


def test_known_clients_resource_is_checked_too() -> None:
    records = changed("api-known-clients", "knownClientIds", [OUTSIDER])
    assert new_findings(records) == [
        (
            "stack-app-references-same-stack",
            "mandatory",
            "api-known-clients",
            f"api-known-clients: knownClientIds[0] {OUTSIDER} is not an app of this stack. "
            + KNOWN_CLIENT_FIX,
        )
    ]


def test_first_preview_foreign_known_client_is_refused() -> None:
    """Every app's client id is unknown, yet a literal id cannot be one of them."""
    records = first_preview()
    set_prop(records, "api-app", "api.knownClientApplications", ["[unknown]", OUTSIDER])
    assert new_findings(records) == [
        (
            "stack-app-references-same-stack",
            "mandatory",
            "api-app",
            f"api-app: api.knownClientApplications[1] {OUTSIDER} is not an app of this stack. "
            + KNOWN_CLIENT_FIX,
        )
    ]


def test_required_api_outside_the_stack_and_catalog_is_refused() -> None:
    expected = [
        (
            "stack-app-references-same-stack",
            "mandatory",
            "web-access-api",
            f"web-access-api: requires API {OUTSIDER}, which is neither a catalogued Microsoft "
            "API nor an app of this stack. Fix: require scopes only of this stack's apps "
            "(api_client_id=app.client_id) or of APIs in the permission catalog.",
        )
    ]
    assert new_findings(changed("web-access-api", "apiClientId", OUTSIDER)) == expected
    # The same on a first preview, where no client id of the stack is known.
    records = first_preview()
    set_prop(records, "web-access-api", "apiClientId", OUTSIDER, propertyDependencies={})
    assert new_findings(records) == expected


def test_required_scope_must_be_declared_by_the_api_app() -> None:
    missing = "99999999-0000-4000-8000-000000000002"
    expected = [
        (
            "stack-app-references-same-stack",
            "mandatory",
            "web-access-api",
            f"web-access-api: requires {missing} of api-app, which declares no scope or app role "
            f"with that id. {SCOPE_FIX}",
        )
    ]
    assert new_findings(changed("web-access-api", "scopeIds", [missing])) == expected
    # First preview: apiClientId is unknown; its dependency names the API app.
    records = first_preview()
    set_prop(records, "web-access-api", "scopeIds", [missing])
    assert new_findings(records) == expected
    # Without the dependency the API app cannot be told: no claim.
    set_prop(records, "web-access-api", "", propertyDependencies={})
    assert new_findings(records) == []


def test_scopes_declared_with_their_own_resource_are_offered() -> None:
    records = changed("web-access-api", "scopeIds", [API_SCOPE_ID, API_ADMIN_SCOPE_ID])
    assert new_findings(records) == []
    without = [r for r in records if r["name"] != "api-scope-manage"]
    assert new_findings(without) == [
        (
            "stack-app-references-same-stack",
            "mandatory",
            "web-access-api",
            f"web-access-api: requires {API_ADMIN_SCOPE_ID} of api-app, which declares no scope "
            f"or app role with that id. {SCOPE_FIX}",
        )
    ]


def test_app_roles_declared_with_their_own_resource_are_offered() -> None:
    role_id = "4b1f0a9e-2c3d-4e5f-8a7b-6c5d4e3f2a16"
    role = record(
        "azuread:index/applicationAppRole:ApplicationAppRole",
        "api-role-reader",
        {
            "applicationId": f"/applications/{API_OBJECT_ID}",
            "roleId": role_id,
            "value": "Partner.Read.All",
            "displayName": "Read partner data",
            "description": "Reads partner data as the app.",
            "allowedMemberTypes": ["Application"],
        },
    )
    records = changed("web-access-api", "scopeIds")
    set_prop(records, "web-access-api", "roleIds", [role_id])
    same_stack = "stack-app-references-same-stack"
    assert [f[2] for f in _stack_findings(records, same_stack)] == ["web-access-api"]
    assert _stack_findings([*records, role], same_stack) == []


# --- Scopes unique across an application's resources ---------------------------------------------


def test_separate_scope_repeating_an_inline_value_is_refused() -> None:
    records = changed("api-scope-manage", "value", "User_Impersonation")
    assert new_findings(records) == [
        (
            "stack-application-scopes-unique",
            "mandatory",
            "api-scope-manage",
            "api-scope-manage: value 'User_Impersonation' repeats the value of api-app's "
            "api.oauth2PermissionScopes[0]; both are scopes of application api-app. "
            + UNIQUE_SCOPE_FIX,
        )
    ]


def test_separate_scope_repeating_an_inline_id_is_refused() -> None:
    records = changed("api-scope-manage", "scopeId", API_SCOPE_ID)
    assert new_findings(records) == [
        (
            "stack-application-scopes-unique",
            "mandatory",
            "api-scope-manage",
            f"api-scope-manage: scopeId '{API_SCOPE_ID}' repeats the id of api-app's "
            "api.oauth2PermissionScopes[0]; both are scopes of application api-app. "
            + UNIQUE_SCOPE_FIX,
        )
    ]


def test_two_separate_scopes_of_one_app_must_differ() -> None:
    records = baseline()
    twin = copy.deepcopy(find(records, "api-scope-manage"))
    twin.update(name="api-scope-manage-2", urn=urn(twin["type"], "api-scope-manage-2"))
    for side in ("inputs", "outputs"):
        twin[side]["scopeId"] = "4b1f0a9e-2c3d-4e5f-8a7b-6c5d4e3f2a17"
    assert new_findings([*records, twin]) == [
        (
            "stack-application-scopes-unique",
            "mandatory",
            "api-scope-manage-2",
            "api-scope-manage-2: value 'Partner.Manage' repeats the value of api-scope-manage; "
            f"both are scopes of application api-app. {UNIQUE_SCOPE_FIX}",
        )
    ]


def test_scope_of_another_app_may_repeat_a_value() -> None:
    records = changed("api-scope-manage", "value", "user_impersonation")
    set_prop(
        records,
        "api-scope-manage",
        "applicationId",
        f"/applications/{WEB_OBJECT_ID}",
        propertyDependencies={"applicationId": [WEB_APP_URN]},
    )
    assert new_findings(records) == []


def test_default_provider_is_refused() -> None:
    default = "urn:pulumi:us::partner-apps::pulumi:providers:azure-native::default_3_29_0"
    found = new_findings(changed("rg", "", provider=default + "::04da6b54"))
    assert found[0] == (
        "stack-explicit-providers",
        "mandatory",
        "rg",
        "rg: uses the default provider default_3_29_0, which takes its tenant and subscription "
        "from the deploying shell. Fix: pass the region's explicit azuread / azure-native "
        "provider (ResourceOptions(providers=[...]) on the component) and keep "
        'pulumi:disable-default-providers: ["*"] in the stack file.',
    )
    # The default provider targets nothing explicitly either.
    assert [f[:3] for f in found[1:]] == [
        ("stack-providers-single-region", "mandatory", "default_3_29_0")
    ]


def test_resource_without_provider_is_refused() -> None:
    assert [f[:3] for f in new_findings(changed("vault", "", provider=None))] == [
        ("stack-explicit-providers", "mandatory", "vault")
    ]


def test_provider_in_another_location_is_refused() -> None:
    assert new_findings(changed(AZURE_NATIVE_PROVIDER, "location", "westus")) == [
        (
            "stack-providers-single-region",
            "mandatory",
            AZURE_NATIVE_PROVIDER,
            f"{AZURE_NATIVE_PROVIDER}: azure-native provider does not target this region: "
            "location is 'westus', expected 'eastus'. Fix: set tenantId (and for azure-native "
            "subscriptionId and location) on the provider from the region's stack config.",
        )
    ]


def test_provider_without_tenant_is_refused() -> None:
    assert [f[3] for f in new_findings(changed(AZUREAD_PROVIDER, "tenantId"))] == [
        f"{AZUREAD_PROVIDER}: azuread provider does not target this region: tenantId is not set "
        "(it would come from the deploying shell). Fix: set tenantId (and for azure-native "
        "subscriptionId and location) on the provider from the region's stack config."
    ]


def test_provider_subscription_and_cloud_are_checked() -> None:
    records = changed(
        AZURE_NATIVE_PROVIDER, "subscriptionId", "00000000-0000-4000-8000-000000000000"
    )
    set_prop(records, AZURE_NATIVE_PROVIDER, "environment", "usgovernment")
    (found,) = new_findings(records)
    assert found[3].startswith(
        f"{AZURE_NATIVE_PROVIDER}: azure-native provider does not target this region: "
        "subscriptionId is '00000000-0000-4000-8000-000000000000', expected "
        "'7a1d2e3f-4b5c-4d6e-9f70-81a2b3c4d5e1'; environment is 'usgovernment', expected 'public'."
    )


def test_provider_location_display_name_is_accepted() -> None:
    assert new_findings(changed(AZURE_NATIVE_PROVIDER, "location", "East US")) == []


def test_unprotected_vault_in_production_is_refused() -> None:
    assert new_findings(changed("vault", "", protect=False)) == [
        (
            "stack-production-resources-protected",
            "mandatory",
            "vault",
            "vault: is not protected in a production stack; a mistaken `pulumi destroy` or "
            "refactoring would delete it (and every customer's consent with an app). Fix: set "
            "`protect: true` under partner-apps:region in the region's stack file (the program "
            "then protects every app, service principal and the vault).",
        )
    ]


def test_protection_is_required_only_in_production() -> None:
    records = changed("api-app", "", protect=False)
    set_prop(records, "api-sp", "", protect=False)
    assert [f[2] for f in new_findings(records)] == ["api-app", "api-sp"]
    config = region_config()
    config["stack-production-resources-protected"] = {"production": False}
    assert new_findings(records, config) == []


def test_stack_findings_carry_the_resource_urn() -> None:
    from policies.partner_policies import evaluate

    (violation,) = [
        v
        for v in evaluate(
            changed("vault", "", protect=False),
            region_config(),
            evaluation_date=EVALUATION_DATE,
        )
        if v["policy"] == "stack-production-resources-protected"
    ]
    assert violation["urn"] == urn("azure-native:keyvault:Vault", "vault")


# --- api:// identifier URIs of this region (issue 28) --------------------------------------------

OWN_REGION = "stack-identifier-uris-own-region"
EU_TENANT = region_config("eu")["stack-providers-single-region"]["tenantId"]
OWN_REGION_FIX = (
    "Fix: use api://<this app's client id> (identifierUri: api in apps.yaml) or "
    "api://<this region's tenant id>/<path>: an identifier URI naming another region's tenant or "
    "app makes this region's app claim an identity it does not own."
)


def _own_region_findings(records: list[dict[str, Any]]) -> list[Finding]:
    return [f for f in new_findings(records) if f[0] == OWN_REGION]


@pytest.mark.parametrize(
    "uri",
    [
        f"api://{API_CLIENT_ID}",
        f"api://{API_CLIENT_ID}/partner-portal",
        f"API://{API_CLIENT_ID.upper()}",
        f"api://{TENANT}/partner-portal-api",
        f"api://{TENANT}/{API_CLIENT_ID}",
    ],
)
def test_api_uris_of_the_app_itself_or_of_this_tenant_pass(uri: str) -> None:
    assert _own_region_findings(changed("api-app", "identifierUris", [uri])) == []
    assert _own_region_findings(changed("api-identifier-uri", "identifierUri", uri)) == []


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        (
            f"api://{EU_TENANT}/partner-portal-api",
            f"carries {EU_TENANT}, which is neither this region's tenant id ({TENANT}) nor the "
            f"app's own client id ({API_CLIENT_ID})",
        ),
        (f"api://{EU_TENANT}", f"carries {EU_TENANT}, which is neither"),
        (f"api://{WEB_CLIENT_ID}", f"carries {WEB_CLIENT_ID}, which is neither"),
        (f"api://{TENANT}", "is the tenant id alone"),
    ],
    ids=["eu-tenant", "eu-tenant-alone", "another-app-of-the-stack", "own-tenant-alone"],
)
def test_api_uris_of_another_tenant_or_app_are_refused(uri: str, problem: str) -> None:
    for name, path, where, value in (
        ("api-app", "identifierUris", "identifierUris[0]", [uri]),
        ("api-identifier-uri", "identifierUri", "identifierUri", uri),
    ):
        ((policy, level, resource, message),) = _own_region_findings(changed(name, path, value))
        assert (policy, level, resource) == (OWN_REGION, "mandatory", name)
        assert message.startswith(f"{name}: {where} {uri!r} {problem}"), message
        assert message.endswith(OWN_REGION_FIX)


def test_first_preview_api_uri_made_from_the_new_client_id_passes() -> None:
    """In a first preview the program's api://<client id> is unknown, like the id: not judged."""
    assert _own_region_findings(first_preview()) == []


def test_first_preview_literal_client_id_is_refused() -> None:
    """A known GUID cannot be the id of an app not created yet: only the tenant is accepted."""
    records = first_preview()
    set_prop(records, "api-identifier-uri", "identifierUri", f"api://{API_CLIENT_ID}")
    ((_, _, _, message),) = _own_region_findings(records)
    assert f"carries {API_CLIENT_ID}, which is neither this region's tenant id" in message


def test_api_uri_of_an_untraceable_application_may_be_any_app_of_the_stack() -> None:
    records = changed("api-identifier-uri", "identifierUri", f"api://{WEB_CLIENT_ID}")
    set_prop(records, "api-identifier-uri", "applicationId", "[unknown]", propertyDependencies={})
    assert _own_region_findings(records) == []
    set_prop(records, "api-identifier-uri", "identifierUri", f"api://{EU_TENANT}/x")
    assert len(_own_region_findings(records)) == 1


def test_the_own_region_policy_needs_the_tenant() -> None:
    config = region_config()
    del config[OWN_REGION]
    with pytest.raises(PolicyConfigError, match=f"{OWN_REGION}: tenantId is required"):
        evaluate(baseline(), config)
