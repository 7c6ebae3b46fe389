"""The HTTP client of Entra (through MSAL) and Partner Center: bounded retries that honour
``Retry-After``.

MSAL does not retry a throttled or failed token request, and Partner Center throttles per app
(429 with ``Retry-After``). Both get this session: 429, 5xx and connection failures or timeouts
are retried up to ``attempts`` times in all, waiting ``Retry-After`` (capped) when the server sends
one and an exponential backoff otherwise. Retrying a token request is safe: a refresh token is
not revoked by its use, and a lost authorization-code redemption fails with AADSTS54005/70008,
which tells the admin to sign in again. The sleep is injectable so tests never wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import requests

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_ATTEMPTS = 4
DEFAULT_TIMEOUT = (10.0, 30.0)  # connect, read (seconds)
MAX_RETRY_AFTER = 120.0


def retry_after(response: requests.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


class RetryingSession(requests.Session):
    """A ``requests.Session`` whose every request is retried within bounds."""

    def __init__(
        self,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff: float = 1.0,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[str, float], None] | None = None,
    ) -> None:
        super().__init__()
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.timeout = timeout
        self.sleep = sleep
        self.on_retry = on_retry

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                response = super().request(method, url, *args, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as error:
                if last:
                    raise
                self._wait(attempt, None, type(error).__name__)
                continue
            if response.status_code not in RETRY_STATUSES or last:
                return response
            self._wait(attempt, response, f"HTTP {response.status_code}")
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, attempt: int, response: requests.Response | None, why: str) -> None:
        delay = retry_after(response)
        if delay is None:
            delay = self.backoff * (2 ** (attempt - 1))
        if self.on_retry is not None:
            self.on_retry(why, delay)
        self.sleep(delay)
