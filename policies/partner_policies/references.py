"""Public checks and source documents the policies correspond to, named once.

Ids are the ones the tools publish (checkov ``CKV_AZURE_*``, Trivy/tfsec ``AVD-AZU-*``, Maester
``MT.*``, AzureADAssessment ``AR*``), so an auditor can line this pack up with a scan report.
"""

from __future__ import annotations

from ._framework import Reference

# --- CSP source documents and Microsoft guidance -------------------------------------------------

CSP_GRAPH = Reference(
    source="CSP",
    title=(
        "Call Microsoft Graph from a Cloud Solution Provider application: partner-managed apps are "
        "multi-tenant, pre-consented through AdminAgents, limited to directory and Intune "
        "resources and to one region"
    ),
    url="https://learn.microsoft.com/en-us/graph/auth-cloudsolutionprovider",
)
CSP_SECURE_APP_MODEL = Reference(
    source="CSP",
    title=(
        "Enabling the Secure Application Model framework: refresh token kept in Key Vault, "
        "certificates preferred over client secrets"
    ),
    url="https://learn.microsoft.com/en-us/partner-center/developer/enable-secure-app-model",
)
MS_CONSENT = Reference(
    source="Microsoft Learn",
    title="Permissions and consent: application and some delegated permissions need admin consent",
    url="https://learn.microsoft.com/en-us/entra/identity-platform/permissions-consent-overview",
)
MS_INTEGRATING_APPS = Reference(
    source="Microsoft Learn",
    title="Integrating applications with Microsoft Entra ID (app registration, implicit grant off)",
    url="https://learn.microsoft.com/en-us/entra/identity-platform/quickstart-register-app",
)
MS_MULTI_TENANT = Reference(
    source="Microsoft Learn",
    title="Convert an app to be multi-tenant (sign-in audience, App ID URI on a verified domain)",
    url="https://learn.microsoft.com/en-us/entra/identity-platform/howto-convert-app-to-be-multi-tenant",
)
MS_APP_SECURITY = Reference(
    source="Microsoft Learn",
    title="Security best practices for application properties in Microsoft Entra ID",
    url="https://learn.microsoft.com/en-us/entra/identity-platform/security-best-practices-for-app-registration",
)
MS_REDIRECT_URIS = Reference(
    source="Microsoft Learn",
    title="Redirect URI (reply URL) best practices and limitations",
    url="https://learn.microsoft.com/en-us/entra/identity-platform/reply-url",
)
MS_IDENTIFIER_URIS = Reference(
    source="Microsoft Learn",
    title="Restrictions on identifier URIs of Microsoft Entra applications",
    url="https://learn.microsoft.com/en-us/entra/identity-platform/identifier-uri-restrictions",
)
MS_CERTIFICATE_CREDENTIALS = Reference(
    source="Microsoft Learn",
    title=(
        "Microsoft identity platform application authentication certificate credentials (the "
        "client assertion is signed with the certificate's key: alg PS256, earlier RS256)"
    ),
    url="https://learn.microsoft.com/en-us/entra/identity-platform/certificate-credentials",
)
MS_GRAPH_ADD_KEY = Reference(
    source="Microsoft Learn",
    title=(
        "Microsoft Graph application: addKey (provide only the public key of a certificate "
        "credential; a private key risks compromising the application)"
    ),
    url="https://learn.microsoft.com/en-us/graph/api/application-addkey",
)
MS_IMPLICIT_GRANT = Reference(
    source="Microsoft Learn",
    title="OAuth 2.0 implicit grant flow (not recommended; use the authorization code flow)",
    url="https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-implicit-grant-flow",
)
MS_EXPOSE_API = Reference(
    source="Microsoft Learn",
    title="Expose a web API: scope id, value, type and consent texts",
    url="https://learn.microsoft.com/en-us/entra/identity-platform/quickstart-configure-app-expose-web-apis",
)
MS_PERMISSION_SCOPE = Reference(
    source="Microsoft Graph",
    title="permissionScope resource type (id is a unique GUID, value has no spaces)",
    url="https://learn.microsoft.com/en-us/graph/api/resources/permissionscope",
)
MS_LEAST_PRIVILEGE = Reference(
    source="Microsoft Learn",
    title="Best practices for least privileged access for applications",
    url="https://learn.microsoft.com/en-us/entra/identity-platform/secure-least-privileged-access",
)
MS_AAD_GRAPH_RETIREMENT = Reference(
    source="Microsoft Learn",
    title="Migrate from Azure AD Graph to Microsoft Graph (Azure AD Graph retired 2025-08-31)",
    url="https://learn.microsoft.com/en-us/graph/migrate-azure-ad-graph-overview",
)
MS_KEYVAULT_RBAC = Reference(
    source="Microsoft Learn",
    title="Provide access to Key Vault keys, certificates and secrets with Azure RBAC",
    url="https://learn.microsoft.com/en-us/azure/key-vault/general/rbac-guide",
)
MS_KEYVAULT_SOFT_DELETE = Reference(
    source="Microsoft Learn",
    title="Azure Key Vault soft-delete overview (retention 7-90 days, purge protection)",
    url="https://learn.microsoft.com/en-us/azure/key-vault/general/soft-delete-overview",
)
MS_KEYVAULT_NETWORK = Reference(
    source="Microsoft Learn",
    title="Configure Azure Key Vault networking settings",
    url="https://learn.microsoft.com/en-us/azure/key-vault/general/network-security",
)
MS_KEYVAULT_TEMPLATE = Reference(
    source="Microsoft Learn",
    title="Microsoft.KeyVault vaults template reference (properties.tenantId)",
    url="https://learn.microsoft.com/en-us/azure/templates/microsoft.keyvault/vaults",
)
MS_KEYVAULT_SECRETS = Reference(
    source="Microsoft Learn",
    title="About Azure Key Vault secrets (expiration, content type)",
    url="https://learn.microsoft.com/en-us/azure/key-vault/secrets/about-secrets",
)

# --- Pulumi --------------------------------------------------------------------------------------

PULUMI_PROVIDERS = Reference(
    source="Pulumi",
    title="Explicit providers and disabling default providers",
    url="https://www.pulumi.com/docs/iac/concepts/resources/providers/",
)
PULUMI_PROTECT = Reference(
    source="Pulumi",
    title="The protect resource option",
    url="https://www.pulumi.com/docs/iac/concepts/options/protect/",
)
PULUMI_SECRETS = Reference(
    source="Pulumi",
    title="Secrets handling (Output.secret, secrets in state)",
    url="https://www.pulumi.com/docs/iac/concepts/secrets/",
)
PULUMI_ADDITIONAL_SECRET_OUTPUTS = Reference(
    source="Pulumi",
    title="The additionalSecretOutputs resource option (top-level properties only)",
    url="https://www.pulumi.com/docs/iac/concepts/options/additionalsecretoutputs/",
)

# --- Public checks -------------------------------------------------------------------------------

CHECKOV_SECRET_EXPIRY = Reference(
    source="checkov",
    id="CKV_AZURE_41",
    title="Ensure that the expiration date is set on all secrets",
    url="https://www.checkov.io/5.Policy%20Index/azure.html",
)
CHECKOV_VAULT_RECOVERABLE = Reference(
    source="checkov",
    id="CKV_AZURE_42",
    title="Ensure the key vault is recoverable",
    url="https://www.checkov.io/5.Policy%20Index/azure.html",
)
CHECKOV_VAULT_FIREWALL = Reference(
    source="checkov",
    id="CKV_AZURE_109",
    title="Ensure that key vault allows firewall rules settings",
    url="https://www.checkov.io/5.Policy%20Index/azure.html",
)
CHECKOV_VAULT_PURGE_PROTECTION = Reference(
    source="checkov",
    id="CKV_AZURE_110",
    title="Ensure that key vault enables purge protection",
    url="https://www.checkov.io/5.Policy%20Index/azure.html",
)
CHECKOV_SECRET_CONTENT_TYPE = Reference(
    source="checkov",
    id="CKV_AZURE_114",
    title='Ensure that key vault secrets have "content_type" set',
    url="https://www.checkov.io/5.Policy%20Index/azure.html",
)
CHECKOV_VAULT_PUBLIC_ACCESS = Reference(
    source="checkov",
    id="CKV_AZURE_189",
    title="Ensure that Azure Key Vault disables public network access",
    url="https://www.checkov.io/5.Policy%20Index/azure.html",
)
TRIVY_NETWORK_ACL = Reference(
    source="Trivy/tfsec",
    id="AVD-AZU-0013",
    title="Key vault should have the network acl block specified (specify-network-acl)",
    url="https://aquasecurity.github.io/tfsec/latest/checks/azure/keyvault/specify-network-acl/",
)
TRIVY_CONTENT_TYPE = Reference(
    source="Trivy/tfsec",
    id="AVD-AZU-0015",
    title="Key vault Secret should have a content type set (content-type-for-secret)",
    url="https://aquasecurity.github.io/tfsec/latest/checks/azure/keyvault/content-type-for-secret/",
)
TRIVY_NO_PURGE = Reference(
    source="Trivy/tfsec",
    id="AVD-AZU-0016",
    title="Key vault should have purge protection enabled (no-purge)",
    url="https://aquasecurity.github.io/tfsec/latest/checks/azure/keyvault/no-purge/",
)
TRIVY_SECRET_EXPIRY = Reference(
    source="Trivy/tfsec",
    id="AVD-AZU-0017",
    title="Key Vault Secret should have an expiration date set (ensure-secret-expiry)",
    url="https://aquasecurity.github.io/tfsec/latest/checks/azure/keyvault/ensure-secret-expiry/",
)
MAESTER_APP_MANAGEMENT_POLICY = Reference(
    source="Maester",
    id="MT.1002",
    title="App management restrictions (strong credentials, maximum lifetime) are enabled",
    url="https://maester.dev/docs/tests/MT.1002",
)
MAESTER_HIGH_RISK_DIRECT = Reference(
    source="Maester",
    id="MT.1050",
    title="Apps with high-risk permissions having a direct path to Global Admin",
    url="https://maester.dev/docs/tests/MT.1050",
)
MAESTER_HIGH_RISK_INDIRECT = Reference(
    source="Maester",
    id="MT.1051",
    title="Apps with high-risk permissions having an indirect path to Global Admin",
    url="https://maester.dev/docs/tests/MT.1051",
)
MAESTER_NO_SECRETS = Reference(
    source="Maester",
    id="MT.1057",
    title="App registrations should no longer use secrets",
    url="https://maester.dev/docs/tests/MT.1057",
)
AADA_PASSWORD_CREDENTIALS = Reference(
    source="AzureADAssessment",
    id="AR0004",
    title="Programmatic usage of password credentials (use certificates or managed identities)",
    url="https://github.com/AzureAD/AzureADAssessment",
)
AADA_EXPIRED_CREDENTIALS = Reference(
    source="AzureADAssessment",
    id="AR0005",
    title="Application or service principals with expired credentials (credential lifecycle)",
    url="https://github.com/AzureAD/AzureADAssessment",
)
AADA_HIGH_PERMISSION_GRANTS = Reference(
    source="AzureADAssessment",
    id="AR0006",
    title="Grants for high level permissions",
    url="https://github.com/AzureAD/AzureADAssessment",
)
AADA_LEGACY_RESOURCES = Reference(
    source="AzureADAssessment",
    id="AR0007",
    title="Grants to legacy resources (Azure AD Graph)",
    url="https://github.com/AzureAD/AzureADAssessment",
)
