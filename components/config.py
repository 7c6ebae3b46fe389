"""The config edge of a region stack: the one place config is read, checked and resolved.

Two files feed a stack:

* ``Pulumi.<stack>.yaml`` holds the per-region values under ``partner-apps:region`` (tenant,
  subscription, location, Key Vault, AdminAgents, owners, ...) and, as Pulumi secrets, the
  Secure Application Model refresh tokens under ``partner-apps:refreshTokens``;
* ``apps.yaml`` holds the app definitions, shared by every region so a reviewer reads one diff.

``validate`` checks both before the first resource is registered: the file shapes
(``components.models``), then the rules across fields and files (the single-region rule, URIs
on the region's verified domains, links between apps, permissions through the catalog,
certificates via ``components.certificates``, credential dates). Problems are collected, not
raised one at a time, and each names the file, the key path and the rule
(``components.config_errors``), so a platform team fixes a broken stack file in one go. The
result, ``StackSettings``, carries the values resolved for the region
(``components.resolved``); components never see ``pulumi.Config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from pydantic import (
    SecretStr,
    ValidationError,
)

from policies.partner_policies import catalog as permissions
from policies.partner_policies import rules

from .certificates import (
    LoadedCertificate,
    load_certificate,
)
from .config_errors import (
    problems_from_validation,
)
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
from .models import (
    AppDefinition,
    AppsFile,
    CertificateCredential,
    PasswordCredential,
    PermissionRequest,
    RegionConfig,
)
from .regions import CLOUDS, REGIONS, region_of_location
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


# --- Resolved settings handed to the program ------------------------------------------------------


@dataclass(frozen=True)
class ResolvedPermission:
    """A permission request resolved through the catalog."""

    request: PermissionRequest
    permission: permissions.Permission


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


def _check_uris(
    key: str,
    app: AppDefinition,
    region: RegionConfig,
    file: str,
    other_tenants: Mapping[str, str],
) -> list[Problem]:
    """Redirect, homepage and identifier URIs of one app, as they will be in this region.

    ``other_tenants``: the tenant id (lower case) of every other region stack -> its name, to
    say whose tenant an ``api://`` URI names when it is not this region's.
    """
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
        issue = rules.redirect_uri_problem(
            rendered, allow_localhost=app.development, redirect=False
        )
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
    else:
        problems.extend(_check_api_owner(uri, base, region, file, other_tenants))
    return problems


def _check_api_owner(
    uri: str, base: str, region: RegionConfig, file: str, other_tenants: Mapping[str, str]
) -> list[Problem]:
    """An ``api://<GUID>`` identifier URI written in apps.yaml carries this region's tenant id.

    The app's own client id does not exist before its creation and differs per region, so a
    literal one in the shared apps.yaml would name one region's app in every region:
    ``identifierUri: api`` is how an app gets api://<its client id> (rules.api_uri_owner_problem,
    which the ``stack-identifier-uris-own-region`` policy applies with the client id it knows).
    """
    problem = rules.api_uri_owner_problem(uri, region.tenant_id)
    if problem is None:
        return []
    guid = rules.api_uri_guid(uri) or ""
    other = other_tenants.get(guid)
    whose = f" (the tenant of stack {other!r}, Pulumi.{other}.yaml)" if other else ""
    return [
        Problem(
            file,
            f"{base}.identifierUri",
            f"{uri!r} {problem}{whose}; in region {region.id!r} use identifierUri: api for "
            f"api://<client id>, or api://{region.tenant_id}/<path>",
        )
    ]


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


def _validate_apps(  # noqa: PLR0917 - one call site; the values are the checks' inputs
    apps_file: AppsFile,
    region: RegionConfig,
    project_dir: Path,
    file: str,
    today: date,
    other_tenants: Mapping[str, str],
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
        problems.extend(_check_uris(key, app, region, file, other_tenants))
        problems.extend(_check_links(key, app, apps_file.apps, file))
        problems.extend(_check_rotation_date(key, app, today, file))
        permission_problems, resolved[key] = _resolve_permissions(key, app, file)
        problems.extend(permission_problems)
        if isinstance(app.credential, CertificateCredential):
            cert_problems, loaded = load_certificate(
                key, app.credential, region, project_dir, file, today
            )
            problems.extend(cert_problems)
            if loaded is not None:
                certificates[key] = loaded
    problems.extend(_check_known_client_cycles(apps_file.apps, file))
    problems.extend(_check_previous_keys(apps_file.apps, file))
    return problems, resolved, certificates


def _tenants_of(other_stacks: Mapping[str, Any]) -> dict[str, str]:
    """Tenant id (lower case) -> stack name, from the other stacks' raw region values."""
    tenants: dict[str, str] = {}
    for name, raw in sorted(other_stacks.items()):
        tenant = raw.get("tenantId") if isinstance(raw, dict) else None
        if isinstance(tenant, str):
            tenants.setdefault(tenant.strip().lower(), name)
    return tenants


def _check_previous_keys(apps: Mapping[str, AppDefinition], file: str) -> list[Problem]:
    """A previous key names a key no app has now, and only one app had it."""
    problems: list[Problem] = []
    claimed: dict[str, str] = {}
    for key in sorted(apps):
        for index, old in enumerate(apps[key].previous_keys):
            path = f"apps.{key}.previousKeys[{index}]"
            if old in apps:
                problems.append(
                    Problem(
                        file,
                        path,
                        f"{old!r} is the key of an app of this file; a previous key names what an "
                        "app was called before a rename",
                    )
                )
            elif old in claimed:
                problems.append(
                    Problem(file, path, f"{old!r} is also a previous key of app {claimed[old]!r}")
                )
            else:
                claimed[old] = key
    return problems


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
            apps_file,
            region,
            project_dir,
            APPS_FILE,
            today or _utc_today(),
            _tenants_of(other_stacks or {}),
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
