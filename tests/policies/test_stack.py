"""Stack-wide rules: AdminAgents membership, same-stack references, providers, protection."""

from __future__ import annotations

from tests.policies.fixtures import (
    ADMIN_AGENTS,
    API_CLIENT_ID,
    AZURE_NATIVE_PROVIDER,
    AZUREAD_PROVIDER,
    baseline,
    changed,
    new_findings,
    region_config,
    set_prop,
    urn,
)

OUTSIDER = "99999999-0000-4000-8000-000000000001"
MEMBERSHIP_FIX = (
    "Fix: add an azuread.GroupMember with group_object_id=<AdminAgents object id> and "
    "member_object_id=service_principal.object_id."
)


def test_service_principal_outside_admin_agents_is_refused() -> None:
    records = changed("web-admin-agents", "memberObjectId", OUTSIDER)
    assert new_findings(records) == [
        (
            "stack-partner-apps-admin-agents",
            "mandatory",
            "web-app",
            "web-app: service principal web-sp (5c2a1b0f-3d4e-4f6a-9b8c-7d6e5f4a3b22) is not a "
            "member of the AdminAgents group, so the app is not partner-managed (not "
            f"pre-consented in customer tenants). {MEMBERSHIP_FIX}",
        )
    ]


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


def test_app_without_service_principal_is_refused() -> None:
    records = [r for r in baseline() if r["name"] not in ("web-sp", "web-admin-agents")]
    assert new_findings(records) == [
        (
            "stack-partner-apps-admin-agents",
            "mandatory",
            "web-app",
            "web-app: partner-managed app (client id 5c2a1b0f-3d4e-4f6a-9b8c-7d6e5f4a3b20) has no "
            "service principal in this stack, so it cannot be pre-consented. Fix: create an "
            "azuread.ServicePrincipal with client_id=app.client_id and add it to the AdminAgents "
            "group with an azuread.GroupMember.",
        )
    ]


def test_membership_is_not_reported_while_preview_values_are_unknown() -> None:
    """First preview: a new service principal's object id is not known, so nothing is claimed."""
    records = changed("web-admin-agents", "memberObjectId", "[unknown]")
    set_prop(records, "web-sp", "objectId", "[unknown]")
    assert new_findings(records) == []
    # Absent outputs (a mock that returns nothing) count as unknown too.
    records = [r for r in baseline() if r["name"] != "web-admin-agents"]
    set_prop(records, "web-app", "clientId")
    assert new_findings(records) == []


def test_known_client_of_another_stack_is_refused() -> None:
    records = changed("api-app", "api.knownClientApplications", [OUTSIDER])
    assert new_findings(records) == [
        (
            "stack-app-references-same-stack",
            "mandatory",
            "api-app",
            f"api-app: api.knownClientApplications[0] {OUTSIDER} is not an app of this stack. "
            "Fix: list only client ids of this stack's apps (app.client_id); an app of another "
            "tenant or region cannot be consented together with this one.",
        )
    ]


def test_required_api_outside_the_stack_and_catalog_is_refused() -> None:
    records = changed("web-access-api", "apiClientId", OUTSIDER)
    assert new_findings(records) == [
        (
            "stack-app-references-same-stack",
            "mandatory",
            "web-access-api",
            f"web-access-api: requires API {OUTSIDER}, which is neither a catalogued Microsoft "
            "API nor an app of this stack. Fix: require scopes only of this stack's apps "
            "(api_client_id=app.client_id) or of APIs in the permission catalog.",
        )
    ]


def test_required_scope_must_be_declared_by_the_api_app() -> None:
    missing = "99999999-0000-4000-8000-000000000002"
    records = changed("web-access-api", "scopeIds", [missing])
    assert new_findings(records) == [
        (
            "stack-app-references-same-stack",
            "mandatory",
            "web-access-api",
            f"web-access-api: requires {missing} of api-app, which declares no scope or app role "
            "with that id. Fix: use an id of a scope or app role that api-app declares.",
        )
    ]


def test_references_to_apps_not_known_yet_are_not_reported() -> None:
    records = changed("api-app", "clientId", "[unknown]")
    set_prop(records, "web-access-api", "apiClientId", "[unknown]")
    set_prop(records, "api-app", "api.knownClientApplications", [OUTSIDER])
    # With one app's client id unknown, OUTSIDER might be it: no claim either way.
    assert [f for f in new_findings(records) if f[0] == "stack-app-references-same-stack"] == []
    set_prop(records, "web-access-api", "apiClientId", API_CLIENT_ID)
    assert [f for f in new_findings(records) if f[0] == "stack-app-references-same-stack"] == []


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
            "protect=True on it (the region's `protect: true`).",
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
        for v in evaluate(changed("vault", "", protect=False), region_config())
        if v["policy"] == "stack-production-resources-protected"
    ]
    assert violation["urn"] == urn("azure-native:keyvault:Vault", "vault")
