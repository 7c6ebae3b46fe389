"""What changes in a region's configuration itself: its identity and its policy config.

A pull request can change a region without changing one resource: a new allow-listed permission,
a dropped high-privilege entry, a disabled policy, another tenant or owner. The plan records both
(``region`` and ``policies[].properties``), and this module compares them, region by region:

* **stack identity** — tenant, subscription, location, cloud, verified domains, production and
  protection, AdminAgents group, owners, the vault and its network access. A new stack shows all
  of it; a changed one shows what changed. The diff puts it at the top of the region.
* **policy config** — every change of a policy's enforcement or of one of its properties. Which
  change *loosens* a property is declared by the policy itself (``ConfigProperty.loosens``), so
  the diff marks it **weaker** without a second list to keep in step; a disabled or advisory
  policy that was mandatory is weaker too.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from functools import cache
from typing import Any

from partner_apps.review.changes.model import (
    Code,
    IdentityChange,
    PolicyConfigChange,
    code,
    joined,
    marked,
    words,
)
from partner_apps.review.plan.document import PolicyInfo, Violation, canonical, urn_name
from partner_apps.review.plan.values import join_words
from policies.partner_policies import POLICY_SPECS

# Effective enforcement, strongest last (remediate enforces as mandatory does).
ENFORCEMENT_ORDER: Mapping[str, int] = {
    "disabled": 0,
    "advisory": 1,
    "remediate": 2,
    "mandatory": 2,
}

IDENTITY_LABELS: tuple[tuple[str, str], ...] = (
    ("tenantId", "tenant"),
    ("subscriptionId", "subscription"),
    ("location", "location"),
    ("cloud", "cloud"),
    ("verifiedDomains", "verified domains"),
    ("production", "production"),
    ("protect", "protect"),
    ("adminAgents", "AdminAgents group"),
    ("owners", "owners"),
    ("keyVault", "Key Vault"),
    ("keyVaultNetwork", "Key Vault network"),
)


def identity_changes(
    base: Mapping[str, Any] | None, head: Mapping[str, Any]
) -> list[IdentityChange]:
    """The identity of a new stack (``base`` None), or what of it changed."""
    changes = []
    for key, label in IDENTITY_LABELS:
        after = head.get(key)
        if base is None:
            if after is not None:
                changes.append(IdentityChange(key, label, None, after))
            continue
        before = base.get(key)
        if before is not None and after is not None and canonical(before) != canonical(after):
            changes.append(IdentityChange(key, label, before, after))
    return changes


@cache
def _loosening() -> Mapping[tuple[str, str], str | None]:
    """(policy, property) -> the change that loosens it, as the policies declare it."""
    return {
        (spec.name, prop.name): prop.loosens
        for spec in POLICY_SPECS.values()
        for prop in spec.config
    }


def _items(value: Any) -> set[str]:
    return {canonical(v) if not isinstance(v, str) else v for v in value or ()}


def _property_changes(
    stack: str, name: str, prop_name: str, before: Any, after: Any
) -> list[PolicyConfigChange]:
    """What changed in one property of policy ``name``; lists item by item."""
    loosens = _loosening().get((name, prop_name))
    if isinstance(before, list | tuple) or isinstance(after, list | tuple):
        old, new = _items(before), _items(after)
        return [
            PolicyConfigChange(stack, name, prop_name, ("adds ", Code(v)), loosens == "add")
            for v in sorted(new - old)
        ] + [
            PolicyConfigChange(stack, name, prop_name, ("removes ", Code(v)), loosens == "remove")
            for v in sorted(old - new)
        ]
    weaker = False
    if isinstance(before, bool) or isinstance(after, bool):
        weaker = (loosens == "enable" and bool(after)) or (loosens == "disable" and not after)
    elif isinstance(before, int | float) and isinstance(after, int | float):
        weaker = (loosens == "increase" and after > before) or (
            loosens == "decrease" and after < before
        )
    shown = words(
        code(before) if before is not None else "(not set)",
        " → ",
        code(after) if after is not None else "(not set)",
    )
    return [PolicyConfigChange(stack, name, prop_name, shown, weaker)]


def policy_config_changes(
    stack: str,
    base: Mapping[str, PolicyInfo] | None,
    head: Mapping[str, PolicyInfo] | None,
) -> list[PolicyConfigChange]:
    """Every change of the region's effective policy config, weaker ones first."""
    if base is None or head is None:
        return []
    changes: list[PolicyConfigChange] = []
    for name in sorted(set(base) | set(head)):
        before, after = base.get(name), head.get(name)
        old = before.enforcement_level if before else "(not in the pack)"
        new = after.enforcement_level if after else "(not in the pack)"
        if old != new:
            weaker = ENFORCEMENT_ORDER.get(new, -1) < ENFORCEMENT_ORDER.get(old, -1)
            changes.append(
                PolicyConfigChange(stack, name, "", (f"enforcement {old} → {new}",), weaker)
            )
        if before is None or after is None:
            continue
        for prop in sorted(set(before.properties) | set(after.properties)):
            old_value, new_value = before.properties.get(prop), after.properties.get(prop)
            if canonical(old_value) != canonical(new_value):
                changes += _property_changes(stack, name, prop, old_value, new_value)
    return sorted(changes, key=config_order)


def silenced_findings(
    stack: str,
    base: Sequence[Violation],
    head: Sequence[Violation],
    changed: Collection[str],
) -> list[PolicyConfigChange]:
    """Findings the base plan's pack reported on a resource that does not change and the head's
    pack no longer reports, or reports at a lower enforcement (mandatory → advisory): with the
    pack's source changed, the policy was weakened in code (its check disabled or narrowed, its
    level lowered at run time), whatever its listed enforcement says. One change per policy
    and kind, naming the resources."""

    def strongest(violations: Sequence[Violation]) -> dict[tuple[str, str], int]:
        levels: dict[tuple[str, str], int] = {}
        for v in violations:
            key = (v.policy, v.urn)
            levels[key] = max(levels.get(key, -1), ENFORCEMENT_ORDER.get(v.enforcement_level, -1))
        return levels

    before, after = strongest(base), strongest(head)
    gone: dict[tuple[str, str], set[str]] = {}
    for (policy, urn), level in before.items():
        if urn in changed:
            continue
        now = after.get((policy, urn))
        if now is None:
            gone.setdefault((policy, "no longer reports "), set()).add(urn_name(urn))
        elif now < level:
            gone.setdefault((policy, "reports at a lower enforcement "), set()).add(urn_name(urn))
    return [
        PolicyConfigChange(
            stack,
            policy,
            "",
            (
                what,
                *joined([(Code(name),) for name in sorted(names)]),
                ", which do not change: the policy pack's source changed",
            ),
            True,
        )
        for (policy, what), names in sorted(gone.items())
    ]


def config_order(change: PolicyConfigChange) -> tuple[bool, str, str, str, str]:
    """Weaker changes first, across regions, then the rest (by stack, policy and property)."""
    return (not change.weaker, change.stack, change.policy, change.prop, marked(change.text))


def weakened_summary(changes: Sequence[PolicyConfigChange]) -> str:
    """``n policy change(s) loosen enforcement in <stacks>: <policies>``, the policies named."""
    stacks = sorted({c.stack for c in changes if c.weaker})
    count = sum(1 for c in changes if c.weaker)
    names = sorted({c.policy for c in changes if c.weaker})
    return (
        f"{count} policy config change(s) loosen enforcement in {join_words(stacks)}: "
        f"{', '.join(names)}"
    )
