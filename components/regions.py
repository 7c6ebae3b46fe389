"""Region table: which Azure locations and cloud each regional partner tenant may use.

CSP customer engagement is limited to one region, so a region stack may only place resources in
its own geography. Adding a region (or a sovereign cloud) means adding one row to ``REGIONS``; the
config validation, the providers and the policy pack's config all read this table.

Rows: the United States and the European Union first, then the other public-cloud regions by
id, then the sovereign clouds. Locations are Azure location names (``az account list-locations``),
in name order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Cloud = Literal["public", "usgovernment", "china"]


@dataclass(frozen=True)
class CloudEndpoints:
    """How each provider names a cloud, and where its services are: the one table of a cloud's
    endpoints (the providers, ``partner-apps sam``, ``customers`` and ``route`` all read it).

    Sources: Microsoft Graph "National cloud deployments" (Graph and sign-in hosts; a Graph
    scope must use the cloud's Graph host), Key Vault "About keys, secrets and certificates"
    (DNS suffix of vaults per cloud; a vault's 401 challenge names ``https://<suffix>`` as its
    resource), Partner Center "REST URLs" (its base URL per cloud). ``usgovernment`` is US
    Government L4 (GCC High: ``graph.microsoft.us``); DoD (L5) tenants use
    ``dod-graph.microsoft.us`` and would be a row of their own.
    """

    azuread_environment: str
    azure_native_environment: str
    login_host: str
    graph_host: str
    partner_center_host: str
    key_vault_suffix: str

    @property
    def login_url(self) -> str:
        return f"https://{self.login_host}"

    @property
    def graph_url(self) -> str:
        """Graph's root, also the resource its tokens are requested for (``<root>/.default``)."""
        return f"https://{self.graph_host}"

    @property
    def partner_center_url(self) -> str:
        """Partner Center's base URL, also the resource of its tokens
        (``<base>/user_impersonation``, as Microsoft's Partner Center PowerShell module asks for
        them in every cloud)."""
        return f"https://{self.partner_center_host}"

    @property
    def key_vault_resource(self) -> str:
        """The resource a vault of this cloud names in its 401 challenge."""
        return f"https://{self.key_vault_suffix}"


CLOUDS: dict[Cloud, CloudEndpoints] = {
    "public": CloudEndpoints(
        azuread_environment="global",
        azure_native_environment="public",
        login_host="login.microsoftonline.com",
        graph_host="graph.microsoft.com",
        partner_center_host="api.partnercenter.microsoft.com",
        key_vault_suffix="vault.azure.net",
    ),
    "usgovernment": CloudEndpoints(
        azuread_environment="usgovernment",
        azure_native_environment="usgovernment",
        login_host="login.microsoftonline.us",
        graph_host="graph.microsoft.us",
        partner_center_host="api.partnercenter.microsoft.com",
        key_vault_suffix="vault.usgovcloudapi.net",
    ),
    "china": CloudEndpoints(
        azuread_environment="china",
        azure_native_environment="china",
        login_host="login.chinacloudapi.cn",
        graph_host="microsoftgraph.chinacloudapi.cn",
        partner_center_host="partner.partnercenterapi.microsoftonline.cn",
        key_vault_suffix="vault.azure.cn",
    ),
}


@dataclass(frozen=True)
class Region:
    """One CSP region: the geography a regional partner tenant sells in."""

    id: str
    description: str
    cloud: Cloud
    locations: tuple[str, ...]


REGIONS: dict[str, Region] = {
    region.id: region
    for region in (
        Region(
            id="us",
            description="United States (CSP US partner tenant)",
            cloud="public",
            locations=(
                "centralus",
                "eastus",
                "eastus2",
                "northcentralus",
                "southcentralus",
                "westcentralus",
                "westus",
                "westus2",
                "westus3",
            ),
        ),
        Region(
            id="eu",
            description="European Union (CSP EU partner tenant)",
            cloud="public",
            # EU member states only: Norway, Switzerland and the UK are Europe but not the EU.
            locations=(
                "francecentral",
                "francesouth",
                "germanynorth",
                "germanywestcentral",
                "italynorth",
                "northeurope",
                "polandcentral",
                "spaincentral",
                "swedencentral",
                "westeurope",
            ),
        ),
        Region(
            id="au",
            description="Australia (CSP Australia partner tenant)",
            cloud="public",
            locations=(
                "australiacentral",
                "australiacentral2",
                "australiaeast",
                "australiasoutheast",
            ),
        ),
        Region(
            id="ca",
            description="Canada (CSP Canada partner tenant)",
            cloud="public",
            locations=("canadacentral", "canadaeast"),
        ),
        Region(
            id="jp",
            description="Japan (CSP Japan partner tenant)",
            cloud="public",
            locations=("japaneast", "japanwest"),
        ),
        Region(
            id="uk",
            description="United Kingdom (CSP UK partner tenant)",
            cloud="public",
            # Not part of the EU geography since Brexit: a partner tenant of its own.
            locations=("uksouth", "ukwest"),
        ),
        Region(
            id="usgov",
            description="US Government (CSP partner tenant in Azure Government)",
            cloud="usgovernment",
            locations=("usgovarizona", "usgovtexas", "usgovvirginia"),
        ),
    )
}


def region_of_location(location: str) -> str | None:
    """The region whose geography contains ``location``, if any (used in error messages)."""
    for region in REGIONS.values():
        if location in region.locations:
            return region.id
    return None
