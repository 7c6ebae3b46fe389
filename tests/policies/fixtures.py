"""A compliant baseline stack for the policy tests, as the offline preview records it.

One record per resource, with the engine's camelCase props and real type tokens, the values of
the US region config, and the same shape as ``partner_apps.preview.recorder`` records
(``"[secret]"`` for secret values). Tests change one property of one record and assert the
exact violation.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "policies" / "config"

STACK = "us"
PROJECT = "partner-apps"
TENANT = "3f6b1c2d-4e5a-4b7c-8d9e-0a1b2c3d4e51"
SUBSCRIPTION = "7a1d2e3f-4b5c-4d6e-9f70-81a2b3c4d5e1"
OWNER = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e41"
ADMIN_AGENTS = "0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a51"  # = policies/config/us.json

GRAPH = "00000003-0000-0000-c000-000000000000"
AAD_GRAPH = "00000002-0000-0000-c000-000000000000"
PARTNER_CENTER = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"
# Microsoft Graph permission ids (public values, also in the permission catalog).
DIRECTORY_READ_ALL_ROLE = "7ab1d382-f21e-4acd-a863-ba3e13f7da61"
DIRECTORY_READ_WRITE_ALL_ROLE = "19dbc75e-c2e2-444c-a770-ec69d8559fc7"
DEVICES_READ_ALL_ROLE = "2f51be20-0bb4-4fed-bf7b-db946066c75e"
MAIL_READ_ROLE = "810c84a8-4a9e-49e6-bf7d-12d183f40d01"
USER_READ_ALL_SCOPE = "a154be20-db9c-4678-8ab7-66f6cc099a59"
USER_READ_SCOPE = "e1fe6dd8-ba31-4d61-89e7-88639da4683d"
OPENID_SCOPE = "37f7f235-527c-4136-accd-4a02d197296e"
OFFLINE_ACCESS_SCOPE = "7427e0e9-2fba-42fe-b0c0-848c9e6a8182"
PARTNER_CENTER_SCOPE = "1cebfa2a-fb4d-419e-b5f9-839b4383e05a"

API_CLIENT_ID = "4b1f0a9e-2c3d-4e5f-8a7b-6c5d4e3f2a10"
API_OBJECT_ID = "4b1f0a9e-2c3d-4e5f-8a7b-6c5d4e3f2a11"
API_SP_OBJECT_ID = "4b1f0a9e-2c3d-4e5f-8a7b-6c5d4e3f2a12"
API_SCOPE_ID = "4b1f0a9e-2c3d-4e5f-8a7b-6c5d4e3f2a13"
# A second scope of the API app, declared with an ApplicationPermissionScope resource.
API_ADMIN_SCOPE_ID = "4b1f0a9e-2c3d-4e5f-8a7b-6c5d4e3f2a15"
WEB_CLIENT_ID = "5c2a1b0f-3d4e-4f6a-9b8c-7d6e5f4a3b20"
WEB_OBJECT_ID = "5c2a1b0f-3d4e-4f6a-9b8c-7d6e5f4a3b21"
WEB_SP_OBJECT_ID = "5c2a1b0f-3d4e-4f6a-9b8c-7d6e5f4a3b22"

# A real self-signed certificate, public part only (RSA 2048, valid 2026-01-01 to 2028-06-30).
CERTIFICATE_PEM = (ROOT / "tests" / "certs" / "portal.pem").read_text(encoding="utf-8")

VAULT_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-partner-apps-us/providers/"
    "Microsoft.KeyVault/vaults/kv-cspapps-us-01"
)
# 2027-10-01T00:00:00Z
SECRET_EXPIRES = 1822435200
# 'Today' for every evaluation in the policy tests: results never depend on the real date.
EVALUATION_DATE = date(2026, 11, 1)

AZUREAD_PROVIDER = "us-azuread"
AZURE_NATIVE_PROVIDER = "us-azure-native"

APPLICATION = "azuread:index/application:Application"
SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
API_APP_URN = f"urn:pulumi:{STACK}::{PROJECT}::{APPLICATION}::api-app"
WEB_APP_URN = f"urn:pulumi:{STACK}::{PROJECT}::{APPLICATION}::web-app"
API_SP_URN = f"urn:pulumi:{STACK}::{PROJECT}::{SERVICE_PRINCIPAL}::api-sp"
WEB_SP_URN = f"urn:pulumi:{STACK}::{PROJECT}::{SERVICE_PRINCIPAL}::web-sp"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


def _provider_ref(type_: str) -> str | None:
    if type_.startswith("azuread:"):
        return urn("pulumi:providers:azuread", AZUREAD_PROVIDER) + "::azuread-provider-id"
    if type_.startswith("azure-native:"):
        return urn("pulumi:providers:azure-native", AZURE_NATIVE_PROVIDER) + "::native-provider-id"
    return None


def record(
    type_: str,
    name: str,
    inputs: dict[str, Any],
    outputs: dict[str, Any] | None = None,
    *,
    protect: bool = False,
    additional_secret_outputs: Iterable[str] = (),
    property_dependencies: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """A resource as the offline preview records it; outputs echo inputs plus ``outputs``.

    ``property_dependencies`` maps an input property to the URNs its value came from, as the
    engine reports them (``partner_apps.preview.recorder`` records the same map).
    """
    deps = {key: sorted(value) for key, value in sorted((property_dependencies or {}).items())}
    return {
        "urn": urn(type_, name),
        "type": type_,
        "name": name,
        "custom": True,
        "parent": None,
        "provider": _provider_ref(type_),
        "protect": protect,
        "dependencies": sorted({u for urns in deps.values() for u in urns}),
        "propertyDependencies": deps,
        "ignoreChanges": [],
        "additionalSecretOutputs": sorted(additional_secret_outputs),
        "inputs": inputs,
        "outputs": {**copy.deepcopy(inputs), **(outputs or {})},
    }


def _scope() -> dict[str, Any]:
    return {
        "id": API_SCOPE_ID,
        "value": "user_impersonation",
        "type": "User",
        "adminConsentDisplayName": "Access the partner portal API",
        "adminConsentDescription": "Lets the portal call the API on behalf of the signed-in user.",
        "userConsentDisplayName": "Access the partner portal API",
        "userConsentDescription": "Lets the portal call its API on your behalf.",
        "enabled": True,
    }


def _application(name: str, display: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "displayName": display,
        "description": f"{display} (test fixture)",
        "signInAudience": "AzureADMultipleOrgs",
        "owners": [OWNER],
        "preventDuplicateNames": True,
        "web": {
            "redirectUris": [],
            "implicitGrant": {"accessTokenIssuanceEnabled": False, "idTokenIssuanceEnabled": False},
        },
        "tags": [],
        **extra,
    }


def baseline() -> list[dict[str, Any]]:
    """A compliant US stack: two apps (API + web client), their access, credentials, the vault."""
    api_app = _application(
        "api-app",
        "Contoso Partner Portal API",
        {
            "identifierUris": ["https://us.contoso-partner.example/partner-portal-api"],
            "api": {
                "requestedAccessTokenVersion": 2,
                "knownClientApplications": [WEB_CLIENT_ID],
                "oauth2PermissionScopes": [_scope()],
            },
        },
    )
    web_app = _application(
        "web-app",
        "Contoso Partner Portal",
        {
            "web": {
                "homepageUrl": "https://portal.contoso-partner.example/",
                "redirectUris": ["https://portal.contoso-partner.example/signin-oidc"],
                "implicitGrant": {
                    "accessTokenIssuanceEnabled": False,
                    "idTokenIssuanceEnabled": False,
                },
            },
        },
    )
    return [
        record(
            "pulumi:providers:azuread",
            AZUREAD_PROVIDER,
            {"tenantId": TENANT, "environment": "global"},
        ),
        record(
            "pulumi:providers:azure-native",
            AZURE_NATIVE_PROVIDER,
            {
                "tenantId": TENANT,
                "subscriptionId": SUBSCRIPTION,
                "location": "eastus",
                "environment": "public",
            },
        ),
        record(
            "azuread:index/application:Application",
            "api-app",
            api_app,
            {"clientId": API_CLIENT_ID, "objectId": API_OBJECT_ID},
            protect=True,
            property_dependencies={"api": [WEB_APP_URN]},  # knownClientApplications
        ),
        record(
            "azuread:index/application:Application",
            "web-app",
            web_app,
            {"clientId": WEB_CLIENT_ID, "objectId": WEB_OBJECT_ID},
            protect=True,
        ),
        record(
            "azuread:index/applicationApiAccess:ApplicationApiAccess",
            "api-access-graph",
            {
                "applicationId": f"/applications/{API_OBJECT_ID}",
                "apiClientId": GRAPH,
                "roleIds": [DEVICES_READ_ALL_ROLE, DIRECTORY_READ_ALL_ROLE],
            },
            property_dependencies={"applicationId": [API_APP_URN]},
        ),
        record(
            "azuread:index/applicationApiAccess:ApplicationApiAccess",
            "web-access-graph",
            {
                "applicationId": f"/applications/{WEB_OBJECT_ID}",
                "apiClientId": GRAPH,
                "scopeIds": [OPENID_SCOPE, OFFLINE_ACCESS_SCOPE, USER_READ_SCOPE],
            },
            property_dependencies={"applicationId": [WEB_APP_URN]},
        ),
        record(
            "azuread:index/applicationApiAccess:ApplicationApiAccess",
            "web-access-partner-center",
            {
                "applicationId": f"/applications/{WEB_OBJECT_ID}",
                "apiClientId": PARTNER_CENTER,
                "scopeIds": [PARTNER_CENTER_SCOPE],
            },
            property_dependencies={"applicationId": [WEB_APP_URN]},
        ),
        record(
            "azuread:index/applicationApiAccess:ApplicationApiAccess",
            "web-access-api",
            {
                "applicationId": f"/applications/{WEB_OBJECT_ID}",
                "apiClientId": API_CLIENT_ID,
                "scopeIds": [API_SCOPE_ID],
            },
            property_dependencies={"applicationId": [WEB_APP_URN], "apiClientId": [API_APP_URN]},
        ),
        record(
            "azuread:index/servicePrincipal:ServicePrincipal",
            "api-sp",
            {"clientId": API_CLIENT_ID, "owners": [OWNER], "appRoleAssignmentRequired": False},
            {"objectId": API_SP_OBJECT_ID},
            protect=True,
            property_dependencies={"clientId": [API_APP_URN]},
        ),
        record(
            "azuread:index/servicePrincipal:ServicePrincipal",
            "web-sp",
            {"clientId": WEB_CLIENT_ID, "owners": [OWNER], "appRoleAssignmentRequired": False},
            {"objectId": WEB_SP_OBJECT_ID},
            protect=True,
            property_dependencies={"clientId": [WEB_APP_URN]},
        ),
        record(
            "azuread:index/groupMember:GroupMember",
            "api-admin-agents",
            {"groupObjectId": ADMIN_AGENTS, "memberObjectId": API_SP_OBJECT_ID},
            property_dependencies={"memberObjectId": [API_SP_URN]},
        ),
        record(
            "azuread:index/groupMember:GroupMember",
            "web-admin-agents",
            {"groupObjectId": ADMIN_AGENTS, "memberObjectId": WEB_SP_OBJECT_ID},
            property_dependencies={"memberObjectId": [WEB_SP_URN]},
        ),
        record(
            "azuread:index/applicationPassword:ApplicationPassword",
            "api-secret",
            {
                "applicationId": f"/applications/{API_OBJECT_ID}",
                "displayName": "api-secret (rotated 2026-10-01)",
                "startDate": "2026-10-01T00:00:00Z",
                "endDate": "2027-10-01T00:00:00Z",
                "rotateWhenChanged": {"rotationDate": "2026-10-01"},
            },
            {"keyId": "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f01", "value": "[secret]"},
            property_dependencies={"applicationId": [API_APP_URN]},
        ),
        record(
            "azuread:index/servicePrincipalPassword:ServicePrincipalPassword",
            "api-sp-secret",
            {
                "servicePrincipalId": f"/servicePrincipals/{API_SP_OBJECT_ID}",
                "displayName": "api-sp-secret (rotated 2026-10-01)",
                "startDate": "2026-10-01T00:00:00Z",
                "endDate": "2027-04-01T00:00:00Z",
                "rotateWhenChanged": {"rotationDate": "2026-10-01"},
            },
            {"keyId": "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f02", "value": "[secret]"},
            property_dependencies={"servicePrincipalId": [API_SP_URN]},
        ),
        record(
            "azuread:index/applicationCertificate:ApplicationCertificate",
            "web-certificate",
            {
                "applicationId": f"/applications/{WEB_OBJECT_ID}",
                "type": "AsymmetricX509Cert",
                "encoding": "pem",
                "value": CERTIFICATE_PEM,
                "endDate": "2027-10-01T00:00:00Z",
            },
            property_dependencies={"applicationId": [WEB_APP_URN]},
        ),
        record(
            "azuread:index/servicePrincipalCertificate:ServicePrincipalCertificate",
            "api-sp-certificate",
            {
                "servicePrincipalId": f"/servicePrincipals/{API_SP_OBJECT_ID}",
                "type": "AsymmetricX509Cert",
                "encoding": "base64",  # the certificate's DER, base64-encoded
                "value": "".join(CERTIFICATE_PEM.splitlines()[1:-1]),
                "endDate": "2027-10-01T00:00:00Z",
            },
            property_dependencies={"servicePrincipalId": [API_SP_URN]},
        ),
        # Resources that manage one part of an Application on their own (the program keeps
        # everything inline; other programs use these). One compliant instance of each type.
        record(
            "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri",
            "api-identifier-uri",
            {
                "applicationId": f"/applications/{API_OBJECT_ID}",
                "identifierUri": f"api://{API_CLIENT_ID}",
            },
            # The program computes the URI from the app's client id, as the engine reports.
            property_dependencies={"applicationId": [API_APP_URN], "identifierUri": [API_APP_URN]},
        ),
        record(
            "azuread:index/applicationRedirectUris:ApplicationRedirectUris",
            "web-spa-redirect-uris",
            {
                "applicationId": f"/applications/{WEB_OBJECT_ID}",
                "type": "SPA",
                "redirectUris": ["https://portal.contoso-partner.example/spa/callback"],
            },
            property_dependencies={"applicationId": [WEB_APP_URN]},
        ),
        record(
            "azuread:index/applicationPermissionScope:ApplicationPermissionScope",
            "api-scope-manage",
            {
                "applicationId": f"/applications/{API_OBJECT_ID}",
                "scopeId": API_ADMIN_SCOPE_ID,
                "value": "Partner.Manage",
                "type": "Admin",
                "adminConsentDisplayName": "Manage partner portal settings",
                "adminConsentDescription": "Lets the portal change partner settings as the agent.",
                "userConsentDisplayName": "Manage partner portal settings",
                "userConsentDescription": "Lets the portal change partner settings for you.",
            },
            property_dependencies={"applicationId": [API_APP_URN]},
        ),
        record(
            "azuread:index/applicationKnownClients:ApplicationKnownClients",
            "api-known-clients",
            {
                "applicationId": f"/applications/{API_OBJECT_ID}",
                "knownClientIds": [WEB_CLIENT_ID],
            },
            property_dependencies={"applicationId": [API_APP_URN], "knownClientIds": [WEB_APP_URN]},
        ),
        record(
            "azure-native:resources:ResourceGroup",
            "rg",
            {
                "resourceGroupName": "rg-partner-apps-us",
                "location": "eastus",
                "tags": {"workload": "csp-partner-apps"},
            },
            protect=True,
        ),
        record(
            "azure-native:keyvault:Vault",
            "vault",
            {
                "vaultName": "kv-cspapps-us-01",
                "resourceGroupName": "rg-partner-apps-us",
                "location": "eastus",
                "properties": {
                    "tenantId": TENANT,
                    "sku": {"family": "A", "name": "standard"},
                    "enableRbacAuthorization": True,
                    "enableSoftDelete": True,
                    "softDeleteRetentionInDays": 90,
                    "enablePurgeProtection": True,
                    "publicNetworkAccess": "Disabled",
                    "networkAcls": {"defaultAction": "Deny", "bypass": "None", "ipRules": []},
                },
                "tags": {"workload": "csp-partner-apps"},
            },
            protect=True,
        ),
        record(
            "azure-native:keyvault:Secret",
            "api-client-secret",
            {
                "secretName": "partner-portal-api-client-secret",
                "vaultName": "kv-cspapps-us-01",
                "resourceGroupName": "rg-partner-apps-us",
                "properties": {
                    "value": "[secret]",
                    "contentType": "client secret of Contoso Partner Portal API",
                    "attributes": {"enabled": True, "expires": SECRET_EXPIRES},
                },
                "tags": {"workload": "csp-partner-apps"},
            },
            additional_secret_outputs=["properties"],
        ),
        record(
            "azure-native:authorization:RoleAssignment",
            "secrets-officer",
            {
                "principalId": "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d81",
                "principalType": "ServicePrincipal",
                "roleDefinitionId": (
                    f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/"
                    "roleDefinitions/b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
                ),
                "scope": VAULT_ID,
                "roleAssignmentName": "0f1e2d3c-4b5a-4968-8776-655443322110",
            },
        ),
    ]


# What a first preview does not know yet: every id the engine generates on creation.
_GENERATED_IDS: tuple[tuple[str, str], ...] = (
    ("api-app", "clientId"),
    ("api-app", "objectId"),
    ("web-app", "clientId"),
    ("web-app", "objectId"),
    ("api-sp", "clientId"),
    ("api-sp", "objectId"),
    ("web-sp", "clientId"),
    ("web-sp", "objectId"),
    ("api-admin-agents", "memberObjectId"),
    ("web-admin-agents", "memberObjectId"),
    ("web-access-api", "apiClientId"),
    ("api-known-clients", "knownClientIds"),
    ("api-identifier-uri", "identifierUri"),  # api://<client id>, made from the unknown id
    ("api-app", "api.knownClientApplications"),
    *(
        (name, "applicationId")
        for name in (
            "api-access-graph",
            "web-access-graph",
            "web-access-partner-center",
            "web-access-api",
            "api-secret",
            "web-certificate",
            "api-identifier-uri",
            "web-spa-redirect-uris",
            "api-scope-manage",
            "api-known-clients",
        )
    ),
)


def first_preview() -> list[dict[str, Any]]:
    """The baseline as a first ``pulumi preview`` sees it: no app, principal or id exists yet.

    Client ids, object ids and everything computed from them are unknown; the property
    dependencies (which resource each value comes from) are what the engine still reports.
    """
    records = baseline()
    for name, path in _GENERATED_IDS:
        original = _lookup(find(records, name), path)
        unknown = ["[unknown]"] * len(original) if isinstance(original, list) else "[unknown]"
        set_prop(records, name, path, unknown)
    return records


def _lookup(item: dict[str, Any], path: str) -> Any:
    node: Any = {**item["inputs"], **item["outputs"]}
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node


def region_config(region: str = STACK) -> dict[str, Any]:
    """The committed policy config of a region (what --policy-pack-config passes)."""
    document: dict[str, Any] = json.loads((CONFIG_DIR / f"{region}.json").read_text("utf-8"))
    return document


def find(records: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for item in records:
        if item["name"] == name:
            return item
    raise KeyError(name)


_DELETE = object()


def set_prop(
    records: list[dict[str, Any]], name: str, path: str, value: Any = _DELETE, **fields: Any
) -> list[dict[str, Any]]:
    """Change one property of one resource in place (delete it when no value is given).

    ``path`` is dotted (``properties.publicNetworkAccess``); the change goes to the inputs and to
    the outputs, as a real provider echoes inputs. Keyword arguments replace record fields
    (``protect=False``, ``additionalSecretOutputs=[]``).
    """
    target = find(records, name)
    if path:
        for side in ("inputs", "outputs"):
            node = target[side]
            *parents, leaf = path.split(".")
            for key in parents:
                node = node.setdefault(key, {})
            if value is _DELETE:
                node.pop(leaf, None)
            else:
                node[leaf] = copy.deepcopy(value)
    target.update(fields)
    return records


def changed(name: str, path: str, value: Any = _DELETE, **fields: Any) -> list[dict[str, Any]]:
    """The baseline with one property of one resource changed (see ``set_prop``)."""
    return set_prop(baseline(), name, path, value, **fields)


Finding = tuple[str, str, str, str]  # (policy, enforcement level, resource name, message)


def findings(
    records: list[dict[str, Any]],
    config: dict[str, Any] | None = None,
    *,
    resource_policies_only: bool = False,
    evaluation_date: date = EVALUATION_DATE,
) -> list[Finding]:
    """Every violation of ``records`` under a region config (US by default), as tuples."""
    from pulumi_policy import ResourceValidationPolicy

    from policies.partner_policies import ALL_POLICIES, evaluate

    chosen = [
        p
        for p in ALL_POLICIES
        if not resource_policies_only or isinstance(p, ResourceValidationPolicy)
    ]
    return [
        (v["policy"], v["enforcementLevel"], v["urn"].rsplit("::", 1)[-1], v["message"])
        for v in evaluate(
            records,
            region_config() if config is None else config,
            policies=chosen,
            evaluation_date=evaluation_date,
        )
    ]


# The findings the compliant baseline has on purpose: its API app and its service principal use
# client secrets (advisory only).
BASELINE_FINDINGS: list[Finding] = [
    (
        "azuread-application-password-prefer-certificate",
        "advisory",
        "api-secret",
        "api-secret: uses a client secret (ApplicationPassword) where a certificate could be "
        "used. Fix: in apps.yaml give the app `credential: {type: certificate, publicKeyFile: "
        "certs/{region}/<app>.pem}` (only the public key in the repository; the private key "
        "in Key Vault) once its clients can use it.",
    ),
    (
        "azuread-application-password-prefer-certificate",
        "advisory",
        "api-sp-secret",
        "api-sp-secret: uses a client secret (ServicePrincipalPassword) where a certificate "
        "could be used. Fix: this program registers no service principal password: remove it, "
        "and give the app a certificate in apps.yaml instead (`credential: {type: certificate, "
        "publicKeyFile: ...}`; the private key stays in Key Vault).",
    ),
]


def new_findings(
    records: list[dict[str, Any]],
    config: dict[str, Any] | None = None,
    *,
    evaluation_date: date = EVALUATION_DATE,
) -> list[Finding]:
    """The violations ``records`` has beyond the baseline's own."""
    found = findings(records, config, evaluation_date=evaluation_date)
    return [f for f in found if f not in BASELINE_FINDINGS]
