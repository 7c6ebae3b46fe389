"""Stack-wide policies: relations between resources that no single resource shows.

They read resource *outputs* (``StackValidationArgs``). During a first preview, outputs of
resources not created yet are unknown or absent (a new app's ``clientId``, a new service
principal's ``objectId``). Each value is judged on its own:

* a **known** value is compared with the known values of the stack: a known client id that is not
  one of the stack's known client ids cannot belong to a new app either (a new app's id does not
  exist yet), so it is reported even while other ids are unknown;
* an **unknown** value is traced through the engine's property dependencies
  (``PolicyResource.property_dependencies``: ``GroupMember.memberObjectId`` -> the
  ``ServicePrincipal``, ``ServicePrincipal.clientId`` -> the ``Application``,
  ``ApplicationApiAccess.apiClientId`` -> the API's ``Application``, ``Application.api`` -> the
  known clients' ``Application``), so a relation still holds, or visibly does not, before the ids
  exist;
* an unknown value that no dependency explains is not reported: absence of proof is not a
  violation.

The engine runs stack policies after a preview and again after the resource steps of
``pulumi up``: a mandatory violation fails ``pulumi preview`` (the gate in CI) and, at ``up``,
fails the update after its changes were made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Severity, StackValidationPolicy

from . import references as ref
from . import rules, tokens
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
from .catalog import load_catalog

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


def _sources(stack: StackContext, resource: StackResource, prop: str, type_: str) -> set[str]:
    """URNs of the resources of ``type_`` that ``resource``'s property ``prop`` came from."""
    types = stack.types_by_urn
    return {urn for urn in resource.depends_on(prop) if types.get(urn) == type_}


# --- AdminAgents membership ----------------------------------------------------------------------


class _Reference:
    """One id-valued property: its known value and the resources an unknown value comes from."""

    def __init__(self, value: Any, sources: set[str]) -> None:
        self.value = _known(value)
        self.sources = sources

    def names(self, urn: str, known: str | None) -> bool | None:
        """Whether it names the resource ``urn`` (with id ``known``); ``None``: cannot be told.

        A known value is compared with the resource's known id: it cannot name a resource whose
        id does not exist yet. An unknown value names the resources it depends on; without any,
        it is untraceable.
        """
        if self.value is not None:
            return self.value == known
        if urn in self.sources:
            return True
        return None if not self.sources else False


def _check_admin_agents(stack: StackContext) -> Iterable[Finding]:
    group = str(stack.config["adminAgentsGroupObjectId"]).strip().lower()
    target = f"the AdminAgents group ({group})"
    principals = [
        (
            sp,
            _object_id(sp),
            _Reference(
                get(sp.props, "clientId"),
                _sources(stack, sp, "clientId", tokens.APPLICATION),
            ),
        )
        for sp in stack.of_type(tokens.SERVICE_PRINCIPAL)
    ]
    members = [
        (
            _known(get(m.props, "groupObjectId")),
            _Reference(
                get(m.props, "memberObjectId"),
                _sources(stack, m, "memberObjectId", tokens.SERVICE_PRINCIPAL),
            ),
        )
        for m in stack.of_type(tokens.GROUP_MEMBER)
    ]
    for app in stack.of_type(tokens.APPLICATION):
        client_id = _known(get(app.props, "clientId"))
        verdicts = [(sp, oid, ref.names(app.urn, client_id)) for sp, oid, ref in principals]
        mine = [(sp, oid) for sp, oid, verdict in verdicts if verdict]
        if not mine:
            if all(verdict is False for _, _, verdict in verdicts):
                shown = f"client id {client_id}" if client_id else "client id not known yet"
                yield (
                    violation(
                        app.name,
                        f"partner-managed app ({shown}) has no service principal in this stack, "
                        "so it cannot be pre-consented.",
                        "create an azuread.ServicePrincipal with client_id=app.client_id and add "
                        f"it to {target} with an azuread.GroupMember.",
                    ),
                    app.urn,
                )
            continue
        for principal, object_id in mine:
            possible = False
            for group_id, member in members:
                if group_id is not None and group_id != group:
                    continue
                verdict = member.names(principal.urn, object_id)
                if verdict and group_id is not None:
                    break  # a member of the group
                possible = possible or verdict is not False  # group or member unknown
            else:
                if possible:
                    continue
                shown = object_id or "object id not known yet"
                yield (
                    violation(
                        app.name,
                        f"service principal {principal.name} ({shown}) is not a member of "
                        f"{target}, so the app is not partner-managed (not pre-consented in "
                        "customer tenants).",
                        "add an azuread.GroupMember with group_object_id=<AdminAgents object id> "
                        "and member_object_id=service_principal.object_id.",
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
            "GroupMember adding the principal's object id to the tenant's AdminAgents group "
            "(the object id in adminAgentsGroupObjectId)."
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
                        "Object id of the partner tenant's AdminAgents group; only membership in "
                        "this group counts. Required even when the stack looks the group up by "
                        "name: pin it with adminAgents.objectId in the stack file."
                    ),
                },
                required=True,
            ),
        ),
        tags=("azuread", "csp", "stack"),
    )
    return stack_policy(spec, _check_admin_agents)


# --- References between apps ---------------------------------------------------------------------


def _application_refs(app: StackResource) -> set[str]:
    """How other resources name ``app`` in ``applicationId``: ``/applications/<object id>``."""
    refs = set()
    object_id = _known(get(app.props, "objectId"))
    if object_id:
        refs.add(f"/applications/{object_id}")
    raw_id = _known(get(app.props, "id"))
    if raw_id:
        refs.add(raw_id)
    return refs


def _of_application(
    stack: StackContext, resource: StackResource, app: StackResource
) -> bool | None:
    """Whether ``resource``'s ``applicationId`` names ``app``; ``None`` when it cannot be told."""
    reference = _known(get(resource.props, "applicationId"))
    if reference is not None:
        return reference in _application_refs(app)
    sources = _sources(stack, resource, "applicationId", tokens.APPLICATION)
    if app.urn in sources:
        return True
    return None if not sources else False


def _separate_entries(
    stack: StackContext, app: StackResource
) -> list[tuple[StackResource, bool | None, str, Any, Any]]:
    """Scopes and app roles declared by resources of their own for ``app``.

    Each entry: (resource, attached to app (None: cannot tell), kind, id, value).
    """
    found: list[tuple[StackResource, bool | None, str, Any, Any]] = []
    for type_, kind, id_prop in (
        (tokens.PERMISSION_SCOPE, "scope", "scopeId"),
        (tokens.APP_ROLE, "app role", "roleId"),
    ):
        for resource in stack.of_type(type_):
            attached = _of_application(stack, resource, app)
            if attached is False:
                continue
            found.append(
                (
                    resource,
                    attached,
                    kind,
                    get(resource.props, id_prop),
                    get(resource.props, "value"),
                )
            )
    return found


def _offered_ids(stack: StackContext, app: StackResource) -> set[str] | None:
    """Ids of the scopes and app roles an app declares; ``None`` when not known yet.

    Counts the app's inline ``api.oauth2PermissionScopes`` and ``appRoles`` and the
    ``ApplicationPermissionScope`` / ``ApplicationAppRole`` resources attached to it (or that may
    be, while their ``applicationId`` is unknown and untraceable).
    """
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
    for _resource, _attached, _kind, entry_id, _value in _separate_entries(stack, app):
        if entry_id is UNKNOWN:
            return None
        if isinstance(entry_id, str):
            offered.add(entry_id.lower())
    return offered


def _check_same_stack(stack: StackContext) -> Iterable[Finding]:
    catalog = load_catalog()
    apps = stack.of_type(tokens.APPLICATION)
    by_client = {
        client_id: app for app in apps if (client_id := _known(get(app.props, "clientId")))
    }

    for resource, path in [(a, ("api", "knownClientApplications")) for a in apps] + [
        (k, ("knownClientIds",)) for k in stack.of_type(tokens.KNOWN_CLIENTS)
    ]:
        for i, value in enumerate(items_of(get(resource.props, *path))):
            client_id = _known(value)
            # An unknown entry comes from another resource (Application.api depends on the
            # known clients' apps); a known one must be a known client id of this stack.
            if client_id is None or client_id in by_client:
                continue
            yield (
                violation(
                    resource.name,
                    f"{'.'.join(path)}[{i}] {client_id} is not an app of this stack.",
                    "list only client ids of this stack's apps (app.client_id); an app of "
                    "another tenant or region cannot be consented together with this one.",
                ),
                resource.urn,
            )

    for resource, prop, api_id, wanted in _requested_apis(stack):
        client_id = _known(api_id)
        if client_id is not None:
            if catalog.api(client_id) is not None:
                continue  # Microsoft APIs are judged by the access policies
            target = by_client.get(client_id)
            if target is None:
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
            candidates = [target]
        else:
            # Not known yet: the apps the value was computed from (the API app of this stack).
            sources = _sources(stack, resource, prop, tokens.APPLICATION)
            candidates = [app for app in apps if app.urn in sources]
            if not candidates:
                continue
        offers = [_offered_ids(stack, app) for app in candidates]
        if any(offer is None for offer in offers):
            continue
        offered = set().union(*(offer or set() for offer in offers))
        names = " or ".join(app.name for app in candidates)
        for permission_id in wanted:
            if permission_id.lower() not in offered:
                yield (
                    violation(
                        resource.name,
                        f"requires {permission_id} of {names}, which declares no scope or "
                        "app role with that id.",
                        f"use an id of a scope or app role that {names} declares.",
                    ),
                    resource.urn,
                )


def _requested_apis(stack: StackContext) -> list[tuple[StackResource, str, Any, list[str]]]:
    """(resource, its property, API client id, permission ids) for every required API."""
    found: list[tuple[StackResource, str, Any, list[str]]] = []
    for access in stack.of_type(tokens.API_ACCESS):
        ids = [
            x
            for prop in ("roleIds", "scopeIds")
            for x in items_of(get(access.props, prop))
            if isinstance(x, str)
        ]
        found.append((access, "apiClientId", get(access.props, "apiClientId"), ids))
    for app in stack.of_type(tokens.APPLICATION):
        for item in items_of(get(app.props, "requiredResourceAccesses")):
            if not isinstance(item, Mapping):
                continue
            ids = [
                str(a["id"])
                for a in items_of(item.get("resourceAccesses"))
                if isinstance(a, Mapping) and isinstance(a.get("id"), str)
            ]
            found.append((app, "requiredResourceAccesses", item.get("resourceAppId"), ids))
    return found


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
            "(app.client_id), and scope ids from the scopes the API app declares (inline or "
            "with ApplicationPermissionScope / ApplicationAppRole resources)."
        ),
        url=ref.MS_EXPOSE_API.url,
        references=(ref.MS_EXPOSE_API, ref.MS_CONSENT, ref.CSP_GRAPH),
        applies_to=("stack",),
        tags=("azuread", "stack"),
    )
    return stack_policy(spec, _check_same_stack)


# --- api:// identifier URIs of this region --------------------------------------------------------


def _api_uri_entries(
    stack: StackContext, apps: list[StackResource]
) -> list[tuple[StackResource, str, Any, list[StackResource]]]:
    """Every identifier URI of the stack: (resource, where, value, the apps it may belong to)."""
    entries: list[tuple[StackResource, str, Any, list[StackResource]]] = []
    for app in apps:
        for index, uri in enumerate(items_of(get(app.props, "identifierUris"))):
            entries.append((app, f"identifierUris[{index}]", uri, [app]))
    for resource in stack.of_type(tokens.IDENTIFIER_URI):
        owners = [app for app in apps if _of_application(stack, resource, app)]
        entries.append((resource, "identifierUri", get(resource.props, "identifierUri"), owners))
    return entries


def _check_api_uris_own_region(stack: StackContext) -> Iterable[Finding]:
    """``api://<GUID>`` identifier URIs carry the region's tenant id or their app's client id.

    A known GUID is judged like the other known ids of this module: it cannot be the client id
    of an app created in this update (that id does not exist yet), so an app whose client id is
    still unknown accepts only the tenant. An ``ApplicationIdentifierUri`` whose application
    cannot be traced may carry the client id of any app of the stack.
    """
    tenant = str(stack.config["tenantId"]).strip()
    apps = stack.of_type(tokens.APPLICATION)
    for resource, where, uri, owners in _api_uri_entries(stack, apps):
        if not isinstance(uri, str) or rules.api_uri_guid(uri) is None:
            continue  # unknown (computed from an id not created yet), absent, or another form
        candidates = owners or apps
        known = [_known(get(app.props, "clientId")) for app in candidates]
        guid = rules.api_uri_guid(uri)
        client_id = guid if guid in known else (known[0] if len(candidates) == 1 else None)
        problem = rules.api_uri_owner_problem(uri, tenant, client_id)
        if problem is None:
            continue
        yield (
            violation(
                resource.name,
                f"{where} {uri!r} {problem}.",
                "use api://<this app's client id> (identifierUri: api in apps.yaml) or "
                "api://<this region's tenant id>/<path>: an identifier URI naming another "
                "region's tenant or app makes this region's app claim an identity it does not "
                "own.",
            ),
            resource.urn,
        )


def _api_uris_own_region_policy() -> StackValidationPolicy:
    spec = PolicySpec(
        name="stack-identifier-uris-own-region",
        description=(
            "api:// identifier URIs carry the region's own tenant id or their app's own client "
            "id, never another region's."
        ),
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Write api://<client id> from the app's own client id (an ApplicationIdentifierUri "
            "with identifier_uri=app.client_id.apply(...), identifierUri: api in apps.yaml) or "
            "api://<tenant id>/<path> with the tenant id of the stack's region."
        ),
        url=ref.MS_IDENTIFIER_URIS.url,
        references=(ref.MS_IDENTIFIER_URIS, ref.CSP_GRAPH),
        applies_to=("stack",),
        config=(
            ConfigProperty(
                "tenantId",
                {"type": "string", "description": "Tenant id of the region's partner tenant."},
                required=True,
            ),
        ),
        tags=("azuread", "app-registration", "region", "stack"),
    )
    return stack_policy(spec, _check_api_uris_own_region)


# --- Scopes of an application across resources ---------------------------------------------------


def _inline_scopes(app: StackResource) -> list[tuple[str, Any, Any]]:
    return [
        (f"{app.name}'s api.oauth2PermissionScopes[{i}]", get(scope, "id"), get(scope, "value"))
        for i, scope in enumerate(items_of(get(app.props, "api", "oauth2PermissionScopes")))
        if isinstance(scope, Mapping)
    ]


def _check_scopes_unique(stack: StackContext) -> Iterable[Finding]:
    for app in stack.of_type(tokens.APPLICATION):
        separate = [
            (resource, entry_id, value)
            for resource, attached, kind, entry_id, value in _separate_entries(stack, app)
            if attached and kind == "scope"
        ]
        if not separate:
            continue  # duplicates within one resource are the resource policies' concern
        seen_ids: dict[str, str] = {}
        seen_values: dict[str, str] = {}
        for where, entry_id, value in _inline_scopes(app):
            if isinstance(entry_id, str) and entry_id.strip():
                seen_ids.setdefault(entry_id.lower(), where)
            if isinstance(value, str) and value.strip():
                seen_values.setdefault(value.lower(), where)
        for resource, entry_id, value in separate:
            checks = (("scopeId", "id", entry_id, seen_ids), ("value", "value", value, seen_values))
            for label, kind, key, seen in checks:
                if not isinstance(key, str) or not key.strip():
                    continue
                first = seen.get(key.lower())
                if first is None:
                    seen[key.lower()] = resource.name
                    continue
                yield (
                    violation(
                        resource.name,
                        f"{label} {key!r} repeats the {kind} of {first}; both are scopes of "
                        f"application {app.name}.",
                        "give every scope of an application its own id and value, whether it "
                        "is declared inline (api.oauth2PermissionScopes) or with an "
                        "ApplicationPermissionScope.",
                    ),
                    resource.urn,
                )


def _scopes_unique_policy() -> StackValidationPolicy:
    spec = PolicySpec(
        name="stack-application-scopes-unique",
        description=(
            "An application's scopes have unique ids and values across its inline scopes and its "
            "ApplicationPermissionScope resources."
        ),
        severity=Severity.MEDIUM,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Give each scope of an application, inline or an ApplicationPermissionScope, its own "
            "GUID id and its own value; declare each scope in one place only."
        ),
        url=ref.MS_PERMISSION_SCOPE.url,
        references=(ref.MS_PERMISSION_SCOPE, ref.MS_EXPOSE_API),
        applies_to=("stack",),
        tags=("azuread", "scopes", "stack"),
    )
    return stack_policy(spec, _check_scopes_unique)


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
            f"policy config: location {location!r} is not one of allowedLocations; fix the "
            "location in Pulumi.<region>.yaml (allowedLocations come from the region table, "
            "components/regions.py), then run `make generate`.",
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
                loosens="add",
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
                    "set `protect: true` under partner-apps:region in the region's stack file "
                    "(the program then protects every app, service principal and the vault).",
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
                loosens="disable",
            ),
            ConfigProperty(
                "protectedTypes",
                {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": list(PROTECTED_TYPES),
                    "description": "Resource types that must be protected in production.",
                },
                loosens="remove",
            ),
        ),
        tags=("stack", "production"),
    )
    return stack_policy(spec, _check_protected)


def policies() -> list[StackValidationPolicy]:
    return [
        _admin_agents_policy(),
        _same_stack_policy(),
        _api_uris_own_region_policy(),
        _scopes_unique_policy(),
        _explicit_providers_policy(),
        _provider_targets_policy(),
        _protected_policy(),
    ]
