"""The analysis of one stack's plan: what reviewers and auditors read about.

Per app its permissions with names from the permission catalog, exposed scopes, known clients,
AdminAgents membership, credentials, Key Vault secrets and URIs; per stack its providers and
vaults (``analyze``). Plans are read by ``review.plan.document``; the views are shared by the
stack report, the diff, ``preview-json`` and the audit. The views hold values (typed ids, names,
flags, dates), never Markdown: ``review.reports`` decides how each reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from partner_apps.review.analysis.index import (
    Index,
    app_roles_of,
    client_ids_of,
    first_of,
    scopes_of,
)
from partner_apps.review.analysis.permissions import (
    NO_REASON,
    NOT_MATCHED,
    REASON_UNKNOWN,
    UNDECLARED,
    permission_rows,
)
from partner_apps.review.analysis.rows import (
    AppRoleRow,
    AppView,
    ClientRef,
    CredentialRow,
    Id,
    Name,
    Note,
    PermissionRow,
    ProviderRow,
    RoleAssignmentRow,
    ScopeRow,
    SecretRow,
    StackView,
    VaultView,
    ViolationGroup,
    group_by_message,
    group_violations,
)
from partner_apps.review.plan.access import as_list, as_map, as_str, dig, str_list
from partner_apps.review.plan.document import Catalog, Plan, Resource
from partner_apps.review.plan.values import flatten, format_date, format_unix, show_value
from partner_apps.review.plan.vocabulary import (
    APP_COMPONENT,
    APPLICATION,
    APPLICATION_REGISTRATION,
    CERTIFICATE,
    FEDERATED_CREDENTIAL,
    GROUP_MEMBER,
    IDENTIFIER_URI,
    KNOWN_CLIENTS,
    PASSWORD,
    PRE_AUTHORIZED,
    PROVIDER_PREFIX,
    REDIRECT_URIS,
    ROLE_ASSIGNMENT,
    SERVICE_PRINCIPAL,
    VAULT,
    VAULT_SECRET,
    is_provider,
    is_unknown,
    role_name,
    vault_role_risk,
)
from policies.partner_policies import rules

# What the consumers of the analysis import from here (defined in rows and permissions).
__all__ = [
    "NOT_MATCHED",
    "NO_REASON",
    "REASON_UNKNOWN",
    "UNDECLARED",
    "AppRoleRow",
    "AppView",
    "ClientRef",
    "CredentialRow",
    "Id",
    "Name",
    "Note",
    "PermissionRow",
    "ProviderRow",
    "RoleAssignmentRow",
    "ScopeRow",
    "SecretRow",
    "StackView",
    "VaultView",
    "ViolationGroup",
    "analyze",
    "group_by_message",
    "group_violations",
]


def _credentials(resources: Iterable[Resource]) -> list[CredentialRow]:
    rows: list[CredentialRow] = []
    for resource in resources:
        if resource.type == PASSWORD:
            kind = "client secret"
            rotation = as_str(dig(resource.inputs, "rotateWhenChanged", "rotationDate"))
        elif resource.type == CERTIFICATE:
            kind = f"certificate ({as_str(resource.inputs.get('type')) or 'unspecified'})"
            rotation = ""
        elif resource.type == FEDERATED_CREDENTIAL:
            kind = "federated credential"
            rotation = ""
        else:
            continue
        rows.append(
            CredentialRow(
                kind=kind,
                name=resource.name,
                display_name=as_str(resource.inputs.get("displayName")),
                end_date=format_date(resource.prop("endDate")) or "(none)",
                rotation_date=format_date(rotation),
                urn=resource.urn,
                protect=resource.protect,
            )
        )
    return sorted(rows, key=lambda r: (r.kind, r.name))


def _secret_row(resource: Resource, app: str | None) -> SecretRow:
    properties = as_map(resource.inputs.get("properties"))
    return SecretRow(
        secret_name=as_str(resource.inputs.get("secretName")) or resource.name,
        vault_name=as_str(resource.inputs.get("vaultName")),
        content_type=as_str(properties.get("contentType")),
        expires=format_unix(dig(properties, "attributes", "expires")) or "(none)",
        value_managed=not any(
            path in ("properties.value", "properties", "properties.value.*")
            for path in resource.ignore_changes
        ),
        app=app,
        urn=resource.urn,
        protect=resource.protect,
    )


def _secret_owner(index: Index, resource: Resource) -> str | None:
    owner = index.owner(resource.urn)
    if owner:
        return owner
    for dependency in resource.dependencies:
        key = index.owner(dependency)
        if key:
            return key
    name = as_str(resource.inputs.get("secretName")) or resource.name
    return index.key_by_name_prefix(name)


def _vaults(index: Index, secrets: Sequence[SecretRow]) -> list[VaultView]:
    views: list[VaultView] = []
    own = list(index.own.values())
    assignments = [r for r in own if r.type == ROLE_ASSIGNMENT]
    for resource in own:
        if resource.type != VAULT:
            continue
        name = as_str(resource.inputs.get("vaultName")) or resource.name
        settings = tuple(
            (path, show_value(value))
            for path, value in flatten(as_map(resource.inputs.get("properties")))
            if path
        )
        role_rows = [
            _role_row(r)
            for r in assignments
            if name.lower() in as_str(r.inputs.get("scope")).lower()
            or resource.urn in r.dependencies
            or (r.parent is not None and r.parent == resource.parent)
        ]
        views.append(
            VaultView(
                name=name,
                resource_group=as_str(resource.inputs.get("resourceGroupName")),
                location=as_str(resource.inputs.get("location")),
                settings=settings,
                urn=resource.urn,
                protect=resource.protect,
                secrets=tuple(
                    s for s in secrets if s.vault_name in (name, "") or is_unknown(s.vault_name)
                ),
                role_assignments=tuple(sorted(role_rows, key=lambda r: (r.role, r.principal_id))),
            )
        )
    return sorted(views, key=lambda v: v.name)


def _role_row(resource: Resource) -> RoleAssignmentRow:
    definition = as_str(resource.inputs.get("roleDefinitionId"))
    principal_type = as_str(resource.inputs.get("principalType"))
    return RoleAssignmentRow(
        name=resource.name,
        role=role_name(definition),
        principal_id=as_str(resource.inputs.get("principalId")),
        principal_type=principal_type,
        scope=as_str(resource.inputs.get("scope")),
        urn=resource.urn,
        description=as_str(resource.inputs.get("description")),
        risk=vault_role_risk(definition, principal_type),
    )


def _client_refs(
    client_ids: Mapping[str, str], values: Iterable[str], assigned: frozenset[str]
) -> tuple[ClientRef, ...]:
    refs = {
        ClientRef(
            client_id=value,
            app=client_ids.get(value.lower()),
            assigned_at_deploy=value.lower() in assigned,
        )
        for value in values
        if value
    }
    return tuple(sorted(refs, key=lambda r: (r.app or "~", r.client_id)))


def _id(value: str, assigned: frozenset[str]) -> Id | None:
    """An id with whether the offline preview made it up; None for no id."""
    return Id(value, value.lower() in assigned) if value else None


def analyze(plan: Plan, catalog: Catalog, context: Plan | None = None) -> StackView:
    """Analyse one stack. ``context`` (a full plan) resolves what a partial ``plan`` lacks."""
    index = Index(plan, context)
    # The ids the offline preview's mocks made up, as the plans themselves record them.
    assigned = plan.assigned_at_deploy | (context.assigned_at_deploy if context else frozenset())
    client_ids = client_ids_of(index)
    all_secrets = [
        _secret_row(r, _secret_owner(index, r))
        for r in index.own.values()
        if r.type == VAULT_SECRET
    ]
    reach = _redirect_reach(plan)
    apps: list[AppView] = []
    for key in index.app_keys:
        own = index.resources_of(key)
        config = index.apps_config.get(key, {})
        if not own and key not in plan.apps:
            continue
        apps.append(
            _app_view(
                index=index,
                catalog=catalog,
                client_ids=client_ids,
                key=key,
                own=own,
                config=config,
                all_secrets=all_secrets,
                assigned=assigned,
                reach=reach,
            )
        )
    providers = [
        ProviderRow(
            name=r.name,
            package=r.type.removeprefix(PROVIDER_PREFIX),
            tenant_id=as_str(r.inputs.get("tenantId")),
            settings=tuple(
                (k, show_value(v)) for k, v in flatten(dict(r.inputs)) if k and k != "version"
            ),
            urn=r.urn,
        )
        for r in index.own.values()
        if is_provider(r.type)
    ]
    notes: list[Note] = []
    tenant = as_str(plan.region.get("tenantId"))
    for provider in providers:
        if tenant and provider.tenant_id and provider.tenant_id.lower() != tenant.lower():
            notes.append(
                Note.of(
                    "provider ",
                    Name(provider.name),
                    " reaches tenant ",
                    Name(provider.tenant_id),
                    ", not the region's tenant ",
                    Name(tenant),
                )
            )
    return StackView(
        plan=plan,
        apps=tuple(apps),
        vaults=tuple(_vaults(index, all_secrets)),
        providers=tuple(sorted(providers, key=lambda p: p.name)),
        unassigned_secrets=tuple(
            sorted((s for s in all_secrets if s.app is None), key=lambda s: s.secret_name)
        ),
        notes=tuple(notes),
    )


# The pack's policy on redirect hosts: the plan records its effective config per region.
REDIRECT_HOSTS_POLICY = "azuread-application-redirect-uris-verified-hosts"


def _redirect_reach(plan: Plan) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(verified domains, reviewed external hosts) of the plan's region: the redirect-host
    policy's recorded config, else the region block's verified domains and no external host."""
    recorded = next((p for p in plan.policies or () if p.name == REDIRECT_HOSTS_POLICY), None)
    properties = recorded.properties if recorded else {}
    domains = str_list(properties.get("verifiedDomains")) or str_list(
        plan.region.get("verifiedDomains")
    )
    return tuple(domains), tuple(str_list(properties.get("allowedExternalHosts")))


def _app_view(
    *,
    index: Index,
    catalog: Catalog,
    client_ids: Mapping[str, str],
    key: str,
    own: Sequence[Resource],
    config: Mapping[str, Any],
    all_secrets: Sequence[SecretRow],
    assigned: frozenset[str],
    reach: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
) -> AppView:
    application = first_of(own, APPLICATION, APPLICATION_REGISTRATION)
    inputs = application.inputs if application else {}
    identifier_uris = set(str_list(inputs.get("identifierUris")))
    redirect_uris = set(str_list(dig(inputs, "web", "redirectUris")))
    redirect_uris |= set(str_list(dig(inputs, "singlePageApplication", "redirectUris")))
    redirect_uris |= set(str_list(dig(inputs, "publicClient", "redirectUris")))
    known = set(str_list(dig(inputs, "api", "knownClientApplications")))
    pre_authorized: set[str] = set()
    for resource in own:
        if resource.type == IDENTIFIER_URI:
            identifier_uris.add(as_str(resource.inputs.get("identifierUri")))
        elif resource.type == REDIRECT_URIS:
            redirect_uris |= set(str_list(resource.inputs.get("redirectUris")))
        elif resource.type == KNOWN_CLIENTS:
            known |= set(str_list(resource.inputs.get("knownClientIds")))
        elif resource.type == PRE_AUTHORIZED:
            pre_authorized.add(as_str(resource.inputs.get("authorizedClientId")))
    for item in as_list(dig(inputs, "api", "preAuthorizedApplications")):
        pre_authorized.add(as_str(as_map(item).get("applicationId")))
    sp = first_of(own, SERVICE_PRINCIPAL)
    sp_object_id = as_str(sp.prop("objectId")) if sp else ""
    notes: list[Note] = []
    admin_agents: list[str] = []
    for member in (r for r in own if r.type == GROUP_MEMBER):
        admin_agents.append(as_str(member.inputs.get("groupObjectId")) or "(unknown group)")
        member_id = as_str(member.inputs.get("memberObjectId"))
        if (
            sp_object_id
            and member_id
            and not is_unknown(sp_object_id)
            and not is_unknown(member_id)
            and member_id.lower() != sp_object_id.lower()
        ):
            notes.append(
                Note.of(
                    "group member ",
                    Name(member.name),
                    " adds ",
                    Name(member_id),
                    ", not this app's service principal ",
                    Name(sp_object_id),
                )
            )
    permissions, permission_notes = permission_rows(index, catalog, client_ids, key, own)
    notes.extend(permission_notes)
    if not own:
        notes.append(Note.of("declared, but this stack has no resources for it"))
    implicit = as_map(dig(inputs, "web", "implicitGrant"))
    access = implicit.get(
        "accessTokenIssuanceEnabled", inputs.get("implicitAccessTokenIssuanceEnabled")
    )
    id_tokens = implicit.get("idTokenIssuanceEnabled", inputs.get("implicitIdTokenIssuanceEnabled"))
    client_id = as_str(application.prop("clientId")) if application else ""
    return AppView(
        key=key,
        display_name=as_str(inputs.get("displayName")) or as_str(config.get("displayName")) or key,
        component_urn=next((r.urn for r in own if r.type == APP_COMPONENT), None),
        application_urn=application.urn if application else None,
        client_id=client_id or None,
        sign_in_audience=as_str(inputs.get("signInAudience")),
        identifier_uris=tuple(sorted(u for u in identifier_uris if u)),
        redirect_uris=tuple(sorted(u for u in redirect_uris if u)),
        homepage_url=as_str(dig(inputs, "web", "homepageUrl") or inputs.get("homepageUrl")),
        implicit_access_tokens=access if isinstance(access, bool) else None,
        implicit_id_tokens=id_tokens if isinstance(id_tokens, bool) else None,
        scopes=tuple(scopes_of(index, key, own_only=True)),
        app_roles=tuple(app_roles_of(own)),
        known_clients=_client_refs(client_ids, known, assigned),
        pre_authorized=_client_refs(client_ids, pre_authorized, assigned),
        permissions=tuple(permissions),
        service_principal_urn=sp.urn if sp else None,
        service_principal_object_id=sp_object_id or None,
        app_role_assignment_required=(
            sp.inputs.get("appRoleAssignmentRequired")
            if sp and isinstance(sp.inputs.get("appRoleAssignmentRequired"), bool)
            else None
        ),
        admin_agents=tuple(sorted(admin_agents)),
        credentials=tuple(_credentials(own)),
        secrets=tuple(
            sorted((s for s in all_secrets if s.app == key), key=lambda s: s.secret_name)
        ),
        resources=tuple(own),
        notes=tuple(sorted(notes, key=Note.plain)),
        protected=any(r.protect for r in own),
        client=_id(client_id, assigned),
        service_principal=_id(sp_object_id, assigned),
        redirect_risks=tuple(
            (uri, problem)
            for uri in sorted(u for u in redirect_uris if u)
            if (problem := rules.redirect_host_problem(uri, *reach))
        ),
    )
