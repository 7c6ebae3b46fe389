"""Values as short text: the one place that decides how a date, a flag, a list of words or a
nested value reads in every report and view (no Markdown here; ``reports.markdown`` escapes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from partner_apps.review.plan.access import as_str, canonical
from partner_apps.review.plan.vocabulary import is_unknown


def yes_no(value: bool | None) -> str:
    """'yes', 'no' or 'not set'."""
    if value is None:
        return "not set"
    return "yes" if value else "no"


def join_words(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def format_date(value: Any) -> str:
    """An ISO date-time shown as a date when it is midnight UTC; '' for nothing."""
    text = as_str(value)
    if not text:
        return ""
    if is_unknown(text):
        return "(known after apply)"
    for suffix in ("T00:00:00Z", "T00:00:00+00:00", "T00:00:00.000Z"):
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return text


def format_unix(value: Any) -> str:
    """Unix seconds (Key Vault ``attributes.expires``) as a UTC date."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return as_str(value)
    moment = dt.datetime.fromtimestamp(value, tz=dt.UTC)
    if moment.time() == dt.time(0, 0):
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Leaf values of nested objects as (dotted path, value); arrays of scalars stay whole."""
    if isinstance(value, Mapping) and value:
        for key in sorted(value):
            yield from flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value and any(isinstance(i, Mapping | list) for i in value):
        for index, item in enumerate(value):
            yield from flatten(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


def show_value(value: Any, limit: int = 120) -> str:
    """A value as short text for tables and diffs ("[secret]" stays as is)."""
    if is_unknown(value):
        text = "(known after apply)"
    elif isinstance(value, str):
        text = value
    else:
        text = canonical(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
