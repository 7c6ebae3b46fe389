"""Markdown helpers, so every report escapes, sorts and joins the same way."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from partner_apps.review.analysis.views import ClientRef
from partner_apps.review.plan.values import show_value
from partner_apps.review.plan.vocabulary import is_unknown

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


def client_markdown(ref: ClientRef) -> str:
    """A client application as Markdown: its app key when it is one of ours, and its client id
    (for the diff's Markdown, which is still written as text)."""
    if is_unknown(ref.client_id):
        return f"{code(ref.app)} (client id known after apply)" if ref.app else "(unknown)"
    return f"{code(ref.app)} ({code(ref.client_id)})" if ref.app else code(ref.client_id)
