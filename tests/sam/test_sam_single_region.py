"""Single region: a stack's SAM commands reach only its own tenant, vault and app, and a mismatch
in the outputs (a vault, client id or tenant of another region) is refused before any request."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from components.key_vault import REFRESH_TOKEN_PLACEHOLDER
from components.key_vault import client_secret_name as pulumi_client_secret_name
from components.key_vault import refresh_token_secret_name as pulumi_token_secret_name
from partner_apps import exitcodes
from partner_apps.sam import target as target_module
from partner_apps.sam.errors import SamError
from partner_apps.sam.target import Endpoints, pulumi_outputs, resolve
from partner_apps.sandbox.world import ROOT, SAM, World


def _edit_outputs(world: World, stack: str, change: Any) -> None:
    path = world.outputs_dir / f"{stack}.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document), encoding="utf-8")


def _outputs(world: World, stack: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (world.outputs_dir / f"{stack}.json").read_text(encoding="utf-8")
    )
    return document


def _assert_refused_before_any_request(world: World, result: Any, *expected: str) -> None:
    assert result.code == exitcodes.CONFIG, result.err
    for text in expected:
        assert text in result.err + result.out
    assert world.cloud.requests == []
    assert world.browser_calls == 0


@pytest.mark.parametrize("verb", ["consent", "refresh"])
def test_outputs_of_another_region_are_refused(world: World, verb: str, tmp_path: Path) -> None:
    eu_outputs = tmp_path / "eu-outputs.json"
    eu_outputs.write_text(json.dumps(_outputs(world, "eu")), encoding="utf-8")
    result = world.run("sam", verb, "--stack", "us", "--outputs", str(eu_outputs))
    _assert_refused_before_any_request(
        world, result, "region us:", "the stack outputs are those of region 'eu'"
    )


def test_an_outputs_file_of_the_stack_itself_is_accepted(world: World, tmp_path: Path) -> None:
    own = tmp_path / "us-outputs.json"
    own.write_text(json.dumps(_outputs(world, "us")), encoding="utf-8")
    result = world.run("sam", "status", "--stack", "us", "--outputs", str(own))
    assert result.code == exitcodes.TOKEN_MISSING, result.out  # the placeholder, not a refusal
    assert "placeholder" in result.out


def test_vault_of_another_region_is_refused(world: World) -> None:
    eu_vault = _outputs(world, "eu")["vaultUri"]
    _edit_outputs(world, "us", lambda doc: doc.update(vaultUri=eu_vault))
    result = world.run("sam", "refresh", "--stack", "us")
    _assert_refused_before_any_request(
        world, result, "the vault of region eu", "this region's vault is kv-cspapps-us-01"
    )


def test_client_id_of_another_region_is_refused(world: World) -> None:
    eu_client = world.regions["eu"].sam.client_id

    def swap(doc: dict[str, Any]) -> None:
        doc["apps"][SAM]["clientId"] = eu_client
        doc["routing"]["us"][SAM] = eu_client

    _edit_outputs(world, "us", swap)
    world.cloud.sign_in_as(world.regions["us"].tenant_id, world.regions["us"].admin.upn)
    result = world.run("sam", "consent", "--stack", "us")
    _assert_refused_before_any_request(
        world, result, f"client id {eu_client} is the client id of region eu"
    )


def test_tenant_of_another_region_is_refused(world: World) -> None:
    eu_tenant = world.regions["eu"].tenant_id
    _edit_outputs(world, "us", lambda doc: doc.update(tenantId=eu_tenant))
    result = world.run("sam", "status", "--stack", "us")
    _assert_refused_before_any_request(world, result, "(the tenant of region eu)")


def test_routing_that_disagrees_is_refused(world: World) -> None:
    _edit_outputs(world, "us", lambda doc: doc["routing"]["us"].update({SAM: "someone-else"}))
    result = world.run("sam", "refresh", "--stack", "us")
    _assert_refused_before_any_request(world, result, "routing and apps outputs disagree")


def test_missing_outputs_and_unknown_stacks(world: World) -> None:
    (world.outputs_dir / "us.json").unlink()
    missing = world.run("sam", "refresh", "--stack", "us")
    _assert_refused_before_any_request(world, missing, "no stack outputs", "pulumi up --stack us")
    unknown = world.run("sam", "refresh", "--stack", "apac")
    _assert_refused_before_any_request(world, unknown, "no stack file Pulumi.apac.yaml")


def test_secret_names_are_the_programs() -> None:
    assert target_module.refresh_token_secret_name(SAM) == pulumi_token_secret_name(SAM)
    assert target_module.client_secret_name(SAM) == pulumi_client_secret_name(SAM)
    assert target_module.PLACEHOLDER == REFRESH_TOKEN_PLACEHOLDER


def test_real_defaults() -> None:
    endpoints = Endpoints.from_env({})
    assert endpoints.login_url == "https://login.microsoftonline.com"
    assert endpoints.partner_center_url == "https://api.partnercenter.microsoft.com"
    assert endpoints.vault_url("kv-cspapps-us-01") == "https://kv-cspapps-us-01.vault.azure.net"
    assert endpoints.is_default_cloud
    with pytest.raises(SamError, match="PARTNER_APPS_VAULT_URLS"):
        Endpoints.from_env({"PARTNER_APPS_VAULT_URLS": "[1]"})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"region": "us",', "us-outputs.json is not valid JSON"),
        (b'{"region": "caf\xe9"}', "us-outputs.json cannot be read (UnicodeDecodeError)"),
    ],
    ids=["cut-short", "not-utf-8"],
)
def test_an_unreadable_outputs_file_is_refused_naming_it(
    world: World, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "us-outputs.json"
    path.write_bytes(content)
    result = world.run("sam", "status", "--stack", "us", "--outputs", str(path))
    _assert_refused_before_any_request(world, result, "region us:", message)
    assert "Traceback" not in result.out + result.err


def test_the_pulumi_cli_is_asked_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real path: ``pulumi stack output --json --show-secrets=false --stack <stack>``."""
    calls = tmp_path / "calls.txt"
    outputs = {
        "us": {
            "region": "us",
            "tenantId": "3f6b1c2d-4e5a-4b7c-8d9e-0a1b2c3d4e51",
            "vaultUri": "https://kv-cspapps-us-01.vault.azure.net/",
            "apps": {SAM: {"clientId": "11111111-1111-4111-8111-111111111111"}},
            "routing": {"us": {SAM: "11111111-1111-4111-8111-111111111111"}},
        }
    }
    (tmp_path / "outputs.json").write_text(json.dumps(outputs), encoding="utf-8")
    script = tmp_path / "pulumi"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"open({str(calls)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        f"outputs = json.load(open({str(tmp_path / 'outputs.json')!r}))\n"
        "stack = sys.argv[sys.argv.index('--stack') + 1]\n"
        "if stack not in outputs:\n"
        "    sys.exit('error: no stack named ' + stack)\n"
        "print(json.dumps(outputs[stack]))\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    target = resolve(ROOT, "us", pulumi_outputs(ROOT), Endpoints.from_env({}))
    assert target.client_id == "11111111-1111-4111-8111-111111111111"
    assert target.vault_url == "https://kv-cspapps-us-01.vault.azure.net"
    assert (
        target.authority == "https://login.microsoftonline.com/3f6b1c2d-4e5a-4b7c-8d9e-0a1b2c3d4e51"
    )
    lines = calls.read_text(encoding="utf-8").splitlines()
    assert "stack output --json --show-secrets=false --stack us" in lines


def test_a_pulumi_cli_that_prints_no_json_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CLI that exits 0 but prints something else (a warning, a login banner) is refused by
    name, with the way around it, instead of a JSONDecodeError."""
    script = tmp_path / "pulumi"
    script.write_text(
        "#!/usr/bin/env python3\nprint('warning: A new version of Pulumi is available.')\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(SamError) as refused:
        resolve(ROOT, "us", pulumi_outputs(ROOT), Endpoints.from_env({}))
    assert refused.value.exit_code == exitcodes.CONFIG
    assert "`pulumi stack output --json --stack us` printed no JSON" in str(refused.value)
    assert "pass --outputs" in str(refused.value)
