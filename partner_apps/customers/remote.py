"""HTTP to Entra, Partner Center and Graph for the customer commands: tokens, retries, limits.

Tokens: the SAM refresh token of the region's vault is redeemed per tenant and resource
(``grant_type=refresh_token`` at ``{login}/{tenant}/oauth2/v2.0/token``): the partner tenant for
Partner Center, each customer tenant for Graph (GDAP lets the partner admin in). The OAuth form is
posted directly rather than through MSAL: one confidential client per customer authority would
cost MSAL's discovery requests per tenant, and the verification's app-only tokens must never come
from a cache (MSAL's ``acquire_token_for_client`` serves from its cache). An access token is kept
for this run only, in memory, and dropped on a 401 (a token that expired mid-run is fetched anew).

Retries: 429, 5xx, connection failures and timeouts are retried up to ``attempts`` times, waiting
``Retry-After`` when sent and an exponential backoff otherwise. A write that may have reached the
server before its answer was lost is re-checked before it is sent again (``recheck``), so nothing
is created twice. Partner Center's 50 requests per second per application are kept by a
per-application pacer shared by all workers.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from pydantic import SecretStr

from partner_apps.sam.http import retry_after
from partner_apps.sam.target import Endpoints

RETRY = frozenset({429, 500, 502, 503, 504})
GRAPH_RESOURCE = "https://graph.microsoft.com"
PARTNER_CENTER_RESOURCE = "https://api.partnercenter.microsoft.com"
PARTNER_CENTER_LIMIT = 50.0  # requests per second per applicationId


class RemoteError(Exception):
    """A call that failed for good: what happened (``cause``) and what to do (``fix``)."""

    def __init__(self, cause: str, fix: str, *, status: int | None = None, code: int = 0) -> None:
        super().__init__(cause)
        self.cause = cause
        self.fix = fix
        self.status = status
        self.code = code  # the AADSTS number of a token error, else 0


# AADSTS number -> (cause, fix) for tokens in a customer tenant.
TOKEN_ERRORS: Mapping[int, tuple[str, str]] = {
    7000229: (
        "the app has no service principal in the customer tenant (not consented, or not visible "
        "yet)",
        "run `partner-apps customers apply`; after a new relationship wait a few minutes",
    ),
    700016: (
        "the app is not known in the customer tenant (not consented)",
        "run `partner-apps customers apply`",
    ),
    500011: (
        "a resource's service principal is missing in the customer tenant",
        "run `partner-apps customers apply` (it creates the resource service principal)",
    ),
    65001: ("no consent for the app in the customer tenant", "run `partner-apps customers apply`"),
    50020: (
        "the partner admin has no access to this tenant (no active GDAP relationship)",
        "renew the GDAP relationship or exclude the customer in customers/<region>.yaml",
    ),
    90099: (
        "the app is not authorised for partner admins (AdminAgents only, no GDAP consent)",
        "run `partner-apps customers apply`",
    ),
    700082: ("the SAM refresh token expired", "run `partner-apps sam consent --force`"),
    50173: ("the SAM refresh token was revoked", "run `partner-apps sam consent --force`"),
    7000215: ("the app's client secret is invalid", "check <app>-client-secret in the vault"),
    7000222: ("the app's client secret has expired", "rotate it (apps.yaml rotationDate)"),
}
AUTHORIZATION_CODES = frozenset({7000229, 700016, 500011, 65001, 90099})


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (only for reading our own token's claims)."""
    try:
        body = token.split(".")[1]
        value = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (IndexError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


class Pacer:
    """At most ``rate`` starts per second per key, shared by all threads (no burst)."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self.clock = clock
        self.sleep = sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> None:
        with self._lock:
            now = self.clock()
            slot = max(now, self._next.get(key, now))
            self._next[key] = slot + self.interval
        if slot > now:
            self.sleep(slot - now)

    def hold(self, key: str, seconds: float) -> None:
        """After a 429: no start for ``key`` before ``seconds`` from now."""
        with self._lock:
            now = self.clock()
            self._next[key] = max(self._next.get(key, now), now + seconds)


@dataclass
class Answer:
    status: int
    body: Any
    request_id: str


@dataclass
class Http:
    """Calls with bounded retries; one ``requests.Session`` per thread."""

    endpoints: Endpoints
    sleep: Callable[[float], None] = time.sleep
    attempts: int = 6
    backoff: float = 0.5
    timeout: float = 30.0
    session_factory: Callable[[], requests.Session] = requests.Session
    requests_made: int = 0
    _local: threading.local = field(default_factory=threading.local)
    _count_lock: threading.Lock = field(default_factory=threading.Lock)

    def session(self) -> requests.Session:
        found: requests.Session | None = getattr(self._local, "session", None)
        if found is None:
            found = self.session_factory()
            self._local.session = found
        return found

    def _count(self) -> None:
        with self._count_lock:
            self.requests_made += 1

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        recheck: Callable[[], Answer | None] | None = None,
        on_throttle: Callable[[float], None] | None = None,
        before: Callable[[], None] | None = None,
    ) -> requests.Response:
        """One call, retried within bounds. ``recheck`` runs before a resend after a lost answer
        (timeout, connection reset, 5xx) and ends the call when it finds the write done."""
        last: Exception | None = None
        for attempt in range(1, self.attempts + 1):
            if before is not None:
                before()
            self._count()
            try:
                response = self.session().request(
                    method,
                    url,
                    headers=dict(headers or {}),
                    json=json_body,
                    data=data,
                    timeout=self.timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as error:
                last = error
                delay = self.backoff * (2 ** (attempt - 1))
            else:
                if response.status_code not in RETRY or attempt == self.attempts:
                    return response
                delay = retry_after(response) or self.backoff * (2 ** (attempt - 1))
                if response.status_code == 429 and on_throttle is not None:
                    on_throttle(delay)
                    delay = 0.0 if before is not None else delay
                last = None
            if attempt == self.attempts:
                break
            if delay > 0:
                self.sleep(delay)
            if recheck is not None and (last is not None or method != "GET"):
                done = recheck()
                if done is not None:
                    return _Synthetic(done)
        raise RemoteError(
            f"{method} {url.split('?', maxsplit=1)[0]} failed after {self.attempts} attempts"
            + (f" ({type(last).__name__})" if last else ""),
            "retry later: the next run picks up where this one stopped",
        )


class _Synthetic(requests.Response):
    """The answer a recheck found: the write had been done before its answer was lost."""

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self.status_code = answer.status
        self._content = json.dumps(answer.body).encode()
        self.headers["MS-RequestId"] = answer.request_id


@dataclass
class Tokens:
    """Delegated access tokens from the SAM refresh token per tenant and resource, this run only."""

    http: Http
    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr
    # Access tokens: never in a repr (tracebacks, logs) nor anywhere but memory.
    _cache: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    issued: int = 0

    def get(self, tenant: str, resource: str) -> str:
        with self._lock:
            cached = self._cache.get((tenant, resource))
        if cached is not None:
            return cached
        token = self._redeem(tenant, resource)
        with self._lock:
            self._cache[(tenant, resource)] = token
            self.issued += 1
        return token

    def drop(self, tenant: str, resource: str) -> None:
        with self._lock:
            self._cache.pop((tenant, resource), None)

    def _redeem(self, tenant: str, resource: str) -> str:
        scope = (
            f"{resource}/user_impersonation"
            if resource == PARTNER_CENTER_RESOURCE
            else f"{resource}/.default"
        )
        form = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self.client_secret.get_secret_value(),
            "refresh_token": self.refresh_token.get_secret_value(),
            "scope": scope,
        }
        return token_request(self.http, tenant, form)


def token_request(http: Http, tenant: str, form: Mapping[str, str]) -> str:
    """POST the OAuth form; the access token, or a RemoteError mapped from ``error_codes``."""
    url = f"{http.endpoints.login_url}/{tenant}/oauth2/v2.0/token"
    response = http.send("POST", url, data=form)
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and isinstance(body, dict) and body.get("access_token"):
        return str(body["access_token"])
    codes = body.get("error_codes") if isinstance(body, dict) else None
    code = int(codes[0]) if isinstance(codes, list) and codes else 0
    cause, fix = TOKEN_ERRORS.get(
        code, (f"Entra refused the token (HTTP {response.status_code})", "see the sign-in logs")
    )
    raise RemoteError(
        f"{cause} (AADSTS{code})" if code else cause, fix, status=response.status_code, code=code
    )


@dataclass
class Api:
    """Partner Center and Graph calls with a delegated token; a 401 fetches a new token once."""

    http: Http
    tokens: Tokens
    pacer: Pacer

    def call(
        self,
        method: str,
        url: str,
        tenant: str,
        resource: str,
        *,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        recheck: Callable[[], Answer | None] | None = None,
        pace: str | None = None,
    ) -> requests.Response:
        def throttled(delay: float) -> None:
            if pace is not None:
                self.pacer.hold(pace, delay)

        def paced() -> None:
            if pace is not None:
                self.pacer.wait(pace)

        for _ in range(2):
            token = self.tokens.get(tenant, resource)
            response = self.http.send(
                method,
                url,
                headers={"Authorization": f"Bearer {token}", **(headers or {})},
                json_body=json_body,
                recheck=recheck,
                on_throttle=throttled,
                before=paced if pace is not None else None,
            )
            if response.status_code != 401:
                return response
            self.tokens.drop(tenant, resource)
        return response


def new_request_id() -> str:
    return str(uuid.uuid4())
