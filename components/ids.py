"""Deterministic identifiers: the contract that keeps previews stable and ids unchanged forever.

Nothing here reads the clock or a random source. Each id is a UUID version 5 (SHA-1 name-based,
RFC 9562) of a fixed namespace and a documented name, so the same inputs give the same id on every
machine and every run:

* oauth2 permission scope id = uuid5(SCOPE_NAMESPACE, "<app key>/<scope value>")
  Graph refuses to change or delete an *enabled* scope (CannotDeleteOrUpdateEnabledEntitlement)
  and clients reference the id in their required resource access, so the id must never change.
  It depends only on the app key and the scope value: the same in every region, so a client's
  configuration can name one id for all regions. Renaming an app key or a scope value is a new
  scope (disable the old one first).
* role assignment name =
  uuid5(ROLE_ASSIGNMENT_NAMESPACE, "<scope>|<role definition guid>|<principal id>")
  with the scope in lower case; a role assignment's name is its id, so the same assignment keeps
  its name and a second `pulumi up` changes nothing.

The namespaces below are part of the contract: never change them.
"""

from __future__ import annotations

import uuid

SCOPE_NAMESPACE = uuid.UUID("6f1c9a52-3d0e-4b8a-9c71-2e5d8b4f0a17")
ROLE_ASSIGNMENT_NAMESPACE = uuid.UUID("2b7e4f90-8a1d-4c3e-b5f6-0d9c8e7a6b51")


def scope_id(app_key: str, scope_value: str) -> str:
    """Stable id of the oauth2 permission scope ``scope_value`` exposed by app ``app_key``."""
    return str(uuid.uuid5(SCOPE_NAMESPACE, f"{app_key}/{scope_value}"))


def role_assignment_name(scope: str, role_definition: str, principal_id: str) -> str:
    """Stable name (a GUID) of the role assignment of ``role_definition`` to a principal."""
    name = f"{scope.lower()}|{role_definition.lower()}|{principal_id.lower()}"
    return str(uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, name))
