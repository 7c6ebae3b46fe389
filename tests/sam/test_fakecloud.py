"""The loopback cloud itself: loopback only, TLS with the test CA, stops by itself, and the
Partner Center and Graph endpoints that customer consent will call next."""

from __future__ import annotations

import json
import socket
import ssl
from pathlib import Path

import pytest
import requests

from partner_apps.sam.errors import PARTNER_CENTER_MFA_REQUIRED, partner_center_error_code
from partner_apps.sandbox.fakecloud import Cloud, FakeCloud
from partner_apps.sandbox.fakecloud.state import Grant, read_jwt
from partner_apps.sandbox.world import World


def _token(world: World, stack: str, scope: str) -> str:
    region = world.regions[stack]
    grant = Grant(region.tenant_id, region.sam.client_id, region.admin, ("pwd", "mfa"))
    token: str = world.cloud.issue(grant, scope, with_refresh=False)["access_token"]
    return token


def test_listens_on_loopback_with_tls_only(world: World) -> None:
    for server in world.fake.servers.values():
        assert server.server_address[0] == "127.0.0.1"
    port = int(world.fake.url("login").rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.settimeout(5)
        try:
            answer = raw.recv(100)
        except (ConnectionError, TimeoutError):
            answer = b""
    assert not answer.startswith(b"HTTP/")  # plain HTTP is not served
    context = ssl.create_default_context(cafile=str(world.fake.ca_file))
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() is not None


def test_stops_by_itself(tmp_path: Path) -> None:
    fake = FakeCloud(Cloud(), tmp_path, lifetime=0.05)
    with fake:
        fake._timer.join()
        port = int(fake.url("login").rsplit(":", 1)[1])
        with (
            pytest.raises(ConnectionRefusedError),
            socket.create_connection(("127.0.0.1", port), timeout=2),
        ):
            pass


def test_partner_center_profile_customers_and_application_consents(world: World) -> None:
    base = world.fake.url("partnercenter")
    token = _token(world, "us", "https://api.partnercenter.microsoft.com/user_impersonation")
    headers = {"Authorization": f"Bearer {token}"}
    # A customer with an active GDAP relationship giving the README's roles (the consent needs
    # Cloud Application Administrator or higher there).
    world.cloud.add_customer(world.regions["us"].tenant_id, "c-1", "Customer 1", "c1.example")
    profile = requests.get(f"{base}/v1/profiles/organization", headers=headers, timeout=10)
    assert profile.json()["companyName"] == "Contoso US"
    assert (
        requests.get(f"{base}/v1/customers", headers=headers, timeout=10).json()["totalCount"] == 1
    )
    consent = {
        "applicationId": "app-1",
        "displayName": "app",
        "applicationGrants": [{"enterpriseApplicationId": "graph", "scope": "A,B"}],
    }
    url = f"{base}/v1/customers/c-1/applicationconsents"
    assert requests.post(url, json=consent, headers=headers, timeout=10).status_code == 201
    assert requests.post(url, json=consent, headers=headers, timeout=10).status_code == 409
    assert requests.delete(f"{url}/app-1", headers=headers, timeout=10).status_code == 204
    assert requests.get(url, headers=headers, timeout=10).json()["totalCount"] == 0
    assert requests.get(f"{base}/v1/customers", timeout=10).status_code == 401


@pytest.mark.parametrize("form", ["json", "header"])
def test_partner_center_answers_401_with_900421_to_a_token_without_mfa(
    world: World, form: str
) -> None:
    region = world.regions["eu"]
    world.cloud.mfa_error_form = form
    grant = Grant(region.tenant_id, region.sam.client_id, region.admin, ("pwd",))
    token = world.cloud.issue(
        grant, "https://api.partnercenter.microsoft.com/user_impersonation", with_refresh=False
    )["access_token"]
    answer = requests.get(
        f"{world.fake.url('partnercenter')}/v1/profiles/organization",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 401
    if form == "json":
        assert answer.json()["code"] == 900421
    else:
        assert "900421" in answer.headers["WWW-Authenticate"]
        assert "code" not in answer.json()
    code = partner_center_error_code(401, dict(answer.headers), answer.text)
    assert code == PARTNER_CENTER_MFA_REQUIRED


def test_tokens_are_v2_id_tokens_without_amr_and_v1_access_tokens_with_amr(world: World) -> None:
    """As Entra: amr is a v1.0 access-token claim; a v2.0 ID token has none."""
    region = world.regions["us"]
    grant = Grant(region.tenant_id, region.sam.client_id, region.admin, ("pwd", "mfa"))
    issued = world.cloud.issue(grant, "https://api.partnercenter.microsoft.com/user_impersonation")
    access = read_jwt(issued["access_token"])
    identity = read_jwt(issued["id_token"])
    assert access is not None
    assert identity is not None
    assert access["ver"] == "1.0"
    assert access["amr"] == ["pwd", "mfa"]
    assert access["aud"] == "https://api.partnercenter.microsoft.com"
    assert identity["ver"] == "2.0"
    assert "amr" not in identity


def test_graph_service_principals_grants_and_relationships(world: World) -> None:
    base = world.fake.url("graph")
    sam = world.cloud.find_app(world.regions["us"].sam.client_id)
    assert sam is not None
    # Without the scopes of a call, Graph refuses it (a delegated token's `scp` is checked).
    refused = {
        "Authorization": f"Bearer {_token(world, 'us', 'https://graph.microsoft.com/.default')}"
    }
    listing = requests.get(f"{base}/v1.0/servicePrincipals", headers=refused, timeout=10)
    assert listing.status_code == 403
    assert listing.json()["error"]["code"] == "Authorization_RequestDenied"
    sam.delegated = {
        "https://graph.microsoft.com": {
            "Application.ReadWrite.All",
            "AppRoleAssignment.ReadWrite.All",
            "DelegatedPermissionGrant.ReadWrite.All",
            "DelegatedAdminRelationship.Read.All",
        }
    }
    headers = {
        "Authorization": f"Bearer {_token(world, 'us', 'https://graph.microsoft.com/.default')}"
    }
    tenant = world.regions["us"].tenant_id
    assert requests.get(f"{base}/v1.0/organization", headers=headers, timeout=10).json() == {
        "value": [{"id": tenant}]
    }
    created = requests.post(
        f"{base}/v1.0/servicePrincipals", json={"appId": "app-1"}, headers=headers, timeout=10
    ).json()
    found = requests.get(
        f"{base}/v1.0/servicePrincipals?$filter=appId eq 'app-1'", headers=headers, timeout=10
    ).json()["value"]
    assert found == [created]
    grant = {"clientId": created["id"], "consentType": "AllPrincipals", "scope": "User.Read"}
    assert (
        requests.post(
            f"{base}/v1.0/oauth2PermissionGrants", json=grant, headers=headers, timeout=10
        ).status_code
        == 201
    )
    assignment = requests.post(
        f"{base}/v1.0/servicePrincipals/{created['id']}/appRoleAssignedTo",
        json={"principalId": created["id"], "appRoleId": "role-1"},
        headers=headers,
        timeout=10,
    )
    assert assignment.status_code == 201
    relationships = requests.get(
        f"{base}/v1.0/tenantRelationships/delegatedAdminRelationships",
        headers=headers,
        timeout=10,
    )
    assert relationships.json() == {"value": []}


def test_the_demo_runs_the_whole_customer_side(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from partner_apps import cli

    kept = tmp_path / "reports"
    assert cli.main(["demo", "--us", "2", "--eu", "1", "--keep", str(kept)]) == 0
    shown = capsys.readouterr().out
    for command in (
        "$ partner-apps sam consent --stack us --device-code --force",
        "$ partner-apps sam status",
        "$ partner-apps customers plan --stack us",
        "$ partner-apps customers apply --stack eu --plan",
        "$ partner-apps customers verify --stack us",
        "$ partner-apps customers routing-part --stack eu",
        "$ partner-apps customers export-routing --parts",
        "$ partner-apps route anna@c1.eu.customer.example",
        "$ partner-apps audit",
    ):
        assert command in shown, command
    assert "consent by admin@eu.contoso-partner.example stored as version" in shown
    assert "3 of 3 customer × app verified" in shown  # eu: 1 customer × 3 apps
    assert "the sandbox has stopped" in shown
    assert json.loads((kept / "routing.json").read_text())["tenants"]
    assert (kept / "audit" / "audit.html").is_file()


def test_the_demo_refuses_a_bad_count_before_starting_anything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from partner_apps import cli

    assert cli.main(["demo", "--us", "0"]) == 2
    assert "0 must be between 1 and 200" in capsys.readouterr().err


def test_the_sandbox_serves_commands_typed_in_another_shell(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`partner-apps demo --serve`: a separate process with only the printed environment (the
    endpoint overrides, the CA bundle, the region's job identity) and `--outputs` runs the real
    command line against the sandbox: the real runtime, azure-identity's chain and all."""
    import argparse
    import os
    import shlex
    import subprocess
    import sys

    from partner_apps.sandbox import demo

    answers: list[subprocess.CompletedProcess[str]] = []

    def in_another_shell(_seconds: float) -> None:
        shown = capsys.readouterr().out
        env_file = next(
            Path(line.split()[1]) for line in shown.splitlines() if "sandbox-us.env" in line
        )
        outputs = next(
            line.split("--outputs ")[1] for line in shown.splitlines() if "--outputs" in line
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PARTNER_APPS_", "AZURE_"))}
        for line in env_file.read_text().splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = shlex.split(value)[0]
        for argv in (["sam", "status", "--stack", "us"], ["customers", "plan", "--stack", "us"]):
            answers.append(
                subprocess.run(
                    [sys.executable, "-m", "partner_apps", *argv, "--outputs", outputs],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                )
            )

    args = argparse.Namespace(us=1, eu=1, keep=None, serve=2.0)
    assert demo.run_command(args, wait=in_another_shell) == 0
    status, plan = answers
    assert status.returncode == 0, status.stderr
    assert "region us, app partner-center-sam" in status.stdout
    assert plan.returncode == 20, plan.stderr  # changes to apply
    assert "Customer consent plan: region us" in plan.stdout
