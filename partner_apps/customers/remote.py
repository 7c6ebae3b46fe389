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
per-application pacer shared by all workers; how many customers run at once comes from the
measured round trip (``size_workers``), so that the pacer always has a consent waiting.

Connections: kept alive (HTTP/1.1) and shared by every worker thread, at most
``MAX_CONNECTIONS`` open at once, all hosts together. What ``requests`` would look up in the
environment on every call (``HTTPS_PROXY``/``NO_PROXY``, ``REQUESTS_CA_BUNDLE``/
``CURL_CA_BUNDLE``) is looked up once per run (proxies once per host), with requests' own rules
(see ``Http``).
"""

from __future__ import annotations

import base64
import json
import math
import os
import ssl
import statistics
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from pydantic import SecretStr
from requests.adapters import HTTPAdapter

from partner_apps.sam.http import retry_after
from partner_apps.sam.target import Endpoints

from .transport import DEFAULT_HEADERS, Transport

RETRY = frozenset({429, 500, 502, 503, 504})
GRAPH_RESOURCE = "https://graph.microsoft.com"
PARTNER_CENTER_RESOURCE = "https://api.partnercenter.microsoft.com"
PARTNER_CENTER_LIMIT = 50.0  # requests per second per applicationId

# Customers in parallel (``size_workers``). The floor: what the answers of a near server need
# (the pool was 16 before it was sized; with answers at once the run is bound by the client's
# CPU, and more threads only contend for the interpreter). The ceiling: a hard bound on threads
# and on the connections they hold, whatever the latency: a far region runs slower rather than
# open hundreds of connections. 128 keeps 47.5 customers/s flowing up to a round trip of about
# 0.15 s (16 requests a customer: 47.5 × 16 × 0.15 = 114 in flight); a farther one gets the
# bound.
MIN_WORKERS = 16
MAX_WORKERS = 128
# Connections open at once at most, all hosts together, shared by all workers (``transport``).
# Half as many again as the most workers: each worker has one request in flight at most, but
# moves from host to host (Entra, Partner Center, Graph), and with exactly one connection per
# worker the idle ones were seldom to the right host: at a 150 ms round trip 128 workers opened
# 2,600 connections, each a TLS handshake, to close as many. More workers (an explicit
# --workers) share them.
MAX_CONNECTIONS = MAX_WORKERS * 3 // 2
# The longest chain of requests one customer makes one after the other: a first apply's 18 (the
# refused token, the GDAP roles' read, the SAM app's consent, a new token, two reads, the other
# consents and service principals, their read, the app role assignments: measured with the
# benchmark's apps, 3,608 requests for 200 customers); plan and verify make fewer, and get the
# same bound.
CUSTOMER_CHAIN = 18
# Round trips kept for the estimate, the latest ones: when the pool is sized, those of the
# customer listing that comes before it.
ROUND_TRIPS_KEPT = 64


def size_workers(round_trip: float | None, rate: float, chain: int = CUSTOMER_CHAIN) -> int:
    """Customers in parallel so that the pacer's slots stay full: a customer holds its worker for
    ``chain`` requests one after the other, each taking ``round_trip`` seconds (network, server
    and the client's own CPU), so ``rate`` customers per second need ``rate × chain ×
    round_trip`` workers (Little's law). Half as many again: the round trips measured before the
    pool starts leave out what a busy run adds to a customer's time (waits for a pacer slot and
    for the audit log's fsync, the client's own queueing), and a worker too many only waits for
    a slot. Between ``MIN_WORKERS`` and ``MAX_WORKERS``; without a measurement, the floor.

    >>> size_workers(0.002, 47.5), size_workers(0.052, 47.5), size_workers(0.152, 47.5)
    (16, 67, 128)
    """
    if round_trip is None or round_trip <= 0 or rate <= 0:
        return MIN_WORKERS
    needed = math.ceil(rate * chain * round_trip * 1.5)
    return max(MIN_WORKERS, min(MAX_WORKERS, needed))


def ca_bundle(environ: Mapping[str, str]) -> str | bool:
    """What ``requests`` verifies TLS with when it trusts the environment: the file or folder of
    ``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``, else its own bundle (certifi)."""
    return environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or True


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


RATE_WINDOW = 10.0  # seconds over which ``Pacer.recent_rate`` counts


class Pacer:
    """At most ``rate`` starts per second per key, shared by all threads (no burst), and no start
    at all while the client is held after a 429.

    Three rules. The schedule: each start gets the next slot, ``1 / rate`` after the one before.
    The window: at most ``ceil(rate)`` starts really made in any second, counted when each
    thread leaves ``wait``. The schedule alone let a stall of the process (a garbage collection,
    the machine busy elsewhere: 50 ms or more) send the starts whose slots fell in it all at once
    after it, into the same second of the server's count as the starts on time: Partner Center's
    limit counts arrivals, and the fake answered 429, each costing the app a second of holds.
    The hold: after a 429 Partner Center "limits any further requests from that client for a
    period of time" (its API throttling guidance), so ``hold`` stops every start of every key
    until ``Retry-After`` has passed, including starts already given a slot: a thread whose slot
    fell inside the hold takes a new one after it (``gate`` does the same for calls that are not
    paced), so the held starts do not all leave at once when the hold ends.
    """

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.interval = 1.0 / rate
        self.per_second = math.ceil(rate)
        self.clock = clock
        self.sleep = sleep
        self._next: dict[str, float] = {}
        self._starts: dict[str, deque[float]] = {}  # the starts of the last second, per key
        self._held_until = float("-inf")  # the client's hold after a 429
        self._recent: deque[float] = deque()  # every key's starts of the last RATE_WINDOW s
        self._lock = threading.Lock()

    def wait(self, key: str) -> None:
        while True:
            with self._lock:
                now = self.clock()
                slot = max(now, self._next.get(key, now), self._held_until)
                self._next[key] = slot + self.interval
            if slot > now:
                self.sleep(slot - now)
            with self._lock:
                if self.clock() >= self._held_until:
                    break
            # A 429 came while this thread waited for its slot: a new slot after the hold.
        while True:
            with self._lock:
                now = self.clock()
                starts = self._starts.setdefault(key, deque())
                while starts and starts[0] + 1.0 <= now:  # the same sum as ``later``'s below
                    starts.popleft()
                if len(starts) < self.per_second and now >= self._held_until:
                    starts.append(now)
                    self._recent.append(now)
                    return
                later = max(
                    starts[0] + 1.0 - now if len(starts) >= self.per_second else 0.0,
                    self._held_until - now,
                )
            self.sleep(later)

    def gate(self) -> None:
        """Return once the client is not held (a call of the client that is not paced)."""
        while True:
            with self._lock:
                left = self._held_until - self.clock()
            if left <= 0:
                return
            self.sleep(left)

    def hold(self, seconds: float) -> None:
        """After a 429: no start of the client, of any key, before ``seconds`` from now."""
        with self._lock:
            self._held_until = max(self._held_until, self.clock() + seconds)

    def recent_rate(self) -> float:
        """Starts per second over the last ``RATE_WINDOW`` seconds, all keys together (what a
        progress line shows as consents per second)."""
        with self._lock:
            now = self.clock()
            while self._recent and self._recent[0] <= now - RATE_WINDOW:
                self._recent.popleft()
            return len(self._recent) / RATE_WINDOW

    @property
    def held_until(self) -> float:
        with self._lock:
            return self._held_until


@dataclass
class Answer:
    status: int
    body: Any
    request_id: str


@dataclass
class Http:
    """Calls with bounded retries, on connections kept alive and shared by all worker threads.

    The environment is read once, when the run builds its clients, with requests' own rules: the
    CA bundle (``ca_bundle``: ``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``, else certifi's)
    and, once per host, its proxies (``requests.utils.get_environ_proxies``: ``HTTPS_PROXY``,
    ``NO_PROXY``, ...). ``requests.Session.request`` did both again on every call, looked for a
    ``~/.netrc`` (whose Basic credentials would replace the bearer token anyway) and merged
    cookies and settings the product never sets. A host reached directly (every host, unless a
    proxy is configured) is called on the keep-alive connections of ``transport`` (at most
    ``MAX_CONNECTIONS`` open at once), with the CA bundle loaded once into one TLS context. A host
    behind a proxy keeps going through ``requests`` (one ``Session`` per thread, on one shared
    adapter), so proxies work exactly as they did; so does a CA bundle setting that names no
    file (requests' own error, as before). Cookies are not kept: none of these APIs needs one.
    """

    endpoints: Endpoints
    sleep: Callable[[float], None] = time.sleep
    attempts: int = 6
    backoff: float = 0.5
    timeout: float = 30.0
    session_factory: Callable[[], requests.Session] = requests.Session
    requests_made: int = 0
    _local: threading.local = field(default_factory=threading.local)
    _count_lock: threading.Lock = field(default_factory=threading.Lock)
    _round_trips: deque[float] = field(default_factory=lambda: deque(maxlen=ROUND_TRIPS_KEPT))
    # Origin (scheme://host:port) -> its proxies from the environment, empty for a direct host.
    _proxies: dict[str, dict[str, str]] = field(default_factory=dict)
    _verify: str | bool = field(init=False)
    _direct: Transport | None = field(init=False, repr=False)
    _adapter: HTTPAdapter = field(init=False, repr=False)
    _headers: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._verify = ca_bundle(os.environ)
        self._headers = {str(k): str(v) for k, v in requests.utils.default_headers().items()}
        # Only for a host behind a proxy (requests' pools, per host): block, so that past
        # MAX_CONNECTIONS to it a request waits for a free connection (urllib3 would otherwise
        # open one more and close it after the answer).
        self._adapter = HTTPAdapter(
            pool_connections=8, pool_maxsize=MAX_CONNECTIONS, pool_block=True
        )
        location = requests.utils.DEFAULT_CA_BUNDLE_PATH if self._verify is True else self._verify
        if isinstance(location, str) and Path(location).exists():
            folder = Path(location).is_dir()  # requests' own test: a folder of hashed certificates
            context = ssl.create_default_context(
                cafile=None if folder else location, capath=location if folder else None
            )
            self._direct = Transport(context, self.timeout, MAX_CONNECTIONS)
        else:  # a CA bundle setting that names nothing: requests says what it says, as before
            self._direct = None

    def session(self) -> requests.Session:
        found: requests.Session | None = getattr(self._local, "session", None)
        if found is None:
            found = self.session_factory()
            found.mount("https://", self._adapter)
            found.mount("http://", self._adapter)
            self._local.session = found
        return found

    def _count(self) -> None:
        with self._count_lock:
            self.requests_made += 1

    def round_trip(self) -> float | None:
        """The median seconds of the round trips kept (None before the first answer)."""
        with self._count_lock:
            kept = list(self._round_trips)
        return statistics.median(kept) if kept else None

    def proxies(self, url: str) -> dict[str, str]:
        """The environment's proxies for ``url``'s host as ``requests`` picks them (``NO_PROXY``
        honoured; empty when the host is reached directly), looked up once per host."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self._proxies.get(origin)
        if found is None:
            environ = requests.utils.get_environ_proxies(url)
            found = environ if requests.utils.select_proxy(url, environ) else {}
            self._proxies[origin] = found  # a race computes the same value twice: harmless
        return found

    def _request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None,
        json_body: Any,
        data: Mapping[str, str] | None,
        before: Callable[[], None] | None,
    ) -> requests.Response:
        """One exchange. ``before`` (the pacer) runs as late as it can: on a host reached
        directly, once the connection is open and right before the request is written, so that
        a new connection's handshake never delays a paced start into the next ones' second (the
        server counts arrivals: that bunching drew 429s). The round trip is timed from there."""
        started = time.perf_counter()

        def ready() -> None:
            nonlocal started
            if before is not None:
                before()
            started = time.perf_counter()

        proxies = self.proxies(url)
        if proxies or self._direct is None:
            prepared = requests.PreparedRequest()
            prepared.prepare(
                method=method,
                url=url,
                headers={**self._headers, **(headers or {})},
                json=json_body,
                data=data,
            )
            ready()
            response = self.session().send(
                prepared, timeout=self.timeout, verify=self._verify, proxies=proxies
            )
        else:
            response = self._direct_request(
                method, url, headers=headers, json_body=json_body, data=data, ready=ready
            )
        seconds = time.perf_counter() - started
        with self._count_lock:
            self._round_trips.append(seconds)
        return response

    def _direct_request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None,
        json_body: Any,
        data: Mapping[str, str] | None,
        ready: Callable[[], None],
    ) -> requests.Response:
        """The call on the shared keep-alive connections (``transport``), encoded as requests
        encodes it."""
        assert self._direct is not None
        sent = {**DEFAULT_HEADERS, **(headers or {})}
        body: bytes | None = None
        if json_body is not None:
            body = json.dumps(json_body, allow_nan=False).encode()
            sent.setdefault("Content-Type", "application/json")
        elif data:
            body = urlencode(list(data.items())).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return self._direct.request(method, url, body, sent, ready=ready)

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
            self._count()
            try:
                response = self._request(
                    method, url, headers=headers, json_body=json_body, data=data, before=before
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
        # What a token is for comes from the stack's cloud (a US Government Graph refuses a token
        # for the public one), whatever host the requests go to.
        endpoints = self.http.endpoints
        if resource == PARTNER_CENTER_RESOURCE:
            scope = endpoints.partner_center_scope
        elif resource == GRAPH_RESOURCE:
            scope = f"{endpoints.graph_resource}/.default"
        else:
            scope = f"{resource}/.default"
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


# The pacer's one key for all of the client's consents, once a 429 showed that Partner Center
# counts them together (``Api``).
SHARED_PACE = "partner-center:all-consents"


@dataclass
class Api:
    """Partner Center and Graph calls with a delegated token; a 401 fetches a new token once.

    Partner Center's limit is "50 requests per second (RPS) for each applicationId (Application
    ID of the CPV partner)": whether that is the consented app (the body's ``applicationId``) or
    the calling app (the SAM app) the docs do not say. The consents start paced per consented
    app (the faster reading); the first 429 a paced consent draws switches every later consent
    to one key for the whole client (the other reading) for the rest of the run, and holds every
    Partner Center request of the client for ``Retry-After`` (per-client throttling): with the
    other reading the run costs one throttle window, not a storm. Both readings are tested.
    """

    http: Http
    tokens: Tokens
    pacer: Pacer
    shared_pacing: bool = False  # set by the first 429 of a paced consent (a bool: atomic)

    def pace_key(self, pace: str) -> str:
        return SHARED_PACE if self.shared_pacing else pace

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
        client_wide = resource == PARTNER_CENTER_RESOURCE

        def throttled(delay: float) -> None:
            if client_wide:
                self.pacer.hold(delay)
                if pace is not None:
                    self.shared_pacing = True

        def before() -> None:
            if pace is not None:
                self.pacer.wait(self.pace_key(pace))
            else:
                self.pacer.gate()

        for _ in range(2):
            token = self.tokens.get(tenant, resource)
            response = self.http.send(
                method,
                url,
                # Partner Center lists Accept: application/json as required ("Control panel
                # vendor APIs" request headers); Graph answers JSON either way.
                headers={
                    "Authorization": f"Bearer {token}",
                    "Accept": "application/json",
                    **(headers or {}),
                },
                json_body=json_body,
                recheck=recheck,
                on_throttle=throttled,
                before=before if client_wide or pace is not None else None,
            )
            if response.status_code != 401:
                return response
            self.tokens.drop(tenant, resource)
        return response


def new_request_id() -> str:
    return str(uuid.uuid4())
