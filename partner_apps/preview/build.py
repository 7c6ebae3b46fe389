"""Build the recorded plan of one region stack (the document reviewers' tools read).

A plan is the program's registrations under mocks plus what reviewers need that is not a resource
input (the region, the apps' permission reasons) and the policy results. It is sorted and holds no
secret value, so it can be committed, diffed and attached to a pull request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from components import program
from components.config import (
    StackSettings,
    read_yaml,
    validate,
)
from components.resolved import app_component_name
from components.stackfiles import StackFile, load_stack_file, other_regions
from partner_apps.preview.recorder import StackRun, project_name, run_program
from partner_apps.review.plan.document import OFFLINE_ORIGIN, PLAN_VERSION, catalog_record
from partner_apps.review.plan.pack import PackRecord
from partner_apps.review.plan.vocabulary import APP_COMPONENT
from policies.partner_policies import ALL_POLICIES
from policies.partner_policies import catalog as permissions_catalog
from policies.partner_policies.engine import PolicySettings


def settings_for(project_dir: Path, stack_file: StackFile) -> StackSettings:
    """Validate a stack file the way the program does (for the plan's region and apps blocks)."""
    return validate(
        project=project_name(project_dir),
        stack=stack_file.stack,
        config=stack_file.config,
        secret_keys=set(stack_file.secret_keys),
        apps_document=read_yaml(project_dir / "apps.yaml"),
        project_dir=project_dir,
        other_stacks=other_regions(project_dir, stack_file.stack),
    )


def run_stack(project_dir: Path, stack: str, **kwargs: Any) -> StackRun:
    """Run the real program for ``Pulumi.<stack>.yaml`` under mocks.

    The run carries the settings the program validated (``StackRun.settings``): the plan is
    built from them, so the config is validated once, by the program, as under ``pulumi up``.
    """
    stack_file = load_stack_file(project_dir / f"Pulumi.{stack}.yaml")
    validated: list[StackSettings] = []
    run = run_program(
        project_name(project_dir),
        stack_file,
        lambda: validated.append(program.run(project_dir)),
        **kwargs,
    )
    return dataclasses.replace(run, settings=validated[0] if validated else None)


def _region_block(settings: StackSettings) -> dict[str, Any]:
    region = settings.region
    return {
        "id": region.id,
        "cloud": region.cloud,
        "tenantId": region.tenant_id,
        "subscriptionId": region.subscription_id,
        "location": region.location,
        "verifiedDomains": list(region.verified_domains),
        "production": region.production,
        "protect": region.protect,
        "keyVault": region.key_vault.name,
        # What else identifies the region's stack for a reviewer: who owns the apps, which group
        # pre-consents them, and who may reach the vault over the network.
        "owners": sorted(region.owners),
        "adminAgents": (
            {"objectId": region.admin_agents.object_id}
            if region.admin_agents.object_id is not None
            else {"displayName": region.admin_agents.lookup_name}
        ),
        "keyVaultNetwork": {
            "publicNetworkAccess": region.key_vault.public_network_access,
            "allowedIpRanges": sorted(region.key_vault.allowed_ip_ranges),
        },
    }


def _apps_block(settings: StackSettings) -> dict[str, Any]:
    apps: dict[str, Any] = {}
    for key in sorted(settings.apps):
        app = settings.apps[key]
        credential = app.credential.model_dump(mode="json", by_alias=True)
        apps[key] = {
            "displayName": app.display_name,
            "secureApplicationModel": app.secure_application_model,
            "credential": credential,
            "permissions": [
                {
                    "api": item.permission.api.name,
                    "permission": item.permission.value,
                    "type": item.permission.kind,
                    "id": item.permission.id,
                    "adminConsent": item.permission.admin_consent,
                    "risk": item.permission.risk,
                    "reason": item.request.reason,
                }
                for item in settings.resolved_permissions.get(key, ())
            ],
            "requiredScopes": [
                request.model_dump(mode="json", by_alias=True) for request in app.required_scopes
            ],
            "knownClients": list(app.known_clients),
        }
        if app.previous_keys:
            apps[key]["previousKeys"] = list(app.previous_keys)
    return apps


def effective_policies(settings: Mapping[str, PolicySettings]) -> list[dict[str, Any]]:
    """Every policy of the pack with the enforcement the region's policy config gives it.

    ``settings``: the engine's own reconciliation of the config (``pack.reconciled``: schema
    defaults, ``"all"``, then per-policy entries), so a policy the region disables is listed
    as ``disabled``; sorted by name.
    """
    return sorted(
        (
            {
                "name": policy.name,
                "severity": policy.severity.value if policy.severity else "",
                "enforcementLevel": settings[policy.name].enforcement.value,
                # The region's effective properties (allow-lists, limits, region values), so a
                # diff sees a loosened policy config even when no resource changes.
                "properties": settings[policy.name].properties,
            }
            for policy in ALL_POLICIES
        ),
        key=lambda entry: entry["name"],
    )


def _record_components(
    apps: dict[str, Any], run: StackRun, settings: StackSettings
) -> dict[str, Any]:
    """Each app's component URN, as the program registered it, so reports need not infer the
    app a resource belongs to from resource names."""
    urns = {
        record["name"]: record["urn"] for record in run.resources if record["type"] == APP_COMPONENT
    }
    for key, block in apps.items():
        identity = settings.resolved_apps[key].identity_key
        urn = urns.get(app_component_name(run.stack, identity))
        if urn is not None:
            block["componentUrn"] = urn
    return apps


def build_plan(
    run: StackRun,
    settings: StackSettings,
    violations: list[dict[str, Any]],
    policies: list[dict[str, Any]] | None = None,
    *,
    pack: PackRecord | None = None,
    evaluation_date: date | None = None,
) -> dict[str, Any]:
    """The plan document; ``policies`` (from ``effective_policies``) is left out when None.

    ``pack`` (``review.plan.pack.current_pack``) and ``evaluation_date`` are what judged
    ``violations``: recorded so the diff sees a changed pack and the audit can judge the
    resources again, on the same date, and find a violation list that does not match.
    """
    plan = {
        "planVersion": PLAN_VERSION,
        "project": run.project,
        "stack": run.stack,
        "region": _region_block(settings),
        "apps": _record_components(_apps_block(settings), run, settings),
        "resources": sorted(run.resources, key=lambda r: str(r["urn"])),
        "outputs": run.outputs,
        "violations": sorted(
            violations, key=lambda v: (str(v["urn"]), str(v["policy"]), str(v["message"]))
        ),
        # Ids the mocks made up (client, object, resource ids): reports show them as assigned
        # at deploy, never as real values.
        "assignedAtDeploy": sorted(run.assigned),
        # The catalog every permission name and id of this plan was resolved with: the diff
        # compares it between base and head (a changed id is what `pulumi up` would grant).
        "permissionCatalog": catalog_record(permissions_catalog.PERMISSIONS),
    }
    if policies is not None:
        plan["policies"] = sorted(policies, key=lambda entry: entry["name"])
    if pack is not None:
        plan["policyPack"] = pack.as_json()
    if evaluation_date is not None:
        plan["evaluationDate"] = evaluation_date.isoformat()
    plan["origin"] = OFFLINE_ORIGIN
    return plan
