"""Retry-After as seconds or an HTTP date, capped; no header means backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import requests

from partner_apps.sam.http import MAX_RETRY_AFTER, retry_after


def _response(value: str | None) -> requests.Response:
    response = requests.Response()
    response.status_code = 429
    if value is not None:
        response.headers["Retry-After"] = value
    return response


def test_retry_after_forms() -> None:
    assert retry_after(None) is None
    assert retry_after(_response(None)) is None
    assert retry_after(_response("7")) == 7.0
    assert retry_after(_response("-3")) == 0.0
    assert retry_after(_response("100000")) == MAX_RETRY_AFTER
    assert retry_after(_response("soon")) is None
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    assert retry_after(_response(later)) == MAX_RETRY_AFTER
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert retry_after(_response(past)) == 0.0
