"""Least privileges of the identity that runs `pulumi up`, per resource type the program registers.

This is data, not prose: ``tests/test_deployer.py`` fails when the program registers a resource
type (or calls a function) that no row covers, and the tables of ``docs/running-for-real.md``
are generated from it (``make generate``). Each row names the public source that says what the
provider's calls need, in the way Microsoft365DSC documents every resource.

Graph permissions are **application** permissions of the deploying app in the region's partner
tenant (it signs in with OIDC or a certificate, never as a user). Azure roles are RBAC role
assignments in the region's subscription.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from policies.partner_policies import tokens as types

Kind = Literal["graph", "azure"]

# Scopes of Azure role assignments. The vault's resource group only exists before the first
# `pulumi up` when the stack does not create it (keyVault.createResourceGroup: false).
PARTNER_TENANT = "partner tenant"
VAULT_GROUP = "vault resource group"
SUBSCRIPTION = "subscription"

_PROVIDER_DOCS = "https://registry.terraform.io/providers/hashicorp/azuread/3.9.0/docs/resources"
_GRAPH_DOCS = "https://learn.microsoft.com/en-us/graph/api"
_RBAC_DOCS = "https://learn.microsoft.com/en-us/azure/role-based-access-control"


@dataclass(frozen=True)
class Grant:
    """One permission or role the deploying identity needs."""

    name: str  # Graph application permission, or Azure built-in role
    kind: Kind
    scope: str
    when: str | None = None  # a condition; None means always


@dataclass(frozen=True)
class Requirement:
    """What the provider's calls for one resource type (or function) need, and who says so."""

    token: str  # Pulumi type token of the resource or function
    calls: str  # what the provider does with it, in Graph or ARM terms
    grants: tuple[Grant, ...]
    sources: tuple[str, ...]
    note: str | None = None


_OWNED = Grant("Application.ReadWrite.OwnedBy", "graph", PARTNER_TENANT)
_OWNER_NOTE = (
    "Application.ReadWrite.OwnedBy manages only the apps the deploying identity owns: it must be "
    "one of `owners` in the stack file."
)
_USER_OWNERS = Grant(
    "User.Read.All", "graph", PARTNER_TENANT, when="`owners` lists users (not only apps)"
)

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        token="azuread:index/application:Application",
        calls="POST/PATCH /applications, owners by reference",
        grants=(_OWNED, _USER_OWNERS),
        sources=(f"{_PROVIDER_DOCS}/application#api-permissions",),
        note=_OWNER_NOTE,
    ),
    Requirement(
        token="azuread:index/applicationApiAccess:ApplicationApiAccess",
        calls="GET and PATCH /applications/{id} (requiredResourceAccess)",
        grants=(_OWNED,),
        sources=(f"{_PROVIDER_DOCS}/application_api_access#api-permissions",),
        note=_OWNER_NOTE,
    ),
    Requirement(
        token="azuread:index/applicationIdentifierUri:ApplicationIdentifierUri",
        calls="GET and PATCH /applications/{id} (identifierUris)",
        grants=(_OWNED,),
        sources=(f"{_PROVIDER_DOCS}/application_identifier_uri#api-permissions",),
        note=_OWNER_NOTE,
    ),
    Requirement(
        token="azuread:index/applicationPassword:ApplicationPassword",
        calls="POST /applications/{id}/addPassword, removePassword",
        grants=(_OWNED,),
        sources=(f"{_PROVIDER_DOCS}/application_password#api-permissions",),
        note=_OWNER_NOTE,
    ),
    Requirement(
        token="azuread:index/applicationCertificate:ApplicationCertificate",
        calls="PATCH /applications/{id} (keyCredentials)",
        grants=(_OWNED,),
        sources=(f"{_PROVIDER_DOCS}/application_certificate#api-permissions",),
        note=_OWNER_NOTE,
    ),
    Requirement(
        token="azuread:index/servicePrincipal:ServicePrincipal",
        calls="POST/PATCH /servicePrincipals, owners by reference",
        grants=(_OWNED, _USER_OWNERS),
        sources=(f"{_PROVIDER_DOCS}/service_principal#api-permissions",),
        note="The deploying identity must own both the application and its service principal.",
    ),
    Requirement(
        token="azuread:index/groupMember:GroupMember",
        calls="GET /groups/{id}, GET /groups/{id}/members, POST /groups/{id}/members/$ref",
        grants=(
            Grant("GroupMember.ReadWrite.All", "graph", PARTNER_TENANT),
            Grant("Application.ReadWrite.All", "graph", PARTNER_TENANT),
        ),
        sources=(
            f"{_GRAPH_DOCS}/group-post-members#permissions",
            f"{_PROVIDER_DOCS}/group_member#api-permissions",
        ),
        note=(
            "The member is a service principal: Graph's least privilege for adding one is "
            "GroupMember.ReadWrite.All **and** Application.ReadWrite.All (which also covers "
            "Application.ReadWrite.OwnedBy). The provider's docs name Group.ReadWrite.All or "
            "Directory.ReadWrite.All instead, unless the caller owns the group; AdminAgents is "
            "Partner Center's group, so do not make the deploying identity its owner."
        ),
    ),
    Requirement(
        token="azuread:index/getServicePrincipal:getServicePrincipal",
        calls="GET /servicePrincipals?$filter=appId eq '...' (each API the apps request "
        "permissions of: its published app role and scope ids)",
        grants=(Grant("Application.Read.All", "graph", PARTNER_TENANT),),
        sources=(
            "https://registry.terraform.io/providers/hashicorp/azuread/3.9.0/docs/data-sources/service_principal#api-permissions",
            f"{_GRAPH_DOCS}/serviceprincipal-list#permissions",
        ),
        note=(
            "The program checks the permission catalog's ids against what Microsoft publishes "
            "(components/published.py); Application.ReadWrite.All includes this read."
        ),
    ),
    Requirement(
        token="azuread:index/getGroup:getGroup",
        calls="GET /groups?$filter=displayName eq '...'",
        grants=(
            Grant(
                "Group.Read.All",
                "graph",
                PARTNER_TENANT,
                when="`adminAgents.displayName` (lookup) instead of a pinned `objectId`",
            ),
        ),
        sources=(
            "https://registry.terraform.io/providers/hashicorp/azuread/3.9.0/docs/data-sources/group#api-permissions",
        ),
    ),
    Requirement(
        token="azure-native:resources:ResourceGroup",
        calls="PUT /subscriptions/{s}/resourcegroups/{name}",
        grants=(
            Grant(
                "Contributor",
                "azure",
                SUBSCRIPTION,
                when="the stack creates the group (`keyVault.createResourceGroup`, the default)",
            ),
        ),
        sources=(f"{_RBAC_DOCS}/built-in-roles/privileged#contributor",),
        note="A custom role with Microsoft.Resources/subscriptions/resourceGroups/write will do.",
    ),
    Requirement(
        token="azure-native:keyvault:Vault",
        calls="PUT .../Microsoft.KeyVault/vaults/{name} (control plane)",
        grants=(Grant("Key Vault Contributor", "azure", VAULT_GROUP),),
        sources=(f"{_RBAC_DOCS}/built-in-roles/security#key-vault-contributor",),
    ),
    Requirement(
        token="azure-native:keyvault:Secret",
        calls="PUT .../vaults/{name}/secrets/{secret} (control plane; works with the vault closed)",
        grants=(Grant("Key Vault Contributor", "azure", VAULT_GROUP),),
        sources=(
            f"{_RBAC_DOCS}/built-in-roles/security#key-vault-contributor",
            "https://learn.microsoft.com/en-us/rest/api/keyvault/keyvault/secrets/create-or-update",
        ),
        note=(
            "Deleting a secret would need the data plane (Key Vault Secrets Officer from an "
            "allowed network): the stack keeps secrets on delete instead (retainOnDelete)."
        ),
    ),
    Requirement(
        token="azure-native:authorization:RoleAssignment",
        calls="PUT {vault id}/providers/Microsoft.Authorization/roleAssignments/{name}",
        grants=(
            Grant(
                "Role Based Access Control Administrator",
                "azure",
                VAULT_GROUP,
                when=(
                    "with a condition that allows only the Key Vault Secrets Officer "
                    "(b86a8fe4-44ce-4948-aee5-eccb2c155cd7) and Secrets User "
                    "(4633458b-17de-408a-b874-0445c86b69e6) roles"
                ),
            ),
        ),
        sources=(
            f"{_RBAC_DOCS}/built-in-roles/privileged#role-based-access-control-administrator",
            f"{_RBAC_DOCS}/delegate-role-assignments-portal",
        ),
    ),
)

# Types that need nothing of the deploying identity (they call no API).
NO_PERMISSION_NEEDED = frozenset(
    {
        types.AZUREAD_PROVIDER,
        types.AZURE_NATIVE_PROVIDER,
        types.APP_COMPONENT,
        types.VAULT_COMPONENT,
    }
)

# A grant that another one includes: narrower -> wider (the table lists only the wider grant).
IMPLIED_BY = {
    "Application.ReadWrite.OwnedBy": "Application.ReadWrite.All",
    "Application.Read.All": "Application.ReadWrite.All",
}


def requirement(token: str) -> Requirement | None:
    for item in REQUIREMENTS:
        if item.token == token:
            return item
    return None


def needed_grants() -> list[tuple[Grant, list[str]]]:
    """Every distinct grant with the resource types that need it, wider grants absorbing narrower
    ones, in a stable order: Graph first, then Azure, each by name."""
    by_grant: dict[Grant, list[str]] = {}
    for item in REQUIREMENTS:
        for grant in item.grants:
            by_grant.setdefault(grant, []).append(item.token)
    names = {grant.name for grant in by_grant}
    merged: dict[Grant, list[str]] = {}
    for grant, tokens in by_grant.items():
        wider = IMPLIED_BY.get(grant.name)
        if wider in names:
            target = next(g for g in by_grant if g.name == wider)
            merged.setdefault(target, []).extend(tokens)
            continue
        merged.setdefault(grant, []).extend(tokens)
    return sorted(
        ((grant, sorted(set(tokens))) for grant, tokens in merged.items()),
        key=lambda item: (item[0].kind != "graph", item[0].name, item[0].when or ""),
    )


def _short(token: str) -> str:
    return token.rsplit(":", 1)[-1]


def render_markdown() -> str:
    """The deploying-identity tables of docs/running-for-real.md (between its markers)."""
    lines = [
        "Per **partner tenant** (Microsoft Graph application permissions of the deploying app) "
        "and per **subscription** (Azure roles), generated from `components/deployer.py` "
        "(`make generate`); a test fails when the program registers a type it does not cover.",
        "",
        "| grant | kind | scope | when | needed by |",
        "|---|---|---|---|---|",
    ]
    for grant, tokens in needed_grants():
        kind = "Graph application permission" if grant.kind == "graph" else "Azure role"
        needed_by = ", ".join(f"`{_short(t)}`" for t in tokens)
        lines.append(
            f"| `{grant.name}` | {kind} | {grant.scope} | {grant.when or 'always'} | {needed_by} |"
        )
    lines += [
        "",
        "Per resource type, what the provider calls and the source that says what it needs:",
        "",
        "| resource | calls | needs | source |",
        "|---|---|---|---|",
    ]
    for item in sorted(REQUIREMENTS, key=lambda r: _short(r.token).lower()):
        needs = "; ".join(f"`{g.name}`" + (f" ({g.when})" if g.when else "") for g in item.grants)
        if item.note:
            needs += f". {item.note}"
        sources = ", ".join(f"[{index + 1}]({url})" for index, url in enumerate(item.sources))
        lines.append(f"| `{_short(item.token)}` | {item.calls} | {needs} | {sources} |")
    lines += [
        "",
        "**Scope on day one.** The vault's resource group exists before the first `pulumi up` "
        "only when the stack does not create it (`keyVault.createResourceGroup: false`, the group "
        "made once by a subscription owner). Otherwise grant the vault-group roles on the "
        "subscription for the first `up` and narrow them to the group afterwards.",
    ]
    return "\n".join(lines) + "\n"
