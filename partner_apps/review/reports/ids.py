"""Ids in reports: which ids the offline preview made up, and how a report shows them.

The typed ids of the views (``Id``, ``ClientRef``) say whether the mocks made them up; ``Values``
labels any other value of the plan that carries such an id, from the plan's own record
(``assignedAtDeploy``). Values are labelled before they are rendered, never rendered text.
"""

from __future__ import annotations

import re

from partner_apps.review.analysis.views import ClientRef, Id, Note
from partner_apps.review.plan.vocabulary import GUID, is_unknown
from partner_apps.review.reports.model import Inline, Span, code, em, text

# --------------------------------------------------------------------------------------------
# Ids the offline preview's mocks made up (the plan's ``assignedAtDeploy``)
# --------------------------------------------------------------------------------------------

ASSIGNED = "(assigned at deploy)"


def assigned_note() -> Inline:
    """What "(assigned at deploy)" means, said once at the top of a report that shows it."""
    return text(
        "Client, object and resource ids shown as ",
        em(ASSIGNED),
        " are not known yet: the offline preview made them up, and Entra ID and Azure assign "
        "the real ones at deploy.",
    )


def id_span(value: Id | None, missing: str = "(known after apply)") -> Span:
    """A typed id: "(assigned at deploy)" for one the offline preview made up, else as code."""
    if value is not None and value.assigned_at_deploy:
        return Span("text", ASSIGNED)
    return code(value.value if value is not None else missing)


def client_inline(ref: ClientRef) -> Inline:
    """A client application: its app key when it is one of ours, and its client id."""
    if ref.assigned_at_deploy:
        return text(code(ref.app), " (client id assigned at deploy)") if ref.app else text(ASSIGNED)
    if is_unknown(ref.client_id):
        return (
            text(code(ref.app), " (client id known after apply)") if ref.app else text("(unknown)")
        )
    return (
        text(code(ref.app), " (", code(ref.client_id), ")")
        if ref.app
        else text(code(ref.client_id))
    )


class Values:
    """A plan's free-form values (outputs, settings, messages) as spans: a value that is an id
    the offline preview made up reads "(assigned at deploy)", and one that carries such an id
    (a resource id, a message) has it replaced in place. The plan's list says which ids."""

    def __init__(self, assigned: frozenset[str]) -> None:
        self.assigned = assigned

    def _label(self, match: re.Match[str]) -> str:
        return ASSIGNED if match.group(0).lower() in self.assigned else match.group(0)

    def text(self, value: str) -> str:
        return GUID.sub(self._label, value) if self.assigned else value

    def code(self, value: str) -> Span:
        if value.lower() in self.assigned:
            return Span("text", ASSIGNED)
        return code(self.text(value))

    def note(self, note: Note) -> Inline:
        """A note's text, its identifiers as code."""
        return text(
            *(self.text(p) if isinstance(p, str) else self.code(p.value) for p in note.parts)
        )
