"""The program of a region stack: read config once, check it, then declare everything.

``run()`` is what ``__main__.py`` calls under ``pulumi up``/``preview`` and what the offline
preview and the tests call under mocks. Config problems stop it with ``pulumi.RunError`` (the CLI
prints the message without a stack trace) before the first resource is registered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_azuread as azuread
from pulumi.runtime import config as runtime_config

from .config import (
    APPS_FILE,
    ConfigError,
    StackSettings,
    read_yaml,
    validate,
)
from .key_vault import AppSecrets, RegionalKeyVault, RegionalKeyVaultArgs
from .partner_app import PartnerManagedApp, PartnerManagedAppArgs
from .providers import RegionProviders, region_providers
from .published import verify_published_ids
from .resolved import app_component_name
from .stackfiles import other_regions

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _engine_config() -> dict[str, Any]:
    """Every config key the engine passed, structured values parsed from their JSON form."""
    raw: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    parsed: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and value[:1] in ("{", "["):
            try:
                parsed[key] = json.loads(value)
                continue
            except json.JSONDecodeError:
                pass
        parsed[key] = value
    return parsed


def load_settings(project_dir: Path = PROJECT_DIR) -> StackSettings:
    """The edge: the only place that reads config (stack config, apps.yaml, other stack files)."""
    stack = pulumi.get_stack()
    config = _engine_config()
    secret_keys = {key for key in config if pulumi.runtime.is_config_secret(key)}
    return validate(
        project=pulumi.get_project(),
        stack=stack,
        config=config,
        secret_keys=secret_keys,
        apps_document=read_yaml(project_dir / APPS_FILE),
        project_dir=project_dir,
        other_stacks=other_regions(project_dir, stack),
    )


def admin_agents_group_id(settings: StackSettings, providers: RegionProviders) -> pulumi.Input[str]:
    """The AdminAgents group: pinned object id, or looked up by name in the region's tenant."""
    admin_agents = settings.region.admin_agents
    if admin_agents.object_id is not None:
        return admin_agents.object_id
    group = azuread.get_group_output(
        display_name=admin_agents.lookup_name,
        security_enabled=True,
        opts=pulumi.InvokeOutputOptions(provider=providers.azuread),
    )
    return group.object_id


def build(settings: StackSettings) -> dict[str, Any]:
    """Declare the region's providers, apps and vault; return the stack outputs."""
    stack = settings.stack
    providers = region_providers(stack, settings.region)
    group_id = admin_agents_group_id(settings, providers)
    # The catalog's ids against what Microsoft publishes in this tenant: a disagreement fails
    # the preview naming the permission, before any API access is declared (published.py).
    checked = verify_published_ids(
        settings.resolved_permissions, providers, settings.region.tenant_id
    )

    apps: dict[str, PartnerManagedApp] = {}
    for key in settings.build_order:
        definition = settings.apps[key]
        identity = settings.resolved_apps[key].identity_key
        apps[key] = PartnerManagedApp(
            # A renamed key (previousKeys) keeps its oldest key here and in everything derived
            # from it, so the rename changes no resource: no new client id, no lost consent.
            app_component_name(stack, identity),
            PartnerManagedAppArgs(
                key=identity,
                definition=definition,
                region=settings.region,
                permissions=settings.resolved_permissions.get(key, ()),
                admin_agents_group_id=group_id,
                known_client_ids=[apps[client].client_id for client in definition.known_clients],
                resolved=settings.resolved_apps[key],
                certificate=settings.certificates.get(key),
                published_ids_checked=checked,
            ),
            opts=providers.options(),
        )

    for key in sorted(apps):
        by_api: dict[str, list[str]] = {}
        for request in settings.apps[key].required_scopes:
            by_api.setdefault(request.app, []).append(request.scope)
        for api_key in sorted(by_api):
            apps[key].require_scopes(apps[api_key], by_api[api_key])

    vault = RegionalKeyVault(
        f"{stack}-vault",
        RegionalKeyVaultArgs(
            stack=stack,
            region=settings.region,
            apps=[
                AppSecrets(
                    key=settings.resolved_apps[key].identity_key,
                    display_name=settings.apps[key].display_name,
                    expires=app.credential_end_date,
                    client_secret=app.password.value if app.password is not None else None,
                    secure_application_model=settings.apps[key].secure_application_model,
                    refresh_token=settings.refresh_tokens.get(key),
                )
                for key, app in sorted(apps.items())
            ],
        ),
        opts=providers.options(),
    )

    outputs: dict[str, Any] = {
        "region": settings.region.id,
        "tenantId": settings.region.tenant_id,
        "authority": settings.region.authority,
        # Token flows for customers run against the customer's tenant (partner agents sign in
        # with their partner account there): substitute the customer's tenant id.
        "customerAuthorityTemplate": f"{settings.region.login_base}/{{customerTenantId}}",
        "vaultUri": vault.vault_uri,
        "apps": {
            key: {
                "clientId": app.client_id,
                "applicationObjectId": app.object_id,
                "servicePrincipalObjectId": app.service_principal_object_id,
                "identifierUris": app.identifier_uris,
                "authority": app.authority,
                "adminConsentUrl": app.admin_consent_url,
                "credentialEndDate": app.credential_end_date.isoformat(),
                "keyVaultSecretIds": vault.secret_ids.get(
                    settings.resolved_apps[key].identity_key, {}
                ),
            }
            for key, app in sorted(apps.items())
        },
        # Applications pick the regional identity before sign-in (CSP engagement is per region):
        # region -> app key -> client id.
        "routing": {settings.region.id: {key: app.client_id for key, app in sorted(apps.items())}},
        "permissionIds": checked,
    }
    return outputs


def run(project_dir: Path = PROJECT_DIR) -> StackSettings:
    """Entry point of the Pulumi program (``project_dir`` differs only in tests).

    Returns the validated settings it built from, so the offline preview renders its plan from
    exactly what the program used instead of validating the config a second time.
    """
    try:
        settings = load_settings(project_dir)
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
    for name, value in build(settings).items():
        pulumi.export(name, value)
    return settings
