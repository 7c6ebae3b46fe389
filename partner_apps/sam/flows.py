"""``partner-apps sam consent | refresh | status`` for one region stack at a time.

Order of every command: resolve and check the region's target from its stack file and outputs
(no request yet), then Key Vault (the SAM app's client secret and the stored token), then Entra,
then Key Vault again. Nothing is written until a token has passed the claims check, and the one
write is a new secret version, so a failure at any step leaves the last good token in place.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
import webbrowser
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import msal
import requests
from azure.core.credentials import TokenCredential
from azure.identity import DefaultAzureCredential
from pydantic import SecretStr

from partner_apps import exitcodes

from . import claims
from .errors import MFA_REQUIRED_CAUSE, SamError, from_token_error, is_mfa_required, mfa_fix
from .http import RetryingSession
from .loopback import LoopbackRedirect
from .store import (
    TAG_CONSENTED_AT,
    TAG_CONSENTED_BY,
    TAG_FLOW,
    TAG_MFA,
    TAG_REFRESHED_AT,
    TAG_REFRESHED_BY,
    TOKEN_LIFETIME,
    ClientFactory,
    StoredToken,
    TokenStore,
    default_client,
)
from .target import Endpoints, OutputsSource, RegionTarget, resolve

# MSAL's token cache logs each token request's form at DEBUG, authorization and device codes
# included (tokens are masked, codes are not): that logger never goes below INFO here.
logging.getLogger("msal.token_cache").setLevel(logging.INFO)

# Asks for MFA in the device-code flow (the browser flow adds amr_values=mfa). Whether Entra
# honours an amr claims request is [unverified]; the amr check of claims.py is what enforces MFA.
MFA_CLAIMS = json.dumps({"id_token": {"amr": {"essential": True, "values": ["mfa"]}}})
DEFAULT_WARN_DAYS = 30


def default_credential(target: RegionTarget) -> TokenCredential:
    """azure-identity's standard chain (environment, workload identity, managed identity, Azure
    CLI, ...). The vault's 401 challenge names its tenant; the region's is the one tenant the
    credential may be asked for besides its own (they are the same for a job of that region).
    The authority is the stack's cloud's (login.microsoftonline.us for usgovernment, ...)."""
    options: dict[str, Any] = {
        "additionally_allowed_tenants": [target.tenant_id],
        "authority": target.endpoints.login_url,
    }
    if "login_url" in target.endpoints.overrides:
        # A test override's host is not a Microsoft authority: no instance discovery there.
        options["disable_instance_discovery"] = True
    return DefaultAzureCredential(**options)


class SamApplication(msal.ConfidentialClientApplication):  # type: ignore[misc]
    """The SAM app as MSAL sees it: a confidential client that can also run the device flow.

    MSAL offers the device flow only on ``PublicClientApplication``; its methods use nothing but
    the shared ``ClientApplication`` machinery (the OAuth client, scopes, telemetry), so they are
    borrowed here, and the token requests carry the app's client secret. The SAM app stays a
    confidential client (no ``allowPublicClient``) and its refresh token stays bound to its
    credential.
    """

    DEVICE_FLOW_CORRELATION_ID = msal.PublicClientApplication.DEVICE_FLOW_CORRELATION_ID
    ACQUIRE_TOKEN_BY_DEVICE_FLOW_ID = msal.PublicClientApplication.ACQUIRE_TOKEN_BY_DEVICE_FLOW_ID
    initiate_device_flow = msal.PublicClientApplication.initiate_device_flow
    acquire_token_by_device_flow = msal.PublicClientApplication.acquire_token_by_device_flow


@dataclass
class Runtime:
    """What the commands reach the outside world through; the tests replace parts of it."""

    project_dir: Path
    outputs: OutputsSource
    endpoints: Endpoints
    out: TextIO
    err: TextIO
    credential: Callable[[RegionTarget], TokenCredential] = default_credential
    vault_client: ClientFactory = default_client
    session: Callable[[], requests.Session] = RetryingSession
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    open_browser: Callable[[str], object] = webbrowser.open
    confirm: Callable[[str], bool] | None = None
    loopback_timeout: float = 300.0
    progress: bool = False
    # The customer commands wait (propagation, throttling) through this; the tests inject it.
    sleep: Callable[[float], None] = time.sleep

    def step(self, target: RegionTarget, text: str) -> None:
        """Progress on stderr, only for a person at a terminal."""
        if self.progress:
            print(f"[{target.stack}] {text}", file=self.err, flush=True)

    def target(
        self, stack: str, app: str | None, apps: Mapping[str, Any] | None = None
    ) -> RegionTarget:
        return resolve(self.project_dir, stack, self.outputs, self.endpoints, app, apps=apps)

    def store(self, target: RegionTarget) -> TokenStore:
        return TokenStore(target, self.vault_client(target, self.credential(target)))

    def msal_app(self, target: RegionTarget, secret: SecretStr) -> SamApplication:
        options: dict[str, Any] = {}
        if "login_url" in target.endpoints.overrides:
            # A test override's host is not one MSAL knows (every cloud's real sign-in host is):
            # its instance discovery goes to the same (fake) login host.
            options["instance_discovery"] = (
                f"{target.endpoints.login_url}/common/discovery/instance"
            )
        try:
            return SamApplication(
                target.client_id,
                client_credential=secret.get_secret_value(),
                authority=target.authority,
                http_client=self.session(),
                token_cache=msal.TokenCache(),
                **options,
            )
        except (ValueError, requests.RequestException) as error:
            raise SamError(
                f"{target.where()}: the authority {target.authority} could not be used "
                f"({type(error).__name__}); nothing changed, retry later",
                exitcodes.UNREACHABLE,
            ) from None

    def entra(self, target: RegionTarget, doing: str, call: Callable[[], Any]) -> dict[str, Any]:
        """One MSAL token call; a network failure or a non-JSON answer becomes exit 12."""
        try:
            result = call()
        except (ValueError, requests.RequestException) as error:
            raise SamError(
                f"{target.where()}: {doing}: Entra could not be reached or answered "
                f"unexpectedly ({type(error).__name__}); nothing changed, retry later",
                exitcodes.UNREACHABLE,
            ) from None
        return dict(result)


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value is not None else "-"


def _is_live(token: StoredToken | None, now: datetime) -> bool:
    if token is None or token.is_placeholder or not token.enabled:
        return False
    return token.expires_on is None or token.expires_on > now


def consent(
    rt: Runtime,
    stack: str,
    *,
    app: str | None = None,
    device_code: bool = False,
    force: bool = False,
) -> int:
    target = rt.target(stack, app)
    store = rt.store(target)
    rt.step(target, f"reading {target.token_secret} from vault {target.vault_name}")
    current = store.current()
    if _is_live(current, rt.now()) and not force:
        assert current is not None
        question = (
            f"{target.where()}: a refresh token is stored (version {current.version}, consented "
            f"by {current.tags.get(TAG_CONSENTED_BY, 'unknown')}). Replace it?"
        )
        if rt.confirm is None or not rt.confirm(question):
            raise SamError(
                f"{target.where()}: a refresh token is already stored (version "
                f"{current.version}); nothing changed. Run with --force to replace it.",
                exitcodes.ALREADY_CONSENTED,
            )
    secret = store.client_secret()
    application = rt.msal_app(target, secret)
    if device_code:
        result = _device_code(rt, target, application)
        flow_name = "device-code"
    else:
        result = _auth_code(rt, target, application)
        flow_name = "authorization-code"
    if "error" in result:
        raise from_token_error(result, target.where(), target.stack, "the sign-in")
    checked = claims.check(target, result, sign_in=True)
    user = checked.user
    refresh_token = result.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise SamError(
            f"{target.where()}: the sign-in returned no refresh token; nothing stored",
            exitcodes.SIGN_IN,
        )
    now = rt.now()
    who = str(user.get("preferred_username") or user.get("upn") or user.get("oid") or "unknown")
    stamp = now.isoformat(timespec="seconds")
    rt.step(target, f"storing the refresh token in vault {target.vault_name}")
    version = store.write(
        SecretStr(refresh_token),
        now,
        {
            TAG_CONSENTED_BY: who,
            TAG_CONSENTED_AT: stamp,
            TAG_FLOW: flow_name,
            TAG_REFRESHED_AT: stamp,
            TAG_MFA: checked.mfa_evidence,
        },
    )
    replaced = (
        "replaced the placeholder"
        if current is None or current.is_placeholder
        else (f"replaced version {current.version}")
    )
    print(
        f"{target.where()}: consent by {who} stored as version {version} of "
        f"{target.token_secret} ({replaced}); expires {_day(now + TOKEN_LIFETIME)}",
        file=rt.out,
    )
    return exitcodes.OK


def _auth_code(rt: Runtime, target: RegionTarget, application: SamApplication) -> dict[str, Any]:
    with LoopbackRedirect(rt.loopback_timeout) as loopback:
        flow = application.initiate_auth_code_flow(
            [target.endpoints.partner_center_scope],
            redirect_uri=loopback.redirect_uri,
            prompt="login",
            response_mode="form_post",
        )
        # As Microsoft's SAM sample: insist on MFA in the sign-in itself.
        url = f"{flow['auth_uri']}&amr_values=mfa"
        print(
            f"{target.where()}: sign in as a partner admin of tenant {target.tenant_id} (with "
            f"MFA) in the browser. If none opens, visit:\n{url}",
            file=rt.err,
            flush=True,
        )
        rt.open_browser(url)
        response = loopback.wait()
    if response is None:
        raise SamError(
            f"{target.where()}: no sign-in reached {loopback.redirect_uri} within "
            f"{rt.loopback_timeout:.0f} s; nothing stored. Run again, or use --device-code",
            exitcodes.SIGN_IN,
        )
    if response.get("state") != flow.get("state"):
        # MSAL would refuse it too (ValueError); say what it means.
        raise SamError(
            f"{target.where()}: the sign-in response did not match this sign-in (state); "
            "nothing stored",
            exitcodes.SIGN_IN,
        )
    return rt.entra(
        target,
        "redeeming the sign-in",
        lambda: application.acquire_token_by_auth_code_flow(flow, response),
    )


def _device_code(rt: Runtime, target: RegionTarget, application: SamApplication) -> dict[str, Any]:
    flow = rt.entra(
        target,
        "starting the device-code sign-in",
        lambda: application.initiate_device_flow(
            scopes=[target.endpoints.partner_center_scope], claims_challenge=MFA_CLAIMS
        ),
    )
    if "user_code" not in flow:
        return flow
    print(f"{target.where()}: {flow['message']} (sign in with MFA)", file=rt.err, flush=True)
    return rt.entra(
        target,
        "the device-code sign-in",
        lambda: application.acquire_token_by_device_flow(flow, claims_challenge=MFA_CLAIMS),
    )


def verify_partner_center(
    rt: Runtime, target: RegionTarget, session: requests.Session, access_token: str
) -> str:
    """Prove a token: GET the partner's own organization profile from Partner Center."""
    url = f"{target.endpoints.partner_center_url}/v1/profiles/organization"
    request_id = str(uuid.uuid4())
    try:
        response = session.get(
            url,
            headers={
                "Authorization": f"Bearer {access_token}",
                "Accept": "application/json",
                # The same MS-RequestId on every retry of this call (Partner Center's idempotency
                # key); the correlation id ties this run's calls together in support cases.
                "MS-RequestId": request_id,
                "MS-CorrelationId": request_id,
            },
        )
    except requests.RequestException as error:
        raise SamError(
            f"{target.where()}: Partner Center could not be reached ({type(error).__name__})",
            exitcodes.PARTNER_CENTER,
        ) from None
    if response.status_code != 200:
        if is_mfa_required(response.status_code, dict(response.headers), response.text):
            raise SamError(
                f"{target.where()}: {MFA_REQUIRED_CAUSE} (request id {request_id}); "
                f"{mfa_fix(target.stack)}",
                exitcodes.SIGN_IN,
            )
        raise SamError(
            f"{target.where()}: Partner Center answered HTTP {response.status_code} to the new "
            f"token (request id {request_id})",
            exitcodes.PARTNER_CENTER,
        )
    try:
        body = response.json()
    except ValueError:
        body = {}
    name = body.get("companyName") if isinstance(body, dict) else None
    return str(name or "the partner organization")


def refresh(rt: Runtime, stack: str, *, app: str | None = None) -> int:
    target = rt.target(stack, app)
    store = rt.store(target)
    rt.step(target, f"reading {target.token_secret} from vault {target.vault_name}")
    current = store.current()
    if current is not None and not current.enabled:
        raise SamError(
            f"{target.where()}: the newest version ({current.version}) of {target.token_secret} "
            f"is disabled: re-enable it, or run `partner-apps sam consent --stack "
            f"{target.stack}`",
            exitcodes.TOKEN_MISSING,
        )
    if current is None or current.is_placeholder:
        state = "missing" if current is None else "still the placeholder"
        raise SamError(
            f"{target.where()}: the refresh token is {state}: a partner admin runs "
            f"`partner-apps sam consent --stack {target.stack}` first",
            exitcodes.TOKEN_MISSING,
        )
    secret = store.client_secret()
    application = rt.msal_app(target, secret)
    rt.step(target, f"redeeming the stored token (version {current.version}) at {target.authority}")
    result = rt.entra(
        target,
        "the refresh",
        lambda: application.acquire_token_by_refresh_token(
            current.value.get_secret_value(), [target.endpoints.partner_center_scope]
        ),
    )
    if "error" in result:
        raise from_token_error(result, target.where(), target.stack, "the refresh")
    checked = claims.check(target, result, sign_in=False)
    new_token = result.get("refresh_token")
    if not isinstance(new_token, str) or not new_token:
        raise SamError(
            f"{target.where()}: Entra returned no new refresh token; the stored one (version "
            f"{current.version}) is unchanged",
            exitcodes.SIGN_IN,
        )
    now = rt.now()
    stamp = now.isoformat(timespec="seconds")
    carried = {
        key: value
        for key, value in current.tags.items()
        if key in (TAG_CONSENTED_BY, TAG_CONSENTED_AT, TAG_FLOW)
    }
    rt.step(target, f"storing the new refresh token in vault {target.vault_name}")
    try:
        version = store.write(
            SecretStr(new_token),
            now,
            {
                **carried,
                TAG_REFRESHED_AT: stamp,
                TAG_REFRESHED_BY: "partner-apps sam refresh",
                TAG_MFA: checked.mfa_evidence,
            },
        )
    except SamError as error:
        raise SamError(
            f"{error.message}. The stored token (version {current.version}) is unchanged and "
            "still valid: fix this and run refresh again",
            error.exit_code,
        ) from None
    # Proof: the version now in the vault is redeemed and used against Partner Center.
    rt.step(target, f"proving version {version} against Partner Center")
    stored = store.version(version)
    prover = rt.msal_app(target, secret)
    proof = rt.entra(
        target,
        "redeeming the new token",
        lambda: prover.acquire_token_by_refresh_token(
            stored.get_secret_value(), [target.endpoints.partner_center_scope]
        ),
    )
    if "error" in proof:
        failed = from_token_error(proof, target.where(), target.stack, "redeeming the new token")
        raise SamError(
            f"{failed.message}. Version {current.version} stays enabled", failed.exit_code
        )
    claims.check(target, proof, sign_in=False)
    organization = verify_partner_center(
        rt, target, rt.session(), str(proof.get("access_token", ""))
    )
    disabled = store.retire_older({version, current.version})
    retired = f"; disabled {len(disabled)} older version(s)" if disabled else ""
    print(
        f"{target.where()}: refreshed: version {version} stored and proven against Partner "
        f"Center ({organization}); expires {_day(now + TOKEN_LIFETIME)}; version "
        f"{current.version} kept enabled as fallback{retired}",
        file=rt.out,
    )
    return exitcodes.OK


@dataclass(frozen=True)
class Status:
    stack: str
    app: str
    vault: str
    state: str  # ok, expiring, expired, placeholder, missing, disabled, error
    exit_code: int
    version: str | None = None
    issued: str | None = None
    consented_by: str | None = None
    last_refreshed: str | None = None
    expires: str | None = None
    days_left: int | None = None
    message: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if key != "exit_code"}


# Worst first: the exit code of several regions is that of the worst.
SEVERITY = (
    exitcodes.ERROR,
    exitcodes.CONFIG,
    exitcodes.VAULT,
    exitcodes.TOKEN_MISSING,
    exitcodes.TOKEN_EXPIRED,
    exitcodes.TOKEN_EXPIRING,
    exitcodes.OK,
)


def status_of(rt: Runtime, stack: str, app: str | None, warn_days: int) -> Status:
    try:
        target = rt.target(stack, app)
    except SamError as error:
        return Status(stack, app or "-", "-", "error", error.exit_code, message=error.message)

    def report(state: str, code: int, message: str | None = None, **details: Any) -> Status:
        return Status(
            stack, target.app_key, target.vault_name, state, code, message=message, **details
        )

    try:
        token = rt.store(target).current()
    except SamError as error:
        return report("error", error.exit_code, error.message)
    consent_again = f"run `partner-apps sam consent --stack {stack}`"
    consent_anew = f"run `partner-apps sam consent --stack {stack} --force`"
    if token is None:
        return report("missing", exitcodes.TOKEN_MISSING, consent_again)
    details: dict[str, Any] = {
        "version": token.version,
        "issued": token.tags.get(TAG_CONSENTED_AT),
        "consented_by": token.tags.get(TAG_CONSENTED_BY),
        "last_refreshed": token.tags.get(TAG_REFRESHED_AT)
        or (token.created_on.isoformat(timespec="seconds") if token.created_on else None),
        "expires": token.expires_on.isoformat(timespec="seconds") if token.expires_on else None,
    }
    if not token.enabled:
        return report(
            "disabled",
            exitcodes.TOKEN_MISSING,
            "the newest version is disabled: re-enable it or " + consent_again,
            **details,
        )
    if token.is_placeholder:
        return report("placeholder", exitcodes.TOKEN_MISSING, consent_again, version=token.version)
    if token.expires_on is None:
        return report("ok", exitcodes.OK, "no expiry set (not written by partner-apps)", **details)
    left = (token.expires_on - rt.now()).total_seconds() / 86400
    details["days_left"] = int(left)
    if left <= 0:
        return report("expired", exitcodes.TOKEN_EXPIRED, consent_anew, **details)
    if left <= warn_days:
        return report(
            "expiring",
            exitcodes.TOKEN_EXPIRING,
            f"run `partner-apps sam refresh --stack {stack}` (or consent again if it fails)",
            **details,
        )
    return report("ok", exitcodes.OK, **details)


def status(
    rt: Runtime,
    stacks: Sequence[str],
    *,
    app: str | None = None,
    warn_days: int = DEFAULT_WARN_DAYS,
    output: str = "text",
) -> int:
    results = [status_of(rt, stack, app, warn_days) for stack in stacks]
    if output == "json":
        json.dump([result.as_json() for result in results], rt.out, indent=2, sort_keys=True)
        rt.out.write("\n")
    # A region whose status could not be read is an error: its line goes to stderr (with JSON
    # too, beside the document); the states read, the report, to stdout.
    for result in results:
        if result.state == "error":
            print(_status_line(result), file=rt.err)
        elif output != "json":
            print(_status_line(result), file=rt.out)
    codes = {result.exit_code for result in results}
    return next((code for code in SEVERITY if code in codes), exitcodes.OK)


def _status_line(result: Status) -> str:
    head = f"region {result.stack}, app {result.app}, vault {result.vault}: {result.state}"
    fields: Mapping[str, Any] = {
        "version": result.version,
        "issued": result.issued,
        "by": result.consented_by,
        "last refreshed": result.last_refreshed,
        "expires": result.expires,
        "days left": result.days_left,
    }
    parts = [f"{name} {value}" for name, value in fields.items() if value is not None]
    text = head + (f" ({'; '.join(parts)})" if parts else "")
    return text + (f": {result.message}" if result.message else "")
