"""PartnerManagedApp and RegionalKeyVault under mocks: what each region stack registers."""

from __future__ import annotations

import calendar
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from components import ids
from components.config import (
    REFRESH_TOKENS_KEY,
    REGION_KEY,
)
from partner_apps.preview.build import run_stack
from partner_apps.preview.recorder import SECRET, StackRun, mock_guid

from .conftest import ROOT, STACKS, committed_run, edit_yaml, load_yaml

GRAPH = "00000003-0000-0000-c000-000000000000"
PARTNER_CENTER = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"
AZURE_SERVICE_MANAGEMENT = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
# Pinned: these ids are a contract (components/ids.py). If this test fails, existing scopes
# and every client that references them would break; do not "fix" the expected values.
PORTAL_API_USER_IMPERSONATION = "f195c246-228e-51be-9229-a1c62dc35694"
US_SECRETS_OFFICER_ASSIGNMENT = "5a4cb0ed-9ad1-5182-8e7a-30075ae0e561"
CANARY_PASSWORD = "CANARY-pw-7f3c9e21"
CANARY_TOKEN = "CANARY-rt-0c4b8d55"


def _region(stack: str) -> dict[str, Any]:
    region: dict[str, Any] = load_yaml(ROOT / f"Pulumi.{stack}.yaml")["config"][REGION_KEY]
    return region


def _one(run: StackRun, typ: str, name: str) -> dict[str, Any]:
    found = [r for r in run.resources if r["type"] == typ and r["name"] == name]
    assert len(found) == 1, f"{typ} {name}: {len(found)} registered"
    return found[0]


def _app(stack: str, key: str) -> dict[str, Any]:
    return _one(committed_run(stack), "azuread:index/application:Application", f"{stack}-{key}-app")


def _access(stack: str, key: str, api: str) -> dict[str, Any]:
    return _one(
        committed_run(stack),
        "azuread:index/applicationApiAccess:ApplicationApiAccess",
        f"{stack}-{key}-access-{api}",
    )


def test_scope_ids_are_pinned() -> None:
    assert ids.scope_id("partner-portal-api", "user_impersonation") == PORTAL_API_USER_IMPERSONATION
    assert (
        ids.role_assignment_name(
            "/subscriptions/7a1d2e3f-4b5c-4d6e-9f70-81a2b3c4d5e1/resourceGroups/rg-partner-apps-us"
            "/providers/Microsoft.KeyVault/vaults/kv-cspapps-us-01",
            "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
            "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d81",
        )
        == US_SECRETS_OFFICER_ASSIGNMENT
    )


@pytest.mark.parametrize("stack", STACKS)
def test_registration_is_multi_tenant_and_hardened(stack: str) -> None:
    app = _app(stack, "partner-portal-api")
    inputs = app["inputs"]
    assert inputs["signInAudience"] == "AzureADMultipleOrgs", app["urn"]
    assert inputs["preventDuplicateNames"] is True, app["urn"]
    assert inputs["owners"] == [owner.lower() for owner in _region(stack)["owners"]], app["urn"]
    assert inputs["api"]["requestedAccessTokenVersion"] == 2, app["urn"]
    assert inputs["web"]["implicitGrant"] == {
        "accessTokenIssuanceEnabled": False,
        "idTokenIssuanceEnabled": False,
    }, app["urn"]
    domain = _region(stack)["verifiedDomains"][0]
    assert inputs["identifierUris"] == [f"https://{domain}/partner-portal-api"], app["urn"]
    assert "requiredResourceAccesses" not in inputs, app["urn"]
    assert app["ignoreChanges"] == ["requiredResourceAccesses"], app["urn"]
    (scope,) = inputs["api"]["oauth2PermissionScopes"]
    assert scope["id"] == PORTAL_API_USER_IMPERSONATION, app["urn"]
    assert (scope["value"], scope["type"], scope["enabled"]) == ("user_impersonation", "User", True)


@pytest.mark.parametrize("stack", STACKS)
def test_registration_carries_description_and_notes(stack: str) -> None:
    definition = load_yaml(ROOT / "apps.yaml")["apps"]["partner-portal-api"]
    app = _app(stack, "partner-portal-api")
    assert app["inputs"]["displayName"] == definition["displayName"], app["urn"]
    assert app["inputs"]["description"] == definition["description"], app["urn"]
    assert app["inputs"]["notes"] == definition["notes"], app["urn"]


def test_api_identifier_uri_uses_the_client_id(project_copy: Path) -> None:
    edit_yaml(
        project_copy / "apps.yaml",
        lambda doc: doc["apps"]["partner-portal-api"].update(identifierUri="api"),
    )
    run = run_stack(project_copy, "us")
    assert run.error is None, run.error
    app = _one(run, "azuread:index/application:Application", "us-partner-portal-api-app")
    # The URI needs the app's own client id: a second resource, and the app ignores the field.
    assert app["inputs"]["identifierUris"] == [], app["urn"]
    assert app["ignoreChanges"] == ["identifierUris", "requiredResourceAccesses"], app["urn"]
    uri = _one(
        run,
        "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri",
        "us-partner-portal-api-identifier-uri",
    )
    client_id = app["outputs"]["clientId"]
    assert uri["inputs"]["identifierUri"] == f"api://{client_id}", uri["urn"]
    assert uri["inputs"]["applicationId"] == app["id"], uri["urn"]
    assert run.outputs["apps"]["partner-portal-api"]["identifierUris"] == [f"api://{client_id}"]


@pytest.mark.parametrize("stack", STACKS)
def test_required_access_by_api_with_catalog_ids(stack: str) -> None:
    graph = _access(stack, "partner-portal-api", "microsoft-graph")["inputs"]
    assert graph["apiClientId"] == GRAPH
    assert graph["roleIds"] == sorted(
        ["7ab1d382-f21e-4acd-a863-ba3e13f7da61", "2f51be20-0bb4-4fed-bf7b-db946066c75e"]
    )
    assert "scopeIds" not in graph
    partner_center = _access(stack, "partner-center-sam", "microsoft-partner-center")["inputs"]
    assert partner_center["apiClientId"] == PARTNER_CENTER
    assert partner_center["scopeIds"] == ["1cebfa2a-fb4d-419e-b5f9-839b4383e05a"]
    management = _access(stack, "partner-center-sam", "azure-service-management")["inputs"]
    assert management["apiClientId"] == AZURE_SERVICE_MANAGEMENT
    assert management["scopeIds"] == ["41094075-9dad-400e-a0bd-54e686782033"]


@pytest.mark.parametrize("stack", STACKS)
def test_multi_tier_pair_deploys_without_a_cycle(stack: str) -> None:
    api = _app(stack, "partner-portal-api")
    web = _app(stack, "partner-portal-web")
    # The resource lists the client as known, by the client's client id.
    assert api["inputs"]["api"]["knownClientApplications"] == [web["outputs"]["clientId"]]
    assert web["urn"] in api["dependencies"], api["urn"]
    # The client requires the resource's scope through a separate access resource.
    access = _access(stack, "partner-portal-web", "partner-portal-api")
    assert access["inputs"]["apiClientId"] == api["outputs"]["clientId"]
    assert access["inputs"]["scopeIds"] == [PORTAL_API_USER_IMPERSONATION]
    assert {api["urn"], web["urn"]} <= set(access["dependencies"]), access["urn"]
    # ...and the client's registration does not depend on the resource: no cycle.
    assert api["urn"] not in web["dependencies"], web["urn"]


def _admin_agents_member(run: StackRun, stack: str) -> dict[str, Any]:
    sp = _one(
        run, "azuread:index/servicePrincipal:ServicePrincipal", f"{stack}-partner-portal-api-sp"
    )
    member = _one(
        run, "azuread:index/groupMember:GroupMember", f"{stack}-partner-portal-api-admin-agents"
    )
    assert member["inputs"]["memberObjectId"] == sp["outputs"]["objectId"], member["urn"]
    return member


GET_GROUP = "azuread:index/getGroup:getGroup"


@pytest.mark.parametrize("stack", STACKS)
def test_service_principal_joins_pinned_admin_agents(stack: str) -> None:
    run = committed_run(stack)
    member = _admin_agents_member(run, stack)
    pinned = _region(stack)["adminAgents"]["objectId"]
    assert member["inputs"]["groupObjectId"] == pinned, member["urn"]
    lookups = [invoke for invoke in run.invokes if invoke["token"] == GET_GROUP]
    assert lookups == [], "a pinned AdminAgents group needs no lookup"


def test_admin_agents_looked_up_by_name_on_the_region_provider(project_copy: Path) -> None:
    edit_yaml(
        project_copy / "Pulumi.us.yaml",
        lambda doc: doc["config"][REGION_KEY].update(adminAgents={"displayName": "AdminAgents"}),
    )
    run = run_stack(project_copy, "us")
    assert run.error is None, run.error
    member = _admin_agents_member(run, "us")
    (lookup,) = [invoke for invoke in run.invokes if invoke["token"] == GET_GROUP]
    assert lookup["args"] == {"displayName": "AdminAgents", "securityEnabled": True}
    assert lookup["provider"].startswith(
        "urn:pulumi:us::partner-apps::pulumi:providers:azuread::us-azuread::"
    )
    assert member["inputs"]["groupObjectId"] == mock_guid("us", "group", "AdminAgents")


@pytest.mark.parametrize("stack", STACKS)
def test_password_dates_come_from_config_not_now(stack: str) -> None:
    password = _one(
        committed_run(stack),
        "azuread:index/applicationPassword:ApplicationPassword",
        f"{stack}-partner-portal-api-secret",
    )
    # No start date: Graph starts the secret when it is created, never in the past.
    assert "startDate" not in password["inputs"], password["urn"]
    assert password["inputs"]["endDate"] == "2027-10-01T00:00:00Z", password["urn"]
    assert password["inputs"]["rotateWhenChanged"] == {"rotationDate": "2026-10-01"}
    assert password["outputs"]["value"] == SECRET, password["urn"]


@pytest.mark.parametrize("stack", STACKS)
def test_vault_is_hardened_in_the_region(stack: str) -> None:
    region = _region(stack)
    vault = _one(committed_run(stack), "azure-native:keyvault:Vault", f"{stack}-vault-vault")
    assert vault["inputs"]["location"] == region["location"], vault["urn"]
    assert vault["inputs"]["vaultName"] == region["keyVault"]["name"]
    properties = vault["inputs"]["properties"]
    assert properties["tenantId"] == region["tenantId"]
    assert properties["enableRbacAuthorization"] is True
    assert properties["enableSoftDelete"] is True
    assert properties["softDeleteRetentionInDays"] == 90
    assert properties["enablePurgeProtection"] is True
    assert properties["publicNetworkAccess"] == "Disabled"
    assert properties["networkAcls"]["defaultAction"] == "Deny"
    assert vault["protect"] is True


def test_vault_open_to_listed_ip_ranges_only(project_copy: Path) -> None:
    def open_vault(doc: dict[str, Any]) -> None:
        doc["config"][REGION_KEY]["keyVault"].update(
            publicNetworkAccess="Enabled", allowedIpRanges=["203.0.113.0/24", "198.51.100.7"]
        )

    edit_yaml(project_copy / "Pulumi.us.yaml", open_vault)
    run = run_stack(project_copy, "us")
    assert run.error is None, run.error
    vault = _one(run, "azure-native:keyvault:Vault", "us-vault-vault")
    properties = vault["inputs"]["properties"]
    assert properties["publicNetworkAccess"] == "Enabled", vault["urn"]
    assert properties["networkAcls"] == {
        "bypass": "None",
        "defaultAction": "Deny",
        "ipRules": [{"value": "198.51.100.7/32"}, {"value": "203.0.113.0/24"}],
    }, vault["urn"]


def test_role_assignments_have_deterministic_names() -> None:
    run = committed_run("us")
    officer = _one(
        run,
        "azure-native:authorization:RoleAssignment",
        "us-vault-secrets-officer-5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d81",
    )
    assert officer["inputs"]["roleAssignmentName"] == US_SECRETS_OFFICER_ASSIGNMENT
    assert officer["inputs"]["roleDefinitionId"].endswith(
        "/roleDefinitions/b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
    )
    user = _one(
        run,
        "azure-native:authorization:RoleAssignment",
        "us-vault-secrets-user-5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d82",
    )
    assert user["inputs"]["roleDefinitionId"].endswith(
        "/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
    )


@pytest.mark.parametrize("stack", STACKS)
def test_client_secret_in_vault_is_secret_with_expiry(stack: str) -> None:
    secret = _one(
        committed_run(stack),
        "azure-native:keyvault:Secret",
        f"{stack}-vault-partner-portal-api-client-secret",
    )
    properties = secret["inputs"]["properties"]
    assert secret["inputs"]["secretName"] == "partner-portal-api-client-secret"
    assert properties["value"] == SECRET, secret["urn"]
    assert properties["attributes"]["expires"] == calendar.timegm(date(2027, 10, 1).timetuple())
    assert properties["contentType"]


@pytest.mark.parametrize("stack", STACKS)
def test_refresh_token_secret_is_created_once(stack: str) -> None:
    secret = _one(
        committed_run(stack),
        "azure-native:keyvault:Secret",
        f"{stack}-vault-partner-center-sam-sam-refresh-token",
    )
    assert secret["inputs"]["secretName"] == "partner-center-sam-sam-refresh-token"
    assert secret["inputs"]["properties"]["value"] == SECRET
    assert secret["ignoreChanges"] == ["properties", "tags"], secret["urn"]
    others = [
        r
        for r in committed_run(stack).resources
        if r["type"] == "azure-native:keyvault:Secret" and "refresh-token" in r["name"]
    ]
    assert len(others) == 1, "only the Secure Application Model app gets a refresh-token secret"


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_per_app(stack: str) -> None:
    outputs = committed_run(stack).outputs
    api = outputs["apps"]["partner-portal-api"]
    client_id = _app(stack, "partner-portal-api")["outputs"]["clientId"]
    tenant = _region(stack)["tenantId"]
    assert api["clientId"] == client_id
    assert api["authority"] == f"https://login.microsoftonline.com/{tenant}"
    assert api["adminConsentUrl"] == (
        f"https://login.microsoftonline.com/{tenant}/adminconsent?client_id={client_id}"
    )
    assert api["keyVaultSecretIds"]["clientSecret"].endswith(
        "/secrets/partner-portal-api-client-secret"
    )
    assert outputs["apps"]["partner-center-sam"]["keyVaultSecretIds"]["refreshToken"].endswith(
        "/secrets/partner-center-sam-sam-refresh-token"
    )
    assert outputs["customerAuthorityTemplate"] == (
        "https://login.microsoftonline.com/{customerTenantId}"
    )


def test_secret_values_never_reach_records_or_outputs(project_copy: Path) -> None:
    edit_yaml(
        project_copy / "Pulumi.us.yaml",
        lambda doc: doc["config"].update(
            {REFRESH_TOKENS_KEY: {"partner-center-sam": {"secure": "v1:encrypted"}}}
        ),
    )
    run = run_stack(
        project_copy,
        "us",
        secret_values={"applicationPassword": CANARY_PASSWORD},
        config_overrides={REFRESH_TOKENS_KEY: {"partner-center-sam": CANARY_TOKEN}},
    )
    assert run.error is None
    dumped = json.dumps([run.resources, run.outputs, run.invokes])
    assert CANARY_PASSWORD not in dumped
    assert CANARY_TOKEN not in dumped


def test_unprotected_stack_protects_nothing(project_copy: Path) -> None:
    edit_yaml(
        project_copy / "Pulumi.us.yaml",
        lambda doc: doc["config"][REGION_KEY].update(protect=False),
    )
    run = run_stack(project_copy, "us")
    assert [r["urn"] for r in run.resources if r["protect"]] == []


# A real self-signed certificate (public part only): valid 2026-01-01 09:30 to 2028-06-30 09:30 UTC.
CERTIFICATE = ROOT / "tests" / "certs" / "portal.pem"


def _with_certificate(project: Path, end_date: str | None) -> StackRun:
    certs = project / "certs" / "us"
    certs.mkdir(parents=True, exist_ok=True)
    (certs / "partner-portal-api.pem").write_bytes(CERTIFICATE.read_bytes())

    def use_certificate(doc: dict[str, Any]) -> None:
        credential = {
            "type": "certificate",
            "publicKeyFile": "certs/{region}/partner-portal-api.pem",
        }
        if end_date is not None:
            credential["endDate"] = end_date
        doc["apps"]["partner-portal-api"]["credential"] = credential

    edit_yaml(project / "apps.yaml", use_certificate)
    run = run_stack(project, "us")
    assert run.error is None, run.error
    return run


def test_certificate_credential_instead_of_a_secret(project_copy: Path) -> None:
    run = _with_certificate(project_copy, "2027-09-30")
    certificate = _one(
        run,
        "azuread:index/applicationCertificate:ApplicationCertificate",
        "us-partner-portal-api-certificate",
    )
    assert certificate["inputs"]["type"] == "AsymmetricX509Cert"
    # No start date: Graph starts the key credential itself (never before the certificate).
    assert "startDate" not in certificate["inputs"], certificate["urn"]
    assert certificate["inputs"]["endDate"] == "2027-09-30T00:00:00Z", certificate["urn"]
    # The provider schema marks the value secret even though it is only the public part.
    assert certificate["inputs"]["value"] == SECRET
    assert run.outputs["apps"]["partner-portal-api"]["credentialEndDate"] == "2027-09-30"
    names = [r["name"] for r in run.resources]
    assert "us-partner-portal-api-secret" not in names
    assert "us-vault-partner-portal-api-client-secret" not in names


def test_certificate_end_defaults_to_its_expiry(project_copy: Path) -> None:
    run = _with_certificate(project_copy, None)
    certificate = _one(
        run,
        "azuread:index/applicationCertificate:ApplicationCertificate",
        "us-partner-portal-api-certificate",
    )
    assert certificate["inputs"]["endDate"] == "2028-06-30T09:30:00Z", certificate["urn"]
    assert run.outputs["apps"]["partner-portal-api"]["credentialEndDate"] == "2028-06-30"
