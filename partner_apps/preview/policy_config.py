"""The policy config of each region (``policies/config/<region>.json``), generated.

Two sources, one output per region stack:

* **generated** — the region's values, from ``Pulumi.<region>.yaml`` (validated exactly as the
  program validates it), the region table (``components/regions.py``) and ``apps.yaml``: tenant,
  subscription, location and the region's locations, verified domains, production, the pinned
  AdminAgents group, and the apps allowed a localhost redirect URI. Nobody copies them by hand, so
  they cannot drift from the stack file;
* **reviewed** — what a security reviewer signs off: ``policies/reviewed/default.json`` for every
  region and, optionally, ``policies/reviewed/<region>.json`` on top (both in the pack's own
  policy-config format: policy name -> enforcement level, or properties with an optional
  ``enforcementLevel``): permission allow-lists, the high-privilege list, enforcement overrides.

A reviewed file may not set a generated property (the stack file owns it). ``make generate``
writes the result; a test fails while a committed file is stale. The output is what
``pulumi preview --policy-pack policies --policy-pack-config policies/config/<region>.json`` reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components.config import (
    StackSettings,
)
from components.regions import REGIONS
from components.resolved import app_component_name
from components.stackfiles import load_stack_file, stack_files, stack_name
from partner_apps.preview.build import settings_for

REVIEWED_DIR = Path("policies") / "reviewed"
CONFIG_DIR = Path("policies") / "config"


class PolicyConfigSourceError(ValueError):
    """A reviewed file is unreadable or sets what the stack file owns."""


def region_values(settings: StackSettings) -> dict[str, dict[str, Any]]:
    """The properties of each policy that come from the stack file, the region table, apps.yaml."""
    region = settings.region
    locations = sorted(REGIONS[region.id].locations)
    values: dict[str, dict[str, Any]] = {
        "azure-native-keyvault-vault-tenant": {"tenantId": region.tenant_id},
        "azure-native-location-in-region": {"allowedLocations": locations},
        "azuread-application-identifier-uris": {"verifiedDomains": list(region.verified_domains)},
        "azuread-application-redirect-uris-verified-hosts": {
            "verifiedDomains": list(region.verified_domains)
        },
        # The apps whose localhost redirect URIs config accepted (development apps, and exactly
        # http://localhost on the Secure Application Model app): the policy accepts them for
        # exactly these apps, and no other.
        "azuread-application-redirect-uris-https": {
            "allowLocalhostApps": sorted(
                app.display_name for app in settings.apps.values() if app.development
            ),
            "samLoopbackApps": sorted(
                app.display_name for app in settings.apps.values() if app.secure_application_model
            ),
        },
        # The components of the Secure Application Model apps: only their resources may request
        # the reviewed samAdminConsentPermissions.
        "azuread-required-access-allow-list": {
            "secureApplicationModelComponents": sorted(
                app_component_name(settings.stack, settings.resolved_apps[key].identity_key)
                for key, app in settings.apps.items()
                if app.secure_application_model
            )
        },
        "stack-identifier-uris-own-region": {"tenantId": region.tenant_id},
        "stack-production-resources-protected": {"production": region.production},
        "stack-providers-single-region": {
            "tenantId": region.tenant_id,
            "subscriptionId": region.subscription_id,
            "location": region.location,
            "allowedLocations": locations,
        },
    }
    if region.admin_agents.object_id is not None:
        values["stack-partner-apps-admin-agents"] = {
            "adminAgentsGroupObjectId": region.admin_agents.object_id
        }
    return values


def _read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise PolicyConfigSourceError(f"{path.as_posix()}: cannot be read ({error})") from None
    if not isinstance(document, dict):
        raise PolicyConfigSourceError(f"{path.as_posix()}: must be a JSON object of policies")
    return document


def _merge(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    for name, value in source.items():
        current = target.get(name)
        if isinstance(value, str):
            if isinstance(current, dict):
                current["enforcementLevel"] = value
            else:
                target[name] = value
        elif isinstance(value, dict):
            base = (
                {"enforcementLevel": current} if isinstance(current, str) else dict(current or {})
            )
            target[name] = {**base, **value}
        else:
            target[name] = value


def reviewed_config(project_dir: Path, region: str) -> tuple[dict[str, Any], list[Path]]:
    """The reviewed policy config of a region, and the files it came from."""
    reviewed = project_dir / REVIEWED_DIR
    files = [reviewed / "default.json", reviewed / f"{region}.json"]
    merged: dict[str, Any] = {}
    used = []
    for path in files:
        if path.is_file():
            _merge(merged, _read(path))
            used.append(path)
    return merged, used


def render(project_dir: Path, settings: StackSettings) -> str:
    """``policies/config/<region>.json`` for one validated stack."""
    reviewed, files = reviewed_config(project_dir, settings.stack)
    generated = region_values(settings)
    for name, properties in generated.items():
        value = reviewed.get(name)
        overlap = sorted(set(value) & set(properties)) if isinstance(value, dict) else []
        if overlap:
            where = ", ".join(path.relative_to(project_dir).as_posix() for path in files)
            raise PolicyConfigSourceError(
                f"{where}: {name}.{overlap[0]} comes from Pulumi.{settings.stack}.yaml "
                "(generated); remove it from the reviewed file"
            )
    result = dict(reviewed)
    _merge(result, generated)
    return json.dumps(dict(sorted(result.items())), indent=2, sort_keys=True) + "\n"


def rendered_configs(project_dir: Path) -> dict[str, str]:
    """Relative path -> content, for every region stack file of the project."""
    result = {}
    for path in stack_files(project_dir):
        stack = stack_name(path)
        settings = settings_for(project_dir, load_stack_file(path))
        result[(CONFIG_DIR / f"{stack}.json").as_posix()] = render(project_dir, settings)
    return result
