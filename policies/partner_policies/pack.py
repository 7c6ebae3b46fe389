"""The pack's policies and the in-process evaluator (what ``partner_policies`` exports).

Kept apart from the package's ``__init__`` so that ``partner_policies.rules`` (the pure checks
the program's config edge shares with the policies) imports without pulumi-policy: the program's
runtime has only its own requirements.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from . import access, apps, credentials, keyvault, stack
from ._framework import PolicyConfigError, PolicySpec, spec_of
from .engine import PolicySettings, evaluate_policies, reconcile_config

PACK_NAME: Final = "csp-partner-apps"
# Every policy sets its own level; this only applies to a policy that would forget to.
PACK_ENFORCEMENT_LEVEL: Final = EnforcementLevel.MANDATORY


def build_policies(
    evaluation_date: date | None = None,
) -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """Every policy of the pack.

    ``evaluation_date`` is 'today' for the date checks of policies whose config does not pin
    ``evaluationDate``; without it those checks are skipped. ``evaluate`` always passes a date
    through the config, so ``ALL_POLICIES`` (built without one) serves it and the metadata.
    """
    return [
        *apps.policies(),
        *access.policies(),
        *credentials.policies(evaluation_date),
        *keyvault.policies(),
        *stack.policies(),
    ]


ALL_POLICIES: Final[list[ResourceValidationPolicy | StackValidationPolicy]] = build_policies()
POLICY_SPECS: Final[dict[str, PolicySpec]] = {p.name: spec_of(p) for p in ALL_POLICIES}
POLICY_METADATA: Final[dict[str, dict[str, Any]]] = {
    name: spec.metadata() for name, spec in POLICY_SPECS.items()
}


def today() -> date:
    """The current date in UTC (what a caller passes as the evaluation date by default)."""
    return datetime.now(UTC).date()


def evaluate(
    resources: Iterable[Mapping[str, Any]],
    config: Mapping[str, Any],
    *,
    policies: list[ResourceValidationPolicy | StackValidationPolicy] | None = None,
    evaluation_date: date | None = None,
    settings: Mapping[str, PolicySettings] | None = None,
) -> list[dict[str, str]]:
    """Run the pack on recorded resources; see ``engine`` for how records map to the SDK's args.

    ``evaluation_date`` is 'today' for date checks (a secret's start may not lie far after it)
    unless the region's config pins ``evaluationDate``; it defaults to the current UTC date,
    read here, at the call. Pass it to get the same results on any day.
    """
    return evaluate_policies(
        ALL_POLICIES if policies is None else policies,
        resources,
        config,
        evaluation_date=today() if evaluation_date is None else evaluation_date,
        pack=PACK_NAME,
        pack_level=PACK_ENFORCEMENT_LEVEL,
        settings=settings,
    )


def reconciled(config: Mapping[str, Any]) -> dict[str, PolicySettings]:
    """Each policy of the pack with the enforcement and properties ``config`` gives it, as the
    CLI reconciles ``--policy-pack-config``; raises ``PolicyConfigError`` for an invalid one."""
    return reconcile_config(ALL_POLICIES, config, PACK_ENFORCEMENT_LEVEL)


__all__ = [
    "ALL_POLICIES",
    "PACK_ENFORCEMENT_LEVEL",
    "PACK_NAME",
    "POLICY_METADATA",
    "POLICY_SPECS",
    "PolicyConfigError",
    "build_policies",
    "evaluate",
    "reconciled",
    "today",
]
