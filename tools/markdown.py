"""Markdown helpers and short value text, so every report escapes, sorts and joins the same way."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .plan_format import (
    as_str,
    canonical,
    is_unknown,
)

# --------------------------------------------------------------------------------------------
# Markdown helpers
# --------------------------------------------------------------------------------------------

_CELL_ESCAPES = str.maketrans({"|": "\\|", "\n": " ", "\r": " "})


def cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    text = value if isinstance(value, str) else show_value(value)
    return text.translate(_CELL_ESCAPES)


def code(value: Any) -> str:
    """Inline code that survives backticks in the value."""
    text = value if isinstance(value, str) else show_value(value)
    if not text:
        return "—"
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}".translate(_CELL_ESCAPES)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    """A Markdown table (rows as given; callers sort)."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines.extend("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)
    return lines


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


_SLUG = re.compile(r"[^A-Za-z0-9_]+")


def node_id(prefix: str, name: str) -> str:
    """A Mermaid-safe node id."""
    return f"{prefix}_{_SLUG.sub('_', name).strip('_') or 'x'}"


def mermaid_label(text: str) -> str:
    """A Mermaid node label in double quotes."""
    return '"' + text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;") + '"'


def write_text(path: Path, text: str) -> None:
    """Write ``text`` with LF line endings, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


# --------------------------------------------------------------------------------------------
# Values as short text
# --------------------------------------------------------------------------------------------


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
