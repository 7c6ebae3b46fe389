"""What a change means for credentials, Key Vault (its secrets, settings and roles) and the
providers' tenants: facts worded for a reviewer, from two analysed views of one stack."""

from __future__ import annotations

from collections.abc import Sequence

from partner_apps.review.analysis.views import AppView, RoleAssignmentRow, SecretRow, StackView
from partner_apps.review.changes.model import Code, Fact, ResourceChange, Words, code
from partner_apps.review.changes.properties import is_ignored
from partner_apps.review.plan.document import PASSWORD, VAULT_SECRET

NEW_CREDENTIAL = (
    "A new credential replaces the old one; clients must pick up the new value from Key Vault."
)
FOLLOWED_SECRET = (
    "Readers of the secret get the new value; the old one stops working when its credential is "
    "deleted."
)


def credential_facts(
    key: str, base: AppView | None, head: AppView | None, replaced: set[str]
) -> list[Fact]:
    old = {c.urn: c for c in (base.credentials if base else ())}
    new = {c.urn: c for c in (head.credentials if head else ())}
    facts: list[Fact] = []
    for urn in sorted(set(old) | set(new)):
        before, after = old.get(urn), new.get(urn)
        if before is None and after is not None:
            rotation = f" (rotation date {after.rotation_date})" if after.rotation_date else ""
            facts.append(
                Fact("secrets", key, (f"adds a {after.kind} expiring {after.end_date}{rotation}",))
            )
        elif after is None and before is not None:
            facts.append(
                Fact("secrets", key, (f"removes its {before.kind} (expiring {before.end_date})",))
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
                        (f"{before.kind}: {', '.join(parts) or 'replaced'}",),
                        (NEW_CREDENTIAL,) if urn in replaced else (),
                    )
                )
    return facts


def _secrets_of(view: StackView | None) -> dict[str, SecretRow]:
    if view is None:
        return {}
    rows = [s for v in view.vaults for s in v.secrets] + list(view.unassigned_secrets)
    rows += [s for app in view.apps for s in app.secrets]
    return {s.urn: s for s in rows}


def secret_facts(base: StackView | None, head: StackView | None) -> list[Fact]:
    old, new = _secrets_of(base), _secrets_of(head)
    facts: list[Fact] = []
    for urn in sorted(set(old) | set(new)):
        before, after = old.get(urn), new.get(urn)
        if before is None and after is not None:
            facts.append(
                Fact(
                    "secrets",
                    after.app or "Key Vault",
                    (
                        "adds Key Vault secret ",
                        Code(after.secret_name),
                        f", expires {after.expires}",
                    ),
                    app=after.app is not None,
                )
            )
        elif after is None and before is not None:
            facts.append(
                Fact(
                    "secrets",
                    before.app or "Key Vault",
                    ("removes Key Vault secret ", Code(before.secret_name)),
                    app=before.app is not None,
                )
            )
        elif before is not None and after is not None:
            facts += _secret_change_facts(before, after)
    return facts


def _secret_change_facts(before: SecretRow, after: SecretRow) -> list[Fact]:
    subject = after.app or "Key Vault"
    is_app = after.app is not None
    name: Words = ("Key Vault secret ", Code(after.secret_name))
    facts = []
    if before.expires != after.expires:
        facts.append(
            Fact(
                "secrets",
                subject,
                (*name, f": expiry {before.expires} → {after.expires}"),
                app=is_app,
            )
        )
    if before.content_type != after.content_type:
        facts.append(
            Fact(
                "secrets",
                subject,
                (
                    *name,
                    ": content type ",
                    Code(before.content_type),
                    " → ",
                    Code(after.content_type),
                ),
                app=is_app,
            )
        )
    if before.value_managed != after.value_managed:
        written = "now" if after.value_managed else "no longer"
        facts.append(
            Fact(
                "secrets",
                subject,
                (*name, f": value {written} written by this program"),
                app=is_app,
            )
        )
    return facts


def secret_value_facts(view: StackView | None, changes: Sequence[ResourceChange]) -> list[Fact]:
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
                (
                    "Key Vault secret ",
                    Code(name),
                    ": value changes"
                    + (" (the replaced client secret's new value)" if follows else ""),
                ),
                (FOLLOWED_SECRET,) if follows else (),
                app=bool(row and row.app),
            )
        )
    return facts


def vault_facts(base: StackView | None, head: StackView | None) -> list[Fact]:
    old = {v.urn: v for v in (base.vaults if base else ())}
    new = {v.urn: v for v in (head.vaults if head else ())}
    facts: list[Fact] = []
    for urn in sorted(set(old) | set(new)):
        before, after = old.get(urn), new.get(urn)
        if before is None or after is None:
            verb = "adds" if after else "removes"
            facts.append(Fact("secrets", "Key Vault", (f"{verb} the vault",), app=False))
            # A new vault (a new region) is reviewed by who can read it like any other.
            if after is not None:
                facts += role_facts((), after.role_assignments)
            continue
        if before.name != after.name:
            facts.append(
                Fact(
                    "secrets",
                    "Key Vault",
                    ("renamed ", Code(before.name), " → ", Code(after.name)),
                    ("A new name is a new vault: its secrets are created again.",),
                    app=False,
                )
            )
        old_settings, new_settings = whole_lists(before.settings), whole_lists(after.settings)
        for setting in sorted(set(old_settings) | set(new_settings)):
            if setting == "tenantId":
                continue
            was, now = old_settings.get(setting), new_settings.get(setting)
            if was != now:
                facts.append(
                    Fact(
                        "secrets",
                        "Key Vault",
                        (
                            code(setting),
                            ": ",
                            code(was or "(not set)"),
                            " → ",
                            code(now or "(not set)"),
                        ),
                        app=False,
                    )
                )
        facts += role_facts(before.role_assignments, after.role_assignments)
    return facts


def whole_lists(settings: Sequence[tuple[str, str]]) -> dict[str, str]:
    """A vault's settings with each list as one value (``networkAcls.ipRules``: ``a, b``).

    The analysis lists a list of objects item by item (``networkAcls.ipRules[0].value``) and an
    empty list whole (``[]``): compared as they are, adding the first IP rule read as two
    changes, one of them untrue (``ipRules [] → (not set)``). One value per list, before → after.
    """
    folded: dict[str, list[str]] = {}
    plain: dict[str, str] = {}
    for path, value in settings:
        root, bracket, rest = path.partition("[")
        if bracket:
            leaf = rest.partition("]")[2].lstrip(".")
            # An IP rule is its value; any other object shows its keys (`id=…, ignore…=…`).
            folded.setdefault(root, []).append(
                f"{leaf}={value}" if leaf not in ("", "value") else value
            )
        elif value == "[]":
            folded.setdefault(path, [])
        else:
            plain[path] = value
    for root, items in folded.items():
        plain[root] = ", ".join(items) if items else "(none)"
    return plain


def _principal(row: RoleAssignmentRow) -> Words:
    """Who: principal type, object id and, where the stack file names it, its description."""
    kind = row.principal_type or "principal of unknown type"
    named = f" ({row.description})" if row.description else ""
    return (f"{kind} ", code(row.principal_id), named)


def role_facts(
    before: Sequence[RoleAssignmentRow], after: Sequence[RoleAssignmentRow]
) -> list[Fact]:
    """Role assignments on the vault granted and revoked, by role name and principal; a person
    or group given a role that can read the secrets leads with ⚠ risk."""
    old = {(r.role, r.principal_id, r.principal_type): r for r in before}
    new = {(r.role, r.principal_id, r.principal_type): r for r in after}
    facts: list[Fact] = []
    for key in sorted(set(new) - set(old)):
        row = new[key]
        flag = ("⚠ risk: ",) if row.risk else ()
        facts.append(
            Fact(
                "secrets",
                "Key Vault",
                (*flag, f"grants {row.role} to ", *_principal(row)),
                (f"{row.risk[0].upper()}{row.risk[1:]}.",) if row.risk else (),
                app=False,
            )
        )
    for key in sorted(set(old) - set(new)):
        row = old[key]
        facts.append(
            Fact(
                "secrets",
                "Key Vault",
                (f"revokes {row.role} from ", *_principal(row)),
                app=False,
            )
        )
    return facts


def provider_facts(base: StackView | None, head: StackView | None) -> list[Fact]:
    old = {p.package: p.tenant_id for p in (base.providers if base else ())}
    new = {p.package: p.tenant_id for p in (head.providers if head else ())}
    return [
        Fact(
            "tenants",
            package,
            (
                "provider reaches tenant ",
                Code(old.get(package) or "(none)"),
                " → ",
                Code(new.get(package) or "(none)"),
            ),
            app=False,
        )
        for package in sorted(set(old) | set(new))
        if old.get(package) != new.get(package) and old.get(package) and new.get(package)
    ]
