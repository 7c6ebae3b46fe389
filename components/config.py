"""Typed configuration of a region stack: the models, and the one place config is read.

Two files feed a stack:

* ``Pulumi.<stack>.yaml`` holds the per-region values under ``partner-apps:region`` (tenant,
  subscription, location, Key Vault, AdminAgents, owners, ...) and, as Pulumi secrets, the
  Secure Application Model refresh tokens under ``partner-apps:refreshTokens``;
* ``apps.yaml`` holds the app definitions, shared by every region so a reviewer reads one diff.

Everything is validated before the first resource is registered. Problems are collected, not
raised one at a time, and each names the file, the key path and the rule, so a platform team fixes
a broken stack file in one go. Components never see ``pulumi.Config``: they get these frozen models.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from graphlib import CycleError, TopologicalSorter
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, get_args, get_origin

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

from policies.partner_policies import catalog as permissions
from policies.partner_policies import rules

from .files import (
    APPS_FILE,
    DISABLE_DEFAULT_PROVIDERS_KEY,
    NAMESPACE,
    REFRESH_TOKENS_KEY,
    REGION_KEY,
    ConfigError,
    Problem,
    read_yaml,
)
from .regions import CLOUDS, REGIONS, Cloud, region_of_location
from .resolved import ResolvedApp, build_order, credential_end_date, resolve_app
from .resolved import render as render_uri
from .stackfiles import uniqueness_problems

__all__ = [  # re-exported: callers import config names from one place
    "APPS_FILE",
    "DISABLE_DEFAULT_PROVIDERS_KEY",
    "NAMESPACE",
    "REFRESH_TOKENS_KEY",
    "REGION_KEY",
    "ConfigError",
    "Problem",
    "read_yaml",
]

# Keys a stack file may carry. Anything else is a typo or a default-provider setting
# (`azuread:tenantId`, `azure-native:location`) that would silently be ignored: both are errors.
KNOWN_STACK_KEYS = (REGION_KEY, REFRESH_TOKENS_KEY, DISABLE_DEFAULT_PROVIDERS_KEY)
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


def _guid(value: str) -> str:
    problem = rules.guid_problem(value)
    if problem:
        raise ValueError(f"{value!r} {problem}")
    return value.lower()


def _domain(value: str) -> str:
    problem = rules.domain_problem(value)
    if problem:
        raise ValueError(f"{value!r} {problem}")
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
    problem = rules.surrounding_whitespace_problem(value) or rules.hidden_character_problem(value)
    if problem:
        raise ValueError(f"{value!r} {problem}")
    # prevent_duplicate_names makes the azuread provider look the name up with a Graph $filter
    # (displayName eq '<name>') that it does not escape: a quote breaks the preview.
    if "'" in value:
        raise ValueError(
            f"{value!r} contains an apostrophe ('): the provider's duplicate-name check builds an "
            "unescaped Graph filter from the display name and fails; use another character"
        )
    return value


def _group_name(value: str) -> str:
    problem = rules.surrounding_whitespace_problem(value) or rules.hidden_character_problem(value)
    if problem:
        raise ValueError(f"{value!r} {problem}")
    return value


def _text(value: str) -> str:
    problem = rules.text_problem(value)
    if problem:
        raise ValueError(f"{value!r} {problem}")
    return value


def _reason(value: str) -> str:
    problem = rules.reason_problem(value)
    if problem:
        raise ValueError(f"{value!r} {problem}")
    return value


def _name(value: str) -> str:
    problem = rules.hygiene_problem(value, "a name Entra or Azure knows")
    if problem:
        raise ValueError(f"{value!r} {problem}")
    return value


def _scope_value(value: str) -> str:
    problem = rules.scope_value_problem(value)
    if problem:
        raise ValueError(f"{value!r} {problem}")
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
    problem = rules.ip_rule_problem(str(network))
    if problem:
        raise ValueError(f"{value!r} {problem}")
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


# --- Resolved settings handed to the program ------------------------------------------------------


@dataclass(frozen=True)
class ResolvedPermission:
    """A permission request resolved through the catalog."""

    request: PermissionRequest
    permission: permissions.Permission


@dataclass(frozen=True)
class LoadedCertificate:
    """The public certificate of a certificate credential, read and checked at the edge."""

    pem: str  # exactly one certificate, re-encoded: nothing else of the file reaches Entra
    thumbprint: str  # SHA-1, upper-case hex, as Entra and the portal show it
    not_before: datetime  # UTC, to the second: Entra refuses a key valid before the certificate
    not_after: datetime  # UTC
    end: datetime  # the credential's end: endDate (00:00 UTC), else the certificate's expiry

    @property
    def end_date(self) -> date:
        return self.end.date()


@dataclass(frozen=True)
class StackSettings:
    """Validated settings of one region stack: the only thing the program reads."""

    project: str
    stack: str
    region: RegionConfig
    apps: Mapping[str, AppDefinition]
    resolved_permissions: Mapping[str, tuple[ResolvedPermission, ...]]
    # Each app's values in this region (URIs, credential end, authority), resolved once here.
    resolved_apps: Mapping[str, ResolvedApp]
    # Known clients before the apps that list them (registration order).
    build_order: tuple[str, ...]
    refresh_tokens: Mapping[str, SecretStr] = field(default_factory=dict)
    certificates: Mapping[str, LoadedCertificate] = field(default_factory=dict)


# --- Errors -------------------------------------------------------------------------------------


def _key_path(prefix: str, loc: Sequence[int | str]) -> str:
    path = prefix
    for part in loc:
        name = str(part) or '""'  # an empty YAML key
        if isinstance(part, int):
            path += f"[{part}]"
        elif path:
            path += f".{name}"
        else:
            path = name
    return path


def _strip(annotation: Any) -> Any:
    """The model or container type behind Annotated[...] and Optional[...]."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
            continue
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if get_origin(annotation) not in (list, dict) and len(args) == 1:
            annotation = args[0]
            continue
        return annotation


def _allowed_keys(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """Aliases allowed at ``loc`` (the parent of an unknown key), for 'unknown key' messages."""
    current: Any = model
    for part in loc:
        current = _strip(current)
        if get_origin(current) in (list, dict):
            current = get_args(current)[-1]  # the part is an index or a mapping key
            continue
        tagged = [
            member
            for member in get_args(current)
            if isinstance(member, type)
            and issubclass(member, BaseModel)
            and "type" in member.model_fields
            and get_args(member.model_fields["type"].annotation) == (part,)
        ]
        if tagged:  # the part is the tag of a discriminated union (credential type)
            current = tagged[0]
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        fields = {
            info.alias or name: info.annotation for name, info in current.model_fields.items()
        }
        if part not in fields:
            return []
        current = fields[str(part)]
    current = _strip(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(info.alias or name for name, info in current.model_fields.items())
    return []


# Loc parts pydantic adds that are not YAML keys: the tag of the credential union (only right
# after `credential`: an app may be keyed `certificate`), validator labels such as
# `function-after[_guid(), str]` (app keys never contain '['), and `[key]` for a mapping key.
_CREDENTIAL_TAGS = ("password", "certificate")
_VALIDATOR_LABEL = re.compile(r"^function-[a-z]+\[")


def _yaml_loc(loc: Sequence[int | str], *, keep_tags: bool = False) -> list[int | str]:
    result: list[int | str] = []
    for part in loc:
        if isinstance(part, str) and (
            part == "[key]"
            or _VALIDATOR_LABEL.match(part)
            or (
                not keep_tags
                and part in _CREDENTIAL_TAGS
                and len(result) == 3
                and result[::2] == ["apps", "credential"]
            )
        ):
            continue
        result.append(part)
    return result


def _yaml_type(value: Any) -> str:
    """How a YAML reader would name the type of a parsed value."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def problems_from_validation(
    error: ValidationError, file: str, prefix: str, model: type[BaseModel]
) -> list[Problem]:
    """Turn pydantic's errors into one readable line each."""
    problems = []
    for item in error.errors(include_url=False):
        loc = _yaml_loc(item["loc"])
        if item["loc"][-1:] == ("[key]",) and isinstance(item.get("input"), bool) and loc:
            # A mapping key read as a boolean (an unquoted `on:`): pydantic reports it as 1 or 0.
            loc[-1] = str(item["input"]).lower()
        kind = item["type"]
        message = str(item["msg"])
        if kind in ("model_type", "model_attributes_type"):
            message = f"must be a mapping of keys, not {_yaml_type(item.get('input'))}"
        elif kind == "extra_forbidden":
            allowed = _allowed_keys(model, _yaml_loc(item["loc"], keep_tags=True)[:-1])
            message = "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
        elif kind == "missing":
            message = "required key is missing"
        elif kind in ("value_error", "assertion_error"):
            message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        elif kind == "union_tag_invalid":
            message = "type must be 'password' or 'certificate'"
        elif isinstance(item.get("input"), bool) and kind != "bool_type":
            word = "true" if item.get("input") else "false"
            message = (
                f"is the boolean {word}, not text: YAML reads unquoted yes, no, on, off, true and "
                f'false as booleans; quote the value ("no") if text is meant ({message})'
            )
        elif kind == "date_from_datetime_parsing" or kind.startswith("date_"):
            message = f"{item.get('input')!r} is not a date (expected YYYY-MM-DD)"
        problems.append(Problem(file, _key_path(prefix, loc) or "(file)", message))
    return problems


# --- Validation -----------------------------------------------------------------------------------


def _validate_region(raw_region: Any, stack: str, file: str) -> list[Problem]:
    """The single-region rules, on the raw values: they are reported even when another key of
    the region is broken, so a platform team sees every problem of the file at once."""
    if not isinstance(raw_region, dict) or not isinstance(raw_region.get("id"), str):
        return []
    region_id: str = raw_region["id"]
    cloud = raw_region.get("cloud", "public")
    location = raw_region.get("location")
    problems: list[Problem] = []
    key = REGION_KEY
    table = REGIONS.get(region_id)
    if region_id != stack:
        problems.append(
            Problem(
                file,
                f"{key}.id",
                f"region {region_id!r} does not match the stack name {stack!r}; a stack "
                "deploys exactly the region it is named after",
            )
        )
    if table is None:
        problems.append(
            Problem(
                file,
                f"{key}.id",
                f"unknown region {region_id!r} (known: {', '.join(sorted(REGIONS))}); "
                "add a row to components/regions.py for a new region",
            )
        )
        return problems
    if isinstance(cloud, str) and cloud in CLOUDS and cloud != table.cloud:
        problems.append(
            Problem(
                file,
                f"{key}.cloud",
                f"region {region_id!r} is in the {table.cloud!r} cloud, not {cloud!r}",
            )
        )
    if isinstance(location, str) and location not in table.locations:
        other = region_of_location(location)
        hint = f" (a location of region {other!r})" if other else ""
        problems.append(
            Problem(
                file,
                f"{key}.location",
                f"{location!r}{hint} is outside region {region_id!r}; allowed: "
                f"{', '.join(table.locations)}",
            )
        )
    return problems


def _check_uris(key: str, app: AppDefinition, region: RegionConfig, file: str) -> list[Problem]:
    """Redirect, homepage and identifier URIs of one app, as they will be in this region."""
    problems: list[Problem] = []
    base = f"apps.{key}"
    for index, uri in enumerate(app.redirect_uris):
        rendered = render_uri(uri, region)
        issue = rules.redirect_uri_problem(
            rendered,
            allow_localhost=app.development,
            sam_loopback=app.secure_application_model,
        )
        if issue:
            problems.append(Problem(file, f"{base}.redirectUris[{index}]", f"{rendered!r} {issue}"))
    if app.homepage_url:
        rendered = render_uri(app.homepage_url, region)
        issue = rules.redirect_uri_problem(rendered, allow_localhost=app.development)
        if issue:
            problems.append(Problem(file, f"{base}.homepageUrl", f"{rendered!r} {issue}"))

    if app.identifier_uri is not None and not app.expose_api:
        problems.append(
            Problem(file, f"{base}.identifierUri", "an identifier URI needs exposeApi: true")
        )
    if app.identifier_uri in (None, "verified-domain", "api"):
        return problems
    uri = render_uri(app.identifier_uri, region)
    problem = rules.identifier_uri_problem(uri, region.verified_domains)
    if problem:
        problems.append(
            Problem(
                file,
                f"{base}.identifierUri",
                f"{uri!r} {problem} (region {region.id!r}: "
                f"{', '.join(region.verified_domains)}); use 'verified-domain', 'api' or an https "
                "URL on a verified domain: a multi-tenant app's identifier URI must be globally "
                "unique",
            )
        )
    return problems


def _check_links(
    key: str, app: AppDefinition, apps: Mapping[str, AppDefinition], file: str
) -> list[Problem]:
    """Known clients and required scopes must name apps (and scopes) of the same stack."""
    problems: list[Problem] = []
    base = f"apps.{key}"
    for index, client in enumerate(app.known_clients):
        path = f"{base}.knownClients[{index}]"
        if client == key:
            problems.append(Problem(file, path, "an app cannot be its own known client"))
        elif client not in apps:
            problems.append(
                Problem(
                    file,
                    path,
                    f"{client!r} is not an app of this file; known clients must be apps of the "
                    "same stack",
                )
            )
    if app.known_clients and not app.expose_api:
        problems.append(Problem(file, f"{base}.knownClients", "known clients need exposeApi: true"))

    required: dict[tuple[str, str], int] = {}
    for index, wanted in enumerate(app.required_scopes):
        target = apps.get(wanted.app)
        path = f"{base}.requiredScopes[{index}]"
        exposed = {scope.value: scope for scope in target.effective_scopes()} if target else {}
        first = required.setdefault((wanted.app, wanted.scope), index)
        if first != index:
            problems.append(
                Problem(
                    file,
                    path,
                    f"scope {wanted.scope!r} of app {wanted.app!r} is listed twice (also "
                    f"requiredScopes[{first}]); require each scope once",
                )
            )
        elif wanted.app == key:
            problems.append(Problem(file, f"{path}.app", "an app cannot require its own scope"))
        elif target is None:
            problems.append(
                Problem(
                    file,
                    f"{path}.app",
                    f"{wanted.app!r} is not an app of this file; required scopes must come from "
                    "apps of the same stack",
                )
            )
        elif wanted.scope not in exposed:
            offered = ", ".join(exposed) or "none"
            problems.append(
                Problem(
                    file,
                    f"{path}.scope",
                    f"app {wanted.app!r} does not expose scope {wanted.scope!r} "
                    f"(it exposes: {offered})",
                )
            )
        elif not exposed[wanted.scope].enabled:
            problems.append(
                Problem(
                    file,
                    f"{path}.scope",
                    f"scope {wanted.scope!r} of app {wanted.app!r} is disabled (enabled: false): "
                    "no client can be consented to it; move this client to an enabled scope "
                    "before disabling one",
                )
            )
    return problems


def _resolve_permissions(
    key: str, app: AppDefinition, file: str
) -> tuple[list[Problem], tuple[ResolvedPermission, ...]]:
    """Resolve permission names through the catalog; refuse unknown, non-CSP and retired ones."""
    problems: list[Problem] = []
    resolved: list[ResolvedPermission] = []
    seen: set[tuple[str, str]] = set()
    base = f"apps.{key}"
    for index, request in enumerate(app.permissions):
        path = f"{base}.permissions[{index}]"
        label = f"{request.api} / {request.permission} ({request.type})"
        try:
            permission = permissions.lookup(request.api, request.permission, request.type)
        except permissions.CatalogError as error:
            problems.append(Problem(file, path, f"app {key!r}: {error}"))
            continue
        refusal = permissions.check_allowed(permission)
        if refusal:
            problems.append(Problem(file, path, f"app {key!r}: {label}: {refusal}"))
            continue
        if (permission.api.app_id, permission.id) in seen:
            problems.append(Problem(file, path, f"app {key!r}: {label} is listed twice"))
            continue
        seen.add((permission.api.app_id, permission.id))
        if permission.admin_consent and not request.reason:
            needs = (
                "is an application permission"
                if request.type == "application"
                else "needs admin consent"
            )
            problems.append(
                Problem(
                    file,
                    f"{path}.reason",
                    f"app {key!r}: {label} {needs}; give the reason reviewers and auditors "
                    "will read",
                )
            )
        resolved.append(ResolvedPermission(request, permission))

    if app.secure_application_model and not any(
        item.permission.api == permissions.PARTNER_CENTER for item in resolved
    ):
        problems.append(
            Problem(
                file,
                f"{base}.permissions",
                f"app {key!r} is a Secure Application Model app but does not require "
                "Microsoft Partner Center / user_impersonation (delegated)",
            )
        )
    return problems, tuple(resolved)


def _certificate_path(relative: str, project_dir: Path) -> Path | str:
    """The PEM file a ``publicKeyFile`` names, or why it cannot be used: it must be a file of
    the repository, reached without leaving it (no ``..``, no symbolic link that leads out)."""
    if not relative or "\0" in relative:
        return f"{relative!r} is not a file path"
    normalised = PurePosixPath(os.path.normpath(relative.replace("\\", "/")))
    if normalised.is_absolute() or normalised.parts[:1] == ("..",):
        return (
            f"{relative!r} is outside the project; the certificate's public part must be a "
            "file of the repository, relative to the project directory"
        )
    pem_path = project_dir / normalised
    resolved = pem_path.resolve()
    if not resolved.is_relative_to(project_dir.resolve()):
        return (
            f"{relative!r} is a symbolic link (or lies under one) that leads outside the "
            f"repository, to {str(resolved)!r}; commit the public certificate itself"
        )
    if pem_path.is_dir():
        return f"{relative!r} is a directory, not a file; name the PEM file in it"
    if not pem_path.is_file():
        return f"{relative!r} does not exist"
    return pem_path


def _load_certificate(  # noqa: PLR0917 - one call site; the values are the check's inputs
    key: str,
    credential: CertificateCredential,
    region: RegionConfig,
    project_dir: Path,
    file: str,
    today: date,
) -> tuple[list[Problem], LoadedCertificate | None]:
    """The public certificate of a certificate credential, read and checked at the edge."""
    where = f"apps.{key}.credential.publicKeyFile"
    relative = render_uri(credential.public_key_file, region)
    pem_path = _certificate_path(relative, project_dir)
    if isinstance(pem_path, str):
        return [Problem(file, where, pem_path)], None
    try:
        data = pem_path.read_bytes()
    except OSError as error:
        return [Problem(file, where, f"{relative!r} cannot be read ({error.strerror})")], None
    if b"PRIVATE KEY-----" in data:
        # Never send (or commit) a private key: Entra needs only the public certificate.
        return [
            Problem(
                file,
                where,
                f"{relative!r} contains a private key; commit only the public certificate "
                "(openssl x509 -in <file> -out <public>.pem) and keep the key in Key Vault",
            )
        ], None
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError:
        return [
            Problem(
                file,
                where,
                f"{relative!r} is not a PEM certificate (convert a DER file with "
                "openssl x509 -inform der -outform pem)",
            )
        ], None
    not_before = certificate.not_valid_before_utc
    not_after = certificate.not_valid_after_utc
    end = not_after
    if credential.end_date is not None:
        end = datetime.combine(credential.end_date, datetime.min.time(), tzinfo=UTC)
    if not not_before < end <= not_after:
        return [
            Problem(
                file,
                f"apps.{key}.credential.endDate",
                f"{end.date().isoformat()} is outside the certificate's validity "
                f"({not_before.date().isoformat()} to {not_after.date().isoformat()})",
            )
        ], None
    if end.date() <= today:
        # Entra refuses a key credential that already ended; an existing one no longer signs in.
        where_end = f"apps.{key}.credential.endDate" if credential.end_date else where
        return [
            Problem(
                file,
                where_end,
                f"app {key!r}: the certificate credential ends on {end.date().isoformat()}, not "
                f"after today ({today.isoformat()}); commit a renewed public certificate",
            )
        ], None
    return [], LoadedCertificate(
        pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        # SHA-1 is what Entra shows as the thumbprint: an identifier here, not a security check.
        thumbprint=certificate.fingerprint(hashes.SHA1()).hex().upper(),
        not_before=not_before,
        not_after=not_after,
        end=end,
    )


def _utc_today() -> date:
    return datetime.now(UTC).date()


def _check_rotation_date(key: str, app: AppDefinition, today: date, file: str) -> list[Problem]:
    """A client secret must be valid from the day it replaces the old one, and not over yet."""
    credential = app.credential
    if not isinstance(credential, PasswordCredential):
        return []
    end = credential_end_date(app, None)
    if end <= today:
        # Graph refuses a credential that ends in the past, and an existing one has expired: the
        # app cannot sign in either way. Rotating means a new rotationDate (today, say).
        return [
            Problem(
                file,
                f"apps.{key}.credential.rotationDate",
                f"app {key!r}: the secret of rotationDate {credential.rotation_date.isoformat()} "
                f"and lifetimeDays {credential.lifetime_days} ended on {end.isoformat()}, before "
                f"today ({today.isoformat()}); rotate it by setting rotationDate to today's date",
            )
        ]
    problem = rules.rotation_date_problem(credential.rotation_date, today)
    if problem is None:
        return []
    return [Problem(file, f"apps.{key}.credential.rotationDate", problem)]


def _validate_apps(
    apps_file: AppsFile, region: RegionConfig, project_dir: Path, file: str, today: date
) -> tuple[list[Problem], dict[str, tuple[ResolvedPermission, ...]], dict[str, LoadedCertificate]]:
    problems: list[Problem] = []
    resolved: dict[str, tuple[ResolvedPermission, ...]] = {}
    certificates: dict[str, LoadedCertificate] = {}
    display_names: dict[str, str] = {}
    for key, app in apps_file.apps.items():
        # Entra compares display names ignoring case; spaces are the easiest difference to miss.
        name = " ".join(app.display_name.split()).casefold()
        other = display_names.get(name)
        if other:
            problems.append(
                Problem(
                    file,
                    f"apps.{key}.displayName",
                    f"{app.display_name!r} is also the display name of app {other!r} (ignoring "
                    "case and spaces); display names must be unique in the tenant",
                )
            )
        display_names[name] = key
        problems.extend(_check_uris(key, app, region, file))
        problems.extend(_check_links(key, app, apps_file.apps, file))
        problems.extend(_check_rotation_date(key, app, today, file))
        permission_problems, resolved[key] = _resolve_permissions(key, app, file)
        problems.extend(permission_problems)
        if isinstance(app.credential, CertificateCredential):
            cert_problems, loaded = _load_certificate(
                key, app.credential, region, project_dir, file, today
            )
            problems.extend(cert_problems)
            if loaded is not None:
                certificates[key] = loaded
    problems.extend(_check_known_client_cycles(apps_file.apps, file))
    return problems, resolved, certificates


def _check_known_client_cycles(apps: Mapping[str, AppDefinition], file: str) -> list[Problem]:
    """A resource app lists its known clients by client id, so each client must exist first;
    two apps that (through others) list each other can never be created."""
    graph = {
        key: {client for client in app.known_clients if client in apps and client != key}
        for key, app in apps.items()
    }
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        cycle = " -> ".join(str(node) for node in error.args[1])
        return [
            Problem(
                file,
                f"apps.{error.args[1][0]}.knownClients",
                f"known clients form a cycle ({cycle}); two apps cannot each be the other's "
                "known client",
            )
        ]
    return []


def _stack_key_problems(config: Mapping[str, Any], stack_file: str) -> list[Problem]:
    """Unknown keys, and default providers that are not disabled."""
    problems: list[Problem] = []
    for key in sorted(config):
        if key not in KNOWN_STACK_KEYS:
            # A key without a namespace is as silently ignored as a typo under partner-apps:.
            hint = (
                "default providers are disabled; region values go under partner-apps:region"
                if ":" in key and not key.startswith(f"{NAMESPACE}:")
                else f"allowed: {', '.join(KNOWN_STACK_KEYS)}"
            )
            problems.append(Problem(stack_file, key or '""', f"unknown key ({hint})"))
    disabled = config.get(DISABLE_DEFAULT_PROVIDERS_KEY)
    if not (isinstance(disabled, list) and "*" in disabled):
        problems.append(
            Problem(
                stack_file,
                DISABLE_DEFAULT_PROVIDERS_KEY,
                'must be ["*"] so no resource can fall back to a default provider that might '
                "reach another region's tenant",
            )
        )
    return problems


def _refresh_tokens(
    config: Mapping[str, Any],
    secret_keys: set[str],
    apps_file: AppsFile | None,
    stack_file: str,
) -> tuple[list[Problem], dict[str, SecretStr]]:
    """The Secure Application Model refresh tokens of the stack config (secrets only)."""
    problems: list[Problem] = []
    refresh_tokens: dict[str, SecretStr] = {}
    raw_tokens = config.get(REFRESH_TOKENS_KEY)
    if raw_tokens is not None:
        if REFRESH_TOKENS_KEY not in secret_keys:
            problems.append(
                Problem(
                    stack_file,
                    REFRESH_TOKENS_KEY,
                    "refresh tokens must be Pulumi secrets: pulumi config set --secret --path "
                    "'refreshTokens.<app key>' <token> (remove the plain-text value and rotate it)",
                )
            )
        elif not isinstance(raw_tokens, dict):
            problems.append(
                Problem(stack_file, REFRESH_TOKENS_KEY, "must map app keys to refresh tokens")
            )
        else:
            for app_key, token in sorted(raw_tokens.items(), key=lambda item: str(item[0])):
                path = f"{REFRESH_TOKENS_KEY}.{app_key}"
                app = apps_file.apps.get(app_key) if apps_file else None
                if apps_file is not None and app is None:
                    problems.append(
                        Problem(stack_file, path, f"{app_key!r} is not an app of {APPS_FILE}")
                    )
                elif app is not None and not app.secure_application_model:
                    problems.append(
                        Problem(
                            stack_file,
                            path,
                            f"app {app_key!r} is not a Secure Application Model app "
                            "(secureApplicationModel: true)",
                        )
                    )
                elif not isinstance(token, str) or not token:
                    problems.append(Problem(stack_file, path, "must be a non-empty string"))
                else:
                    refresh_tokens[app_key] = SecretStr(token)
    return problems, refresh_tokens


def validate(
    *,
    project: str,
    stack: str,
    config: Mapping[str, Any],
    secret_keys: set[str],
    apps_document: Any,
    project_dir: Path,
    other_stacks: Mapping[str, Any] | None = None,
    today: date | None = None,
) -> StackSettings:
    """Validate a stack's config and the shared app file; raise ConfigError listing every problem.

    ``today`` (default: the current UTC date) is used only to refuse a client secret rotation
    date in the future; it never reaches a resource input.

    ``config`` maps full config keys to values already parsed from YAML/JSON. ``other_stacks``
    maps stack names to the parsed ``partner-apps:region`` of the other stack files of the repo,
    for the single-region uniqueness rule.
    """
    stack_file = f"Pulumi.{stack}.yaml"
    problems: list[Problem] = _stack_key_problems(config, stack_file)

    region: RegionConfig | None = None
    raw_region = config.get(REGION_KEY)
    if raw_region is None:
        problems.append(Problem(stack_file, REGION_KEY, "required key is missing"))
    elif REGION_KEY in secret_keys:
        # The program would read the decrypted values as plain text (provider settings, stack
        # outputs) and every other rule would echo them: refuse, and look no further.
        problems.append(
            Problem(
                stack_file,
                REGION_KEY,
                "must not hold secure values: tenant, subscription and the other region values "
                "go into provider settings and stack outputs in plain text",
            )
        )
        raw_region = None
    else:
        try:
            region = RegionConfig.model_validate(raw_region)
        except ValidationError as error:
            problems.extend(problems_from_validation(error, stack_file, REGION_KEY, RegionConfig))
    problems.extend(_validate_region(raw_region, stack, stack_file))
    if other_stacks:
        problems.extend(uniqueness_problems(stack, raw_region, other_stacks))

    apps_file: AppsFile | None = None
    try:
        apps_file = AppsFile.model_validate(apps_document)
    except ValidationError as error:
        problems.extend(problems_from_validation(error, APPS_FILE, "", AppsFile))

    resolved: dict[str, tuple[ResolvedPermission, ...]] = {}
    certificates: dict[str, LoadedCertificate] = {}
    if apps_file is not None and region is not None:
        app_problems, resolved, certificates = _validate_apps(
            apps_file, region, project_dir, APPS_FILE, today or _utc_today()
        )
        problems.extend(app_problems)

    token_problems, refresh_tokens = _refresh_tokens(config, secret_keys, apps_file, stack_file)
    problems.extend(token_problems)

    if problems:
        raise ConfigError(problems)
    if region is None or apps_file is None:  # unreachable: each None came with a problem
        raise ConfigError(problems)
    apps = dict(apps_file.apps)
    return StackSettings(
        project=project,
        stack=stack,
        region=region,
        apps=apps,
        resolved_permissions=resolved,
        resolved_apps={
            key: resolve_app(key, app, region, certificates.get(key))
            for key, app in sorted(apps.items())
        },
        build_order=build_order(apps),
        refresh_tokens=refresh_tokens,
        certificates=certificates,
    )
