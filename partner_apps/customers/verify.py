"""``customers verify``: proof of access per customer and app, with a token that is new each try.

For each customer and app: an app-only token for the customer tenant (client credentials with
the app's own secret, posted directly: no token cache at all), its ``roles`` claim against the
app's application permissions, then ``GET /organization?$select=id`` answering the customer's
tenant id. For a customer whose GDAP relationship was activated, or whose consent was written,
within ``recent`` (the seed's rule): wait until 3 minutes have passed since, and on an
authorization error wait 60 seconds and try again with a new token, ``attempts`` tries at most.
The clock and the sleep are the runtime's, so the tests never wait.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr

from .desired import DesiredApp
from .plan import Customer
from .region import Region
from .remote import AUTHORIZATION_CODES, RemoteError, claims_of, token_request

FIRST_WAIT = timedelta(minutes=3)
RETRY_WAIT = 60.0
APPLY_FIX = "run `partner-apps customers apply --stack {stack}`, then verify again"
# What an offboarded customer's checks end in: no consent any more, as expected.
OFFBOARDED = "offboarded"
# Entra's answers to a client-credentials request of an app with no service principal in the
# tenant: 7000229, and the older 700016 (Entra error codes).
NOT_CONSENTED = frozenset({7000229, 700016})


@dataclass
class Check:
    customer: Customer
    app: str
    state: str = "failed"  # verified, offboarded (not consented, as planned) or failed
    attempts: int = 0
    roles: list[str] = field(default_factory=list)
    cause: str | None = None
    fix: str | None = None
    checked_at: str = ""
    waited: float = 0.0

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "customer": self.customer.name,
            "tenantId": self.customer.tenant_id,
            "app": self.app,
            "state": self.state,
            "attempts": self.attempts,
            "roles": self.roles,
            "checkedAt": self.checked_at,
            "waitedSeconds": self.waited,
        }
        if self.cause:
            document |= {"cause": self.cause, "fix": self.fix}
        return document


class _RetryableError(Exception):
    """An authorization error: worth a new token after the wait."""

    def __init__(self, cause: str, fix: str) -> None:
        super().__init__(cause)
        self.cause = cause
        self.fix = fix


@dataclass
class Verifier:
    region: Region
    secrets: dict[str, SecretStr]
    recent_since: dict[tuple[str, str], datetime]
    attempts: int = 5
    now: Callable[[], datetime] = datetime.now

    def _once(self, customer: Customer, app: DesiredApp, check: Check) -> None:
        http = self.region.http
        form = {
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": self.secrets[app.key].get_secret_value(),
            "scope": f"{http.endpoints.graph_resource}/.default",
        }
        fix = APPLY_FIX.format(stack=self.region.stack)
        try:
            token = token_request(http, customer.tenant_id, form)
        except RemoteError as error:
            if error.code in AUTHORIZATION_CODES:
                raise _RetryableError(error.cause, error.fix) from None
            raise
        claims = claims_of(token)
        check.roles = sorted(str(r) for r in claims.get("roles") or [])
        expected = {g.value for g in app.application()}
        missing = sorted(expected - set(check.roles))
        if missing:
            raise _RetryableError(f"the token lacks the roles {', '.join(missing)}", fix)
        if str(claims.get("tid", "")).lower() != customer.tenant_id:
            raise RemoteError("the token is for another tenant", "check the customer's tenant id")
        if not expected:
            return  # delegated only: an app-only token proves the service principal, no more
        response = http.send(
            "GET",
            f"{http.endpoints.graph_url}/v1.0/organization?$select=id",
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code in (401, 403):
            raise _RetryableError(
                f"Graph refused GET /organization (HTTP {response.status_code})", fix
            )
        try:
            body = response.json()
            ids = [str(o.get("id", "")).lower() for o in (body.get("value") or [])]
        except (ValueError, AttributeError):
            ids = []
        if response.status_code != 200 or ids != [customer.tenant_id]:
            raise RemoteError(
                f"GET /organization answered HTTP {response.status_code} {ids}",
                "check the customer's tenant id",
            )

    def _since(self, customer: Customer, app: str) -> datetime | None:
        moments = [self.recent_since.get((customer.tenant_id, app))]
        if customer.activated:
            with contextlib.suppress(ValueError):
                moments.append(datetime.fromisoformat(customer.activated.replace("Z", "+00:00")))
        known = [m for m in moments if m is not None]
        return max(known) if known else None

    def check_offboarded(self, customer: Customer, app: DesiredApp) -> Check:
        """An offboarded customer: the app's client-credentials token must be refused because
        the app has no service principal there any more (AADSTS7000229, or the older 700016:
        Entra error codes). One try: nothing propagates towards consent."""
        check = Check(customer, app.key, attempts=1)
        form = {
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": self.secrets[app.key].get_secret_value(),
            "scope": f"{self.region.http.endpoints.graph_resource}/.default",
        }
        try:
            token_request(self.region.http, customer.tenant_id, form)
        except RemoteError as error:
            if error.code in NOT_CONSENTED:
                check.state = OFFBOARDED
            else:
                check.cause, check.fix = error.cause, error.fix
        else:
            check.cause = "offboarded, but the app still gets a token in this tenant"
            check.fix = APPLY_FIX.format(stack=self.region.stack)
        check.checked_at = self.now().isoformat(timespec="seconds")
        return check

    def check(self, customer: Customer, app: DesiredApp, recent: timedelta) -> Check:
        check = Check(customer, app.key)
        since = self._since(customer, app.key)
        is_recent = since is not None and self.now() - since < recent
        tries = self.attempts if is_recent else 1
        if is_recent and since is not None:
            wait = (since + FIRST_WAIT - self.now()).total_seconds()
            if wait > 0:
                self.region.rt.sleep(wait)
                check.waited += wait
        for attempt in range(1, tries + 1):
            check.attempts = attempt
            try:
                self._once(customer, app, check)
            except _RetryableError as retry:
                check.cause, check.fix = retry.cause, retry.fix
                if attempt < tries:
                    self.region.rt.sleep(RETRY_WAIT)
                    check.waited += RETRY_WAIT
                continue
            except RemoteError as error:
                check.cause, check.fix = error.cause, error.fix
                break
            check.state, check.cause, check.fix = "verified", None, None
            break
        if check.state != "verified" and is_recent and check.attempts == tries:
            check.cause = f"{check.cause} (still after {tries} tries over {check.waited:.0f} s)"
        check.checked_at = self.now().isoformat(timespec="seconds")
        return check


def verify(
    verifier: Verifier,
    customers: list[Customer],
    *,
    recent: timedelta,
    workers: int,
    on_done: Callable[[Customer, list[Check]], None] | None = None,
) -> list[Check]:
    """Every customer × app, a customer per worker (its apps one after the other); ``on_done``
    after each customer (the progress)."""
    apps = verifier.region.apps

    def one(customer: Customer) -> list[Check]:
        checks = [verifier.check(customer, app, recent) for app in apps]
        if on_done is not None:
            on_done(customer, checks)
        return checks

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return [check for checks in pool.map(one, customers) for check in checks]
