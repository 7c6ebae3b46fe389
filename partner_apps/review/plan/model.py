"""The plan model: what one stack's recorded plan holds once read (``review.plan.document``
reads and writes the file), the permission catalog as the analysis uses it, and each policy's
result per stack."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from partner_apps.review.plan.access import as_str, dig
from partner_apps.review.plan.pack import PackRecord
from partner_apps.review.plan.vocabulary import SEVERITY_ORDER
from policies.partner_policies import catalog as permissions
from policies.partner_policies.catalog import Api, Kind, Permission


class PlanError(Exception):
    """A plan or preview file that cannot be read; the message names the file."""


# --------------------------------------------------------------------------------------------
# Permission catalog (policies/partner_policies/catalog.py), as this module uses it
# --------------------------------------------------------------------------------------------


class Catalog(Protocol):
    """What the reports use of the catalog module (the module itself satisfies it)."""

    def by_id(
        self, api_app_id: str, permission_id: str, kind: Kind | None = None
    ) -> Permission | None: ...

    def find_api(self, name_or_app_id: str) -> Api | None: ...


def load_catalog() -> Catalog:
    """The project's permission catalog."""
    return permissions


# --------------------------------------------------------------------------------------------
# Plan model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """One registered resource of a plan or of a preview step's state."""

    urn: str
    type: str
    name: str
    parent: str | None
    provider: str | None
    protect: bool
    custom: bool
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    dependencies: tuple[str, ...] = ()
    ignore_changes: tuple[str, ...] = ()
    additional_secret_outputs: tuple[str, ...] = ()
    retain_on_delete: bool = False
    # Names this resource had before a rename (Pulumi aliases), as the program declared them.
    alias_names: tuple[str, ...] = ()

    def prop(self, *path: str) -> Any:
        """An input, or the output of that name when the input is absent."""
        value = dig(self.inputs, *path)
        return dig(self.outputs, *path) if value is None else value


@dataclass(frozen=True)
class Violation:
    """A policy violation the recorder saw (mandatory or advisory)."""

    policy: str
    severity: str
    enforcement_level: str
    urn: str
    message: str

    def sort_key(self) -> tuple[int, int, str, str, str]:
        return (
            0 if self.enforcement_level == "mandatory" else 1,
            SEVERITY_ORDER.get(self.severity, 9),
            self.policy,
            self.urn,
            self.message,
        )


@dataclass(frozen=True)
class PolicyInfo:
    """A policy that ran, when the plan lists them (so passes can be shown, not just failures)."""

    name: str
    severity: str
    enforcement_level: str
    description: str
    # The region's effective policy config properties, when the plan records them.
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogEntry:
    """One permission of the catalog the plan was recorded with (``permissionCatalog``): what
    the id of a permission name was, and how the pack judged it, when the plan was made."""

    api: str  # the API's application id
    api_name: str
    permission: str
    kind: str  # delegated or application
    id: str
    risk: str
    flags: tuple[str, ...]  # adminConsent, cspAllowed, customerTenant, highPrivilege (those set)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.api, self.permission, self.kind)

    @property
    def judged(self) -> tuple[str, str, tuple[str, ...]]:
        """What a change of weakens: the id the name stands for, its risk and flags."""
        return (self.id.lower(), self.risk, self.flags)


@dataclass(frozen=True)
class Recorded:
    """A plan's resources and violations as its file holds them (what the policies judge)."""

    resources: tuple[Mapping[str, Any], ...]
    violations: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Plan:
    """One stack's recorded plan, secrets masked."""

    project: str
    stack: str
    region: Mapping[str, Any]
    apps: Mapping[str, Mapping[str, Any]]
    resources: tuple[Resource, ...]
    outputs: Mapping[str, Any]
    violations: tuple[Violation, ...]
    policies: tuple[PolicyInfo, ...] | None = None
    source: str = ""
    # Ids the offline preview's mocks made up (the plan's ``assignedAtDeploy``), lower case.
    assigned_at_deploy: frozenset[str] = frozenset()
    # The permission catalog the plan was recorded with; None in a plan that has none.
    permission_catalog: tuple[CatalogEntry, ...] | None = None
    # What the plan says judged it (format 2): the policy pack, the evaluation date of its date
    # checks, and whether it is an offline plan of the declared config or live state.
    pack: PackRecord | None = None
    evaluation_date: str = ""
    origin: str = ""
    # SHA-256 of the file's bytes as read ("" for a plan made in memory and never read back).
    sha256: str = ""
    # The resources and violations exactly as the file records them, for the audit to judge
    # again (never rendered: the model's own resources are the scrubbed ones; a hand-edited plan
    # may hold a raw secret here, so it stays out of repr and comparisons).
    recorded: Recorded | None = field(default=None, repr=False, compare=False)

    def by_urn(self) -> dict[str, Resource]:
        return {resource.urn: resource for resource in self.resources}


@dataclass(frozen=True)
class PreviewFailure:
    """A stack whose preview failed: ``<stack>.error.json`` instead of a plan.

    The offline preview writes it (and deletes the stack's old plan and Markdown) when the stack's
    config or its policy config is invalid, so no report mistakes a stale plan, or a missing one,
    for what the stack would do.
    """

    project: str
    stack: str
    error: str
    source: str = ""

    @property
    def text(self) -> str:
        """``preview failed: <message>`` (the message may span lines)."""
        return f"preview failed: {self.error}"

    @property
    def summary(self) -> str:
        """One line, for the commands that read the preview's output after it printed the whole
        message (each problem is printed once): its first line and where the rest is."""
        first = (self.error.strip().splitlines() or ["(no message)"])[0].strip()
        where = f" (the whole message: {self.source})" if self.source else ""
        return f"preview failed: {first}{where}"


def _pack_policies() -> tuple[PolicyInfo, ...] | None:
    """The policy pack's own list (defaults), when the pack can be imported."""
    try:
        from policies.partner_policies import POLICY_METADATA  # noqa: PLC0415 - optional, heavy
    except ImportError:
        return None
    return tuple(
        PolicyInfo(
            name=name,
            severity=as_str(meta.get("severity")) or "unspecified",
            enforcement_level=as_str(meta.get("enforcementLevel")) or "advisory",
            description=as_str(meta.get("description")),
        )
        for name, meta in sorted(POLICY_METADATA.items())
    )


def stack_policies(plan: Plan) -> tuple[dict[str, PolicyInfo], str]:
    """One stack's policies with their effective enforcement there, and where the list comes from.

    ``"plan"``: the plan lists the policies the preview resolved from the region's policy config
    (so a policy the region disables shows as disabled); ``"pack"``: an older plan without that
    list, so the pack's defaults stand in; ``"violations"``: neither is available.
    """
    source = "plan"
    if plan.policies is not None:
        listed = {p.name: p for p in plan.policies}
    else:
        pack = _pack_policies()
        listed = {p.name: p for p in pack or ()}
        source = "pack" if pack else "violations"
    for v in plan.violations:
        listed.setdefault(v.policy, PolicyInfo(v.policy, v.severity, v.enforcement_level, ""))
    return {name: listed[name] for name in sorted(listed)}, source


def policy_status(policy: PolicyInfo | None, violations: int) -> str:
    """``fail`` (a violation of a policy that is not advisory there), ``reported`` (findings of
    an advisory policy: what it reports by design, e.g. every high-privilege grant, allow-listed
    or not), ``disabled``, ``pass``, or ``not run`` (not in the list)."""
    if violations:
        return (
            "reported" if policy is not None and policy.enforcement_level == "advisory" else "fail"
        )
    if policy is None:
        return "not run"
    return "disabled" if policy.enforcement_level == "disabled" else "pass"


def policy_list(plans: Sequence[Plan]) -> tuple[tuple[PolicyInfo, ...], str]:
    """Every policy that ran, and where the list comes from (so passes can be shown).

    Preferred: the plans' own ``policies`` list (effective per stack); then the policy pack's
    metadata; last, only the policies some plan violates ("violations").
    """
    listed: dict[str, PolicyInfo] = {}
    for plan in plans:
        for policy in plan.policies or ():
            listed.setdefault(policy.name, policy)
    source = "plan"
    if not listed:
        pack = _pack_policies()
        listed = {p.name: p for p in pack or ()}
        source = "pack" if pack else "violations"
    for plan in plans:
        for v in plan.violations:
            listed.setdefault(v.policy, PolicyInfo(v.policy, v.severity, v.enforcement_level, ""))
    return tuple(listed[name] for name in sorted(listed)), source
