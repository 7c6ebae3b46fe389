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
    """How each provider names a cloud, and where tokens come from there."""

    azuread_environment: str
    azure_native_environment: str
    login_host: str


CLOUDS: dict[Cloud, CloudEndpoints] = {
    "public": CloudEndpoints("global", "public", "login.microsoftonline.com"),
    "usgovernment": CloudEndpoints("usgovernment", "usgovernment", "login.microsoftonline.us"),
    "china": CloudEndpoints("china", "china", "login.chinacloudapi.cn"),
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
