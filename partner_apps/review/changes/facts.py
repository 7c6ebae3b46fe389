"""What a change means for an app: facts worded for a reviewer, from two analysed views.

Permissions and scopes by name, the consent path (AdminAgents, known and pre-authorized
clients, exposed scopes, sign-in audience, URIs, the service principal) and renamed app keys.
Credentials, Key Vault secrets and providers are in ``changes/secret_facts.py``. Both adapters
(plan vs plan, ``pulumi preview --json``) call ``meaning`` with the views of their two sides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from partner_apps.review.analysis.views import AppView, ClientRef, StackView
from partner_apps.review.changes.model import Code, Fact, ResourceChange, Words, code, words
from partner_apps.review.changes.secret_facts import (
    credential_facts,
    provider_facts,
    secret_facts,
    secret_value_facts,
    vault_facts,
)
from partner_apps.review.plan.document import APP_COMPONENT, is_unknown, parse_urn


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


def _permission_facts(key: str, base: AppView | None, head: AppView | None) -> list[Fact]:
    old = {r.key: r for r in (base.permissions if base else ())}
    new = {r.key: r for r in (head.permissions if head else ())}
    facts = []
    for perm_key in sorted(set(old) | set(new), key=lambda k: (new.get(k) or old[k]).sort_key()):
        before, after = old.get(perm_key), new.get(perm_key)
        if before is None and after is not None:
            labels = ", ".join(after.labels())
            facts.append(
                Fact(
                    "permissions",
                    key,
                    ("adds ", Code(after.permission), f" ({after.api}, {labels})"),
                    (f"Reason: {after.reason}",),
                )
            )
        elif after is None and before is not None:
            facts.append(
                Fact(
                    "permissions",
                    key,
                    ("removes ", Code(before.permission), f" ({before.api}, {before.kind})"),
                )
            )
        elif before is not None and after is not None and before.reason != after.reason:
            facts.append(
                Fact(
                    "permissions",
                    key,
                    (
                        "changes the reason for ",
                        Code(after.permission),
                        f" ({after.api}, {after.kind})",
                    ),
                    (f"Was: {before.reason} Now: {after.reason}",),
                )
            )
    return facts


def client_words(ref: ClientRef) -> Words:
    """A client application: its app key when it is one of ours, and its client id."""
    if is_unknown(ref.client_id):
        return (Code(ref.app), " (client id known after apply)") if ref.app else ("(unknown)",)
    if ref.app:
        return (Code(ref.app), " (", Code(ref.client_id), ")")
    return (Code(ref.client_id),)


def _refs(refs: Iterable[ClientRef]) -> dict[str, ClientRef]:
    return {r.client_id.lower(): r for r in refs}


def _set_facts(
    section: str, key: str, what: str, old: Iterable[str], new: Iterable[str]
) -> list[Fact]:
    before, after = set(old), set(new)
    facts = [Fact(section, key, (f"adds {what} ", Code(v))) for v in sorted(after - before)]
    facts += [Fact(section, key, (f"removes {what} ", Code(v))) for v in sorted(before - after)]
    return facts


JOINS_ADMIN_AGENTS = ("joins AdminAgents: pre-consented for every DAP customer",)


def _consent_facts(key: str, base: AppView | None, head: AppView | None) -> list[Fact]:
    facts: list[Fact] = []
    if base is None or head is None:
        if head is not None and head.in_admin_agents:
            facts.append(Fact("consent", key, JOINS_ADMIN_AGENTS))
        if base is not None and base.in_admin_agents:
            facts.append(Fact("consent", key, ("leaves AdminAgents with the app's removal",)))
        if head is not None:
            # Where a new app sends tokens is reviewed like a change to an existing one.
            facts += _redirect_facts(key, None, head)
        return facts
    if base.in_admin_agents != head.in_admin_agents:
        facts.append(
            Fact("consent", key, JOINS_ADMIN_AGENTS)
            if head.in_admin_agents
            else Fact(
                "consent",
                key,
                ("leaves AdminAgents: DAP customers lose the pre-consent",),
                ("GDAP customers need a per-customer consent through Partner Center.",),
            )
        )
    if base.sign_in_audience != head.sign_in_audience:
        facts.append(
            Fact(
                "consent",
                key,
                (
                    "sign-in audience ",
                    Code(base.sign_in_audience or "(not set)"),
                    " → ",
                    Code(head.sign_in_audience or "(not set)"),
                ),
                ("Partner-managed apps must be multi-tenant (AzureADMultipleOrgs).",),
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
            Fact("consent", key, words("adds known client ", client_words(new_known[client])))
        )
    for client in sorted(set(old_known) - set(new_known)):
        facts.append(
            Fact("consent", key, words("removes known client ", client_words(old_known[client])))
        )
    old_pre, new_pre = _refs(base.pre_authorized), _refs(head.pre_authorized)
    for client in sorted(set(new_pre) - set(old_pre)):
        facts.append(Fact("consent", key, words("pre-authorizes ", client_words(new_pre[client]))))
    for client in sorted(set(old_pre) - set(new_pre)):
        facts.append(
            Fact("consent", key, words("no longer pre-authorizes ", client_words(old_pre[client])))
        )
    return facts


def _redirect_facts(key: str, base: AppView | None, head: AppView) -> list[Fact]:
    """Redirect URIs added and removed; one that sends tokens outside the region's verified
    domains (or to a tunnel) leads with ⚠ risk, whether it is new or its host just left reach."""
    risks = dict(head.redirect_risks)
    was_risky = dict(base.redirect_risks) if base else {}
    old_uris = set(base.redirect_uris) if base else set()
    facts: list[Fact] = []
    for uri in sorted(set(head.redirect_uris) - old_uris):
        flag = ("⚠ risk: ",) if uri in risks else ()
        detail = (f"{risks[uri][0].upper()}{risks[uri][1:]}.",) if uri in risks else ()
        facts.append(Fact("consent", key, (*flag, "adds redirect URI ", Code(uri)), detail))
    for uri in sorted(set(head.redirect_uris) & old_uris):
        if uri in risks and uri not in was_risky:
            facts.append(
                Fact(
                    "consent",
                    key,
                    ("⚠ risk: redirect URI ", Code(uri), " is now outside the region's reach"),
                    (f"{risks[uri][0].upper()}{risks[uri][1:]}.",),
                )
            )
    facts += [
        Fact("consent", key, ("removes redirect URI ", Code(v)))
        for v in sorted(old_uris - set(head.redirect_uris))
    ]
    return facts


def _web_facts(key: str, base: AppView, head: AppView) -> list[Fact]:
    """Where tokens go: redirect, identifier and homepage URIs, and the implicit grant."""
    facts = _redirect_facts(key, base, head)
    facts += _set_facts(
        "consent", key, "identifier URI", base.identifier_uris, head.identifier_uris
    )
    if base.homepage_url != head.homepage_url:
        facts.append(
            Fact(
                "consent",
                key,
                (
                    "homepage ",
                    Code(base.homepage_url or "(none)"),
                    " → ",
                    Code(head.homepage_url or "(none)"),
                ),
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
                    (f"turns {'on' if after else 'off'} the implicit grant of {label}",),
                    ("Keep implicit grant off unless a client needs it.",) if after else (),
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
                (
                    "service principal requires app role assignment: "
                    f"{base.app_role_assignment_required} → {head.app_role_assignment_required}",
                ),
            )
        )
    if bool(base.service_principal_urn) != bool(head.service_principal_urn):
        facts.append(
            Fact(
                "consent",
                key,
                (
                    "adds its service principal"
                    if head.service_principal_urn
                    else "removes its service principal",
                ),
            )
        )
    return facts


SCOPE_RENUMBERED = (
    "Clients that require the old id lose access, and Graph refuses to delete an enabled scope "
    "(CannotDeleteOrUpdateEnabledEntitlement): disable it first."
)
SCOPE_REMOVED = (
    "Graph refuses to delete an enabled scope, and every client that requires it loses access: "
    "disable it in one deployment (after moving its clients), remove or rename it in the next."
)


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
                words(
                    "changes the id of scope ",
                    Code(value),
                    " (",
                    Code(old_values[value].id),
                    " → ",
                    Code(new_values[value].id),
                    ")",
                ),
                (SCOPE_RENUMBERED,),
                breaking=old_values[value].enabled,
            )
        )
    for scope_id in sorted(set(new) - set(old)):
        scope = new[scope_id]
        if scope.value not in renumbered:
            facts.append(
                Fact("consent", key, ("exposes scope ", Code(scope.value), f" ({scope.type})"))
            )
    for scope_id in sorted(set(old) - set(new)):
        scope = old[scope_id]
        if scope.value not in renumbered:
            facts.append(
                Fact(
                    "consent",
                    key,
                    ("stops exposing scope ", Code(scope.value)),
                    (SCOPE_REMOVED,) if scope.enabled else (),
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
                    ("renames scope ", Code(before.value), " to ", Code(after.value)),
                    ("Graph refuses to update an enabled scope: disable it first.",)
                    if before.enabled
                    else (),
                    breaking=before.enabled,
                )
            )
        if before.type != after.type:
            facts.append(
                Fact(
                    "consent",
                    key,
                    ("scope ", Code(after.value), f" consent type {before.type} → {after.type}"),
                    ("Admin-type scopes need an administrator to consent.",)
                    if after.type == "Admin"
                    else (),
                )
            )
        if before.enabled != after.enabled:
            facts.append(
                Fact(
                    "consent",
                    key,
                    (f"{'enables' if after.enabled else 'disables'} scope ", Code(after.value)),
                )
            )
    return facts


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
    ops = _component_ops(changes)
    facts: list[Fact] = _rename_facts(base, head, ops, aliased)
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
            facts.append(Fact("apps", key, (f"new app ({after.display_name if after else key})",)))
        if ("delete", key) in ops:
            facts.append(
                Fact(
                    "apps",
                    key,
                    ("app removed",),
                    (
                        "Service principals in customer tenants stay behind after the home app "
                        "is deleted.",
                    ),
                )
            )
        facts += _permission_facts(key, before, after)
        facts += _consent_facts(key, before, after)
        facts += credential_facts(key, before, after, replaced)
    facts += secret_facts(base, head)
    facts += secret_value_facts(head or base, changes)
    facts += vault_facts(base, head)
    facts += provider_facts(base, head)
    return facts


RENAME_WITH_ALIAS = (
    Code("previousKeys"),
    " keeps what Pulumi, Entra and Key Vault see under the oldest key (resources, scope ids, "
    "identifier URI, secret names): same client id, every consent stays. Stack outputs and "
    "routing use the new key.",
)


def _rename_facts(
    base: StackView | None,
    head: StackView | None,
    ops: frozenset[tuple[str, str]],
    aliased: Mapping[str, str],
) -> list[Fact]:
    """Renamed app keys: kept by an alias, or (deleted + created, same display name) a rename
    that would make a new registration."""
    facts = [
        Fact("apps", new, ("renamed from ", Code(old)), RENAME_WITH_ALIAS)
        for old, new in sorted(aliased.items())
    ]
    if base is None or head is None:
        return facts
    deleted = [a for a in base.apps if a.resources and ("delete", a.key) in ops]
    created = [a for a in head.apps if a.resources and ("create", a.key) in ops]
    for old in deleted:
        for new in created:
            if old.display_name and old.display_name == new.display_name:
                facts.append(
                    Fact(
                        "apps",
                        new.key,
                        (
                            "looks like a rename of ",
                            Code(old.key),
                            " (same display name ",
                            code(new.display_name),
                            ")",
                        ),
                        (
                            "As written it deletes the registration and creates another: a new "
                            "client id in this region, so the partner tenant's admin consent, "
                            "every customer's consent and every client configured with the old "
                            "id must be redone. To keep the app, add ",
                            Code(f"previousKeys: [{old.key}]"),
                            " under ",
                            Code(f"apps.{new.key}"),
                            " in apps.yaml (the stack then aliases its resources).",
                        ),
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
