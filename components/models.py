"""The shapes of a stack's two config files, as pydantic models (and so their JSON Schemas).

* ``Pulumi.<stack>.yaml``, key ``partner-apps:region``: ``RegionConfig`` (tenant, subscription,
  location, Key Vault, AdminAgents, owners, ...);
* ``apps.yaml``: ``AppsFile`` of ``AppDefinition`` (permissions, scopes, URIs, credentials).

Each field's own rule lives here (GUIDs, domains, names, URIs' characters, credential dates...);
rules across fields and files are ``components.config``'s. ``dev/generate.py`` renders the
JSON Schemas in ``schema/`` from these models.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

from policies.partner_policies import catalog as permissions
from policies.partner_policies import rules

from .regions import CLOUDS, Cloud

# The longest secret lifetime Microsoft allows in the portal; the policy pack uses the same rule.
MAX_CREDENTIAL_DAYS = rules.MAX_SECRET_LIFETIME_DAYS

# Every pattern ends with \Z, not $: `$` also matches before a final newline, so "id\n" would pass.
# The JSON Schema keeps `$` (ECMAScript's `$` matches only at the very end).
_GUID_SCHEMA = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_DOMAIN = re.compile(r"^(?=.{4,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z")
_APP_KEY = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*\Z")
# Key Vault names: 3-24 characters, letters, digits and hyphens, start with a letter, end with a
# letter or digit, no consecutive hyphens (Azure's rule; the name is global across Azure).
_VAULT_NAME = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]\Z")
_RESOURCE_GROUP = re.compile(r"^[-\w._()]{0,89}[-\w_()]\Z", re.ASCII)


def _refuse(value: str, problem: str | None) -> None:
    """A field validator's refusal: the value, then the shared rule's words (rules.py)."""
    if problem:
        raise ValueError(f"{value!r} {problem}")


def _guid(value: str) -> str:
    _refuse(value, rules.guid_problem(value))
    return value.lower()


def _domain(value: str) -> str:
    _refuse(value, rules.domain_problem(value))
    if not _DOMAIN.match(value):
        raise ValueError(f"{value!r} is not a domain name (lower-case, like contoso.com)")
    return value


def _app_key(value: str) -> str:
    if not _APP_KEY.match(value) or len(value) > 40:
        raise ValueError(
            f"{value!r} is not an app key (lower-case letters, digits and single hyphens, "
            "starting with a letter, at most 40 characters)"
        )
    # An app's access to an API and to another app are resources named after the API or the app
    # key (`<app>-access-microsoft-graph`): an app keyed like an API would collide with them.
    reserved = {permissions.api_slug(api) for api in permissions.APIS}
    if value in reserved:
        raise ValueError(
            f"{value!r} is reserved: it names a Microsoft API in resource names "
            f"({', '.join(sorted(reserved))})"
        )
    return value


def _display_name(value: str) -> str:
    _refuse(
        value, rules.surrounding_whitespace_problem(value) or rules.hidden_character_problem(value)
    )
    # prevent_duplicate_names makes the azuread provider look the name up with a Graph $filter
    # (displayName eq '<name>') that it does not escape: a quote breaks the preview.
    if "'" in value:
        raise ValueError(
            f"{value!r} contains an apostrophe ('): the provider's duplicate-name check builds an "
            "unescaped Graph filter from the display name and fails; use another character"
        )
    return value


def _group_name(value: str) -> str:
    _refuse(
        value, rules.surrounding_whitespace_problem(value) or rules.hidden_character_problem(value)
    )
    return value


def _text(value: str) -> str:
    _refuse(value, rules.text_problem(value))
    return value


def _reason(value: str) -> str:
    _refuse(value, rules.reason_problem(value))
    return value


def _name(value: str) -> str:
    _refuse(value, rules.hygiene_problem(value, "a name Entra or Azure knows"))
    return value


def _scope_value(value: str) -> str:
    _refuse(value, rules.scope_value_problem(value))
    return value


def _vault_name(value: str) -> str:
    if not _VAULT_NAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid Key Vault name (3-24 letters, digits and hyphens, "
            "starting with a letter, ending with a letter or digit, no '--')"
        )
    return value


def _resource_group(value: str) -> str:
    if not _RESOURCE_GROUP.match(value):
        raise ValueError(
            f"{value!r} is not a valid resource group name (1-90 letters, digits, '-', '_', '.', "
            "'(' or ')', not ending with '.')"
        )
    return value


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"{value!r} is not an IPv4 address or CIDR range ({error})") from None
    if network.version != 4:
        raise ValueError(f"{value!r}: Key Vault network rules accept IPv4 only")
    _refuse(value, rules.ip_rule_problem(str(network)))
    return str(network)


def _unique(values: Sequence[str]) -> Sequence[str]:
    seen: set[str] = set()
    for value in values:
        if value.lower() in seen:
            raise ValueError(f"{value!r} is listed twice")
        seen.add(value.lower())
    return values


# The pattern is for editors (JSON Schema); the validator gives the readable message.
Guid = Annotated[
    str, AfterValidator(_guid), WithJsonSchema({"type": "string", "pattern": _GUID_SCHEMA})
]
DomainName = Annotated[str, AfterValidator(_domain)]
AppKey = Annotated[str, AfterValidator(_app_key)]
VaultName = Annotated[str, AfterValidator(_vault_name)]
ResourceGroupName = Annotated[str, AfterValidator(_resource_group)]
IpRange = Annotated[str, AfterValidator(_cidr)]
Text = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_text)]
# API, permission, scope, location and region names: looked up by exact text, ASCII only.
Name = Annotated[str, AfterValidator(_name)]
Reason = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_reason)]
DisplayName = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_display_name)]
ScopeValue = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_scope_value)]


class Model(BaseModel):
    """Base of every config model: frozen, camelCase keys as in the YAML files, no unknown keys."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=False,
    )


# --- Region (Pulumi.<stack>.yaml, key partner-apps:region) ------------------------------------


class PrincipalRef(Model):
    """An identity that gets a Key Vault data-plane role."""

    principal_id: Guid = Field(description="Object id of the user, group or service principal.")
    principal_type: Literal["ServicePrincipal", "User", "Group"] = Field(
        description="Kind of principal (Azure needs it to assign a role before replication)."
    )
    description: Text = Field(description="Who this is and why it needs the role (for auditors).")


class AdminAgentsConfig(Model):
    """Where the tenant's AdminAgents group comes from."""

    display_name: Annotated[str, AfterValidator(_group_name)] | None = Field(
        default=None,
        min_length=1,
        description="Display name to look the group up by (default AdminAgents).",
    )
    object_id: Guid | None = Field(
        default=None,
        description="Pinned object id of the AdminAgents group; no lookup when set.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> AdminAgentsConfig:
        if self.display_name is not None and self.object_id is not None:
            raise ValueError("set either displayName or objectId, not both")
        return self

    @property
    def lookup_name(self) -> str:
        return self.display_name or "AdminAgents"


class KeyVaultConfig(Model):
    """The regional Key Vault that holds the apps' secrets."""

    name: VaultName = Field(description="Key Vault name (globally unique, 3-24 characters).")
    resource_group_name: ResourceGroupName = Field(
        description="Resource group of the vault, in the region's location."
    )
    create_resource_group: bool = Field(
        default=True,
        description=(
            "Create the resource group (true) or use an existing one (false): with an existing "
            "group, the deploying identity's role-assignment rights can be granted on that group "
            "before the first pulumi up; azure-native never adopts an existing group."
        ),
    )
    create_mode: Literal["default", "recover"] = Field(
        default="default",
        description=(
            "recover: bring back this region's soft-deleted vault of the same name (vault names "
            "are global and stay taken for the retention period under purge protection). Only "
            "read when the vault is created; later changes are ignored."
        ),
    )
    sku: Literal["standard", "premium"] = Field(default="standard", description="Vault SKU.")
    soft_delete_retention_days: int = Field(
        default=90, ge=7, le=90, description="Soft-delete retention in days (7-90)."
    )
    public_network_access: Literal["Disabled", "Enabled"] = Field(
        default="Disabled",
        description=(
            "Disabled (recommended: secrets are written through ARM, the control plane) or "
            "Enabled with default-deny network ACLs that admit only allowedIpRanges."
        ),
    )
    allowed_ip_ranges: list[IpRange] = Field(
        default_factory=list,
        description=(
            "Public IPv4 addresses or CIDR ranges, at most /16 wide, admitted when "
            "publicNetworkAccess is Enabled (private, loopback and reserved ranges are refused)."
        ),
    )
    secrets_officers: list[PrincipalRef] = Field(
        default_factory=list,
        description="Key Vault Secrets Officer: the deploying identity and the rotation job.",
    )
    secrets_users: list[PrincipalRef] = Field(
        default_factory=list,
        description="Key Vault Secrets User: the apps' runtime identities (read only).",
    )

    @model_validator(mode="after")
    def _network(self) -> KeyVaultConfig:
        if self.public_network_access == "Enabled" and not self.allowed_ip_ranges:
            raise ValueError(
                "publicNetworkAccess Enabled needs allowedIpRanges: the vault denies by default "
                "and would otherwise be open to no one but still exposed"
            )
        if self.public_network_access == "Disabled" and self.allowed_ip_ranges:
            raise ValueError(
                "allowedIpRanges has no effect while publicNetworkAccess is Disabled; "
                "remove it or set publicNetworkAccess: Enabled"
            )
        return self


class RegionConfig(Model):
    """Everything that differs between region stacks."""

    id: str = Field(
        description="Region id; must equal the stack name and be a row of the region table."
    )
    cloud: Cloud = Field(default="public", description="Azure cloud of the partner tenant.")
    tenant_id: Guid = Field(description="Tenant id of this region's CSP partner tenant.")
    verified_domains: Annotated[list[DomainName], AfterValidator(_unique)] = Field(
        min_length=1,
        description="Verified domains of the partner tenant; identifier URIs must use one.",
    )
    subscription_id: Guid = Field(description="Azure subscription that holds the Key Vault.")
    location: Name = Field(description="Azure location; must belong to the region's geography.")
    production: bool = Field(
        default=False, description="Production stack: policies require protected resources."
    )
    protect: bool = Field(
        default=True,
        description="Protect apps, service principals and the vault against deletion.",
    )
    owners: Annotated[list[Guid], AfterValidator(_unique)] = Field(
        min_length=1,
        description="Object ids of the owners of every app and service principal.",
    )
    admin_agents: AdminAgentsConfig = Field(
        default_factory=AdminAgentsConfig,
        description="The AdminAgents group whose members are pre-consented in every customer.",
    )
    key_vault: KeyVaultConfig = Field(description="The regional Key Vault.")
    tags: dict[
        Annotated[str, Field(min_length=1, max_length=512)], Annotated[str, Field(max_length=256)]
    ] = Field(
        default_factory=dict, description="Azure tags on the resource group, vault and secrets."
    )

    @property
    def login_base(self) -> str:
        """The cloud's sign-in endpoint (``https://login.microsoftonline.com``)."""
        return f"https://{CLOUDS[self.cloud].login_host}"

    @property
    def authority(self) -> str:
        """The partner tenant's authority (admin consent in the partner tenant, agents' home)."""
        return f"{self.login_base}/{self.tenant_id}"


# --- Apps (apps.yaml) ----------------------------------------------------------------------------


class PermissionRequest(Model):
    """One permission an app requires on a Microsoft API, by name."""

    api: Name = Field(description="API display name, e.g. 'Microsoft Graph'.")
    permission: Name = Field(description="Permission value, e.g. 'Directory.Read.All'.")
    type: permissions.Kind = Field(description="delegated (Scope) or application (Role).")
    reason: Reason | None = Field(
        default=None,
        description=(
            "Why the app needs it. Required for application permissions and for delegated "
            "permissions that need admin consent; reviewers and auditors read it."
        ),
    )


class ScopeRequest(Model):
    """A delegated scope of another app of the same stack (multi-tier)."""

    app: AppKey = Field(description="Key of the app that exposes the scope.")
    scope: Name = Field(description="Value of the scope, e.g. 'user_impersonation'.")
    reason: Reason | None = Field(default=None, description="Why it is needed.")


class ScopeDefinition(Model):
    """An oauth2 permission scope the app exposes. Its id is derived, never configured."""

    value: ScopeValue = Field(
        description=(
            "Scope value clients request: ASCII letters, digits and !#$%&'()*+,-./:;<=>?@[]^_`{|}~ "
            "(Graph's rule), not starting with a dot."
        )
    )
    type: Literal["User", "Admin"] = Field(
        default="User", description="Who may consent: User (users and admins) or Admin only."
    )
    admin_consent_display_name: Text = Field(description="Title on the admin consent prompt.")
    admin_consent_description: Text = Field(description="Text on the admin consent prompt.")
    user_consent_display_name: Text | None = Field(
        default=None, description="Title on the user consent prompt (required for type User)."
    )
    user_consent_description: Text | None = Field(
        default=None, description="Text on the user consent prompt (required for type User)."
    )
    enabled: bool = Field(
        default=True,
        description="Disable before removing: Graph refuses to delete an enabled scope.",
    )

    @model_validator(mode="after")
    def _user_texts(self) -> ScopeDefinition:
        if self.type == "User" and not (
            self.user_consent_display_name and self.user_consent_description
        ):
            raise ValueError(
                "a scope of type User needs userConsentDisplayName and userConsentDescription"
            )
        return self


class ImplicitGrant(Model):
    """Implicit grant is off unless a definition asks for it and says why."""

    access_tokens: bool = Field(default=False, description="Issue access tokens implicitly.")
    id_tokens: bool = Field(default=False, description="Issue ID tokens implicitly.")
    reason: Reason | None = Field(default=None, description="Why it is needed.")

    @model_validator(mode="after")
    def _refused(self) -> ImplicitGrant:
        # Config and policy agree: no region relaxes the mandatory implicit-grant policy, so a
        # reason cannot make it pass (an escape hatch that fails at preview is none).
        if self.access_tokens or self.id_tokens:
            raise ValueError(rules.IMPLICIT_GRANT_REFUSAL)
        return self


class PasswordCredential(Model):
    """A client secret whose life starts on a configured date: rotate by changing the date."""

    type: Literal["password"] = Field(description="Client secret.")
    rotation_date: date = Field(
        description=(
            "Start of the current secret's life (YYYY-MM-DD). The end date is derived from it, "
            "never from 'now', so a preview does not replace the secret. Change it to rotate."
        )
    )
    lifetime_days: int = Field(
        default=365,
        ge=1,
        description=f"Days the secret is valid from rotationDate (at most {MAX_CREDENTIAL_DAYS}).",
    )

    @model_validator(mode="after")
    def _lifetime(self) -> PasswordCredential:
        problem = rules.lifetime_days_problem(self.lifetime_days)
        if problem:
            raise ValueError(f"lifetimeDays {self.lifetime_days}: the secret {problem}")
        if self.rotation_date > date.max - timedelta(days=self.lifetime_days):
            raise ValueError(f"rotationDate {self.rotation_date.isoformat()} ends after 9999-12-31")
        return self


class CertificateCredential(Model):
    """A certificate credential: only the public part is in the repository."""

    type: Literal["certificate"] = Field(description="Certificate (recommended over secrets).")
    public_key_file: str = Field(
        description=(
            "PEM file with the certificate's public part, relative to the project; "
            "'{region}' is replaced by the region id."
        )
    )
    end_date: date | None = Field(
        default=None,
        description=(
            "Last day the credential is valid (YYYY-MM-DD); at most the certificate's own expiry, "
            "which is the default."
        ),
    )


Credential = Annotated[PasswordCredential | CertificateCredential, Field(discriminator="type")]


class AppDefinition(Model):
    """A partner-managed app, registered once in every region's partner tenant."""

    display_name: DisplayName = Field(
        description="Display name (unique in the tenant: duplicates are refused; no ')."
    )
    description: Text | None = Field(default=None, description="Shown on the app registration.")
    notes: Text | None = Field(default=None, description="Notes for admins of the partner tenant.")
    development: bool = Field(
        default=False, description="Development app: http://localhost redirect URIs allowed."
    )
    homepage_url: str | None = Field(
        default=None, description="Homepage (https; '{region}' is replaced by the region id)."
    )
    redirect_uris: Annotated[list[str], AfterValidator(_unique)] = Field(
        default_factory=list,
        description="Web redirect URIs: https, no wildcards; '{region}' is replaced.",
    )
    implicit_grant: ImplicitGrant = Field(
        default_factory=ImplicitGrant, description="Implicit grant (off by default)."
    )
    identifier_uri: str | None = Field(
        default=None,
        description=(
            "'verified-domain' for https://<first verified domain>/<app key>, 'api' for "
            "api://<client id>, or an https URL on a verified domain ('{region}' is replaced). "
            "Defaults to 'verified-domain' when the app exposes an API."
        ),
    )
    expose_api: bool = Field(
        default=False,
        description="Expose an API; offers user_impersonation unless scopes are listed.",
    )
    scopes: list[ScopeDefinition] = Field(
        default_factory=list, description="Delegated scopes the app exposes."
    )
    known_clients: Annotated[list[AppKey], AfterValidator(_unique)] = Field(
        default_factory=list,
        description="Apps of this file consented together with this one (multi-tier).",
    )
    previous_keys: Annotated[list[AppKey], AfterValidator(_unique)] = Field(
        default_factory=list,
        description=(
            "Keys this app had before a rename, oldest first. The oldest keeps naming what "
            "Pulumi, Entra and Key Vault see (resources, scope ids, the default identifier URI, "
            "secret names), so a renamed key keeps the registration (client id) and every "
            "consent of it."
        ),
    )
    permissions: list[PermissionRequest] = Field(
        default_factory=list, description="Required access to Microsoft APIs, by name."
    )
    required_scopes: list[ScopeRequest] = Field(
        default_factory=list, description="Delegated scopes of other apps of this file."
    )
    secure_application_model: bool = Field(
        default=False,
        description="Secure Application Model app: gets a refresh-token secret in the vault.",
    )
    credential: Credential = Field(description="The app's credential.")

    @model_validator(mode="after")
    def _scopes_unique(self) -> AppDefinition:
        values = [scope.value for scope in self.scopes]
        for value in values:
            if values.count(value) > 1:
                raise ValueError(f"scope value {value!r} is defined twice")
        if self.scopes and not self.expose_api:
            raise ValueError("scopes are listed but exposeApi is false")
        return self

    def effective_scopes(self) -> tuple[ScopeDefinition, ...]:
        """The scopes to expose; user_impersonation is offered by default for an API."""
        if not self.expose_api:
            return ()
        if self.scopes:
            return tuple(self.scopes)
        return (
            ScopeDefinition(
                value="user_impersonation",
                type="User",
                admin_consent_display_name=f"Access {self.display_name}",
                admin_consent_description=(
                    f"Allows the application to access {self.display_name} on behalf of the "
                    "signed-in user."
                ),
                user_consent_display_name=f"Access {self.display_name}",
                user_consent_description=(
                    f"Allows the application to access {self.display_name} on your behalf."
                ),
            ),
        )


class AppsFile(Model):
    """The shared app definitions file (apps.yaml)."""

    apps: dict[AppKey, AppDefinition] = Field(
        min_length=1, description="Partner-managed apps by key (used in resource names)."
    )
