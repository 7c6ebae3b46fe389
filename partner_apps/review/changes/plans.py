"""Compare two sets of plans (say the base branch's and the pull request's) as reviewer Markdown.

For every region stack: resources created, deleted, updated and replaced, with their property
changes; then what those changes mean, gathered across regions so one change to ``apps.yaml``
reads once ("adds `Directory.ReadWrite.All` (Microsoft Graph, application, high privilege, …) in eu
and us"): permissions and scopes by name, the consent path (AdminAgents, known clients, exposed
scopes, sign-in audience, URIs), credentials and Key Vault secrets. Deletions and replacements of
protected resources come first. Plans are compared by URN; a replacement is inferred from the
properties each provider cannot update in place (``preview_json`` takes it from the engine).

Usage::

    partner-apps diff BASE_DIR HEAD_DIR [--out FILE] [--fail-on-protected]

The output depends only on the two sets of plans: sorted, no timestamps.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from partner_apps.review.analysis.views import (
    AppView,
    ClientRef,
    SecretRow,
    StackView,
    analyze,
    group_violations,
)
from partner_apps.review.changes.policies import (
    IdentityChange,
    PolicyConfigChange,
    identity_changes,
    policy_config_changes,
    policy_config_lines,
    weakened_summary,
)
from partner_apps.review.plan.document import (
    API_ACCESS,
    APP_COMPONENT,
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
    SECRET,
    SERVICE_PRINCIPAL,
    VAULT,
    VAULT_SECRET,
    Catalog,
    Plan,
    PlanError,
    PolicyInfo,
    PreviewFailure,
    Resource,
    Violation,
    canonical,
    load_catalog,
    load_results,
    parse_urn,
)
from partner_apps.review.plan.values import format_unix, join_words, show_value
from partner_apps.review.reports.markdown import client_markdown, code, write_text
from partner_apps.review.reports.model import (
    Block,
    BulletList,
    ListItem,
    Paragraph,
    Quote,
    Report,
    Section,
    Table,
    make_table,
    parse_inline,
    strong,
    text,
    to_html,
    to_markdown,
)
from partner_apps.review.reports.stack import display_path

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


class _Missing:
    """A property that is not there (as opposed to one that is null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

SECTIONS = (
    ("apps", "Apps added or removed"),
    ("permissions", "Permissions"),
    ("consent", "Consent path and exposed API"),
    ("secrets", "Credentials, secrets and Key Vault"),
    ("tenants", "Tenants and providers"),
)


@dataclass(frozen=True)
class PropertyChange:
    """One changed input (path in the engine's dotted form)."""

    path: str
    kind: str  # add | delete | update
    old: Any
    new: Any
    replace: bool = False

    def describe(self, names: Mapping[str, str] | None = None) -> str:
        """Markdown for one line: what changes from what to what (ids named when known)."""
        names = names or {}
        label = code(self.path)
        suffix = " (forces replacement)" if self.replace else ""
        old, new = self.old, self.new
        if isinstance(old, list) and isinstance(new, list) and _scalars(old) and _scalars(new):
            added = [v for v in new if v not in old]
            removed = [v for v in old if v not in new]
            parts = []
            if added:
                parts.append("adds " + ", ".join(_value(v, names, self.path) for v in added))
            if removed:
                parts.append("removes " + ", ".join(_value(v, names, self.path) for v in removed))
            if parts:
                return f"{label}: {'; '.join(parts)}{suffix}"
            return f"{label}: reordered{suffix}"
        if self.kind == "add" or old is MISSING:
            return f"{label}: added {_value(new, names, self.path)}{suffix}"
        if self.kind == "delete" or new is MISSING:
            return f"{label}: removed (was {_value(old, names, self.path)}){suffix}"
        if old == SECRET and new == SECRET:
            return f"{label}: secret value changes{suffix}"
        return f"{label}: {_value(old, names, self.path)} → {_value(new, names, self.path)}{suffix}"


def _scalars(values: Sequence[Any]) -> bool:
    return all(not isinstance(v, Mapping | list) for v in values)


def _value(value: Any, names: Mapping[str, str], path: str) -> str:
    if value is MISSING:
        return "(not set)"
    text = code(show_value(value, limit=100))
    if isinstance(value, str) and value.lower() in names:
        return f"{text} ({names[value.lower()]})"
    if path.endswith("expires") and isinstance(value, int) and not isinstance(value, bool):
        return f"{text} ({format_unix(value)})"
    if isinstance(value, list) and value and _scalars(value):
        named = [names[v.lower()] for v in value if isinstance(v, str) and v.lower() in names]
        if named:
            return f"{text} ({', '.join(named)})"
    return text


def id_names(views: Iterable[StackView | None]) -> dict[str, str]:
    """Ids seen in inputs (permissions, scopes, client ids) → what they name."""
    names: dict[str, str] = {}
    for view in views:
        if view is None:
            continue
        for app in view.apps:
            if app.client_id:
                names.setdefault(app.client_id.lower(), f"client id of {app.key}")
            for row in app.permissions:
                label = f"{row.permission}, {row.kind}" if row.known else "not in catalog"
                names.setdefault(row.permission_id.lower(), label)
                if row.in_plan_api is None and row.api_id:
                    names.setdefault(row.api_id.lower(), row.api)
            for scope in app.scopes:
                names.setdefault(scope.id.lower(), f"scope {scope.value} of {app.key}")
    return names


@dataclass(frozen=True)
class ResourceChange:
    """What happens to one resource: create, delete, update or replace."""

    urn: str
    op: str
    old: Resource | None
    new: Resource | None
    properties: tuple[PropertyChange, ...] = ()
    replace_reasons: tuple[str, ...] = ()
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


@dataclass(frozen=True)
class Fact:
    """One meaningful change, worded without the region so regions can be gathered."""

    section: str
    subject: str
    text: str
    detail: str = ""
    app: bool = True
    # Breaks every client that requires the scope (its consents name the old id): an enabled
    # scope removed, renamed or renumbered in one step. Disable it first; --fail-on-protected
    # refuses it (exit 5).
    breaking: bool = False


@dataclass
class StackDiff:
    """Everything that changes in one stack."""

    stack: str
    changes: list[ResourceChange]
    facts: list[Fact]
    base_violations: tuple[Violation, ...] | None
    head_violations: tuple[Violation, ...] | None
    status: str = "changed"  # changed | added | removed | failed | base-failed
    notes: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    # The policies each side's plan lists with their effective enforcement (None: not listed).
    base_policies: Mapping[str, PolicyInfo] | None = None
    head_policies: Mapping[str, PolicyInfo] | None = None
    # The error of a preview that failed (``<stack>.error.json``) on the head or the base side.
    failure: str | None = None
    base_failure: str | None = None
    # Where the head's policy results come from when it is not a recorded plan ("" otherwise).
    violations_source: str = ""
    # The region's identity (all of it for a new stack) and its policy config, as they change.
    identity: list[IdentityChange] = field(default_factory=list)
    policy_changes: list[PolicyConfigChange] = field(default_factory=list)

    @property
    def weakened(self) -> bool:
        return any(change.weaker for change in self.policy_changes)

    def count(self, op: str) -> int:
        return sum(1 for c in self.changes if c.op == op)


# --------------------------------------------------------------------------------------------
# Property-level comparison
# --------------------------------------------------------------------------------------------


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
        and not (_scalars(old) and _scalars(new))
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


def diff_resources(base: Iterable[Resource], head: Iterable[Resource]) -> list[ResourceChange]:
    """Resource changes between two recorded plans of one stack, by URN (aliases followed)."""
    head = list(head)
    moved = alias_urns(head)
    old_by_urn = {moved.get(r.urn, r.urn): r for r in base}
    new_by_urn = {r.urn: r for r in head}
    changes: list[ResourceChange] = []
    for urn in sorted(set(old_by_urn) | set(new_by_urn)):
        old, new = old_by_urn.get(urn), new_by_urn.get(urn)
        if old is None and new is not None:
            changes.append(ResourceChange(urn, "create", None, new))
        elif new is None and old is not None:
            changes.append(ResourceChange(urn, "delete", old, None))
        elif old is not None and new is not None:
            change = _update(old, new)
            if change is not None:
                changes.append(change)
    return changes


def _update(old: Resource, new: Resource) -> ResourceChange | None:
    props = [
        PropertyChange(p.path, p.kind, p.old, p.new, forces_replacement(new.type, p.path))
        for p in property_changes(old.inputs, new.inputs)
        if not is_ignored(p.path, new.ignore_changes)
    ]
    if old.protect != new.protect:
        props.append(PropertyChange("(protect)", "update", old.protect, new.protect))
    if not props:
        return None
    reasons = tuple(sorted({top_key(p.path) for p in props if p.replace}))
    op = "replace" if reasons else "update"
    return ResourceChange(old.urn, op, old, new, tuple(props), reasons)


# --------------------------------------------------------------------------------------------
# Meaning: permissions, consent path, secrets
# --------------------------------------------------------------------------------------------


def _permission_facts(key: str, base: AppView | None, head: AppView | None) -> list[Fact]:
    old = {r.key: r for r in (base.permissions if base else ())}
    new = {r.key: r for r in (head.permissions if head else ())}
    facts = []
    for perm_key in sorted(set(old) | set(new), key=lambda k: (new.get(k) or old[k]).sort_key()):
        before, after = old.get(perm_key), new.get(perm_key)
        if before is None and after is not None:
            facts.append(
                Fact(
                    "permissions",
                    key,
                    f"adds {code(after.permission)} ({after.api}, {', '.join(after.labels())})",
                    f"Reason: {after.reason}",
                )
            )
        elif after is None and before is not None:
            facts.append(
                Fact(
                    "permissions",
                    key,
                    f"removes {code(before.permission)} ({before.api}, {before.kind})",
                )
            )
        elif before is not None and after is not None and before.reason != after.reason:
            facts.append(
                Fact(
                    "permissions",
                    key,
                    f"changes the reason for {code(after.permission)} ({after.api}, {after.kind})",
                    f"Was: {before.reason} Now: {after.reason}",
                )
            )
    return facts


def _refs(refs: Iterable[ClientRef]) -> dict[str, ClientRef]:
    return {r.client_id.lower(): r for r in refs}


def _set_facts(
    section: str, key: str, what: str, old: Iterable[str], new: Iterable[str]
) -> list[Fact]:
    before, after = set(old), set(new)
    facts = [Fact(section, key, f"adds {what} {code(v)}") for v in sorted(after - before)]
    facts += [Fact(section, key, f"removes {what} {code(v)}") for v in sorted(before - after)]
    return facts


def _consent_facts(key: str, base: AppView | None, head: AppView | None) -> list[Fact]:
    facts: list[Fact] = []
    if base is None or head is None:
        if head is not None and head.in_admin_agents:
            facts.append(
                Fact("consent", key, "joins AdminAgents: pre-consented for every DAP customer")
            )
        if base is not None and base.in_admin_agents:
            facts.append(Fact("consent", key, "leaves AdminAgents with the app's removal"))
        return facts
    if base.in_admin_agents != head.in_admin_agents:
        facts.append(
            Fact("consent", key, "joins AdminAgents: pre-consented for every DAP customer")
            if head.in_admin_agents
            else Fact(
                "consent",
                key,
                "leaves AdminAgents: DAP customers lose the pre-consent",
                "GDAP customers need a per-customer consent through Partner Center.",
            )
        )
    if base.sign_in_audience != head.sign_in_audience:
        facts.append(
            Fact(
                "consent",
                key,
                f"sign-in audience {code(base.sign_in_audience or '(not set)')} → "
                f"{code(head.sign_in_audience or '(not set)')}",
                "Partner-managed apps must be multi-tenant (AzureADMultipleOrgs).",
            )
        )
    facts += _scope_facts(key, base, head)
    facts += _client_facts(key, base, head)
    facts += _web_facts(key, base, head)
    facts += _service_principal_facts(key, base, head)
    return facts


def _client_facts(key: str, base: AppView, head: AppView) -> list[Fact]:
    """Known clients (multi-tier consent) and pre-authorized clients."""
    facts: list[Fact] = []
    old_known, new_known = _refs(base.known_clients), _refs(head.known_clients)
    for client in sorted(set(new_known) - set(old_known)):
        facts.append(
            Fact("consent", key, f"adds known client {client_markdown(new_known[client])}")
        )
    for client in sorted(set(old_known) - set(new_known)):
        facts.append(
            Fact("consent", key, f"removes known client {client_markdown(old_known[client])}")
        )
    old_pre, new_pre = _refs(base.pre_authorized), _refs(head.pre_authorized)
    for client in sorted(set(new_pre) - set(old_pre)):
        facts.append(Fact("consent", key, f"pre-authorizes {client_markdown(new_pre[client])}"))
    for client in sorted(set(old_pre) - set(new_pre)):
        facts.append(
            Fact("consent", key, f"no longer pre-authorizes {client_markdown(old_pre[client])}")
        )
    return facts


def _web_facts(key: str, base: AppView, head: AppView) -> list[Fact]:
    """Where tokens go: redirect, identifier and homepage URIs, and the implicit grant."""
    facts = _set_facts("consent", key, "redirect URI", base.redirect_uris, head.redirect_uris)
    facts += _set_facts(
        "consent", key, "identifier URI", base.identifier_uris, head.identifier_uris
    )
    if base.homepage_url != head.homepage_url:
        facts.append(
            Fact(
                "consent",
                key,
                f"homepage {code(base.homepage_url or '(none)')} → "
                f"{code(head.homepage_url or '(none)')}",
            )
        )
    for label, before, after in (
        ("access tokens", base.implicit_access_tokens, head.implicit_access_tokens),
        ("ID tokens", base.implicit_id_tokens, head.implicit_id_tokens),
    ):
        if bool(before) != bool(after):
            facts.append(
                Fact(
                    "consent",
                    key,
                    f"turns {'on' if after else 'off'} the implicit grant of {label}",
                    "Keep implicit grant off unless a client needs it." if after else "",
                )
            )
    return facts


def _service_principal_facts(key: str, base: AppView, head: AppView) -> list[Fact]:
    facts: list[Fact] = []
    if base.app_role_assignment_required != head.app_role_assignment_required:
        facts.append(
            Fact(
                "consent",
                key,
                "service principal requires app role assignment: "
                f"{base.app_role_assignment_required} → {head.app_role_assignment_required}",
            )
        )
    if bool(base.service_principal_urn) != bool(head.service_principal_urn):
        facts.append(
            Fact(
                "consent",
                key,
                "adds its service principal"
                if head.service_principal_urn
                else "removes its service principal",
            )
        )
    return facts


def _scope_facts(key: str, base: AppView, head: AppView) -> list[Fact]:
    facts: list[Fact] = []
    old = {s.id.lower(): s for s in base.scopes}
    new = {s.id.lower(): s for s in head.scopes}
    old_values = {s.value: s for s in base.scopes}
    new_values = {s.value: s for s in head.scopes}
    renumbered = {
        value
        for value in set(old_values) & set(new_values)
        if old_values[value].id.lower() != new_values[value].id.lower()
    }
    for value in sorted(renumbered):
        facts.append(
            Fact(
                "consent",
                key,
                f"changes the id of scope {code(value)} "
                f"({code(old_values[value].id)} → {code(new_values[value].id)})",
                "Clients that require the old id lose access, and Graph refuses to delete an "
                "enabled scope (CannotDeleteOrUpdateEnabledEntitlement): disable it first.",
                breaking=old_values[value].enabled,
            )
        )
    for scope_id in sorted(set(new) - set(old)):
        scope = new[scope_id]
        if scope.value not in renumbered:
            facts.append(Fact("consent", key, f"exposes scope {code(scope.value)} ({scope.type})"))
    for scope_id in sorted(set(old) - set(new)):
        scope = old[scope_id]
        if scope.value not in renumbered:
            facts.append(
                Fact(
                    "consent",
                    key,
                    f"stops exposing scope {code(scope.value)}",
                    "Graph refuses to delete an enabled scope, and every client that requires it "
                    "loses access: disable it in one deployment (after moving its clients), "
                    "remove or rename it in the next."
                    if scope.enabled
                    else "",
                    breaking=scope.enabled,
                )
            )
    for scope_id in sorted(set(old) & set(new)):
        before, after = old[scope_id], new[scope_id]
        if before.value != after.value:
            facts.append(
                Fact(
                    "consent",
                    key,
                    f"renames scope {code(before.value)} to {code(after.value)}",
                    "Graph refuses to update an enabled scope: disable it first."
                    if before.enabled
                    else "",
                    breaking=before.enabled,
                )
            )
        if before.type != after.type:
            facts.append(
                Fact(
                    "consent",
                    key,
                    f"scope {code(after.value)} consent type {before.type} → {after.type}",
                    "Admin-type scopes need an administrator to consent."
                    if after.type == "Admin"
                    else "",
                )
            )
        if before.enabled != after.enabled:
            facts.append(
                Fact(
                    "consent",
                    key,
                    f"{'enables' if after.enabled else 'disables'} scope {code(after.value)}",
                )
            )
    return facts


def _credential_facts(
    key: str, base: AppView | None, head: AppView | None, replaced: set[str]
) -> list[Fact]:
    old = {c.urn: c for c in (base.credentials if base else ())}
    new = {c.urn: c for c in (head.credentials if head else ())}
    facts: list[Fact] = []
    for urn in sorted(set(old) | set(new)):
        before, after = old.get(urn), new.get(urn)
        if before is None and after is not None:
            facts.append(
                Fact(
                    "secrets",
                    key,
                    f"adds a {after.kind} expiring {after.end_date}"
                    + (f" (rotation date {after.rotation_date})" if after.rotation_date else ""),
                )
            )
        elif after is None and before is not None:
            facts.append(
                Fact("secrets", key, f"removes its {before.kind} (expiring {before.end_date})")
            )
        elif before is not None and after is not None:
            parts = []
            if before.end_date != after.end_date:
                parts.append(f"expiry {before.end_date} → {after.end_date}")
            if before.rotation_date != after.rotation_date:
                parts.append(f"rotation date {before.rotation_date} → {after.rotation_date}")
            if parts or urn in replaced:
                facts.append(
                    Fact(
                        "secrets",
                        key,
                        f"{before.kind}: {', '.join(parts) or 'replaced'}",
                        "A new credential replaces the old one; clients must pick up the new "
                        "value from Key Vault."
                        if urn in replaced
                        else "",
                    )
                )
    return facts


def _secrets_of(view: StackView | None) -> dict[str, SecretRow]:
    if view is None:
        return {}
    rows = [s for v in view.vaults for s in v.secrets] + list(view.unassigned_secrets)
    rows += [s for app in view.apps for s in app.secrets]
    return {s.urn: s for s in rows}


def _secret_facts(base: StackView | None, head: StackView | None) -> list[Fact]:
    old, new = _secrets_of(base), _secrets_of(head)
    facts: list[Fact] = []
    for urn in sorted(set(old) | set(new)):
        before, after = old.get(urn), new.get(urn)
        if before is None and after is not None:
            facts.append(
                Fact(
                    "secrets",
                    after.app or "Key Vault",
                    f"adds Key Vault secret {code(after.secret_name)}, expires {after.expires}",
                    app=after.app is not None,
                )
            )
        elif after is None and before is not None:
            facts.append(
                Fact(
                    "secrets",
                    before.app or "Key Vault",
                    f"removes Key Vault secret {code(before.secret_name)}",
                    app=before.app is not None,
                )
            )
        elif before is not None and after is not None:
            facts += _secret_change_facts(before, after)
    return facts


def _secret_change_facts(before: SecretRow, after: SecretRow) -> list[Fact]:
    subject = after.app or "Key Vault"
    is_app = after.app is not None
    name = f"Key Vault secret {code(after.secret_name)}"
    facts = []
    if before.expires != after.expires:
        facts.append(
            Fact(
                "secrets", subject, f"{name}: expiry {before.expires} → {after.expires}", app=is_app
            )
        )
    if before.content_type != after.content_type:
        facts.append(
            Fact(
                "secrets",
                subject,
                f"{name}: content type {code(before.content_type)} → {code(after.content_type)}",
                app=is_app,
            )
        )
    if before.value_managed != after.value_managed:
        written = "now" if after.value_managed else "no longer"
        facts.append(
            Fact("secrets", subject, f"{name}: value {written} written by this program", app=is_app)
        )
    return facts


def _secret_value_facts(view: StackView | None, changes: Sequence[ResourceChange]) -> list[Fact]:
    """A Key Vault secret whose value changes (for example, it holds a replaced client secret)."""
    rows = _secrets_of(view)
    replaced_passwords = {c.urn for c in changes if c.op == "replace" and c.type == PASSWORD}
    facts = []
    for change in changes:
        if change.type != VAULT_SECRET or change.op != "update":
            continue
        if not any(is_ignored(p.path, ["properties.value"]) for p in change.properties):
            continue
        row = rows.get(change.urn)
        name = row.secret_name if row else change.name
        follows = bool(replaced_passwords & set(change.resource.dependencies))
        facts.append(
            Fact(
                "secrets",
                (row.app if row else None) or "Key Vault",
                f"Key Vault secret {code(name)}: value changes"
                + (" (the replaced client secret's new value)" if follows else ""),
                "Readers of the secret get the new value; the old one stops working when its "
                "credential is deleted."
                if follows
                else "",
                app=bool(row and row.app),
            )
        )
    return facts


def _vault_facts(base: StackView | None, head: StackView | None) -> list[Fact]:
    old = {v.urn: v for v in (base.vaults if base else ())}
    new = {v.urn: v for v in (head.vaults if head else ())}
    facts: list[Fact] = []
    for urn in sorted(set(old) | set(new)):
        before, after = old.get(urn), new.get(urn)
        if before is None or after is None:
            facts.append(
                Fact(
                    "secrets", "Key Vault", f"{'adds' if after else 'removes'} the vault", app=False
                )
            )
            continue
        if before.name != after.name:
            facts.append(
                Fact(
                    "secrets",
                    "Key Vault",
                    f"renamed {code(before.name)} → {code(after.name)}",
                    "A new name is a new vault: its secrets are created again.",
                    app=False,
                )
            )
        old_settings, new_settings = dict(before.settings), dict(after.settings)
        for setting in sorted(set(old_settings) | set(new_settings)):
            if setting == "tenantId":
                continue
            was, now = old_settings.get(setting), new_settings.get(setting)
            if was != now:
                facts.append(
                    Fact(
                        "secrets",
                        "Key Vault",
                        f"{code(setting)}: {code(was or '(not set)')} → {code(now or '(not set)')}",
                        app=False,
                    )
                )
        old_roles = {(r.role, r.principal_id) for r in before.role_assignments}
        new_roles = {(r.role, r.principal_id) for r in after.role_assignments}
        facts += [
            Fact("secrets", "Key Vault", f"grants {role} to {code(principal)}", app=False)
            for role, principal in sorted(new_roles - old_roles)
        ]
        facts += [
            Fact("secrets", "Key Vault", f"revokes {role} from {code(principal)}", app=False)
            for role, principal in sorted(old_roles - new_roles)
        ]
    return facts


def _provider_facts(base: StackView | None, head: StackView | None) -> list[Fact]:
    old = {p.package: p.tenant_id for p in (base.providers if base else ())}
    new = {p.package: p.tenant_id for p in (head.providers if head else ())}
    return [
        Fact(
            "tenants",
            package,
            f"provider reaches tenant {code(old.get(package) or '(none)')} → "
            f"{code(new.get(package) or '(none)')}",
            app=False,
        )
        for package in sorted(set(old) | set(new))
        if old.get(package) != new.get(package) and old.get(package) and new.get(package)
    ]


def meaning(
    base: StackView | None,
    head: StackView | None,
    changes: Sequence[ResourceChange],
    renamed: Mapping[str, str] | None = None,
) -> list[Fact]:
    """The facts a reviewer needs, from two analysed views of one stack.

    ``renamed`` maps old app keys to new ones (``previousKeys`` in apps.yaml): the app is
    compared with itself under its old key.
    """
    replaced = {c.urn for c in changes if c.op == "replace"}
    aliased = dict(renamed or {})
    keys = sorted(
        {aliased.get(a.key, a.key) for a in (base.apps if base else ())}
        | {a.key for a in (head.apps if head else ())}
    )
    previous = {new: old for old, new in aliased.items()}
    facts: list[Fact] = _rename_facts(base, head, changes, aliased)
    ops = _component_ops(changes)
    for key in keys:
        before = base.app(previous.get(key, key)) if base else None
        after = head.app(key) if head else None
        if before is not None and not before.resources:
            before = None
        if after is not None and not after.resources:
            after = None
        if before is None and after is None:
            continue
        if ("create", key) in ops:
            facts.append(Fact("apps", key, f"new app ({after.display_name if after else key})"))
        if ("delete", key) in ops:
            facts.append(
                Fact(
                    "apps",
                    key,
                    "app removed",
                    "Service principals in customer tenants stay behind after the home app is "
                    "deleted.",
                )
            )
        facts += _permission_facts(key, before, after)
        facts += _consent_facts(key, before, after)
        facts += _credential_facts(key, before, after, replaced)
    facts += _secret_facts(base, head)
    facts += _secret_value_facts(head or base, changes)
    facts += _vault_facts(base, head)
    facts += _provider_facts(base, head)
    return facts


def renamed_keys(base: Plan | None, head: Plan | None) -> dict[str, str]:
    """Old app key -> new app key, for the head's apps whose previousKeys name a base app."""
    if base is None or head is None:
        return {}
    found = {}
    for key, block in sorted(head.apps.items()):
        for old in block.get("previousKeys") or ():
            if str(old) in base.apps and str(old) not in head.apps:
                found[str(old)] = key
    return found


RENAME_WITH_ALIAS = (
    "`previousKeys` keeps what Pulumi, Entra and Key Vault see under the oldest key (resources, "
    "scope ids, identifier URI, secret names): same client id, every consent stays. Stack "
    "outputs and routing use the new key."
)


def _rename_facts(
    base: StackView | None,
    head: StackView | None,
    changes: Sequence[ResourceChange],
    aliased: Mapping[str, str],
) -> list[Fact]:
    """Renamed app keys: kept by an alias, or (deleted + created, same display name) a rename
    that would make a new registration."""
    facts = [
        Fact("apps", new, f"renamed from {code(old)}", RENAME_WITH_ALIAS)
        for old, new in sorted(aliased.items())
    ]
    if base is None or head is None:
        return facts
    ops = _component_ops(changes)
    deleted = [a for a in base.apps if a.resources and ("delete", a.key) in ops]
    created = [a for a in head.apps if a.resources and ("create", a.key) in ops]
    for old in deleted:
        for new in created:
            if old.display_name and old.display_name == new.display_name:
                facts.append(
                    Fact(
                        "apps",
                        new.key,
                        f"looks like a rename of {code(old.key)} (same display name "
                        f"{code(new.display_name)})",
                        "As written it deletes the registration and creates another: a new "
                        "client id in this region, so the partner tenant's admin consent, every "
                        "customer's consent and every client configured with the old id must be "
                        "redone. To keep the app, add `previousKeys: ["
                        f"{old.key}]` under `apps.{new.key}` in apps.yaml (the stack then "
                        "aliases its resources).",
                    )
                )
    return facts


def _component_ops(changes: Sequence[ResourceChange]) -> frozenset[tuple[str, str]]:
    """(op, app key) of every app component the changes create or delete: its name is the key
    or ``<stack>-<key>``. Built once per diff (a scan of every change per app was quadratic)."""
    found: set[tuple[str, str]] = set()
    for change in changes:
        if change.type != APP_COMPONENT:
            continue
        parsed = parse_urn(change.urn)
        if parsed is None:
            continue
        found.add((change.op, parsed.name))
        prefix = f"{parsed.stack}-"
        if parsed.name.startswith(prefix):
            found.add((change.op, parsed.name[len(prefix) :]))
    return frozenset(found)


# --------------------------------------------------------------------------------------------
# Building stack diffs
# --------------------------------------------------------------------------------------------


def _empty_plan(stack: str, like: Plan) -> Plan:
    return Plan(
        project=like.project,
        stack=stack,
        region=like.region,
        apps={},
        resources=(),
        outputs={},
        violations=(),
    )


def _effective_head(base: Plan, head: Plan) -> Plan:
    old = base.by_urn()
    resources = tuple(effective(old[r.urn], r) if r.urn in old else r for r in head.resources)
    return dataclasses.replace(head, resources=resources)


def follow_replaced_passwords(
    changes: Sequence[ResourceChange], base: Plan, head: Plan
) -> list[ResourceChange]:
    """``changes`` plus the value update of each Key Vault secret that holds a replaced password.

    A plan records a secret's value as ``[secret]`` on both sides, so the secret itself shows no
    change; but its value is the password's output, so the engine updates it when the password
    is replaced. The secret is found through its recorded ``dependencies``.
    """
    replaced = {c.urn for c in changes if c.op == "replace" and c.type == PASSWORD}
    if not replaced:
        return list(changes)
    by_urn = {c.urn: c for c in changes}
    old = base.by_urn()
    value = PropertyChange("properties.value", "update", SECRET, SECRET)
    for resource in head.resources:
        if resource.type != VAULT_SECRET or not replaced & set(resource.dependencies):
            continue
        if is_ignored(value.path, resource.ignore_changes) or resource.urn not in old:
            continue
        existing = by_urn.get(resource.urn)
        if existing is None:
            by_urn[resource.urn] = ResourceChange(
                resource.urn, "update", old[resource.urn], resource, (value,)
            )
        elif existing.op in ("update", "replace") and all(
            p.path != value.path for p in existing.properties
        ):
            by_urn[resource.urn] = dataclasses.replace(
                existing, properties=(*existing.properties, value)
            )
    return [by_urn[urn] for urn in sorted(by_urn)]


def _listed_policies(plan: Plan | None) -> Mapping[str, PolicyInfo] | None:
    return {p.name: p for p in plan.policies} if plan and plan.policies is not None else None


def _moved_project(plan: Plan, project: str) -> Plan:
    """``plan`` with every URN in project ``project`` (a renamed Pulumi project)."""
    old = f"::{plan.project}::"
    new = f"::{project}::"

    def urn(value: str | None) -> str | None:
        return value.replace(old, new, 1) if value else value

    resources = tuple(
        dataclasses.replace(
            r,
            urn=urn(r.urn) or r.urn,
            parent=urn(r.parent),
            provider=urn(r.provider),
            dependencies=tuple(urn(d) or d for d in r.dependencies),
        )
        for r in plan.resources
    )
    violations = tuple(dataclasses.replace(v, urn=urn(v.urn) or v.urn) for v in plan.violations)
    return dataclasses.replace(plan, project=project, resources=resources, violations=violations)


PROJECT_RENAMED = (
    "The Pulumi project name changes ({old} → {new}, `name` in Pulumi.yaml): it is part of every "
    "URN, so on its own this change makes Pulumi look for another stack, and its resources would "
    "be created again. The changes below are compared as if the project had kept its name. To "
    "rename it safely, move each stack with `pulumi stack rename <org>/{new_name}/<stack>` (it "
    "rewrites the URNs in the state) before the next `pulumi up`."
)


def diff_stack(base: Plan | None, head: Plan | None, catalog: Catalog) -> StackDiff:
    """The diff of one stack between two recorded plans (either may be missing)."""
    like = head or base
    assert like is not None
    notes = []
    if base is not None and head is not None and base.project != head.project:
        notes.append(
            PROJECT_RENAMED.format(
                old=code(base.project), new=code(head.project), new_name=head.project
            )
        )
        base = _moved_project(base, head.project)
    base_plan = base or _empty_plan(like.stack, like)
    head_plan = _effective_head(base_plan, head) if head else _empty_plan(like.stack, like)
    changes = diff_resources(base_plan.resources, head_plan.resources)
    changes = follow_replaced_passwords(changes, base_plan, head_plan)
    base_view = analyze(base_plan, catalog) if base else None
    head_view = analyze(head_plan, catalog) if head else None
    return StackDiff(
        stack=like.stack,
        changes=changes,
        facts=meaning(base_view, head_view, changes, renamed_keys(base, head)),
        base_violations=base_plan.violations if base else (),
        head_violations=head_plan.violations if head else (),
        status="added" if base is None else "removed" if head is None else "changed",
        names=id_names([base_view, head_view]),
        base_policies=_listed_policies(base),
        head_policies=_listed_policies(head),
        notes=notes,
        identity=identity_changes(base.region if base else None, head.region) if head else [],
        policy_changes=policy_config_changes(
            like.stack, _listed_policies(base), _listed_policies(head)
        ),
    )


def _failed_stack(stack: str, failure: PreviewFailure, base: PreviewFailure | None) -> StackDiff:
    """A stack whose head preview failed: nothing is compared (a missing plan is no deletion)."""
    return StackDiff(
        stack=stack,
        changes=[],
        facts=[],
        base_violations=(),
        head_violations=(),
        status="failed",
        failure=failure.error,
        base_failure=base.error if base else None,
    )


def diff_plans(
    base: Sequence[Plan],
    head: Sequence[Plan],
    catalog: Catalog,
    *,
    base_failures: Sequence[PreviewFailure] = (),
    head_failures: Sequence[PreviewFailure] = (),
) -> list[StackDiff]:
    """Stack by stack, in stack order.

    A stack whose head preview failed is reported as failed, never as deleted; one whose base
    preview failed is compared with nothing (every resource created), with a note saying why.
    """
    old = {p.stack: p for p in base}
    new = {p.stack: p for p in head}
    old_failed = {f.stack: f for f in base_failures}
    new_failed = {f.stack: f for f in head_failures}
    diffs = []
    for stack in sorted(set(old) | set(new) | set(old_failed) | set(new_failed)):
        if stack in new_failed:
            diffs.append(_failed_stack(stack, new_failed[stack], old_failed.get(stack)))
            continue
        if stack not in new and stack not in old:
            continue  # failed on the base side only, and gone on the head side
        stack_diff = diff_stack(old.get(stack), new.get(stack), catalog)
        if stack in old_failed:
            stack_diff.status = "base-failed"
            stack_diff.base_failure = old_failed[stack].error
        diffs.append(stack_diff)
    return diffs


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------

OP_TITLES = (
    ("create", "Created"),
    ("replace", "Replaced"),
    ("update", "Updated"),
    ("delete", "Deleted"),
)


def _violation_key(v: Violation) -> tuple[str, str, str]:
    parsed = parse_urn(v.urn)
    return (v.policy, parsed.type + "::" + parsed.name if parsed else v.urn, v.message)


def _grouped_lines(stack: str, violations: Sequence[Violation], prefix: str = "") -> list[str]:
    """One line per finding; the same finding on several resources once, with a count."""
    lines = []
    for group in group_violations(violations):
        severity = f" ({group.severity})" if group.severity != "unspecified" else ""
        where = ", ".join(code(name) for name in group.resources)
        if group.count > 1:
            where = f"{group.count} resources ({where})"
        lines.append(
            f"- **{stack}**: {prefix}{group.enforcement_level} violation of "
            f"{code(group.policy)}{severity} on {where}: {group.message}"
        )
    return lines


def _policy_lines(diffs: Sequence[StackDiff]) -> list[str]:
    lines: list[str] = []
    unknown = [d.stack for d in diffs if d.head_violations is None]
    changed = False
    sources = sorted(
        {(d.violations_source, d.stack) for d in diffs if d.violations_source},
    )
    for source in sorted({s for s, _ in sources}):
        where = join_words([stack for s, stack in sources if s == source])
        lines.append(f"Results for {where} come from {source}, not from this preview:")
        lines.append("")
    for diff in diffs:
        if diff.head_violations is None:
            continue
        if diff.base_violations is None:
            # A preview: no "before" results, so show what holds now.
            lines += _grouped_lines(diff.stack, diff.head_violations)
            if not diff.head_violations:
                lines.append(f"- **{diff.stack}**: no policy violation.")
            changed = True
            continue
        old = {_violation_key(v): v for v in diff.base_violations}
        new = {_violation_key(v): v for v in diff.head_violations}
        lines += _grouped_lines(
            diff.stack, [new[key] for key in sorted(set(new) - set(old))], "new "
        )
        for key in sorted(set(old) - set(new)):
            v = old[key]
            now = (diff.head_policies or {}).get(v.policy)
            if now is not None and now.enforcement_level == "disabled":
                lines.append(
                    f"- **{diff.stack}**: {code(v.policy)} no longer reported on "
                    f"{code(_name(v.urn))}: the policy is disabled, not satisfied"
                )
            else:
                lines.append(
                    f"- **{diff.stack}**: resolves {code(v.policy)} on {code(_name(v.urn))}"
                )
        changed = changed or set(old) != set(new)
    if not changed and not unknown:
        lines.append("No change in policy results.")
    if unknown:
        lines.append(
            f"- Not known for {join_words(unknown)}: `pulumi preview --json` carries no policy "
            "results; pass the recorded plan (`--plan build/preview`) or run `make preview`."
        )
    return lines


def _name(urn: str) -> str:
    parsed = parse_urn(urn)
    return parsed.name if parsed else urn or "(stack)"


def _protected_lines(diffs: Sequence[StackDiff]) -> list[str]:
    """Deletions and replacements of protected resources, then protection being removed."""
    destroyed, unprotected = [], []
    for diff in diffs:
        for change in diff.changes:
            if change.destroys_protected:
                verb = "deletes" if change.op == "delete" else "replaces"
                why = ""
                if change.op == "replace" and change.replace_reasons:
                    why = f" (because {', '.join(code(r) for r in change.replace_reasons)} changes"
                    why += ", inferred)" if change.inferred else ")"
                destroyed.append(
                    f"- **{diff.stack}**: {verb} protected {code(change.type)} "
                    f"{code(change.name)}{why}"
                )
            elif change.protect_removed:
                unprotected.append(
                    f"- **{diff.stack}**: removes protection from {code(change.type)} "
                    f"{code(change.name)}"
                )
    return destroyed + unprotected


def _gathered(diffs: Sequence[StackDiff], section: str) -> list[str]:
    stacks_by_fact: dict[tuple[bool, str, str, str], set[str]] = {}
    for diff in diffs:
        for fact in diff.facts:
            if fact.section == section:
                key = (not fact.app, fact.subject, fact.text, fact.detail)
                stacks_by_fact.setdefault(key, set()).add(diff.stack)
    lines = []
    for (not_app, subject, said, detail), stacks in sorted(stacks_by_fact.items()):
        where = join_words(sorted(stacks))
        line = f"- {subject if not_app else code(subject)} {said} in {where}"
        lines.append(line + (f". {detail}" if detail else ""))
    return lines


def _item(markdown: str) -> ListItem:
    return ListItem(parse_inline(markdown))


def _line_blocks(lines: Sequence[str]) -> list[Block]:
    """The reviewer lines of a part of the diff as blocks: "- " items make lists (an item's
    "  - " lines its children), "> " lines call-outs, any other line a paragraph."""
    blocks: list[Block] = []
    items: list[ListItem] = []

    def close() -> None:
        if items:
            blocks.append(BulletList(tuple(items)))
            items.clear()

    for line in lines:
        if line.startswith("  - ") and items:
            last = items[-1]
            items[-1] = ListItem(
                last.content, last.detail, (*last.children, parse_inline(line[4:]))
            )
        elif line.startswith("- "):
            items.append(_item(line[2:]))
        elif not line.strip():
            continue
        else:
            close()
            if line.startswith("> "):
                blocks.append(Quote(parse_inline(line[2:])))
            else:
                blocks.append(Paragraph(parse_inline(line)))
    close()
    return blocks


def _failure_item(stack: str, error: str) -> ListItem:
    first, *rest = error.strip().splitlines() or ["(no message)"]
    return ListItem(
        parse_inline(f"**{stack}**: preview failed: {first.strip()}"), detail="\n".join(rest)
    )


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    return make_table(headers, ([parse_inline(c) for c in row] for row in rows))


def _identity_blocks(diff: StackDiff) -> list[Block]:
    """The region's identity: all of it for a new stack, else what changes."""
    if not diff.identity:
        return []
    title = "Stack identity" if diff.status == "added" else "⚠ Stack identity changes"
    return [
        Paragraph(text(strong(title))),
        BulletList(tuple(_item(change.markdown()) for change in diff.identity)),
    ]


def _status_blocks(diff: StackDiff) -> list[Block]:
    if diff.status == "added":
        return [Paragraph(text("New stack: every resource is created."))]
    if diff.status == "base-failed":
        return [
            Paragraph(
                text(
                    "The base's preview failed, so there is nothing to compare with: every "
                    "resource is listed as created."
                )
            ),
            BulletList((_failure_item(f"{diff.stack} (base)", diff.base_failure or ""),)),
        ]
    if diff.status == "removed":
        return [Paragraph(text("Stack removed: every resource is deleted."))]
    return []


def _change_blocks(diff: StackDiff) -> list[Block]:
    blocks: list[Block] = []
    for op, title in OP_TITLES:
        changes = sorted((c for c in diff.changes if c.op == op), key=lambda c: (c.type, c.name))
        if not changes:
            continue
        blocks.append(Paragraph(text(strong(f"{title} ({len(changes)})"))))
        if op in ("create", "delete"):
            blocks.append(
                _table(
                    ("Resource", "Type", "Protected"),
                    (
                        [code(c.name), code(c.type), "**yes**" if c.resource.protect else "no"]
                        for c in changes
                    ),
                )
            )
            continue
        items = []
        for change in changes:
            head = f"{code(change.name)} ({code(change.type)})"
            if change.op == "replace" and change.replace_reasons:
                head += (
                    " — replaced because "
                    + ", ".join(code(r) for r in change.replace_reasons)
                    + " changes"
                    + (" (inferred)" if change.inferred else "")
                )
            children = tuple(parse_inline(p.describe(diff.names)) for p in change.properties)
            items.append(ListItem(parse_inline(head), children=children))
        blocks.append(BulletList(tuple(items)))
    return blocks


def _stack_section(diff: StackDiff) -> Section:
    if diff.status == "failed":
        failed = "Preview failed (see **⚠ Previews that failed** above): not compared."
        return Section(diff.stack, (Paragraph(parse_inline(failed)),), level=3)
    blocks = [*_identity_blocks(diff), *_status_blocks(diff)]
    blocks += [Quote(parse_inline(note)) for note in diff.notes]
    if not diff.changes:
        config_only = diff.policy_changes or (diff.identity and diff.status == "changed")
        blocks.append(Paragraph(text("No resource changes." if config_only else "No changes.")))
    blocks += _change_blocks(diff)
    return Section(diff.stack, tuple(blocks), level=3)


def _region_config_sections(diffs: Sequence[StackDiff]) -> list[Block]:
    """The regions' policy config (loosening first) and stack identity changes."""
    sections: list[Block] = []
    config_changes = [change for d in diffs for change in d.policy_changes]
    if config_changes:
        loosened = any(c.weaker for c in config_changes)
        blocks: list[Block] = []
        if loosened:
            blocks.append(
                Paragraph(text(f"{weakened_summary(config_changes)}; weaker changes first."))
            )
        blocks += _line_blocks(policy_config_lines(config_changes))
        title = "⚠ Policy config loosened" if loosened else "Policy config"
        sections.append(Section(title, tuple(blocks)))
    moved = [d for d in diffs if d.identity and d.status == "changed"]
    if moved:
        lines = [f"- **{d.stack}**: {change.markdown()}" for d in moved for change in d.identity]
        sections.append(Section("⚠ Stack identity changes", tuple(_line_blocks(lines))))
    return sections


# A summary keeps this many lines of each list; the full report has the rest.
SUMMARY_LINES = 25


def _capped(lines: list[str], cap: int | None, full_report: str) -> list[str]:
    """``lines`` cut to ``cap`` items (None: all), saying how many more the full report has."""
    if cap is None or len(lines) <= cap:
        return lines
    where = f"[the full report]({full_report})" if full_report else "the full report"
    return [*lines[:cap], f"- … and {len(lines) - cap} more in {where}."]


def _counts_table(diffs: Sequence[StackDiff]) -> Table:
    return _table(
        ("Stack", "Created", "Updated", "Replaced", "Deleted"),
        (
            [f"{d.stack} (**preview failed**)", "—", "—", "—", "—"]
            if d.status == "failed"
            else [
                d.stack,
                str(d.count("create")),
                str(d.count("update")),
                str(d.count("replace")),
                str(d.count("delete")),
            ]
            for d in diffs
        ),
    )


def _failed_section(failed: Sequence[StackDiff]) -> Section:
    explanation = (
        "These stacks have no plan on the head side: their config or policy config is "
        "invalid. Nothing is known about what they would change (including protected "
        "resources), so they are not compared."
    )
    items = tuple(_failure_item(d.stack, d.failure or "") for d in failed)
    return Section("⚠ Previews that failed", (Paragraph(text(explanation)), BulletList(items)))


def diff_report(
    diffs: Sequence[StackDiff],
    *,
    title: str = "Plan changes",
    subtitle: str = "",
    cap: int | None = None,
    full_report: str = "",
) -> Report:
    """The diff of a set of stacks as data (``cap``: see ``render_summary``); ``render_diff``
    writes it as Markdown, ``render_diff_html`` as HTML."""
    blocks: list[Block] = [Paragraph(parse_inline(subtitle))] if subtitle else []
    stacks = join_words([d.stack for d in diffs]) or "(none)"
    blocks.append(Paragraph(text(f"Stacks compared: {stacks}.")))
    failed = [d for d in diffs if d.status == "failed"]
    if failed:
        blocks.append(_failed_section(failed))
    nothing = not any(
        d.changes or d.facts or d.notes or d.policy_changes or (d.identity and d.status != "added")
        for d in diffs
    )
    if not failed and nothing:
        blocks.append(Paragraph(text(strong("No changes."))))
        policy = _policy_lines(diffs)
        if policy != ["No change in policy results."]:
            blocks.append(Section("Policy results", tuple(_line_blocks(policy))))
        return Report(title, tuple(blocks))
    blocks += _region_config_sections(diffs)
    protected = _capped(_protected_lines(diffs), cap, full_report)
    if protected:
        blocks.append(
            Section("⚠ Protected resources deleted or replaced", tuple(_line_blocks(protected)))
        )
    blocks.append(Section("Summary", (_counts_table(diffs),)))
    for section, heading in SECTIONS:
        gathered = _gathered(diffs, section)
        if gathered:
            blocks.append(
                Section(heading, tuple(_line_blocks(_capped(gathered, cap, full_report))))
            )
    policy = _capped(_policy_lines(diffs), cap, full_report)
    blocks.append(Section("Policy results", tuple(_line_blocks(policy))))
    if cap is not None:
        where = f"[the full report]({full_report})" if full_report else "the full report"
        blocks.append(Paragraph(parse_inline(f"Every resource change by region is in {where}.")))
        return Report(title, tuple(blocks))
    regions = tuple(_stack_section(diff) for diff in diffs)
    blocks.append(Section("Changes by region", regions))
    return Report(title, tuple(blocks))


def render_summary(
    diffs: Sequence[StackDiff],
    *,
    title: str = "Plan changes",
    subtitle: str = "",
    full_report: str = "",
) -> str:
    """The diff cut for a pull-request comment: every heading, counts and warnings, each list
    capped at SUMMARY_LINES, no per-resource section; ``full_report`` links the whole diff."""
    report = diff_report(
        diffs, title=title, subtitle=subtitle, cap=SUMMARY_LINES, full_report=full_report
    )
    return to_markdown(report)


def render_diff(
    diffs: Sequence[StackDiff],
    *,
    title: str = "Plan changes",
    subtitle: str = "",
    cap: int | None = None,
    full_report: str = "",
) -> str:
    """The reviewer Markdown of a set of stack diffs (``cap``: see ``render_summary``)."""
    report = diff_report(diffs, title=title, subtitle=subtitle, cap=cap, full_report=full_report)
    return to_markdown(report)


def render_diff_html(
    diffs: Sequence[StackDiff], *, title: str = "Plan changes", subtitle: str = ""
) -> str:
    """The same diff as one standalone HTML page, from the same report model."""
    return to_html(diff_report(diffs, title=title, subtitle=subtitle))


def summary(diffs: Sequence[StackDiff]) -> str:
    """One line per stack for the terminal."""
    lines = []
    for diff in diffs:
        if diff.status == "failed":
            first = (diff.failure or "").strip().splitlines() or ["(no message)"]
            lines.append(f"{diff.stack}: preview failed: {first[0]}")
            continue
        counts = [f"{diff.count(op)} {title.lower()}" for op, title in OP_TITLES if diff.count(op)]
        protected = sum(1 for c in diff.changes if c.destroys_protected)
        text = ", ".join(counts) if counts else "no changes"
        if protected:
            text += f"; {protected} protected resource(s) deleted or replaced"
        lines.append(f"{diff.stack}: {text}")
    return "\n".join(lines)


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or "partner-apps diff",
        description=(
            "Compare two sets of recorded plans (for example the base branch's and the pull "
            "request's build/preview) and print a reviewer Markdown diff by region: protected "
            "deletions and replacements first, then permissions, consent path, credentials and "
            "secrets, policy results, and every resource change."
        ),
    )
    parser.add_argument(
        "base", metavar="BASE_DIR", type=Path, help="plans before the change (folder or plan file)"
    )
    parser.add_argument(
        "head", metavar="HEAD_DIR", type=Path, help="plans after the change (folder or plan file)"
    )
    parser.add_argument("--out", type=Path, help="write the Markdown here instead of stdout")
    parser.add_argument(
        "--title", default="Plan changes", help="title of the Markdown (default: %(default)s)"
    )
    parser.add_argument(
        "--base-label", default="base", help="name of the base side (default: %(default)s)"
    )
    parser.add_argument(
        "--head-label", default="head", help="name of the head side (default: %(default)s)"
    )
    parser.add_argument(
        "--fail-on-protected",
        action="store_true",
        help="exit with status 3 when a protected resource would be deleted or replaced, and "
        "with status 4 when a head stack's preview failed (<stack>.error.json), since its "
        "protected resources cannot be checked, and with status 5 when an enabled scope is "
        "removed, renamed or renumbered (disable it in one change, remove it in the next)",
    )
    parser.add_argument(
        "--html-out",
        type=Path,
        help="also write the diff as one HTML page (the same report model as the Markdown)",
    )
    parser.add_argument(
        "--summary-out",
        type=Path,
        help=f"also write a summary for a pull-request comment (each list cut to {SUMMARY_LINES} "
        "lines, no per-resource changes; warnings, counts and headings all kept)",
    )
    parser.add_argument(
        "--full-report-url",
        default="",
        help="where the full diff can be read (linked from the summary)",
    )
    parser.add_argument(
        "--fail-on-weakened",
        action="store_true",
        help="exit with status 6 when a region's policy config is loosened (a policy's "
        "enforcement lowered, or a property changed in the direction the policy declares as "
        "looser: an allow-list entry added, a high-privilege entry removed, a limit raised...)",
    )
    return parser


EXIT_PROTECTED = 3
EXIT_PREVIEW_FAILED = 4
EXIT_BREAKING_SCOPE = 5
EXIT_WEAKENED = 6


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """The command; ``prog``: how the caller names it in usage lines
    (``partner-apps <command>``)."""
    return run(build_parser(prog).parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """The command with its arguments parsed (``build_parser``)."""
    try:
        base, base_failures = load_results([args.base])
        head, head_failures = load_results([args.head])
    except PlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not base and not head and not base_failures and not head_failures:
        print(f"error: no plan in {args.base} or {args.head}", file=sys.stderr)
        return 2
    diffs = diff_plans(
        base, head, load_catalog(), base_failures=base_failures, head_failures=head_failures
    )
    text = render_diff(
        diffs,
        title=args.title,
        subtitle=f"From **{args.base_label}** to **{args.head_label}**.",
    )
    if args.html_out:
        write_text(
            args.html_out,
            render_diff_html(
                diffs,
                title=args.title,
                subtitle=f"From **{args.base_label}** to **{args.head_label}**.",
            ),
        )
    if args.summary_out:
        write_text(
            args.summary_out,
            render_summary(
                diffs,
                title=args.title,
                subtitle=f"From **{args.base_label}** to **{args.head_label}**.",
                full_report=args.full_report_url,
            ),
        )
    if args.out:
        write_text(args.out, text)
        print(summary(diffs))
        print(f"-> {display_path(args.out)}")
    else:
        sys.stdout.write(text)
    if args.fail_on_protected and any(c.destroys_protected for d in diffs for c in d.changes):
        return EXIT_PROTECTED
    if args.fail_on_protected and any(d.status == "failed" for d in diffs):
        print(
            "error: preview failed for "
            + join_words([d.stack for d in diffs if d.status == "failed"])
            + ": protected resources cannot be checked",
            file=sys.stderr,
        )
        return EXIT_PREVIEW_FAILED
    breaking = sorted(
        {f"{d.stack}: {f.subject} {f.text}" for d in diffs for f in d.facts if f.breaking}
    )
    if args.fail_on_protected and breaking:
        print(
            "error: an enabled scope would be removed or renamed in one step, breaking every "
            "client and consent that uses its id; set enabled: false in one change and remove "
            "or rename the scope in the next:\n  " + "\n  ".join(breaking),
            file=sys.stderr,
        )
        return EXIT_BREAKING_SCOPE
    if args.fail_on_weakened and any(d.weakened for d in diffs):
        changes = [change for d in diffs for change in d.policy_changes]
        print(f"error: {weakened_summary(changes)}", file=sys.stderr)
        return EXIT_WEAKENED
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
