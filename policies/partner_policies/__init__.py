"""CrossGuard policies for CSP partner-managed apps and their regional Key Vault.

Importing this package builds the policies; it never starts the policy pack (building
``PolicyPack`` starts a gRPC server and blocks, which only the pack's ``__main__.py`` does). Tests,
the catalog generator and the offline preview use:

* ``ALL_POLICIES`` — every policy, the pulumi-policy SDK's own objects;
* ``POLICY_METADATA`` — name -> severity, default enforcement, remediation, URL, references and
  config of each policy;
* ``evaluate(resources, config, evaluation_date=...)`` — run the pack in-process on recorded
  resources with a policy config file's content, as
  ``pulumi preview --policy-pack policies --policy-pack-config ...`` would, on a given date.

Nothing here reads the clock at import: the evaluation date is an argument of ``evaluate`` (its
default, today in UTC, is computed when it is called) and of ``build_policies`` (the pack's
``__main__`` passes the date the CLI starts it).

The names above live in ``pack`` and load on first use (PEP 562): importing
``partner_policies.rules`` alone must not need pulumi-policy, since the program's config edge uses
those checks at run time with only the program's requirements installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pack import (
        ALL_POLICIES,
        PACK_ENFORCEMENT_LEVEL,
        PACK_NAME,
        POLICY_METADATA,
        POLICY_SPECS,
        PolicyConfigError,
        build_policies,
        evaluate,
        reconciled,
        today,
    )

_FROM_PACK = frozenset(
    {
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
    }
)


def __getattr__(name: str) -> Any:
    if name in _FROM_PACK:
        from . import pack  # noqa: PLC0415 - deferred on purpose, see the module docstring

        return getattr(pack, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
