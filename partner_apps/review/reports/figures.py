"""Static SVG pictures for the HTML reports: what people would rather look at than read.

No script, no external file, no font download: each picture is one inline ``<svg>`` that renders
in a browser, a job summary page and an archived file alike, with a ``<title>`` per mark for the
exact value on hover. The same data always draws the same picture (no timestamps, sorted input).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import date

# State -> fill: what reads at a glance (green good, amber soon, red bad, grey unknown).
COLOURS: Mapping[str, str] = {
    "verified": "#2e7d32",
    "consented": "#2e7d32",
    "ok": "#2e7d32",
    "expiring": "#f9a825",
    "failed": "#c62828",
    "expired": "#c62828",
}
UNKNOWN = "#9e9e9e"
CELL, GAP, LABEL_WIDTH, HEADER = 18, 2, 260, 120
TIMELINE_WIDTH, ROW = 720, 16


def _e(value: str) -> str:
    return html.escape(value, quote=True)


def _fill(state: str) -> str:
    return COLOURS.get(state, UNKNOWN)


def matrix(
    title: str, rows: Sequence[str], columns: Sequence[str], states: Mapping[tuple[str, str], str]
) -> str:
    """A rows × columns grid, each cell coloured by its state (``states[(row, column)]``; no
    state: an empty cell): the verify matrix, customers × apps."""
    width = LABEL_WIDTH + len(columns) * (CELL + GAP) + 10
    height = HEADER + len(rows) * (CELL + GAP) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f"<title>{_e(title)}</title>",
    ]
    for index, column in enumerate(columns):
        x = LABEL_WIDTH + index * (CELL + GAP) + CELL / 2
        parts.append(
            f'<text transform="translate({x:.0f},{HEADER - 6}) rotate(-60)">{_e(column)}</text>'
        )
    for row_index, row in enumerate(rows):
        y = HEADER + row_index * (CELL + GAP)
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + CELL - 5}" text-anchor="end">{_e(row)}</text>'
        )
        for index, column in enumerate(columns):
            state = states.get((row, column))
            x = LABEL_WIDTH + index * (CELL + GAP)
            if state is None:
                parts.append(
                    f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="none" '
                    'stroke="#e0e0e0"/>'
                )
                continue
            parts.append(
                f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="{_fill(state)}">'
                f"<title>{_e(row)} × {_e(column)}: {_e(state)}</title></rect>"
            )
    parts.append("</svg>")
    return "".join(parts)


def timeline(
    title: str, items: Sequence[tuple[str, date | None, str]], as_of: date, warn_days: int
) -> str:
    """When each credential or secret expires: one row each (label, expiry, state), on an axis
    from ``as_of`` to the latest expiry, with the warning window shaded. An item without a date
    is listed at the left in grey."""
    dated = [when for _, when, _ in items if when is not None]
    start = min([as_of, *dated])
    end = max([as_of, *dated])
    span = max((end - start).days, warn_days, 1)
    left, right = LABEL_WIDTH, LABEL_WIDTH + TIMELINE_WIDTH

    def x(day: date) -> float:
        return left + (day - start).days / span * (right - left)

    height = 40 + len(items) * ROW + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{right + 20}" '
        f'height="{height}" viewBox="0 0 {right + 20} {height}" font-family="sans-serif" '
        'font-size="11">',
        f"<title>{_e(title)}</title>",
    ]
    today = x(as_of)
    warn_end = min(right, today + warn_days / span * (right - left))
    parts.append(
        f'<rect x="{today:.1f}" y="20" width="{max(warn_end - today, 0):.1f}" '
        f'height="{len(items) * ROW + 10}" fill="#fff8e1"><title>within {warn_days} days of '
        f"{as_of.isoformat()}</title></rect>"
    )
    parts.append(
        f'<line x1="{today:.1f}" y1="14" x2="{today:.1f}" y2="{height - 10}" stroke="#424242"/>'
    )
    parts.append(f'<text x="{today:.1f}" y="11" text-anchor="middle">{as_of.isoformat()}</text>')
    parts.append(f'<text x="{right}" y="11" text-anchor="end">{end.isoformat()}</text>')
    for index, (label, when, state) in enumerate(items):
        y = 30 + index * ROW
        parts.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end">{_e(label)}</text>')
        if when is None:
            parts.append(
                f'<circle cx="{left}" cy="{y}" r="4" fill="{UNKNOWN}"><title>{_e(label)}: no '
                "expiry date</title></circle>"
            )
            continue
        parts.append(
            f'<line x1="{left}" y1="{y}" x2="{x(when):.1f}" y2="{y}" stroke="#e0e0e0"/>'
            f'<circle cx="{x(when):.1f}" cy="{y}" r="5" fill="{_fill(state)}"><title>{_e(label)}: '
            f"{_e(state)}, {when.isoformat()}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
