"""Entry point of the policy pack: the Pulumi CLI runs it, and only it builds the pack.

``pulumi preview --policy-pack policies`` starts it with ``policies/`` as the working directory and
on ``sys.path``, so the policies import as the top-level package ``partner_policies``. Building
``PolicyPack`` starts the analyzer's gRPC server and blocks until the CLI stops it.
"""

# Resolved from policies/ (the pack's directory) at run time; from the repository root the same
# package is policies.partner_policies, which is what tests and tools import (and type-check).
from partner_policies import (  # type: ignore[import-not-found]
    PACK_ENFORCEMENT_LEVEL,
    PACK_NAME,
    build_policies,
    today,
)
from pulumi_policy import PolicyPack

# The CLI starts the pack for one preview or update: the date it starts is that run's "today"
# (a region's policy config can pin evaluationDate instead).
PolicyPack(
    name=PACK_NAME,
    enforcement_level=PACK_ENFORCEMENT_LEVEL,
    policies=build_policies(evaluation_date=today()),
    description=(
        "Guardrails for CSP partner-managed multi-tenant Entra ID apps and their regional Key "
        "Vault: one region per stack, CSP permission limits, credential hygiene."
    ),
)
