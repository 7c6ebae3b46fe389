"""Markdown of the customer plan, the apply results and the verify matrix, from their JSON.

The documents are built by ``partner_apps.review.reports.customers`` and rendered by
``reports.model``; these wrappers keep the callers that want the Markdown text working.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from partner_apps.review.reports.customers import (
    MAX_ROWS,
    apply_report,
    plan_report,
    verify_report,
)
from partner_apps.review.reports.model import to_markdown

__all__ = ["MAX_ROWS", "apply_markdown", "plan_markdown", "verify_markdown"]


def plan_markdown(plan: Mapping[str, Any]) -> str:
    return to_markdown(plan_report(plan))


def apply_markdown(document: Mapping[str, Any]) -> str:
    return to_markdown(apply_report(document))


def verify_markdown(document: Mapping[str, Any]) -> str:
    return to_markdown(verify_report(document))
