"""Property-level comparison of two resources' inputs, as the engine would see it.

Leaf-level changes (arrays of scalars compare whole), which top-level inputs force a
replacement (per provider type), what ``ignoreChanges`` hides, and the URNs that aliases move.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from partner_apps.review.changes.model import MISSING, PropertyChange
from partner_apps.review.plan.document import (
    API_ACCESS,
    CERTIFICATE,
    GROUP_MEMBER,
    IDENTIFIER_URI,
    KNOWN_CLIENTS,
    PASSWORD,
    PERMISSION_SCOPE,
    PRE_AUTHORIZED,
    REDIRECT_URIS,
    RESOURCE_GROUP,
    ROLE_ASSIGNMENT,
    SERVICE_PRINCIPAL,
    VAULT,
    VAULT_SECRET,
    Resource,
    canonical,
    parse_urn,
)

# Top-level inputs a provider cannot change in place ("*": every input).
REPLACE_ON: Mapping[str, frozenset[str]] = {
    PASSWORD: frozenset({"*"}),
    CERTIFICATE: frozenset({"*"}),
    GROUP_MEMBER: frozenset({"*"}),
    API_ACCESS: frozenset({"applicationId", "apiClientId"}),
    KNOWN_CLIENTS: frozenset({"applicationId"}),
    IDENTIFIER_URI: frozenset({"applicationId", "identifierUri"}),
    REDIRECT_URIS: frozenset({"applicationId", "type"}),
    PERMISSION_SCOPE: frozenset({"applicationId", "scopeId"}),
    PRE_AUTHORIZED: frozenset({"applicationId", "authorizedClientId"}),
    SERVICE_PRINCIPAL: frozenset({"clientId"}),
    RESOURCE_GROUP: frozenset({"resourceGroupName", "location"}),
    VAULT: frozenset({"vaultName", "resourceGroupName", "location"}),
    VAULT_SECRET: frozenset({"secretName", "vaultName", "resourceGroupName"}),
    ROLE_ASSIGNMENT: frozenset(
        {"principalId", "principalType", "roleDefinitionId", "scope", "roleAssignmentName"}
    ),
}


def scalars(values: Sequence[Any]) -> bool:
    """True when no value is a mapping or a list (such arrays compare as sets of values)."""
    return all(not isinstance(v, Mapping | list) for v in values)


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def property_changes(old: Any, new: Any, prefix: str = "") -> list[PropertyChange]:
    """Leaf-level changes between two input objects (arrays of scalars compare whole)."""
    old, new = _drop_nulls(old), _drop_nulls(new)
    return _changes(old, new, prefix)


def _changes(old: Any, new: Any, prefix: str) -> list[PropertyChange]:
    if canonical(old) == canonical(new):
        return []
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        found: list[PropertyChange] = []
        for key in sorted(set(old) | set(new)):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old:
                found.append(PropertyChange(path, "add", MISSING, new[key]))
            elif key not in new:
                found.append(PropertyChange(path, "delete", old[key], MISSING))
            else:
                found.extend(_changes(old[key], new[key], path))
        return found
    if (
        isinstance(old, list)
        and isinstance(new, list)
        and len(old) == len(new)
        and not (scalars(old) and scalars(new))
    ):
        found = []
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            found.extend(_changes(before, after, f"{prefix}[{index}]"))
        return found
    return [PropertyChange(prefix, "update", old, new)]


def top_key(path: str) -> str:
    """The top-level property of a dotted path (``api.oauth2PermissionScopes[0].id`` → ``api``)."""
    end = len(path)
    for marker in (".", "["):
        index = path.find(marker)
        if index != -1:
            end = min(end, index)
    return path[:end]


def forces_replacement(type_: str, path: str) -> bool:
    """True when changing ``path`` replaces a resource of ``type_``."""
    keys = REPLACE_ON.get(type_, frozenset())
    return "*" in keys or top_key(path) in keys


def is_ignored(path: str, ignore_changes: Iterable[str]) -> bool:
    """True when ``ignoreChanges`` covers ``path``."""
    return any(
        path == ignored or path.startswith((ignored + ".", ignored + "["))
        for ignored in ignore_changes
    )


def _set_path(target: dict[str, Any], parts: Sequence[str], value: Any) -> None:
    node = target
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, Mapping):
            return
        node[part] = dict(child)
        node = node[part]
    if value is MISSING:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value


def _get_path(source: Any, parts: Sequence[str]) -> Any:
    for part in parts:
        if not isinstance(source, Mapping) or part not in source:
            return MISSING
        source = source[part]
    return source


def effective(old: Resource, new: Resource) -> Resource:
    """``new`` as the engine would apply it: ignored properties keep their old values."""
    if not new.ignore_changes:
        return new
    inputs = dict(new.inputs)
    for path in new.ignore_changes:
        parts = path.split(".")
        _set_path(inputs, parts, _get_path(old.inputs, parts))
    return dataclasses.replace(new, inputs=inputs)


def alias_urns(head: Iterable[Resource]) -> dict[str, str]:
    """Old URN -> new URN for the resources the program renamed with aliases.

    As the engine does: a resource's alias name replaces its own name in its URN, and a child
    whose name starts with its (aliased) parent's name inherits the alias by that prefix — so a
    renamed app key keeps every resource of its component.
    """
    resources = list(head)
    renamed: dict[str, str] = {}  # new component name -> old name
    moved: dict[str, str] = {}
    for resource in resources:
        for old_name in resource.alias_names:
            moved[_with_name(resource.urn, old_name)] = resource.urn
            renamed[resource.name] = old_name
    for resource in resources:
        parent = parse_urn(resource.parent) if resource.parent else None
        old_parent = renamed.get(parent.name) if parent else None
        if parent and old_parent and resource.name.startswith(parent.name + "-"):
            old_name = old_parent + resource.name[len(parent.name) :]
            moved[_with_name(resource.urn, old_name)] = resource.urn
    return moved


def _with_name(urn: str, name: str) -> str:
    return urn.rsplit("::", 1)[0] + "::" + name
