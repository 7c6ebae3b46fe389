"""RegionalKeyVault: the hardened vault of one region and the secrets of its apps.

The vault is RBAC-authorized, soft-delete with purge protection, and closed to the public network
(or default-deny with listed IPs). Secrets are written through ARM (the control plane), which works
with public network access disabled.

Secrets are kept on delete (``retain_on_delete``): azure-native deletes a secret through the
data plane (ARM refuses DELETE on ``vaults/secrets``), which a vault closed to the public network
refuses, so removing or renaming an app, or ``pulumi destroy``, would fail on its secrets. Pulumi
forgets them instead; docs/running-for-real.md says how to delete and purge them from an allowed
network.

Per app it holds the client secret (value from the app's ``ApplicationPassword``, always wrapped
in ``Output.secret`` because ``keyvault.Secret`` does not mark its value secret) and, for Secure
Application Model apps, the refresh token. The refresh token is created once and then left alone:
``partner-apps sam`` (partner_apps/sam) replaces and refreshes it through the data plane, so this
program must never write it again.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pulumi

# Subpackages by name, never attributes of the package itself: its __init__ imports all ~260
# subpackages for type checkers, and mypy is told not to follow it (pyproject.toml).
from pulumi_azure_native import authorization, keyvault, resources
from pydantic import SecretStr

from policies.partner_policies.tokens import VAULT_COMPONENT

from . import ids
from .models import (
    PrincipalRef,
    RegionConfig,
)

# Built-in Key Vault data-plane roles (stable ids, the same in every tenant).
SECRETS_OFFICER_ROLE = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
SECRETS_USER_ROLE = "4633458b-17de-408a-b874-0445c86b69e6"
# Written when no refresh token is configured yet; `partner-apps sam consent` replaces it.
REFRESH_TOKEN_PLACEHOLDER = "pending-consent"


@dataclass(frozen=True)
class AppSecrets:
    """What one app stores in the vault."""

    key: str
    display_name: str
    expires: date
    client_secret: pulumi.Output[str] | None = None
    secure_application_model: bool = False
    refresh_token: SecretStr | None = None


@dataclass(frozen=True)
class RegionalKeyVaultArgs:
    stack: str
    region: RegionConfig
    apps: Sequence[AppSecrets]


def client_secret_name(app_key: str) -> str:
    return f"{app_key}-client-secret"


def refresh_token_secret_name(app_key: str) -> str:
    return f"{app_key}-sam-refresh-token"


def _unix(day: date) -> int:
    return calendar.timegm(day.timetuple())


class RegionalKeyVault(pulumi.ComponentResource):
    """Resource group, vault, role assignments and app secrets of one region."""

    vault_uri: pulumi.Output[str]
    secret_ids: dict[str, dict[str, pulumi.Output[str]]]

    def __init__(
        self,
        name: str,
        args: RegionalKeyVaultArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(VAULT_COMPONENT, name, None, opts)
        region = args.region
        settings = region.key_vault
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(sorted(region.tags.items()))

        # An existing group is named, not managed: azure-native refuses to adopt it, and a team
        # that pre-creates it can grant the role-assignment rights on it before the first up.
        group_name: pulumi.Input[str] = settings.resource_group_name
        if settings.create_resource_group:
            group_name = resources.ResourceGroup(
                f"{name}-rg",
                resource_group_name=settings.resource_group_name,
                location=region.location,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, protect=region.protect),
            ).name
        public = settings.public_network_access == "Enabled"
        self.vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=settings.name,
            resource_group_name=group_name,
            location=region.location,
            properties=keyvault.VaultPropertiesArgs(
                # Vault names are global and stay taken while soft-deleted (purge protection):
                # recover brings this region's own vault back instead of failing on the name.
                create_mode=keyvault.CreateMode(settings.create_mode),
                tenant_id=region.tenant_id,
                sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName(settings.sku)),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=settings.soft_delete_retention_days,
                enable_purge_protection=True,
                public_network_access="Enabled" if public else "Disabled",
                network_acls=keyvault.NetworkRuleSetArgs(
                    default_action="Deny",
                    bypass="None",
                    ip_rules=[
                        keyvault.IPRuleArgs(value=ip) for ip in sorted(settings.allowed_ip_ranges)
                    ],
                ),
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=region.protect,
                # createMode only means something when the vault is created: switching it back to
                # default after a recovery must not update (or fail) anything.
                ignore_changes=["properties.createMode"],
            ),
        )
        self.vault_uri = self.vault.properties.apply(lambda p: p.vault_uri or "")

        # The scope is known from config, so the assignment names are known at preview time.
        scope = (
            f"/subscriptions/{region.subscription_id}/resourceGroups/"
            f"{settings.resource_group_name}/providers/Microsoft.KeyVault/vaults/{settings.name}"
        )
        self._role_assignments(
            name=name,
            label="secrets-officer",
            role=SECRETS_OFFICER_ROLE,
            principals=settings.secrets_officers,
            scope=scope,
            region=region,
            opts=child,
        )
        self._role_assignments(
            name=name,
            label="secrets-user",
            role=SECRETS_USER_ROLE,
            principals=settings.secrets_users,
            scope=scope,
            region=region,
            opts=child,
        )

        self.secret_ids = {}
        for app in sorted(args.apps, key=lambda a: a.key):
            ids_for_app: dict[str, pulumi.Output[str]] = {}
            if app.client_secret is not None:
                secret = keyvault.Secret(
                    f"{name}-{app.key}-client-secret",
                    secret_name=client_secret_name(app.key),
                    vault_name=self.vault.name,
                    resource_group_name=group_name,
                    properties=keyvault.SecretPropertiesArgs(
                        value=pulumi.Output.secret(app.client_secret),
                        content_type=f"client secret of {app.display_name}",
                        attributes=keyvault.SecretAttributesArgs(
                            enabled=True, expires=_unix(app.expires)
                        ),
                    ),
                    tags=tags,
                    # keyvault.Secret does not mark its properties secret in state; this does,
                    # and it is what the policy pack can check (policies see plain values).
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        additional_secret_outputs=["properties"],
                        retain_on_delete=True,
                    ),
                )
                ids_for_app["clientSecret"] = secret.id
            if app.secure_application_model:
                token = (
                    app.refresh_token.get_secret_value()
                    if app.refresh_token is not None
                    else REFRESH_TOKEN_PLACEHOLDER
                )
                secret = keyvault.Secret(
                    f"{name}-{app.key}-sam-refresh-token",
                    secret_name=refresh_token_secret_name(app.key),
                    vault_name=self.vault.name,
                    resource_group_name=group_name,
                    properties=keyvault.SecretPropertiesArgs(
                        value=pulumi.Output.secret(token),
                        content_type=(
                            f"Secure Application Model refresh token of {app.display_name}"
                        ),
                        attributes=keyvault.SecretAttributesArgs(
                            enabled=True, expires=_unix(app.expires)
                        ),
                    ),
                    tags=tags,
                    # Create once, never write again: any update would send the first value
                    # back and overwrite the token the refresh process keeps current.
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        ignore_changes=["properties", "tags"],
                        additional_secret_outputs=["properties"],
                        retain_on_delete=True,
                    ),
                )
                ids_for_app["refreshToken"] = secret.id
            self.secret_ids[app.key] = ids_for_app

        self.register_outputs({"vaultUri": self.vault_uri, "vaultId": self.vault.id})

    def _role_assignments(
        self,
        *,
        name: str,
        label: str,
        role: str,
        principals: Sequence[PrincipalRef],
        scope: str,
        region: RegionConfig,
        opts: pulumi.ResourceOptions,
    ) -> None:
        role_definition_id = (
            f"/subscriptions/{region.subscription_id}/providers/"
            f"Microsoft.Authorization/roleDefinitions/{role}"
        )
        for principal in sorted(principals, key=lambda p: p.principal_id):
            authorization.RoleAssignment(
                f"{name}-{label}-{principal.principal_id}",
                role_assignment_name=ids.role_assignment_name(scope, role, principal.principal_id),
                principal_id=principal.principal_id,
                principal_type=principal.principal_type,
                role_definition_id=role_definition_id,
                scope=self.vault.id,
                description=principal.description,
                opts=opts,
            )
