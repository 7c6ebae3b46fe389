"""The change model: what a change to the region stacks does, whatever it was read from.

Two adapters fill it: plan vs plan (``changes/plan_diff.py``, two recorded plans) and
``pulumi preview --json`` or its event log (``changes/preview_steps.py``). The renderers in
``review/reports/diff.py`` and ``reports/preview_json.py`` only format it, as Markdown, HTML or
JSON (``reports/change_json.py``).

Words a reviewer reads (a fact, a policy config change) are kept as typed phrases: plain text,
``Code`` (a name or a value) and ``Strong``, so no renderer parses text back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from partner_apps.review.plan.document import PackRecord, PolicyInfo, Resource, Violation
from partner_apps.review.plan.values import show_value


@dataclass(frozen=True)
class Code:
    """A name or a value, shown as code (an empty one shows as a dash)."""

    value: str


@dataclass(frozen=True)
class Strong:
    """Words that must stand out (a stack, a warning)."""

    value: str


Word = str | Code | Strong
Words = tuple[Word, ...]


def words(*parts: Word | Words) -> Words:
    """A phrase from strings, code, strong words and other phrases (empty strings dropped)."""
    found: list[Word] = []
    for part in parts:
        if isinstance(part, tuple):
            found.extend(part)
        elif part != "":
            found.append(part)
    return tuple(found)


def code(value: Any) -> Code:
    """``value`` as code; a value that is not text is shown short (``show_value``)."""
    return Code(value if isinstance(value, str) else show_value(value))


def plain_words(phrase: Words) -> str:
    """The phrase as a reader sees it, without markup (terminal lines, error messages)."""
    return "".join(part if isinstance(part, str) else part.value or "—" for part in phrase)


def marked(phrase: Words) -> str:
    """The phrase as one line of terminal text, code in backticks and strong words in stars (as
    a reader of the Markdown sees it); also a stable sort key, so lists keep the order the
    reports have always had."""
    return "".join(
        part
        if isinstance(part, str)
        else f"`{part.value}`"
        if isinstance(part, Code)
        else f"**{part.value}**"
        for part in phrase
    )


def joined(items: list[Words] | tuple[Words, ...], separator: str = ", ") -> Words:
    """Phrases joined by ``separator``."""
    found: list[Word] = []
    for index, item in enumerate(items):
        if index:
            found.append(separator)
        found.extend(item)
    return tuple(found)


class _Missing:
    """A property that is not there (as opposed to one that is null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class PropertyChange:
    """One changed input (path in the engine's dotted form)."""

    path: str
    kind: str  # add | delete | update
    old: Any
    new: Any
    replace: bool = False


@dataclass(frozen=True)
class ResourceChange:
    """What happens to one resource: create, delete, update or replace."""

    urn: str
    op: str
    old: Resource | None
    new: Resource | None
    properties: tuple[PropertyChange, ...] = ()
    replace_reasons: tuple[str, ...] = ()
    # True when the replacement is inferred from the provider's inputs (plan vs plan); the
    # engine's own reasons (a preview) are not.
    inferred: bool = True

    @property
    def resource(self) -> Resource:
        resource = self.new or self.old
        assert resource is not None
        return resource

    @property
    def type(self) -> str:
        return self.resource.type

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def was_protected(self) -> bool:
        return self.old is not None and self.old.protect

    @property
    def protect_removed(self) -> bool:
        return self.was_protected and self.new is not None and not self.new.protect

    @property
    def destroys_protected(self) -> bool:
        return self.was_protected and self.op in ("delete", "replace")


# The parts of the reviewer's reading a fact belongs to (the renderers title them).
FACT_SECTIONS = ("apps", "permissions", "consent", "secrets", "tenants")


@dataclass(frozen=True)
class Fact:
    """One meaningful change, worded without the region so regions can be gathered."""

    section: str  # one of FACT_SECTIONS
    subject: str
    text: Words
    detail: Words = ()
    app: bool = True  # the subject is an app key (shown as code), else a thing (Key Vault)
    # Breaks every client that requires the scope (its consents name the old id): an enabled
    # scope removed, renamed or renumbered in one step. Disable it first; --fail-on-protected
    # refuses it (exitcodes.BREAKING_SCOPE).
    breaking: bool = False


@dataclass(frozen=True)
class IdentityChange:
    """One value that identifies a region's stack, before and after (None: not recorded)."""

    key: str
    label: str
    before: Any
    after: Any


@dataclass(frozen=True)
class PolicyConfigChange:
    """One change of a policy's enforcement (``prop`` empty) or of one of its properties."""

    stack: str
    policy: str
    prop: str
    text: Words  # what changed
    weaker: bool


@dataclass
class StackDiff:
    """Everything that changes in one stack."""

    stack: str
    changes: list[ResourceChange]
    facts: list[Fact]
    base_violations: tuple[Violation, ...] | None
    head_violations: tuple[Violation, ...] | None
    status: str = "changed"  # changed | added | removed | failed | base-failed
    notes: list[Words] = field(default_factory=list)
    # Ids seen in the inputs (permissions, scopes, client ids) -> what they name.
    names: dict[str, str] = field(default_factory=dict)
    # The policies each side's plan lists with their effective enforcement (None: not listed).
    base_policies: Mapping[str, PolicyInfo] | None = None
    head_policies: Mapping[str, PolicyInfo] | None = None
    # The error of a preview that failed (``<stack>.error.json``) on the head or the base side.
    failure: str | None = None
    base_failure: str | None = None
    # Where the head's policy results come from when it is not a recorded plan ("" otherwise).
    violations_source: Words = ()
    # The region's identity (all of it for a new stack) and its policy config, as they change.
    identity: list[IdentityChange] = field(default_factory=list)
    policy_changes: list[PolicyConfigChange] = field(default_factory=list)
    # The policy pack each side's plan says judged it (None: not recorded, plan format 1).
    base_pack: PackRecord | None = None
    head_pack: PackRecord | None = None

    @property
    def weakened(self) -> bool:
        return any(change.weaker for change in self.policy_changes)

    @property
    def pack_changed(self) -> bool:
        """The policy pack's source (or name or version) differs between the two plans: a
        change to policy code that may change no resource and no policy's listed enforcement."""
        return (
            self.base_pack is not None
            and self.head_pack is not None
            and self.base_pack != self.head_pack
        )

    @property
    def breaking(self) -> list[Fact]:
        return [fact for fact in self.facts if fact.breaking]

    def count(self, op: str) -> int:
        return sum(1 for c in self.changes if c.op == op)
