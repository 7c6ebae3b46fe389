"""The HTML reports' pictures: static, escaped, and drawing what the data says."""

from __future__ import annotations

import xml.dom.minidom
from datetime import date

from partner_apps.review.reports import figures


def _svg(text: str) -> xml.dom.minidom.Document:
    return xml.dom.minidom.parseString(text)  # well-formed, or this raises


def _title(element: xml.dom.minidom.Element) -> str:
    """The text of a mark's ``<title>`` (what a reader sees on hover)."""
    node = element.getElementsByTagName("title")[0].firstChild
    return str(getattr(node, "data", ""))


def test_the_verify_matrix_colours_each_customer_and_app_by_its_state() -> None:
    svg = figures.matrix(
        "Consent in us",
        ["Contoso", "Fabrikam <b>"],
        ["api", "web"],
        {
            ("Contoso", "api"): "verified",
            ("Contoso", "web"): "failed",
            ("Fabrikam <b>", "api"): "odd",
        },
    )
    document = _svg(svg)
    rects = document.getElementsByTagName("rect")
    fills = {_title(r): r.getAttribute("fill") for r in rects if r.getElementsByTagName("title")}
    assert fills == {
        "Contoso × api: verified": figures.COLOURS["verified"],
        "Contoso × web: failed": figures.COLOURS["failed"],
        "Fabrikam <b> × api: odd": figures.UNKNOWN,
    }
    assert len(rects) == 4  # the one without a state is an empty cell
    assert "<b>" not in svg  # names are escaped, never markup
    assert "&lt;b&gt;" in svg
    assert "<script" not in svg


def test_the_expiry_timeline_places_each_item_and_shades_the_warning_window() -> None:
    as_of = date(2026, 12, 1)
    svg = figures.timeline(
        "Expiries",
        [
            ("us web secret", date(2027, 12, 1), "ok"),
            ("eu sam token", date(2026, 12, 20), "expiring"),
            ("us api cert", date(2026, 11, 1), "expired"),
            ("imported", None, "unknown"),
        ],
        as_of,
        30,
    )
    document = _svg(svg)
    circles = {
        _title(c).split(":")[0]: float(c.getAttribute("cx"))
        for c in document.getElementsByTagName("circle")
    }
    assert circles["us api cert"] < circles["eu sam token"] < circles["us web secret"]
    assert circles["imported"] == figures.LABEL_WIDTH
    assert "within 30 days of 2026-12-01" in svg
    assert figures.timeline("Expiries", [], as_of, 30) == figures.timeline(
        "Expiries", [], as_of, 30
    )
