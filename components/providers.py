"""The two explicit providers of a region stack.

Default providers are disabled (`pulumi:disable-default-providers: ["*"]` in every stack file), so
a resource without one of these providers fails instead of silently using whatever tenant the
deploying shell is logged in to. Credentials never come from here: both providers read them from
the environment (ARM_USE_OIDC/ARM_CLIENT_ID in CI, the Azure CLI login locally).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azuread as azuread

# The provider module by name, not the package's __init__ (see components/key_vault.py).
from pulumi_azure_native import provider as azure_native_provider

from .models import (
    RegionConfig,
)
from .regions import CLOUDS


@dataclass(frozen=True)
class RegionProviders:
    """The providers every resource of one region stack is registered with."""

    azuread: azuread.Provider
    azure_native: azure_native_provider.Provider

    def options(self) -> pulumi.ResourceOptions:
        """Options that hand both providers to a component; its children inherit them."""
        return pulumi.ResourceOptions(providers=[self.azuread, self.azure_native])


def region_providers(stack: str, region: RegionConfig) -> RegionProviders:
    cloud = CLOUDS[region.cloud]
    return RegionProviders(
        azuread=azuread.Provider(
            f"{stack}-azuread",
            tenant_id=region.tenant_id,
            environment=cloud.azuread_environment,
        ),
        azure_native=azure_native_provider.Provider(
            f"{stack}-azure-native",
            tenant_id=region.tenant_id,
            subscription_id=region.subscription_id,
            location=region.location,
            environment=cloud.azure_native_environment,
        ),
    )
