"""The permission catalog checked against the ids Microsoft publishes in the region's tenant.

An app's ``requiredResourceAccess`` carries permission **ids**; reviewers, policies and the diff
read permission **names** through the catalog (``policies/partner_policies/catalog.py``). A catalog
whose ids were swapped would make an app request ``Directory.ReadWrite.All`` while every report
says ``Directory.Read.All`` (issue 27). So on the real path the program reads, for each API its
apps request permissions of, the API's service principal in the region's tenant (the azuread
provider's ``getServicePrincipal`` data source: ``app_role_ids`` and
``oauth2_permission_scope_ids``, value → id, as Microsoft publishes them) and fails the preview,
naming each permission whose catalog id differs or that the API does not publish.

The data source needs ``Application.Read.All`` (or ``Directory.Read.All``) of the identity that
runs the preview (components/deployer.py lists it; Application.ReadWrite.All, which the deploying
identity already holds, includes it). Offline, the recorder's mocks publish the catalog's own ids,
so there the check can only pass: the offline trust root is the diff, which reports any change
of a catalog entry between two plans ("catalog changed").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azuread as azuread

from policies.partner_policies.catalog import Permission

from .config import ResolvedPermission
from .providers import RegionProviders


@dataclass(frozen=True)
class Published:
    """What one API's service principal in the tenant publishes: value → id, per kind."""

    app_roles: Mapping[str, str]  # application permissions
    scopes: Mapping[str, str]  # delegated permissions

    def id_of(self, permission: Permission) -> str | None:
        table = self.app_roles if permission.kind == "application" else self.scopes
        published = table.get(permission.value)
        return published.lower() if published else None


def disagreements(
    permissions: Iterable[Permission], published: Mapping[str, Published], tenant: str
) -> list[str]:
    """One line per requested permission whose catalog id the tenant does not publish."""
    problems: list[str] = []
    for permission in sorted(set(permissions), key=lambda p: (p.api.name, p.value, p.kind)):
        api = published[permission.api_app_id]
        actual = api.id_of(permission)
        where = f"{permission.api.name} ({permission.api_app_id}) in tenant {tenant}"
        if actual is None:
            problems.append(
                f"{permission.qualified} ({permission.kind}): {where} publishes no such "
                f"{'app role' if permission.kind == 'application' else 'delegated scope'}"
            )
        elif actual != permission.id.lower():
            problems.append(
                f"{permission.qualified} ({permission.kind}): the catalog says {permission.id}, "
                f"{where} publishes {actual}"
            )
    return problems


def verify_published_ids(
    resolved: Mapping[str, Sequence[ResolvedPermission]],
    providers: RegionProviders,
    tenant: str,
) -> pulumi.Output[str]:
    """An output that fails the program (``pulumi.RunError``: the CLI prints the message, no
    stack trace) when a requested permission's catalog id is not what the tenant publishes;
    else says how many permissions were checked. The stack exports it, so the engine awaits it
    in ``pulumi preview`` as in ``pulumi up``."""
    requested = [item.permission for items in resolved.values() for item in items]
    apps = sorted({permission.api_app_id for permission in requested})
    lookups = [
        azuread.get_service_principal_output(
            client_id=app_id, opts=pulumi.InvokeOutputOptions(provider=providers.azuread)
        )
        for app_id in apps
    ]

    def check(found: list[azuread.GetServicePrincipalResult]) -> str:
        published = {
            app_id: Published(
                app_roles=dict(result.app_role_ids or {}),
                scopes=dict(result.oauth2_permission_scope_ids or {}),
            )
            for app_id, result in zip(apps, found, strict=True)
        }
        problems = disagreements(requested, published, tenant)
        if problems:
            raise pulumi.RunError(
                "the permission catalog (policies/partner_policies/catalog.py) disagrees with "
                "the ids Microsoft publishes; nothing was changed:\n  " + "\n  ".join(problems)
            )
        count = len(set(requested))
        return f"{count} permission ids of {len(apps)} APIs match the tenant's service principals"

    return pulumi.Output.all(*lookups).apply(check)
