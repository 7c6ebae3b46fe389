"""Canary scan for the SAM commands, and the claims check that keeps bad tokens out of the vault.

Every secret the loopback cloud mints (client secrets, authorization and device codes, refresh
and access tokens) is a canary: none may appear in terminal output, logs (at DEBUG, every
library's), exception text, or any file the run leaves behind. The same rule as the preview's
canary scan in ``tests/test_preview.py``, extended to the token flows.
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from partner_apps import exitcodes
from partner_apps.sam import claims
from partner_apps.sam.errors import SamError, from_token_error, scrub
from partner_apps.sam.target import Endpoints, RegionTarget
from partner_apps.sandbox.fakecloud import Fault
from partner_apps.sandbox.world import SAM, World


def _scenario(world: World) -> None:
    """Consent, refresh, status and a string of failures in both regions."""
    for stack in ("us", "eu"):
        region = world.regions[stack]
        world.cloud.sign_in_as(region.tenant_id, region.admin.upn)
        world.run("sam", "consent", "--stack", stack)
        world.run("sam", "consent", "--stack", stack)  # refused: already stored
        world.run("sam", "consent", "--stack", stack, "--device-code", "--force")
        world.run("sam", "refresh", "--stack", stack)
        world.cloud.inject(Fault("vault", method="PUT", status=403))
        world.run("sam", "refresh", "--stack", stack)
        world.cloud.inject(Fault("partnercenter", status=503, times=10))
        world.run("sam", "refresh", "--stack", stack)
        world.cloud.faults.clear()
        region.sam.secret_expired = True
        world.run("sam", "refresh", "--stack", stack)
        region.sam.secret_expired = False
        latest = world.stored(stack)
        world.cloud.grants[latest.value].revoked = True
        world.run("sam", "refresh", "--stack", stack)
        region.admin.performs_mfa = False
        world.run("sam", "consent", "--stack", stack, "--force")
        region.admin.performs_mfa = True
        world.run("sam", "status", "--stack", stack, "--output", "json")
    world.run("sam", "status")


def test_no_secret_reaches_output_logs_or_files(
    world: World, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    _scenario(world)
    canaries = {value for value in world.cloud.minted if len(value) > 8}
    assert len(canaries) > 20  # the scenario did mint tokens
    texts = {f"output {index}": text for index, text in enumerate(world.texts)}
    texts["logs"] = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )
    for path in tmp_path.rglob("*"):
        if path.is_file():
            texts[str(path.relative_to(tmp_path))] = path.read_text(errors="replace")
    leaks = sorted({name for name, text in texts.items() for canary in canaries if canary in text})
    assert leaks == []
    # The logs did see the traffic (so the scan had something to look at).
    assert "vault" in texts["logs"].lower() or caplog.records


def _target() -> RegionTarget:
    return RegionTarget(
        stack="us",
        tenant_id="tenant-us",
        app_key=SAM,
        display_name="SAM",
        client_id="client-us",
        vault_name="kv-us",
        vault_url="https://kv-us.vault.azure.net",
        endpoints=Endpoints(),
    )


def _jwt(claims_: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims_).encode()).rstrip(b"=").decode()
    return f"e30.{body}.sig"


GOOD_ACCESS = {
    "tid": "tenant-us",
    "aud": "https://api.partnercenter.microsoft.com",
    "appid": "client-us",
    "amr": ["pwd", "mfa"],
    "upn": "admin@us.example",
}
# A v2.0 ID token: no amr claim ("ID token claims reference"; amr is a v1.0 access-token claim).
GOOD_ID = {"tid": "tenant-us", "aud": "client-us", "ver": "2.0"}


def test_a_good_token_passes_with_mfa_read_from_the_partner_center_access_token() -> None:
    result = {"access_token": _jwt(GOOD_ACCESS), "id_token_claims": GOOD_ID}
    checked = claims.check(_target(), result, sign_in=True)
    assert checked.user == {"upn": "admin@us.example"}
    assert checked.amr == ("pwd", "mfa")
    assert checked.mfa_evidence == "partner-center-access-token-v1 amr=pwd,mfa"


@pytest.mark.parametrize(
    "identity",
    [
        GOOD_ID,  # v2.0: no amr at all, as Entra issues it
        {**GOOD_ID, "amr": ["pwd"]},  # an ID token's amr is no evidence either way
        {},  # a refresh may bring no ID token
    ],
)
def test_an_id_token_without_amr_is_normal_never_a_refusal(identity: dict[str, Any]) -> None:
    result = {"access_token": _jwt(GOOD_ACCESS), "id_token_claims": identity}
    assert claims.check(_target(), result, sign_in=False).amr == ("pwd", "mfa")


def test_a_partner_center_access_token_without_mfa_is_refused_with_consent_force() -> None:
    result = {"access_token": _jwt({**GOOD_ACCESS, "amr": ["pwd"]}), "id_token_claims": GOOD_ID}
    with pytest.raises(SamError) as caught:
        claims.check(_target(), result, sign_in=False)
    assert caught.value.exit_code == exitcodes.TOKEN_REFUSED
    assert "Partner Center access token shows no multi-factor" in caught.value.message
    assert "sign in again with MFA: `partner-apps sam consent --stack us --force`" in (
        caught.value.message
    )


@pytest.mark.parametrize(
    ("access", "identity", "why"),
    [
        ({**GOOD_ACCESS, "tid": "tenant-eu"}, GOOD_ID, "issued by tenant tenant-eu"),
        (GOOD_ACCESS, {**GOOD_ID, "tid": "tenant-eu"}, "issued by tenant tenant-eu"),
        ({**GOOD_ACCESS, "amr": ["pwd"]}, GOOD_ID, "no multi-factor authentication"),
        ({k: v for k, v in GOOD_ACCESS.items() if k != "amr"}, GOOD_ID, "no multi-factor"),
        ({**GOOD_ACCESS, "appid": "client-eu"}, GOOD_ID, "issued to app client-eu"),
        (GOOD_ACCESS, {**GOOD_ID, "aud": "client-eu"}, "the ID token is for app client-eu"),
        ({**GOOD_ACCESS, "aud": "https://graph.microsoft.com"}, GOOD_ID, "not Partner Center"),
        (GOOD_ACCESS, {}, "no ID token"),
    ],
)
def test_tokens_of_another_tenant_app_or_without_mfa_are_refused(
    access: dict[str, Any], identity: dict[str, Any], why: str
) -> None:
    result = {"access_token": _jwt(access), "id_token_claims": identity}
    with pytest.raises(SamError, match=why) as caught:
        claims.check(_target(), result, sign_in=True)
    assert caught.value.exit_code == exitcodes.TOKEN_REFUSED
    assert "region us, app partner-center-sam, vault kv-us" in caught.value.message


def test_errors_come_from_error_codes_never_the_description() -> None:
    result = {
        "error": "invalid_grant",
        "error_description": "AADSTS50173: something CANARY-in-description",
        "error_codes": [700082],
    }
    error = from_token_error(result, "region us", "us", "the refresh")
    assert "AADSTS700082" in error.message
    assert "90 days" in error.message
    assert "CANARY" not in error.message
    assert "50173" not in error.message
    unknown = from_token_error(
        {"error": "invalid_grant", "error_codes": [12345], "correlation_id": "c-1"},
        "region us",
        "us",
        "the refresh",
    )
    assert "AADSTS12345" in unknown.message
    assert "correlation id c-1" in unknown.message
    assert unknown.exit_code == exitcodes.SIGN_IN


def test_scrub() -> None:
    assert scrub("a token-1 b", ["token-1", ""]) == "a [redacted] b"
