"""The vocabulary of plans, defined once: resource type tokens, secret and unknown markers, URN
names, the Key Vault role names, risk and severity order, and the words for a permission's flags.

The type tokens the policy pack knows are the pack's own (``policies/partner_policies/tokens.py``:
the pack stays publishable alone, so it cannot import this module; the review side reuses its
tokens instead of spelling them again). The tokens only the review reads are defined here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from policies.partner_policies.engine import SECRET_MARKER
from policies.partner_policies.tokens import (
    API_ACCESS,
    APP_COMPONENT,
    APPLICATION,
    AZURE_NATIVE_PROVIDER,
    AZUREAD_PROVIDER,
    CERTIFICATE,
    GROUP_MEMBER,
    IDENTIFIER_URI,
    KNOWN_CLIENTS,
    PASSWORD,
    PERMISSION_SCOPE,
    REDIRECT_URIS,
    RESOURCE_GROUP,
    ROLE_ASSIGNMENT,
    SERVICE_PRINCIPAL,
    VAULT,
    VAULT_COMPONENT,
    VAULT_SECRET,
)

__all__ = [
    "API_ACCESS",
    "APPLICATION",
    "APPLICATION_REGISTRATION",
    "APP_COMPONENT",
    "AZUREAD_PROVIDER",
    "AZURE_NATIVE_PROVIDER",
    "CERTIFICATE",
    "FEDERATED_CREDENTIAL",
    "GROUP_MEMBER",
    "IDENTIFIER_URI",
    "KEY_VAULT_ROLES",
    "KEY_VAULT_ROLE_TABLE",
    "KNOWN_CLIENTS",
    "PASSWORD",
    "PERMISSION_SCOPE",
    "PRE_AUTHORIZED",
    "PROVIDER_PREFIX",
    "REDIRECT_URIS",
    "RESOURCE_GROUP",
    "RISK_ORDER",
    "ROLE_ASSIGNMENT",
    "SECRET",
    "SECRET_ENVELOPE_KEY",
    "SECRET_ENVELOPE_SIG",
    "SECRET_PATHS",
    "SERVICE_PRINCIPAL",
    "SEVERITY_ORDER",
    "STACK_TYPE",
    "UNKNOWN",
    "UNKNOWN_MARKER",
    "VAULT",
    "VAULT_COMPONENT",
    "VAULT_SECRET",
    "WORKLOAD_PRINCIPAL",
    "Urn",
    "is_provider",
    "is_unknown",
    "parse_urn",
    "permission_flags",
    "role_definition_guid",
    "role_name",
    "short_name",
    "urn_name",
    "vault_role_risk",
]

# How a secret value reads wherever it is recorded or shown (the pack's marker: one spelling).
SECRET: Final = SECRET_MARKER
# The string the Pulumi engine uses for a value not known until apply (preview, mocks).
UNKNOWN: Final = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
# How the offline recorder writes an unknown value.
UNKNOWN_MARKER: Final = "[unknown]"
# Pulumi's envelope for a secret value in state and over the wire.
SECRET_ENVELOPE_KEY: Final = "4dabf18193072939515e22adb298388d"
SECRET_ENVELOPE_SIG: Final = "1b47061264138c4ac30d75fd1eb44270"

STACK_TYPE: Final = "pulumi:pulumi:Stack"
PROVIDER_PREFIX: Final = "pulumi:providers:"

# Types the review reads that no policy does.
APPLICATION_REGISTRATION: Final = "azuread:index/applicationRegistration:ApplicationRegistration"
PRE_AUTHORIZED: Final = "azuread:index/applicationPreAuthorized:ApplicationPreAuthorized"
FEDERATED_CREDENTIAL: Final = (
    "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
)

# Properties the providers keep secret even when the program does not say so.
SECRET_PATHS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    PASSWORD: (("value",),),
    CERTIFICATE: (("value",),),
    VAULT_SECRET: (("properties", "value"),),
}

# Built-in Azure roles a vault's role assignment may name, by role definition id (the same in
# every tenant): Microsoft's "Azure built-in roles" pages (learn.microsoft.com,
# azure/role-based-access-control/built-in-roles, categories General and Security) and the Key
# Vault RBAC guide (azure/key-vault/general/rbac-guide). The value says whether a holder can read
# the vault's secrets (the SAM refresh token): directly (a getSecret data action), or by giving
# itself that right (Owner and User Access Administrator assign roles; Contributor and Key Vault
# Contributor can switch the vault to the access-policy model and write themselves a policy).
KEY_VAULT_ROLE_TABLE: Mapping[str, tuple[str, bool]] = {
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": ("Key Vault Secrets Officer", True),
    "4633458b-17de-408a-b874-0445c86b69e6": ("Key Vault Secrets User", True),
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": ("Key Vault Administrator", True),
    "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba": ("Key Vault Certificate User", True),
    "f25e0fa2-a7c8-4377-a976-54943a77a395": ("Key Vault Contributor", True),
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": ("Owner", True),
    "b24988ac-6180-42a0-ab88-20f7382dd24c": ("Contributor", True),
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": ("User Access Administrator", True),
    "21090545-7ca7-4776-b22c-e363652d74d2": ("Key Vault Reader", False),
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": ("Reader", False),
}
KEY_VAULT_ROLES: Mapping[str, str] = {
    role_id: name for role_id, (name, _) in KEY_VAULT_ROLE_TABLE.items()
}
# The principal type a workload has; every other (User, Group, ForeignGroup, Device, none) is
# a person or people, or cannot be told apart from one.
WORKLOAD_PRINCIPAL = "ServicePrincipal"


def role_definition_guid(role_definition_id: str) -> str:
    """The role's GUID from a role definition id (``…/roleDefinitions/<guid>``) or a bare GUID."""
    return role_definition_id.rsplit("/", 1)[-1].lower()


def role_name(role_definition_id: str) -> str:
    """The built-in role's name, or the id as given when it is not a role this table knows."""
    return KEY_VAULT_ROLES.get(role_definition_guid(role_definition_id), role_definition_id)


def vault_role_risk(role_definition_id: str, principal_type: str) -> str | None:
    """Why a role assignment on the vault is a risk, or None.

    A person or a group (a group's members change outside this review) holding a role that can
    read the vault's secrets can read the SAM refresh token, which acts as the consenting admin
    in every customer. A role this table does not know counts as one that can: it has not been
    reviewed. Service principals are the project's workloads, each declared with its reason in
    the stack file (``keyVault.secretsOfficers`` / ``secretsUsers``): they are shown, not flagged.
    """
    if principal_type == WORKLOAD_PRINCIPAL:
        return None
    known = KEY_VAULT_ROLE_TABLE.get(role_definition_guid(role_definition_id))
    if known is not None and not known[1]:
        return None
    who = {"User": "a user", "Group": "a group"}.get(
        principal_type, "a principal that is not a service principal"
    )
    role = known[0] if known else f"an unreviewed role ({role_definition_id})"
    return f"{who} gets {role}, which can read the vault's secrets (the SAM refresh token)"


RISK_ORDER: Mapping[str, int] = {"high": 0, "medium": 1, "low": 2}
SEVERITY_ORDER: Mapping[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def is_unknown(value: Any) -> bool:
    """True for a value the engine does not know before apply."""
    return isinstance(value, str) and value in (UNKNOWN, UNKNOWN_MARKER)


def is_provider(type_: str) -> bool:
    """True for a provider resource's type token."""
    return type_.startswith(PROVIDER_PREFIX)


# --------------------------------------------------------------------------------------------
# URNs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Urn:
    """The parts of ``urn:pulumi:<stack>::<project>::<parent types$type>::<name>``."""

    stack: str
    project: str
    qualified_type: str
    name: str

    @property
    def type(self) -> str:
        return self.qualified_type.rsplit("$", 1)[-1]

    @property
    def ancestor_types(self) -> tuple[str, ...]:
        return tuple(self.qualified_type.split("$")[:-1])


def parse_urn(urn: str) -> Urn | None:
    """Split a URN; None when it is not one."""
    if not urn.startswith("urn:pulumi:"):
        return None
    parts = urn[len("urn:pulumi:") :].split("::", 3)
    if len(parts) != 4:
        return None
    return Urn(stack=parts[0], project=parts[1], qualified_type=parts[2], name=parts[3])


def urn_name(urn: str) -> str:
    """The resource name in a URN (the URN itself when it is not one)."""
    parsed = parse_urn(urn)
    return parsed.name if parsed else urn


def short_name(urn: str) -> str:
    """A resource's name for reports: the URN's name, ``(stack)`` for an empty URN (a stack
    policy's finding)."""
    return urn_name(urn) if urn else "(stack)"


# --------------------------------------------------------------------------------------------
# The words for a permission's flags (what the catalog says is unusual about it)
# --------------------------------------------------------------------------------------------


def permission_flags(
    *,
    known: bool,
    high_privilege: bool,
    retired: bool,
    csp_allowed: bool | None,
    detailed: bool = False,
) -> list[str]:
    """The flags of a permission in words, in one order. ``detailed``: the words of a report's
    table, which say what the flag means (a retired API grants nothing; CSP supports only some
    Graph resources); otherwise the short words of prose."""
    flags: list[str] = []
    if not known:
        flags.append("unknown (not in catalog)")
    if high_privilege:
        flags.append("high privilege")
    if retired:
        flags.append("retired API: grants nothing" if detailed else "retired API")
    if csp_allowed is False:
        where = "Graph resources" if detailed else "resources"
        flags.append(f"outside CSP-supported {where}")
    return flags


# An id of Entra ID or Azure anywhere in a value (made-up ones are found this way in the states
# of a real preview, ``assignedAtDeploy`` of a plan lists them).
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
