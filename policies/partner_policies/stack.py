"""Stack-wide policies: relations between resources that no single resource shows.

They read resource *outputs* (``StackValidationArgs``). During a preview, outputs of resources not
created yet are unknown or absent (a new app's ``clientId``, a new service principal's
``objectId``). A relation that depends on such a value is not reported: absence of proof is not a
violation. The same check runs again on ``pulumi up``, when the values are known, and the engine
blocks the update there if a mandatory stack policy fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pulumi_policy import EnforcementLevel, Severity, StackValidationPolicy

from . import references as ref
from . import tokens
from ._framework import (
    UNKNOWN,
    ConfigProperty,
    PolicySpec,
    StackContext,
    StackResource,
    as_bool,
    get,
    items_of,
    normalize_location,
    plain,
    stack_policy,
    violation,
)
from .permissions import load_catalog

Finding = tuple[str, str | None]


def _known(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) and value.strip() else None


def _object_id(resource: StackResource) -> str | None:
    """A service principal's object id: ``objectId``, or its ``id`` where outputs carry one."""
    object_id = _known(get(resource.props, "objectId"))
    if object_id:
        return object_id
    raw_id = _known(get(resource.props, "id"))
    return raw_id.rsplit("/", 1)[-1] if raw_id else None


# --- AdminAgents membership ----------------------------------------------------------------------


def _check_admin_agents(stack: StackContext) -> Iterable[Finding]:
    group = _known(stack.config.get("adminAgentsGroupObjectId"))
    principals = stack.of_type(tokens.SERVICE_PRINCIPAL)
    members = stack.of_type(tokens.GROUP_MEMBER)
    all_clients_known = all(_known(get(sp.props, "clientId")) for sp in principals)
    memberships: set[str] = set()
    all_members_known = True
    for member in members:
        group_id = _known(get(member.props, "groupObjectId"))
        member_id = _known(get(member.props, "memberObjectId"))
        if member_id is None or (group is not None and group_id is None):
            all_members_known = False
        elif group is None or group_id == group:
            memberships.add(member_id)
    target = "the AdminAgents group" + (f" ({group})" if group else "")
    for app in stack.of_type(tokens.APPLICATION):
        client_id = _known(get(app.props, "clientId"))
        if client_id is None:
            continue  # a new app during preview: nothing to match yet
        matching = [sp for sp in principals if _known(get(sp.props, "clientId")) == client_id]
        if not matching:
            if all_clients_known:
                yield (
                    violation(
                        app.name,
                        f"partner-managed app (client id {client_id}) has no service principal "
                        "in this stack, so it cannot be pre-consented.",
                        "create an azuread.ServicePrincipal with client_id=app.client_id and add "
                        f"it to {target} with an azuread.GroupMember.",
                    ),
                    app.urn,
                )
            continue
        for principal in matching:
            object_id = _object_id(principal)
            if object_id is None or object_id in memberships or not all_members_known:
                continue
            yield (
                violation(
                    app.name,
                    f"service principal {principal.name} ({object_id}) is not a member of "
                    f"{target}, so the app is not partner-managed (not pre-consented in customer "
                    "tenants).",
                    "add an azuread.GroupMember with group_object_id=<AdminAgents object id> and "
                    "member_object_id=service_principal.object_id.",
                ),
                app.urn,
            )


def _admin_agents_policy() -> StackValidationPolicy:
    spec = PolicySpec(
        name="stack-partner-apps-admin-agents",
        description=(
            "Every partner-managed app has a service principal that is a member of AdminAgents."
        ),
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "For each Application create a ServicePrincipal (client_id=app.client_id) and a "
            "GroupMember adding the principal's object id to the tenant's AdminAgents group."
        ),
        url=ref.CSP_GRAPH.url,
        references=(ref.CSP_GRAPH,),
        applies_to=("stack",),
        config=(
            ConfigProperty(
                "adminAgentsGroupObjectId",
                {
                    "type": "string",
                    "description": (
                        "Object id of the AdminAgents group. When unset (the group is looked up by "
                        "name), membership in any group through a GroupMember counts."
                    ),
                },
            ),
        ),
        tags=("azuread", "csp", "stack"),
    )
    return stack_policy(spec, _check_admin_agents)


# --- References between apps ---------------------------------------------------------------------


def _check_same_stack(stack: StackContext) -> Iterable[Finding]:
    catalog = load_catalog()
    apps = stack.of_type(tokens.APPLICATION)
    by_client: dict[str, StackResource] = {}
    every_client_known = True
    for app in apps:
        client_id = _known(get(app.props, "clientId"))
        if client_id is None:
            every_client_known = False
        else:
            by_client[client_id] = app

    def outside(value: Any) -> str | None:
        """The client id, when it is certainly not an app of this stack."""
        client_id = _known(value)
        if client_id is None or client_id in by_client or not every_client_known:
            return None
        return client_id

    for resource, prop in [(a, ("api", "knownClientApplications")) for a in apps] + [
        (k, ("knownClientIds",)) for k in stack.of_type(tokens.KNOWN_CLIENTS)
    ]:
        for i, value in enumerate(items_of(get(resource.props, *prop))):
            client_id = outside(value)
            if client_id:
                yield (
                    violation(
                        resource.name,
                        f"{'.'.join(prop)}[{i}] {client_id} is not an app of this stack.",
                        "list only client ids of this stack's apps (app.client_id); an app of "
                        "another tenant or region cannot be consented together with this one.",
                    ),
                    resource.urn,
                )

    for resource, api_id, wanted in _requested_apis(stack):
        if api_id is UNKNOWN or not isinstance(api_id, str) or catalog.api(api_id) is not None:
            continue  # Microsoft APIs are judged by the access policies
        target = by_client.get(api_id.lower())
        if target is None:
            client_id = outside(api_id)
            if client_id:
                yield (
                    violation(
                        resource.name,
                        f"requires API {client_id}, which is neither a catalogued Microsoft API "
                        "nor an app of this stack.",
                        "require scopes only of this stack's apps (api_client_id=app.client_id) "
                        "or of APIs in the permission catalog.",
                    ),
                    resource.urn,
                )
            continue
        offered = _offered_ids(target)
        if offered is None:
            continue
        for permission_id in wanted:
            if permission_id.lower() not in offered:
                yield (
                    violation(
                        resource.name,
                        f"requires {permission_id} of {target.name}, which declares no scope or "
                        "app role with that id.",
                        f"use an id of a scope or app role that {target.name} declares.",
                    ),
                    resource.urn,
                )


def _requested_apis(stack: StackContext) -> list[tuple[StackResource, Any, list[str]]]:
    """(resource, API client id, permission ids) for every required API in the stack."""
    found: list[tuple[StackResource, Any, list[str]]] = []
    for access in stack.of_type(tokens.API_ACCESS):
        ids = [
            x
            for prop in ("roleIds", "scopeIds")
            for x in items_of(get(access.props, prop))
            if isinstance(x, str)
        ]
        found.append((access, get(access.props, "apiClientId"), ids))
    for app in stack.of_type(tokens.APPLICATION):
        for item in items_of(get(app.props, "requiredResourceAccesses")):
            if not isinstance(item, dict):
                continue
            ids = [
                str(a["id"])
                for a in items_of(item.get("resourceAccesses"))
                if isinstance(a, dict) and isinstance(a.get("id"), str)
            ]
            found.append((app, item.get("resourceAppId"), ids))
    return found


def _offered_ids(app: StackResource) -> set[str] | None:
    """Ids of the scopes and app roles an app declares; ``None`` when not known yet."""
    offered: set[str] = set()
    for path in (("api", "oauth2PermissionScopes"), ("appRoles",)):
        entries = get(app.props, *path)
        if entries is UNKNOWN:
            return None
        for entry in items_of(entries):
            entry_id = get(entry, "id")
            if entry_id is UNKNOWN:
                return None
            if isinstance(entry_id, str):
                offered.add(entry_id.lower())
    return offered


def _same_stack_policy() -> StackValidationPolicy:
    spec = PolicySpec(
        name="stack-app-references-same-stack",
        description=(
            "Known clients and required scopes reference apps of the same stack (same partner "
            "tenant and region) only."
        ),
        severity=Severity.MEDIUM,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Take known client ids and required API ids from the apps of this stack "
            "(app.client_id), and scope ids from the scopes the API app declares."
        ),
        url=ref.MS_EXPOSE_API.url,
        references=(ref.MS_EXPOSE_API, ref.MS_CONSENT, ref.CSP_GRAPH),
        applies_to=("stack",),
        tags=("azuread", "stack"),
    )
    return stack_policy(spec, _check_same_stack)


# --- Explicit providers --------------------------------------------------------------------------


def _check_explicit_providers(stack: StackContext) -> Iterable[Finding]:
    for resource in stack.of_type(tokens.ALL_AZUREAD, tokens.ALL_AZURE_NATIVE):
        provider = resource.provider
        if provider is None:
            problem = "has no provider"
        elif provider.name == "default" or provider.name.startswith("default_"):
            problem = f"uses the default provider {provider.name}"
        else:
            continue
        yield (
            violation(
                resource.name,
                f"{problem}, which takes its tenant and subscription from the deploying shell.",
                "pass the region's explicit azuread / azure-native provider "
                "(ResourceOptions(providers=[...]) on the component) and keep "
                'pulumi:disable-default-providers: ["*"] in the stack file.',
            ),
            resource.urn,
        )


def _explicit_providers_policy() -> StackValidationPolicy:
    spec = PolicySpec(
        name="stack-explicit-providers",
        description="Every azuread and azure-native resource uses an explicit provider.",
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Create the region's azuread and azure-native providers explicitly and pass them to "
            "every resource; disable default providers in the stack file."
        ),
        url=ref.PULUMI_PROVIDERS.url,
        references=(ref.PULUMI_PROVIDERS,),
        applies_to=("stack",),
        tags=("providers", "stack"),
    )
    return stack_policy(spec, _check_explicit_providers)


# --- Provider targets ----------------------------------------------------------------------------


def _providers(stack: StackContext) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Every azuread / azure-native provider by URN: (type, name, props)."""
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for resource in stack.resources:
        provider = resource.provider
        if provider is not None and provider.urn not in found:
            found[provider.urn] = (provider.resource_type, provider.name, plain(provider.props))
    for resource in stack.of_type(tokens.AZUREAD_PROVIDER, tokens.AZURE_NATIVE_PROVIDER):
        found[resource.urn] = (resource.type, resource.name, resource.props)
    return {
        urn: entry
        for urn, entry in found.items()
        if entry[0] in (tokens.AZUREAD_PROVIDER, tokens.AZURE_NATIVE_PROVIDER)
    }


def _provider_problems(kind: str, props: dict[str, Any], config: Any) -> list[str]:
    expected: list[tuple[str, str, Any]] = [("tenantId", str(config["tenantId"]), None)]
    if kind == tokens.AZURE_NATIVE_PROVIDER:
        expected += [
            ("subscriptionId", str(config["subscriptionId"]), None),
            ("location", normalize_location(str(config["location"])), normalize_location),
            ("environment", str(config["azureNativeEnvironment"]), None),
        ]
    else:
        expected.append(("environment", str(config["azureadEnvironment"]), None))
    problems = []
    for key, want, normalize in expected:
        value = get(props, key)
        if value is UNKNOWN:
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            if key == "environment":
                continue  # the provider's default is the public cloud
            problems.append(f"{key} is not set (it would come from the deploying shell)")
            continue
        have = normalize(str(value)) if normalize else str(value)
        if have.lower() != want.lower():
            problems.append(f"{key} is {value!r}, expected {want!r}")
    return problems


def _check_provider_targets(stack: StackContext) -> Iterable[Finding]:
    allowed = {normalize_location(str(x)) for x in stack.config.get("allowedLocations", [])}
    location = normalize_location(str(stack.config["location"]))
    if allowed and location not in allowed:
        yield (
            f"policy config: location {location!r} is not one of allowedLocations; fix "
            "policies/config/<region>.json.",
            None,
        )
    for urn, (kind, name, props) in sorted(_providers(stack).items()):
        problems = _provider_problems(kind, props, stack.config)
        if problems:
            yield (
                violation(
                    name,
                    f"{kind.rsplit(':', 1)[-1]} provider does not target this region: "
                    f"{'; '.join(problems)}.",
                    "set tenantId (and for azure-native subscriptionId and location) on the "
                    "provider from the region's stack config.",
                ),
                urn,
            )


def _provider_targets_policy() -> StackValidationPolicy:
    text = {"type": "string"}
    spec = PolicySpec(
        name="stack-providers-single-region",
        description=(
            "The azuread and azure-native providers target the region's tenant, subscription and "
            "location (one region per stack)."
        ),
        severity=Severity.CRITICAL,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Set tenantId on both providers, and subscriptionId and location on azure-native, "
            "from the region's stack config; never rely on the shell's login or ARM_* variables."
        ),
        url=ref.CSP_GRAPH.url,
        references=(ref.CSP_GRAPH, ref.PULUMI_PROVIDERS),
        applies_to=("stack",),
        config=(
            ConfigProperty(
                "tenantId",
                {**text, "description": "Tenant id of the region's partner tenant."},
                True,
            ),
            ConfigProperty(
                "subscriptionId", {**text, "description": "Subscription of the region."}, True
            ),
            ConfigProperty(
                "location", {**text, "description": "Location of the region stack."}, True
            ),
            ConfigProperty(
                "allowedLocations",
                {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": [],
                    "description": "Locations of the region's geography; location must be one.",
                },
            ),
            ConfigProperty(
                "azureadEnvironment",
                {**text, "default": "global", "description": "azuread environment of the cloud."},
            ),
            ConfigProperty(
                "azureNativeEnvironment",
                {**text, "default": "public", "description": "azure-native environment."},
            ),
        ),
        tags=("providers", "region", "stack"),
    )
    return stack_policy(spec, _check_provider_targets)


# --- Protection in production --------------------------------------------------------------------

PROTECTED_TYPES = (tokens.APPLICATION, tokens.SERVICE_PRINCIPAL, tokens.VAULT)


def _check_protected(stack: StackContext) -> Iterable[Finding]:
    if as_bool(stack.config.get("production")) is not True:
        return
    types = [str(t) for t in stack.config.get("protectedTypes", PROTECTED_TYPES)]
    for resource in stack.of_type(*types):
        if not resource.opts.protect:
            yield (
                violation(
                    resource.name,
                    "is not protected in a production stack; a mistaken `pulumi destroy` or "
                    "refactoring would delete it (and every customer's consent with an app).",
                    "set protect=True on it (the region's `protect: true`).",
                ),
                resource.urn,
            )


def _protected_policy() -> StackValidationPolicy:
    spec = PolicySpec(
        name="stack-production-resources-protected",
        description="Apps, service principals and Key Vaults are protected in production stacks.",
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation="Register these resources with protect=True in stacks marked production.",
        url=ref.PULUMI_PROTECT.url,
        references=(ref.PULUMI_PROTECT,),
        applies_to=("stack",),
        config=(
            ConfigProperty(
                "production",
                {
                    "type": "boolean",
                    "default": False,
                    "description": "The stack is production (the stack file's production flag).",
                },
            ),
            ConfigProperty(
                "protectedTypes",
                {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": list(PROTECTED_TYPES),
                    "description": "Resource types that must be protected in production.",
                },
            ),
        ),
        tags=("stack", "production"),
    )
    return stack_policy(spec, _check_protected)


def policies() -> list[StackValidationPolicy]:
    return [
        _admin_agents_policy(),
        _same_stack_policy(),
        _explicit_providers_policy(),
        _provider_targets_policy(),
        _protected_policy(),
    ]
