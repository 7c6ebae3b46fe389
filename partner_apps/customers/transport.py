"""Keep-alive connections for the customer commands' calls to hosts reached directly.

A consent run makes some 16 requests per customer, 16,000 for 1,000 customers, and the client's
CPU per request decides how close it gets to Partner Center's rate-limit floor: one interpreter
(the GIL) has to keep 50 consents per second per app flowing. Measured on the loopback fake, one
call costs about 1.0 ms of CPU through ``requests.Session.request``, 0.6 ms through urllib3's
pool manager and 0.3 ms through ``http.client`` on a kept-alive connection: urllib3 parses and
re-encodes each URL byte by byte twice, normalises a pool key of some thirty fields and wraps the
response twice. This module is what is left: ``http.client`` connections, a pool of idle ones
per host shared by all threads, at most ``limit`` open per host. What urllib3 gave besides, it
keeps: a connection idle for a while is checked before it is used again (a server closes idle
connections), a failure closes the connection, ``gzip``/``deflate`` answers are decoded, and the
failures are raised as the exceptions ``requests`` raises for them (what ``Http.send`` retries).
A redirect is not followed (none of these APIs answers one to these calls): it is an answer like
any other status the caller does not expect.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from requests.utils import requote_uri

# What the requests are sent with: what ``requests`` sends in this project (it would offer br
# and zstd too with brotli or zstandard installed; none is, and only these two are decoded here).
DEFAULT_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "User-Agent": requests.utils.default_user_agent(),
        "Accept-Encoding": "gzip, deflate",
        "Accept": "*/*",
        "Connection": "keep-alive",
    }
)
# A connection idle longer than this is checked (is the server's end closed?) before it is used
# again; one used a moment ago is not (the check is a system call, and a release of the GIL).
CHECK_AFTER_IDLE = 1.0


def _closed(sock: socket.socket | None) -> bool:
    """Whether the server closed (or wrote unasked to) an idle connection: readable means EOF."""
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def decoded(encoding: str | None, data: bytes) -> bytes:
    """The body of an answer with ``Content-Encoding`` gzip or deflate (zlib or raw), decoded."""
    kind = (encoding or "").strip().lower()
    if kind in ("gzip", "x-gzip"):
        return zlib.decompress(data, 16 + zlib.MAX_WBITS)
    if kind == "deflate":
        try:
            return zlib.decompress(data)
        except zlib.error:
            return zlib.decompress(data, -zlib.MAX_WBITS)
    return data


Origin = tuple[str, str, int]  # scheme, host, port


@dataclass
class _Idle:
    connection: http.client.HTTPConnection
    since: float


def _close_all(idle: dict[Origin, list[_Idle]]) -> None:
    for items in idle.values():
        for item in items:
            item.connection.close()
        items.clear()


@dataclass
class Transport:
    """HTTP/1.1 calls on kept-alive connections shared by all threads: at most ``limit`` open at
    once, all hosts together. A call takes an idle connection to its host (the one used last);
    else opens one while fewer than ``limit`` are open; else closes the idle connection unused
    longest, to whichever host, and opens one in its place; else (all ``limit`` busy) waits.
    A bound per host let a run hold one to each host per worker: the workers' first requests all
    go to Entra (their tokens), then Partner Center, then Graph, and each pool kept its peak.
    """

    context: ssl.SSLContext
    timeout: float
    limit: int  # connections open at once, all hosts together
    _idle: dict[Origin, list[_Idle]] = field(default_factory=dict)
    _open: int = 0
    _lock: threading.Condition = field(
        default_factory=lambda: threading.Condition(threading.Lock())
    )

    def __post_init__(self) -> None:
        # As urllib3 does for its pools: the idle connections are closed when the transport
        # goes (the run's end), not left to the sockets' finalizers (a ResourceWarning each).
        weakref.finalize(self, _close_all, self._idle)

    def _new(self, origin: Origin) -> http.client.HTTPConnection:
        scheme, host, port = origin
        if scheme == "https":
            return http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=self.context
            )
        return http.client.HTTPConnection(host, port, timeout=self.timeout)

    def _take(self, origin: Origin) -> tuple[http.client.HTTPConnection, bool]:
        """A connection to ``origin`` and whether it is new (not connected yet)."""
        while True:
            evicted: _Idle | None = None
            with self._lock:
                while True:
                    mine = self._idle.get(origin)
                    if mine:
                        found = mine.pop()
                        break
                    if self._open < self.limit:
                        self._open += 1
                        return self._new(origin), True
                    others = [items for items in self._idle.values() if items]
                    if others:
                        evicted = min(others, key=lambda items: items[0].since).pop(0)
                        break
                    self._lock.wait()
            if evicted is not None:  # its place is this call's: the count stays
                evicted.connection.close()
                return self._new(origin), True
            stale = time.monotonic() - found.since > CHECK_AFTER_IDLE
            if not (stale and _closed(found.connection.sock)):
                return found.connection, False
            found.connection.close()
            with self._lock:
                self._open -= 1
                self._lock.notify()

    def _give_back(
        self, origin: Origin, connection: http.client.HTTPConnection, *, reusable: bool
    ) -> None:
        with self._lock:
            if reusable:
                self._idle.setdefault(origin, []).append(_Idle(connection, time.monotonic()))
            else:
                self._open -= 1
            self._lock.notify()
        if not reusable:
            connection.close()

    def request(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str],
        *,
        ready: Callable[[], None] | None = None,
    ) -> requests.Response:
        """The exchange; ``ready`` runs once the connection is open, right before the request
        is written (the caller's pacer)."""
        # requests requotes every URL (a character a URL may not hold is percent-encoded).
        url = requote_uri(url)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise requests.exceptions.InvalidURL(f"not an http(s) URL: {url.split('?')[0]}")
        origin = (
            parts.scheme,
            parts.hostname,
            parts.port or (443 if parts.scheme == "https" else 80),
        )
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection, new = self._take(origin)
        reusable = False
        try:
            answer, data = self._exchange(
                connection, method, target, body, headers, new=new, ready=ready
            )
            reusable = not answer.will_close
        finally:
            self._give_back(origin, connection, reusable=reusable)
        return self._response(url, answer, data)

    @staticmethod
    def _exchange(
        connection: http.client.HTTPConnection,
        method: str,
        target: str,
        body: bytes | None,
        headers: Mapping[str, str],
        *,
        new: bool,
        ready: Callable[[], None] | None,
    ) -> tuple[http.client.HTTPResponse, bytes]:
        """Connect (a new connection), ``ready``, send, read the whole answer; failures as
        requests' exceptions."""
        try:
            if new:
                connection.connect()
        except TimeoutError as error:
            raise requests.ConnectTimeout(error) from error
        except ssl.SSLError as error:
            raise requests.exceptions.SSLError(error) from error
        except OSError as error:
            raise requests.ConnectionError(error) from error
        if ready is not None:
            ready()
        try:
            connection.request(method, target, body=body, headers=dict(headers))
            answer = connection.getresponse()
            data = answer.read()
        except TimeoutError as error:
            raise requests.ReadTimeout(error) from error
        except ssl.SSLError as error:
            raise requests.exceptions.SSLError(error) from error
        except (OSError, http.client.HTTPException) as error:
            raise requests.ConnectionError(error) from error
        return answer, data

    @staticmethod
    def _response(url: str, answer: http.client.HTTPResponse, data: bytes) -> requests.Response:
        response = requests.Response()
        response.status_code = answer.status
        response.reason = answer.reason
        response.url = url
        headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
        for name, value in answer.getheaders():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        response.headers = headers
        try:
            response._content = decoded(headers.get("Content-Encoding"), data)
        except zlib.error as error:
            raise requests.exceptions.ContentDecodingError(error) from error
        response.encoding = requests.utils.get_encoding_from_headers(headers)
        return response

    def close(self) -> None:
        """Close the idle connections (those in use are closed when given back)."""
        with self._lock:
            idle = {origin: list(items) for origin, items in self._idle.items()}
            for items in self._idle.values():
                self._open -= len(items)
                items.clear()
        _close_all(idle)
