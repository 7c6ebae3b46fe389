"""The permission catalog against what Microsoft publishes (issue 27, item 1, the real path).

On ``pulumi preview``/``up`` the program reads each requested API's service principal in the
region's tenant (the azuread provider's ``getServicePrincipal``: ``app_role_ids``,
``oauth2_permission_scope_ids``) and fails, naming the permission, when the catalog disagrees;
no API access (the permission grant itself) is declared then. Here the tenant is the recorder's
mocks, told to publish what a tampered catalog would not match.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pulumi.runtime import mocks as pulumi_mocks

from partner_apps.preview.build import run_stack
from partner_apps.preview.mocks import GET_SERVICE_PRINCIPAL, PlanMocks
from policies.partner_policies import catalog

from .conftest import ROOT, STACKS, committed_run

API_ACCESS = "azuread:index/applicationApiAccess:ApplicationApiAccess"


class _Tenant(PlanMocks):
    """The region's tenant, publishing what ``change`` makes of the catalog's ids."""

    def __init__(self, stack: str, change: Callable[[str, dict[str, Any]], dict[str, Any]]) -> None:
        super().__init__(stack)
        self.change = change
        self.asked: list[str] = []

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        result, failures = super().call(args)
        if args.token == GET_SERVICE_PRINCIPAL:
            client_id = str(args.args.get("clientId", ""))
            self.asked.append(client_id)
            result = self.change(client_id, result)
        return result, failures


def _requested(stack: str) -> list[catalog.Permission]:
    run = committed_run(stack)
    assert run.settings is not None
    return sorted(
        {item.permission for items in run.settings.resolved_permissions.values() for item in items},
        key=lambda p: (p.api.name, p.value, p.kind),
    )


def _table(permission: catalog.Permission) -> str:
    return "appRoleIds" if permission.kind == "application" else "oauth2PermissionScopeIds"


@pytest.mark.parametrize("stack", STACKS)
def test_the_tenant_publishing_the_catalogs_ids_passes(stack: str) -> None:
    tenant = _Tenant(stack, lambda _client, result: result)
    run = run_stack(ROOT, stack, mocks=tenant)
    assert run.error is None, run.error
    apis = {permission.api_app_id for permission in _requested(stack)}
    assert sorted(tenant.asked) == sorted(apis), "each requested API's service principal is read"
    assert any(r["type"] == API_ACCESS for r in run.resources)


@pytest.mark.parametrize("stack", STACKS)
def test_a_catalog_id_the_tenant_does_not_publish_fails_naming_the_permission(stack: str) -> None:
    """A catalog whose id for one permission is another permission's (two ids swapped in
    catalog.py) is what this models: the tenant publishes a different id under that name."""
    victim = next(p for p in _requested(stack) if p.api_app_id == catalog.GRAPH.app_id)
    other = "0" * 8 + "-0000-0000-0000-" + "0" * 12

    def swap(client_id: str, result: dict[str, Any]) -> dict[str, Any]:
        if client_id != victim.api_app_id:
            return result
        table = dict(result[_table(victim)])
        table[victim.value] = other
        return {**result, _table(victim): table}

    run = run_stack(ROOT, stack, mocks=_Tenant(stack, swap))
    assert run.error is not None, f"{stack}: a catalog id Microsoft does not publish passed"
    assert victim.qualified in run.error, run.error
    assert victim.id in run.error, run.error
    assert other in run.error, run.error
    assert "policies/partner_policies/catalog.py" in run.error, run.error
    granted = [r["urn"] for r in run.resources if r["type"] == API_ACCESS]
    assert granted == [], f"{stack}: API access declared before the ids were checked: {granted}"


def test_a_permission_the_api_does_not_publish_fails_naming_it() -> None:
    victim = next(p for p in _requested("us") if p.kind == "delegated")

    def drop(client_id: str, result: dict[str, Any]) -> dict[str, Any]:
        if client_id != victim.api_app_id:
            return result
        table = {k: v for k, v in result[_table(victim)].items() if k != victim.value}
        return {**result, _table(victim): table}

    run = run_stack(ROOT, "us", mocks=_Tenant("us", drop))
    assert run.error is not None
    assert f"{victim.qualified} (delegated)" in run.error, run.error
    assert "publishes no such delegated scope" in run.error, run.error


def test_ids_are_compared_without_regard_to_case() -> None:
    """Graph returns ids in lower case; a catalog or tenant in upper case is the same id."""

    def upper(_client: str, result: dict[str, Any]) -> dict[str, Any]:
        return {
            **result,
            "appRoleIds": {k: v.upper() for k, v in result["appRoleIds"].items()},
            "oauth2PermissionScopeIds": {
                k: v.upper() for k, v in result["oauth2PermissionScopeIds"].items()
            },
        }

    run = run_stack(ROOT, "us", mocks=_Tenant("us", upper))
    assert run.error is None, run.error
