"""``partner-apps sam consent | refresh | status`` end to end against the loopback cloud.

Real MSAL, azure-identity, azure-keyvault-secrets and requests talk TLS to the fake; nothing is
mocked inside the product. Waits between retries go to ``World.sleep`` (recorded, never slept),
and the clock the commands read is ``World.clock``: no test depends on wall-clock time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from partner_apps import exitcodes
from partner_apps.sam.store import CONTENT_TYPE
from partner_apps.sandbox.fakecloud import Fault
from partner_apps.sandbox.world import SAM, STACKS, World

TOKEN_SECRET = f"{SAM}-sam-refresh-token"


def sign_in(world: World, stack: str) -> None:
    region = world.regions[stack]
    world.cloud.sign_in_as(region.tenant_id, region.admin.upn)


def consent(world: World, stack: str, *extra: str) -> None:
    sign_in(world, stack)
    result = world.run("sam", "consent", "--stack", stack, *extra)
    assert result.code == exitcodes.OK, result.err


def requests_to(world: World, service: str) -> list[str]:
    return [f"{r.method} {r.path}" for r in world.cloud.requests if r.service == service]


@pytest.mark.parametrize("stack", STACKS)
def test_consent_refresh_status_end_to_end(world: World, stack: str) -> None:
    region = world.regions[stack]
    other = next(name for name in STACKS if name != stack)
    other_vault = world.regions[other].vault_name

    before = world.run("sam", "status", "--stack", stack)
    assert before.code == exitcodes.TOKEN_MISSING
    assert f"region {stack}, app {SAM}, vault {region.vault_name}: placeholder" in before.out

    consent(world, stack)
    consented = world.stored(stack)
    assert consented.value in world.cloud.grants  # a real refresh token, not the placeholder
    assert consented.value != "pending-consent"
    assert consented.content_type == CONTENT_TYPE
    assert consented.enabled
    issued = world.now()
    assert consented.exp == int(issued.timestamp()) + 90 * 86400
    assert consented.tags == {
        "consentedBy": region.admin.upn,
        "consentedAt": issued.isoformat(timespec="seconds"),
        "consentFlow": "authorization-code",
        "refreshedAt": issued.isoformat(timespec="seconds"),
        "app": SAM,
        "clientId": region.sam.client_id,
        "tenantId": region.tenant_id,
        "region": stack,
        "writtenBy": "partner-apps sam",
        # The MFA evidence: the amr of the v1.0 access token for Partner Center.
        "mfaEvidence": "partner-center-access-token-v1 amr=pwd,mfa",
    }
    # The consent sign-in asked for MFA and used the registered loopback redirect.
    authorize = [path for path in requests_to(world, "login") if "/authorize" in path]
    assert len(authorize) == 1
    assert "amr_values=mfa" in authorize[0]
    assert "redirect_uri=http%3A%2F%2Flocalhost%3A" in authorize[0]
    assert "response_mode=form_post" in authorize[0]

    world.advance(days=7)
    refreshed = world.run("sam", "refresh", "--stack", stack)
    assert refreshed.code == exitcodes.OK, refreshed.err
    assert "proven against Partner Center" in refreshed.out
    latest = world.stored(stack)
    assert latest.version != consented.version
    assert latest.value != consented.value
    assert latest.value in world.cloud.grants
    assert latest.tags["consentedBy"] == region.admin.upn  # carried over
    assert latest.tags["refreshedAt"] == world.now().isoformat(timespec="seconds")
    assert latest.tags["mfaEvidence"] == "partner-center-access-token-v1 amr=pwd,mfa"
    assert latest.exp == int(world.now().timestamp()) + 90 * 86400
    assert "GET /v1/profiles/organization" in requests_to(world, "partnercenter")
    # Older versions: the placeholder is disabled, the one just replaced stays as fallback.
    states = {item.version: item.enabled for item in world.versions(stack)}
    assert states == {
        world.versions(stack)[0].version: False,
        consented.version: True,
        latest.version: True,
    }

    after = world.run("sam", "status", "--stack", stack, "--output", "json")
    assert after.code == exitcodes.OK
    (report,) = json.loads(after.out)
    assert report["state"] == "ok"
    assert report["days_left"] == 90 or report["days_left"] == 89
    assert report["issued"] == issued.isoformat(timespec="seconds")
    assert report["consented_by"] == region.admin.upn

    # Single region: nothing touched the other region's vault or tenant.
    assert requests_to(world, f"vault:{other_vault}") == []
    assert not [p for p in requests_to(world, "login") if world.regions[other].tenant_id in p]
    untouched = world.cloud.latest(other_vault, TOKEN_SECRET)
    assert untouched is not None
    assert untouched.value == "pending-consent"


def test_status_of_every_stack_alerts_on_the_worst(world: World) -> None:
    consent(world, "us")
    both = world.run("sam", "status")
    assert both.code == exitcodes.TOKEN_MISSING  # eu still holds the placeholder
    assert "region us, app partner-center-sam, vault kv-cspapps-us-01: ok" in both.out
    assert "region eu, app partner-center-sam, vault kv-cspapps-eu-01: placeholder" in both.out
    consent(world, "eu")
    assert world.run("sam", "status").code == exitcodes.OK

    world.advance(days=70)
    expiring = world.run("sam", "status", "--stack", "us")
    assert expiring.code == exitcodes.TOKEN_EXPIRING
    assert "expiring" in expiring.out
    assert "days left 19" in expiring.out
    assert world.run("sam", "status", "--stack", "us", "--warn-days", "10").code == exitcodes.OK

    world.advance(days=21)
    expired = world.run("sam", "status", "--stack", "us")
    assert expired.code == exitcodes.TOKEN_EXPIRED
    assert "partner-apps sam consent --stack us --force" in expired.out


def test_second_consent_is_refused_unless_forced_or_confirmed(world: World) -> None:
    consent(world, "us")
    first = world.stored("us")
    calls = world.browser_calls

    refused = world.run("sam", "consent", "--stack", "us")
    assert refused.code == exitcodes.ALREADY_CONSENTED
    assert "already stored" in refused.err
    assert "--force" in refused.err
    assert world.stored("us").version == first.version
    assert world.browser_calls == calls  # refused before any sign-in

    world.confirm_answer = False
    assert world.run("sam", "consent", "--stack", "us").code == exitcodes.ALREADY_CONSENTED
    assert world.stored("us").version == first.version

    world.confirm_answer = True
    assert world.run("sam", "consent", "--stack", "us").code == exitcodes.OK
    confirmed = world.stored("us")
    assert confirmed.version != first.version

    world.confirm_answer = None
    forced = world.run("sam", "consent", "--stack", "us", "--force")
    assert forced.code == exitcodes.OK
    assert f"replaced version {confirmed.version}" in forced.out


def test_device_code_consent(world: World) -> None:
    sign_in(world, "eu")
    world.cloud.device_pending_polls = 2  # the admin takes a moment to enter the code
    result = world.run("sam", "consent", "--stack", "eu", "--device-code")
    assert result.code == exitcodes.OK, result.err
    assert "enter the code FAKE-CODE" in result.err
    assert world.browser_calls == 0
    stored = world.stored("eu")
    assert stored.tags["consentFlow"] == "device-code"
    assert stored.value in world.cloud.grants
    assert world.cloud.grants[stored.value].amr == ("pwd", "mfa")


def test_sign_in_without_mfa_is_refused_and_nothing_is_stored(world: World) -> None:
    world.regions["us"].admin.performs_mfa = False
    sign_in(world, "us")
    result = world.run("sam", "consent", "--stack", "us")
    assert result.code == exitcodes.TOKEN_REFUSED
    assert "no multi-factor authentication" in result.err
    assert "region us, app partner-center-sam, vault kv-cspapps-us-01" in result.err
    assert world.stored("us").value == "pending-consent"


def test_sign_in_by_an_admin_of_another_tenant_is_refused(world: World) -> None:
    sign_in(world, "eu")  # an EU admin signs in to the US consent
    result = world.run("sam", "consent", "--stack", "us")
    assert result.code == exitcodes.SIGN_IN
    assert "the sign-in failed: access_denied" in result.err
    assert "AADSTS50020" not in result.err  # only in the description, which is never shown
    assert world.stored("us").value == "pending-consent"


def test_no_sign_in_within_the_timeout(world: World) -> None:
    sign_in(world, "us")
    world.browser = lambda url: None  # type: ignore[method-assign]
    original = world.runtime

    def quick(*args: object) -> object:
        runtime = original(*args)  # type: ignore[arg-type]
        runtime.loopback_timeout = 0.2
        return runtime

    world.runtime = quick  # type: ignore[assignment, method-assign]
    result = world.run("sam", "consent", "--stack", "us")
    assert result.code == exitcodes.SIGN_IN
    assert "--device-code" in result.err
    assert world.stored("us").value == "pending-consent"


def test_vault_write_fails_after_a_successful_refresh(world: World) -> None:
    consent(world, "us")
    good = world.stored("us")
    world.cloud.inject(
        Fault(
            "vault",
            method="PUT",
            status=403,
            body={"error": {"code": "Forbidden", "message": "denied by test"}},
        )
    )
    failed = world.run("sam", "refresh", "--stack", "us")
    assert failed.code == exitcodes.VAULT
    assert "vault kv-cspapps-us-01" in failed.err
    assert f"The stored token (version {good.version}) is unchanged and still valid" in failed.err
    assert world.stored("us").version == good.version
    # Nothing lost: the stored token still works, and the retry succeeds.
    retried = world.run("sam", "refresh", "--stack", "us")
    assert retried.code == exitcodes.OK, retried.err
    assert world.stored("us").version != good.version


def test_soft_deleted_secret_name_is_reported(world: World) -> None:
    vault = world.cloud.vaults[world.regions["us"].vault_name]
    vault.secrets.pop(TOKEN_SECRET)
    vault.soft_deleted.add(TOKEN_SECRET)
    sign_in(world, "us")
    result = world.run("sam", "consent", "--stack", "us")
    assert result.code == exitcodes.VAULT
    assert "soft-deleted" in result.err
    assert "az keyvault secret recover --vault-name kv-cspapps-us-01" in result.err


def test_identity_without_vault_role_is_told_what_it_needs(world: World) -> None:
    world.cloud.vaults[world.regions["eu"].vault_name].officers.clear()
    result = world.run("sam", "refresh", "--stack", "eu")
    assert result.code == exitcodes.VAULT
    assert "Key Vault Secrets Officer" in result.err


@pytest.mark.parametrize(
    ("fault", "code", "advice"),
    [
        ("revoked", 50173, "revoked"),
        ("expired", 700082, "90 days without use"),
        ("mfa", 50076, "multi-factor authentication is required"),
        ("conditional-access", 53003, "Conditional Access"),
        ("secret-expired", 7000222, "client secret has expired"),
        ("secret-invalid", 7000215, "client secret is invalid"),
        ("no-consent", 65001, "no consent"),
    ],
)
def test_refresh_errors_say_what_to_do_and_keep_the_token(
    world: World, fault: str, code: int, advice: str
) -> None:
    consent(world, "us")
    good = world.stored("us")
    region = world.regions["us"]
    grant = world.cloud.grants[good.value]
    if fault == "revoked":
        grant.revoked = True
    elif fault == "expired":
        grant.expired = True
    elif fault == "mfa":
        world.cloud.mfa_required_again.add(region.sam.client_id)
    elif fault == "conditional-access":
        world.cloud.blocked_by_ca.add(region.sam.client_id)
    elif fault == "secret-expired":
        region.sam.secret_expired = True
    elif fault == "secret-invalid":
        region.sam.secret = world.cloud.secret("rotated-elsewhere")
    else:
        region.sam.consented = False
    result = world.run("sam", "refresh", "--stack", "us")
    assert result.code == exitcodes.SIGN_IN
    assert f"AADSTS{code}" in result.err
    assert advice in result.err
    assert "region us, app partner-center-sam, vault kv-cspapps-us-01" in result.err
    assert "Trace ID" not in result.err  # mapped from error_codes, never the description
    assert world.stored("us").version == good.version


def test_throttled_token_endpoint_is_retried_honouring_retry_after(world: World) -> None:
    consent(world, "us")
    world.cloud.inject(
        Fault(
            "login",
            method="POST",
            path_contains="/oauth2/v2.0/token",
            status=429,
            body_contains="grant_type=refresh_token",
            headers={"Retry-After": "7"},
            times=2,
        )
    )
    result = world.run("sam", "refresh", "--stack", "us")
    assert result.code == exitcodes.OK, result.err
    assert world.sleeps == [7.0, 7.0]


def test_partner_center_5xx_and_dropped_connections_back_off(world: World) -> None:
    consent(world, "eu")
    world.cloud.inject(Fault("partnercenter", status=503, times=1))
    world.cloud.inject(Fault("partnercenter", action="drop", times=1))
    result = world.run("sam", "refresh", "--stack", "eu")
    assert result.code == exitcodes.OK, result.err
    assert world.sleeps == [1.0, 2.0]


def test_retries_are_bounded_and_the_previous_version_stays(world: World) -> None:
    consent(world, "us")
    good = world.stored("us")
    world.cloud.inject(Fault("partnercenter", status=503, times=50))
    result = world.run("sam", "refresh", "--stack", "us")
    assert result.code == exitcodes.PARTNER_CENTER
    assert "HTTP 503" in result.err
    assert len(world.sleeps) == 3  # four attempts in all
    versions = {item.version: item.enabled for item in world.versions("us")}
    assert versions[good.version] is True  # the fallback is untouched
    world.cloud.faults.clear()
    assert world.run("sam", "refresh", "--stack", "us").code == exitcodes.OK


def test_vault_throttling_is_retried_by_the_sdk(world: World) -> None:
    consent(world, "us")
    world.cloud.inject(
        Fault("vault", method="GET", status=429, headers={"Retry-After": "0"}, times=1)
    )
    assert world.run("sam", "refresh", "--stack", "us").code == exitcodes.OK


def test_interrupted_runs_leave_a_working_token(world: World) -> None:
    consent(world, "us")
    good = world.stored("us")
    # Interrupted while waiting out a throttled redemption: nothing written.
    world.cloud.inject(
        Fault(
            "login",
            method="POST",
            path_contains="/token",
            status=429,
            body_contains="grant_type=refresh_token",
            headers={"Retry-After": "3"},
        )
    )
    world.interrupt_on_sleep = True
    stopped = world.run("sam", "refresh", "--stack", "us")
    assert stopped.code == exitcodes.INTERRUPTED
    assert "interrupted" in stopped.err
    assert world.stored("us").version == good.version
    # Interrupted after the new version was stored, before its proof: both versions work.
    world.cloud.inject(Fault("partnercenter", status=503))
    stopped = world.run("sam", "refresh", "--stack", "us")
    assert stopped.code == exitcodes.INTERRUPTED
    assert world.stored("us").version != good.version
    assert all(item.enabled for item in world.versions("us")[1:])
    world.interrupt_on_sleep = False
    resumed = world.run("sam", "refresh", "--stack", "us")
    assert resumed.code == exitcodes.OK, resumed.err


def test_refresh_needs_a_consent_first(world: World) -> None:
    result = world.run("sam", "refresh", "--stack", "eu")
    assert result.code == exitcodes.TOKEN_MISSING
    assert "partner-apps sam consent --stack eu" in result.err
    assert requests_to(world, "partnercenter") == []
    token_requests = [p for p in requests_to(world, "login") if p.endswith("/token")]
    assert len(token_requests) == 1  # only the job identity's, for Key Vault


def test_clock_is_the_injected_one(world: World) -> None:
    world.clock[0] = datetime(2026, 3, 1, tzinfo=UTC)
    consent(world, "us")
    assert world.stored("us").tags["consentedAt"] == "2026-03-01T00:00:00+00:00"


def test_entra_unreachable_is_exit_12_and_changes_nothing(world: World) -> None:
    consent(world, "us")
    good = world.stored("us")
    world.cloud.inject(
        Fault("login", body_contains="grant_type=refresh_token", action="drop", times=10)
    )
    result = world.run("sam", "refresh", "--stack", "us")
    assert result.code == exitcodes.UNREACHABLE
    assert "Entra could not be reached" in result.err
    assert "region us, app partner-center-sam, vault kv-cspapps-us-01" in result.err
    assert world.sleeps == [1.0, 2.0, 4.0]
    assert world.stored("us").version == good.version


def test_a_stalled_answer_times_out_and_is_retried(world: World) -> None:
    consent(world, "eu")
    world.session_timeout = 0.3
    world.cloud.inject(Fault("partnercenter", action="stall", stall_seconds=1.0))
    result = world.run("sam", "refresh", "--stack", "eu")
    assert result.code == exitcodes.OK, result.err
    assert world.sleeps == [1.0]


def test_a_disabled_newest_version_is_reported(world: World) -> None:
    consent(world, "us")
    world.stored("us").enabled = False
    status = world.run("sam", "status", "--stack", "us")
    assert status.code == exitcodes.TOKEN_MISSING
    assert ": disabled (" in status.out
    refresh = world.run("sam", "refresh", "--stack", "us")
    assert refresh.code == exitcodes.TOKEN_MISSING
    assert "is disabled: re-enable it" in refresh.err
    # A consent needs no --force over a disabled token.
    sign_in(world, "us")
    assert world.run("sam", "consent", "--stack", "us").code == exitcodes.OK


MFA_JSON = {
    "code": 900421,
    "description": "Multi-factor authentication is required for App+User calls.",
    "errorName": "MfaRequired",
    "data": [],
    "source": "PartnerFD",
}


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (MFA_JSON, {}),  # Partner Center's REST error shape (assumed: the body is undocumented)
        (
            {"description": "Multi-factor authentication is required."},
            {"WWW-Authenticate": 'Bearer error="invalid_token", error_description="MFA (900421)"'},
        ),
    ],
    ids=["json-code", "www-authenticate"],
)
def test_partner_center_900421_maps_to_sign_in_again_with_mfa_consent_force(
    world: World, body: dict[str, object], headers: dict[str, str]
) -> None:
    consent(world, "us")
    world.cloud.inject(
        Fault("partnercenter", method="GET", status=401, body=body, headers=headers, times=2)
    )
    result = world.run("sam", "refresh", "--stack", "us")
    assert result.code == exitcodes.SIGN_IN, result.err
    assert "multi-factor authentication is required for App+User calls (error 900421)" in (
        result.err
    )
    assert "sign in again with MFA: `partner-apps sam consent --stack us --force`" in result.err
    assert "region us, app partner-center-sam, vault kv-cspapps-us-01" in result.err


def test_consent_force_signs_in_again_although_a_token_is_stored(world: World) -> None:
    consent(world, "us")
    first = world.stored("us")
    again = world.run("sam", "consent", "--stack", "us")
    assert again.code == exitcodes.ALREADY_CONSENTED  # without --force: nothing changes
    assert "--force" in again.err
    consent(world, "us", "--force")
    assert world.stored("us").version != first.version
