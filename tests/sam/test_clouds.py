"""Endpoints from the stack's cloud (public, usgovernment, china) for ``sam``, ``customers`` and
``route``; the one CA-bundle setting; Key Vault's challenge check on for every cloud's real hosts.

The expected hosts are written out here from Microsoft's pages (Graph "National cloud
deployments", Key Vault "About keys, secrets and certificates", Partner Center "REST URLs"), not
read from ``components/regions.py``. The ``usgov`` world sets no ``PARTNER_APPS_*`` override: the
product computes the US Government hosts from ``Pulumi.usgov.yaml`` and in-process name
resolution (``sandbox/fakecloud/names.py``) takes exactly those names to the fake; any other name
fails, so a public-cloud host would be an error, not a silent success.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.regions import CLOUDS
from partner_apps import exitcodes
from partner_apps.sam.errors import SamError
from partner_apps.sam.store import default_client
from partner_apps.sam.target import Endpoints, RegionTarget, file_outputs, resolve
from partner_apps.sandbox.customer_world import (
    CustomerWorld,
    _graph_resource,
    _outputs,
    _register_apps,
    add_customer,
)
from partner_apps.sandbox.fakecloud.names import HOSTS
from partner_apps.sandbox.world import SAM, USGOV, World, open_world

# cloud -> (login, Graph, Partner Center, Key Vault suffix, Key Vault challenge resource)
EXPECTED = {
    "public": (
        "https://login.microsoftonline.com",
        "https://graph.microsoft.com",
        "https://api.partnercenter.microsoft.com",
        "vault.azure.net",
        "https://vault.azure.net",
    ),
    "usgovernment": (
        "https://login.microsoftonline.us",
        "https://graph.microsoft.us",
        "https://api.partnercenter.microsoft.com",
        "vault.usgovcloudapi.net",
        "https://vault.usgovcloudapi.net",
    ),
    "china": (
        "https://login.chinacloudapi.cn",
        "https://microsoftgraph.chinacloudapi.cn",
        "https://partner.partnercenterapi.microsoftonline.cn",
        "vault.azure.cn",
        "https://vault.azure.cn",
    ),
}


@pytest.mark.parametrize("cloud", sorted(EXPECTED))
def test_every_endpoint_of_each_cloud_comes_from_the_cloud_table(cloud: Any) -> None:
    login, graph, partner_center, suffix, challenge = EXPECTED[cloud]
    endpoints = Endpoints.from_env({}, cloud=cloud)
    assert not endpoints.overridden
    assert endpoints.login_url == login
    assert endpoints.graph_url == graph
    assert endpoints.graph_resource == graph  # a Graph scope uses the cloud's Graph host
    assert endpoints.partner_center_url == partner_center
    assert endpoints.partner_center_resource == partner_center
    assert endpoints.partner_center_scope == f"{partner_center}/user_impersonation"
    assert endpoints.vault_url("kv-x") == f"https://kv-x.{suffix}"
    assert endpoints.vault_resource == challenge
    assert CLOUDS[cloud].key_vault_suffix == suffix
    # The fake's name table agrees with Microsoft's pages too.
    assert HOSTS[cloud]["login"] == login.removeprefix("https://")
    assert HOSTS[cloud]["vault"] == suffix


def test_the_us_government_cloud_uses_l4_graph_not_dod() -> None:
    """``usgovernment`` is L4 (GCC High): graph.microsoft.us; DoD (L5) would be a row of its own
    with dod-graph.microsoft.us (README, clouds)."""
    assert CLOUDS["usgovernment"].graph_host == "graph.microsoft.us"
    assert all("dod-graph" not in row.graph_host for row in CLOUDS.values())


@pytest.mark.parametrize("cloud", sorted(EXPECTED))
def test_key_vault_challenge_check_stays_on_for_real_hosts_of_every_cloud(cloud: Any) -> None:
    endpoints = Endpoints.from_env({}, cloud=cloud)
    target = RegionTarget("r", "t", SAM, "SAM", "c", "kv-x", endpoints.vault_url("kv-x"), endpoints)
    assert endpoints.verifies_vault_challenge("kv-x")
    client = default_client(target, credential=object())  # type: ignore[arg-type]
    policy = client._client._config.authentication_policy
    assert policy._verify_challenge_resource is True


def test_key_vault_challenge_check_is_off_only_under_a_test_override() -> None:
    loopback = Endpoints.from_env({"PARTNER_APPS_VAULT_URLS": '{"kv-x": "https://127.0.0.1:1"}'})
    assert loopback.overridden
    assert not loopback.verifies_vault_challenge("kv-x")
    assert loopback.verifies_vault_challenge("kv-other")  # another vault: its real host
    login_only = Endpoints.from_env({"PARTNER_APPS_LOGIN_URL": "https://127.0.0.1:2"})
    assert login_only.verifies_vault_challenge("kv-x")


def test_test_overrides_replace_urls_but_never_the_resources_tokens_are_for() -> None:
    env = {
        "PARTNER_APPS_LOGIN_URL": "https://127.0.0.1:1/",
        "PARTNER_APPS_GRAPH_URL": "https://127.0.0.1:2",
        "PARTNER_APPS_PARTNER_CENTER_URL": "https://127.0.0.1:3",
    }
    endpoints = Endpoints.from_env(env, cloud="usgovernment")
    assert endpoints.login_url == "https://127.0.0.1:1"
    assert endpoints.graph_url == "https://127.0.0.1:2"
    assert endpoints.graph_resource == "https://graph.microsoft.us"
    assert endpoints.partner_center_resource == "https://api.partnercenter.microsoft.com"
    assert endpoints.for_cloud("china").login_url == "https://127.0.0.1:1"  # overrides kept


@pytest.fixture
def usgov(tmp_path: Path) -> Iterator[World]:
    with open_world(tmp_path, sovereign="usgovernment") as world:
        yield world


def test_a_usgov_stack_resolves_to_us_government_endpoints_from_its_stack_file(
    usgov: World,
) -> None:
    target = resolve(usgov.project_dir, USGOV, file_outputs(usgov.outputs_dir), Endpoints())
    assert target.endpoints.cloud == "usgovernment"
    assert target.authority == f"https://login.microsoftonline.us/{target.tenant_id}"
    assert target.vault_url == "https://kv-cspapps-usgov-01.vault.usgovcloudapi.net"
    assert target.endpoints.graph_url == "https://graph.microsoft.us"
    assert not target.endpoints.overridden


def test_an_unknown_cloud_in_the_stack_file_is_refused_naming_file_and_key(usgov: World) -> None:
    path = usgov.project_dir / f"Pulumi.{USGOV}.yaml"
    path.write_text(path.read_text().replace("usgovernment", "azurestack"), encoding="utf-8")
    with pytest.raises(SamError) as caught:
        resolve(usgov.project_dir, USGOV, file_outputs(usgov.outputs_dir), Endpoints())
    assert caught.value.exit_code == exitcodes.CONFIG
    assert "Pulumi.usgov.yaml: partner-apps:region.cloud: 'azurestack'" in caught.value.message


def _us_government_hosts_only(world: World) -> set[str]:
    assert world.resolver is not None
    looked_up = set(world.resolver.looked_up)
    allowed = {
        "login.microsoftonline.us",
        "graph.microsoft.us",
        "api.partnercenter.microsoft.com",
        "kv-cspapps-usgov-01.vault.usgovcloudapi.net",
    }
    assert looked_up <= allowed, looked_up - allowed
    return looked_up


def test_sam_consent_refresh_status_of_a_usgov_stack_reach_only_us_government_hosts(
    usgov: World,
) -> None:
    region = usgov.regions[USGOV]
    usgov.cloud.sign_in_as(region.tenant_id, region.admin.upn)
    consented = usgov.run("sam", "consent", "--stack", USGOV)
    assert consented.code == exitcodes.OK, consented.err
    assert f"https://login.microsoftonline.us/{region.tenant_id}/oauth2/v2.0/authorize" in (
        consented.err
    )
    stored = usgov.stored(USGOV)
    assert stored.tags["mfaEvidence"] == "partner-center-access-token-v1 amr=pwd,mfa"
    refreshed = usgov.run("sam", "refresh", "--stack", USGOV)
    assert refreshed.code == exitcodes.OK, refreshed.err
    assert "proven against Partner Center" in refreshed.out
    status = usgov.run("sam", "status", "--stack", USGOV)
    assert status.code == exitcodes.OK, status.err
    # Key Vault's challenge (resource https://vault.usgovcloudapi.net) was checked and passed:
    # the vault was reached under its real host, with no test override in effect.
    assert _us_government_hosts_only(usgov) == {
        "login.microsoftonline.us",
        "api.partnercenter.microsoft.com",
        "kv-cspapps-usgov-01.vault.usgovcloudapi.net",
    }


def test_the_fake_vault_of_us_government_challenges_with_its_own_resource(usgov: World) -> None:
    import requests

    answer = requests.get(
        "https://kv-cspapps-usgov-01.vault.usgovcloudapi.net/secrets/x?api-version=7.5",
        timeout=10,
    )
    assert answer.status_code == 401
    challenge = answer.headers["WWW-Authenticate"]
    assert 'resource="https://vault.usgovcloudapi.net"' in challenge
    assert "https://login.microsoftonline.us/" in challenge


def _customer_world(world: World) -> CustomerWorld:
    _graph_resource(world.cloud)
    ids = _register_apps(world, USGOV, 0)
    _outputs(world, USGOV, ids)
    sam = world.cloud.find_app(world.regions[USGOV].sam.client_id)
    assert sam is not None
    # The SAM app's admin consent in a US Government tenant: Graph scopes on graph.microsoft.us.
    sam.delegated = {
        url.replace("graph.microsoft.com", "graph.microsoft.us"): scopes
        for url, scopes in sam.delegated.items()
    }
    customers = [add_customer(world, USGOV, n) for n in (1, 2)]
    client_ids = {SAM: world.regions[USGOV].sam.client_id, **ids}
    return CustomerWorld(
        world,
        {USGOV: customers},
        {USGOV: client_ids},
        world.outputs_dir.parent / "audit",
        project_dir=world.project_dir,
    )


def test_customers_plan_apply_verify_of_a_usgov_stack_against_us_government_hosts(
    usgov: World,
) -> None:
    cw = _customer_world(usgov)
    planned = cw.run("customers", "plan", "--stack", USGOV, "--output", "json")
    assert planned.code == exitcodes.CHANGES, planned.err
    applied = cw.run("customers", "apply", "--stack", USGOV)
    assert applied.code == exitcodes.OK, applied.err
    verified = cw.run("customers", "verify", "--stack", USGOV, "--output", "json")
    assert verified.code == exitcodes.OK, verified.err
    assert _us_government_hosts_only(usgov) == {
        "login.microsoftonline.us",
        "graph.microsoft.us",
        "api.partnercenter.microsoft.com",
        "kv-cspapps-usgov-01.vault.usgovcloudapi.net",
    }


def _table(path: Path, tenant: str) -> Path:
    document = {
        "version": 1,
        "generatedAt": "2026-12-01T00:00:00Z",
        "tenants": {tenant: USGOV},
        "clientIds": {USGOV: {"partner-portal-web": "11111111-2222-4333-8444-555555555555"}},
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_route_takes_the_cloud_of_a_stack_and_trusts_the_one_ca_bundle_setting(
    usgov: World, tmp_path: Path
) -> None:
    region = usgov.regions[USGOV]
    usgov.cloud.domains["agency.example"] = region.tenant_id
    table = _table(tmp_path / "routing.json", region.tenant_id)
    common = ("--table", str(table), "--project-dir", str(usgov.project_dir), "--output", "json")
    # Only REQUESTS_CA_BUNDLE is set (the world removed SSL_CERT_FILE): route verifies TLS with it.
    found = usgov.run("route", "user@agency.example", "--stack", USGOV, *common)
    assert found.code == exitcodes.OK, found.err
    route = json.loads(found.out)
    assert route["authority"] == f"https://login.microsoftonline.us/{region.tenant_id}"
    assert route["region"] == USGOV
    by_cloud = usgov.run("route", "user@agency.example", "--cloud", "usgovernment", *common)
    assert by_cloud.code == exitcodes.OK, by_cloud.err
    # The public cloud's sign-in host is not where a US Government stack's users are looked up.
    # (Here that host does not resolve at all: a transport failure, exit 12, never "unknown".)
    public = usgov.run("route", "user@agency.example", "--cloud", "public", *common)
    assert public.code == exitcodes.UNREACHABLE
    assert "login.microsoftonline.com could not be reached" in public.err


def test_route_refuses_an_unusable_ca_bundle_naming_the_setting(
    usgov: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    region = usgov.regions[USGOV]
    table = _table(tmp_path / "routing.json", region.tenant_id)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    result = usgov.run(
        "route", "user@agency.example", "--cloud", "usgovernment", "--table", str(table)
    )
    assert result.code == exitcodes.CONFIG  # a local file that cannot be used: exit 3
    assert "REQUESTS_CA_BUNDLE" in result.err
