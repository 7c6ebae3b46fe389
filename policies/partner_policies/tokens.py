"""Resource type tokens, as the engine and CrossGuard name them."""

from __future__ import annotations

from typing import Final

APPLICATION: Final = "azuread:index/application:Application"
API_ACCESS: Final = "azuread:index/applicationApiAccess:ApplicationApiAccess"
IDENTIFIER_URI: Final = "azuread:index/applicationIdentifierUri:ApplicationIdentifierUri"
REDIRECT_URIS: Final = "azuread:index/applicationRedirectUris:ApplicationRedirectUris"
KNOWN_CLIENTS: Final = "azuread:index/applicationKnownClients:ApplicationKnownClients"
PERMISSION_SCOPE: Final = "azuread:index/applicationPermissionScope:ApplicationPermissionScope"
APP_ROLE: Final = "azuread:index/applicationAppRole:ApplicationAppRole"
SERVICE_PRINCIPAL: Final = "azuread:index/servicePrincipal:ServicePrincipal"
GROUP_MEMBER: Final = "azuread:index/groupMember:GroupMember"
PASSWORD: Final = "azuread:index/applicationPassword:ApplicationPassword"
SERVICE_PRINCIPAL_PASSWORD: Final = (
    "azuread:index/servicePrincipalPassword:ServicePrincipalPassword"
)
CERTIFICATE: Final = "azuread:index/applicationCertificate:ApplicationCertificate"
SERVICE_PRINCIPAL_CERTIFICATE: Final = (
    "azuread:index/servicePrincipalCertificate:ServicePrincipalCertificate"
)

RESOURCE_GROUP: Final = "azure-native:resources:ResourceGroup"
VAULT: Final = "azure-native:keyvault:Vault"
VAULT_SECRET: Final = "azure-native:keyvault:Secret"
ROLE_ASSIGNMENT: Final = "azure-native:authorization:RoleAssignment"

# The program's own components (components/partner_app.py, components/key_vault.py register
# them; here because the pack, published alone, and the review product both read them).
APP_COMPONENT: Final = "partner-apps:index:PartnerManagedApp"
VAULT_COMPONENT: Final = "partner-apps:index:RegionalKeyVault"

AZUREAD_PROVIDER: Final = "pulumi:providers:azuread"
AZURE_NATIVE_PROVIDER: Final = "pulumi:providers:azure-native"

ALL_AZUREAD: Final = "azuread:*"
ALL_AZURE_NATIVE: Final = "azure-native:*"
