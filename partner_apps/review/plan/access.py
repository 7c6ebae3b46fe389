"""Reading JSON values defensively: a plan (or a preview's state) is input, so a field of the
wrong shape reads as empty rather than failing deep inside a report."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def as_map(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return list(value) if isinstance(value, list | tuple) else []


def as_str(value: Any) -> str:
    """``value`` if it is a string, else an empty string."""
    return value if isinstance(value, str) else ""


def str_list(value: Any) -> tuple[str, ...]:
    """The strings of a JSON array, sorted and without duplicates."""
    return tuple(sorted({item for item in as_list(value) if isinstance(item, str)}))


def dig(value: Any, *path: str) -> Any:
    """The value at ``path`` inside nested objects, or None."""
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def canonical(value: Any) -> str:
    """Compact, sorted JSON: the text used to compare and show values."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
