"""CrossGuard policies for CSP partner-managed apps and their regional Key Vault.

Importing this package builds the policies; it never starts the policy pack (building
``PolicyPack`` starts a gRPC server and blocks, which only the pack's ``__main__.py`` does). Tests,
the catalog generator and the offline preview use:

* ``ALL_POLICIES`` — every policy, the pulumi-policy SDK's own objects;
* ``POLICY_METADATA`` — name -> severity, default enforcement, remediation, URL, references and
  config of each policy;
* ``evaluate(resources, config)`` — run the pack in-process on recorded resources with a policy
  config file's content, as ``pulumi preview --policy-pack policies --policy-pack-config ...``
  would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from . import access, apps, credentials, keyvault, stack
from ._framework import PolicyConfigError, PolicySpec, spec_of
from .credentials import Clock, system_clock
from .engine import evaluate_policies

PACK_NAME: Final = "csp-partner-apps"
# Every policy sets its own level; this only applies to a policy that would forget to.
PACK_ENFORCEMENT_LEVEL: Final = EnforcementLevel.MANDATORY


def build_policies(
    clock: Clock = system_clock,
) -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """Every policy of the pack; ``clock`` is 'today' for secrets without a start date."""
    return [
        *apps.policies(),
        *access.policies(),
        *credentials.policies(clock),
        *keyvault.policies(),
        *stack.policies(),
    ]


ALL_POLICIES: Final[list[ResourceValidationPolicy | StackValidationPolicy]] = build_policies()
POLICY_SPECS: Final[dict[str, PolicySpec]] = {p.name: spec_of(p) for p in ALL_POLICIES}
POLICY_METADATA: Final[dict[str, dict[str, Any]]] = {
    name: spec.metadata() for name, spec in POLICY_SPECS.items()
}


def evaluate(
    resources: Iterable[Mapping[str, Any]],
    config: Mapping[str, Any],
    *,
    policies: list[ResourceValidationPolicy | StackValidationPolicy] | None = None,
) -> list[dict[str, str]]:
    """Run the pack on recorded resources; see ``engine`` for how records map to the SDK's args."""
    return evaluate_policies(
        ALL_POLICIES if policies is None else policies,
        resources,
        config,
        pack=PACK_NAME,
        pack_level=PACK_ENFORCEMENT_LEVEL,
    )


__all__ = [
    "ALL_POLICIES",
    "PACK_ENFORCEMENT_LEVEL",
    "PACK_NAME",
    "POLICY_METADATA",
    "POLICY_SPECS",
    "PolicyConfigError",
    "build_policies",
    "evaluate",
]
