"""The Entra roles a customer's GDAP relationships give the partner's admins, and the roles the
planned writes need: read before any write, so a customer whose relationship lacks a role is
reported "blocked" instead of failing halfway through its writes.

Sources (Microsoft Learn):
- "Grant tenant-wide admin consent to an application": Cloud Application Administrator and
  Application Administrator may grant consent "for any permission, for any API, except Microsoft
  Graph app roles"; Privileged Role Administrator and Global Administrator may grant any. Graph's
  "Grant an appRoleAssignment for a service principal" says the same of ``appRoleAssignedTo`` with
  Microsoft Graph as the resource.
- Partner Center "Control panel vendor APIs" and "GDAP roles guidance": the application consent is
  made by a partner admin whose security group holds, through the customer's GDAP relationship,
  Global Administrator, Privileged Role Administrator or Cloud Application Administrator.
- Graph ``delegatedAdminRelationship`` (``accessDetails.unifiedRoles``: the roles the customer
  approved) and ``delegatedAdminAccessAssignment`` (``accessContainer``: the partner's security
  group; ``accessDetails.unifiedRoles``: the roles it holds; ``status``: active), read with
  ``DelegatedAdminRelationship.Read.All`` in the partner tenant. Role ids are the built-in roles'
  template ids ("Microsoft Entra built-in roles").

What is assumed: the consenting admin is a member of the security groups the active assignments
name (reading the admin's own groups needs a directory permission the SAM app does not ask for);
a role assigned to a group the admin is not in still ends in Graph's or Partner Center's 403,
which names the customer and this fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
APPLICATION_ADMINISTRATOR = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
CLOUD_APPLICATION_ADMINISTRATOR = "158c047a-c907-4556-b7ef-446551a6b5f7"

ROLE_NAMES: Mapping[str, str] = {
    GLOBAL_ADMINISTRATOR: "Global Administrator",
    PRIVILEGED_ROLE_ADMINISTRATOR: "Privileged Role Administrator",
    APPLICATION_ADMINISTRATOR: "Application Administrator",
    CLOUD_APPLICATION_ADMINISTRATOR: "Cloud Application Administrator",
}

# Microsoft Graph's application id: its app roles need the stronger roles.
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


@dataclass(frozen=True)
class Need:
    """A kind of write and the roles of which the admin needs one; ``role`` is the one named in
    a blocked customer's message (the least privileged that is enough)."""

    what: str
    role: str
    any_of: frozenset[str]


CONSENT = Need(
    "Partner Center consents, service principals and delegated grants",
    CLOUD_APPLICATION_ADMINISTRATOR,
    frozenset(
        {
            CLOUD_APPLICATION_ADMINISTRATOR,
            APPLICATION_ADMINISTRATOR,
            PRIVILEGED_ROLE_ADMINISTRATOR,
            GLOBAL_ADMINISTRATOR,
        }
    ),
)
GRAPH_APP_ROLES = Need(
    "Microsoft Graph application permissions (app role assignments)",
    PRIVILEGED_ROLE_ADMINISTRATOR,
    frozenset({PRIVILEGED_ROLE_ADMINISTRATOR, GLOBAL_ADMINISTRATOR}),
)


def need_of(kind: str, resource_app_id: str) -> Need:
    """What one planned action (``plan.Action.kind``) needs."""
    if kind in ("assign-app-role", "remove-app-role") and resource_app_id == GRAPH_APP_ID:
        return GRAPH_APP_ROLES
    return CONSENT


def role_name(role_id: str) -> str:
    return ROLE_NAMES.get(role_id, role_id)


def active_roles(
    assignments: Iterable[Mapping[str, Any]], approved: Iterable[str]
) -> frozenset[str]:
    """The roles of the active access assignments that the relationship also approved (an
    assignment can only hold roles of its relationship; both are checked all the same)."""
    allowed = {str(role).lower() for role in approved}
    found: set[str] = set()
    for assignment in assignments:
        if str(assignment.get("status", "")).lower() != "active":
            continue
        details = assignment.get("accessDetails") or {}
        for role in details.get("unifiedRoles") or [] if isinstance(details, dict) else []:
            role_id = str((role or {}).get("roleDefinitionId", "")).lower()
            if role_id and role_id in allowed:
                found.add(role_id)
    return frozenset(found)


def approved_roles(relationship: Mapping[str, Any]) -> frozenset[str]:
    """``accessDetails.unifiedRoles`` of one relationship: the roles its customer approved."""
    details = relationship.get("accessDetails") or {}
    roles = details.get("unifiedRoles") if isinstance(details, dict) else None
    return frozenset(
        str((role or {}).get("roleDefinitionId", "")).lower()
        for role in roles or []
        if isinstance(role, dict) and role.get("roleDefinitionId")
    )


# Least privileged first: the order the roles are named in.
NEEDS = (CONSENT, GRAPH_APP_ROLES)


def missing(needs: Iterable[Need], held: frozenset[str]) -> list[Need]:
    """The needs none of whose roles is held, each once, least privileged first."""
    wanted = set(needs)
    return [need for need in NEEDS if need in wanted and not (need.any_of & held)]


def blocked_text(needs: list[Need]) -> tuple[str, str]:
    """(cause, fix) of a customer whose relationships lack ``needs``."""
    roles = ", ".join(role_name(need.role) for need in needs)
    what = "; ".join(need.what for need in needs)
    cause = f"blocked: needs role {roles} in its GDAP relationship (for {what})"
    fix = (
        f"add {roles} to this customer's GDAP relationship (the customer approves it) and assign "
        "it to the consenting partner admins' security group (accessAssignments); then plan again"
    )
    return cause, fix
