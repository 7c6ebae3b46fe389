"""The values an analysed plan holds: rows and views of apps, permissions, credentials, secrets,
vaults and providers, typed ids and notes. No Markdown: reports decide how each value reads."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from partner_apps.review.plan.document import Plan, Resource, Violation
from partner_apps.review.plan.vocabulary import permission_flags, short_name
from policies.partner_policies.catalog import Kind


@dataclass(frozen=True)
class Id:
    """An id a report shows (client id, object id): ``assigned_at_deploy`` when the offline
    preview's mocks made it up (the plan's ``assignedAtDeploy``), so it is not a real value."""

    value: str
    assigned_at_deploy: bool = False


@dataclass(frozen=True)
class Name:
    """An identifier inside a note (a resource name, an id): reports show it as code."""

    value: str


@dataclass(frozen=True)
class Note:
    """Something a reviewer should check, as text and identifiers (reports style each)."""

    parts: tuple[str | Name, ...]

    @classmethod
    def of(cls, *parts: str | Name) -> Note:
        return cls(tuple(parts))

    def plain(self) -> str:
        """The note as plain text."""
        return "".join(part if isinstance(part, str) else part.value for part in self.parts)

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and text in self.plain()


@dataclass(frozen=True)
class PermissionRow:
    """One permission an app requires, named through the catalog."""

    api: str
    api_id: str
    permission: str
    permission_id: str
    kind: Kind
    admin_consent: bool | None
    risk: str
    high_privilege: bool
    known: bool
    csp_allowed: bool | None
    retired: bool
    in_plan_api: str | None
    reason: str
    urn: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.api_id.lower(), self.permission_id.lower(), self.kind)

    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.api.lower(), self.kind, self.permission.lower(), self.permission_id)

    def consent_text(self) -> str:
        if self.admin_consent is None:
            return "unknown"
        return "admin" if self.admin_consent else "user"

    def flags(self, *, detailed: bool = False) -> list[str]:
        """What the catalog says is unusual about the permission, in the vocabulary's words."""
        return permission_flags(
            known=self.known,
            high_privilege=self.high_privilege,
            retired=self.retired,
            csp_allowed=self.csp_allowed,
            detailed=detailed,
        )

    def labels(self) -> list[str]:
        """Short facts about the permission, for prose: kind, privilege, consent, catalog."""
        flags = self.flags()
        # Admin consent reads between the privilege and the retired API, as it always has.
        at = len([f for f in flags if f in ("unknown (not in catalog)", "high privilege")])
        if self.admin_consent:
            flags.insert(at, "admin consent")
        return [self.kind, *flags, f"{self.risk} risk"]


@dataclass(frozen=True)
class ScopeRow:
    """An oauth2 permission scope the app exposes."""

    id: str
    value: str
    type: str
    enabled: bool
    admin_consent_display_name: str


@dataclass(frozen=True)
class AppRoleRow:
    """An app role the app exposes."""

    id: str
    value: str
    allowed_member_types: tuple[str, ...]
    enabled: bool


@dataclass(frozen=True)
class CredentialRow:
    """A client secret, certificate or federated credential of an app."""

    kind: str
    name: str
    display_name: str
    end_date: str
    rotation_date: str
    urn: str
    protect: bool


@dataclass(frozen=True)
class SecretRow:
    """A Key Vault secret, with the app it belongs to when that can be told."""

    secret_name: str
    vault_name: str
    content_type: str
    expires: str
    value_managed: bool
    app: str | None
    urn: str
    protect: bool


@dataclass(frozen=True)
class RoleAssignmentRow:
    """A role assignment (the Key Vault's RBAC)."""

    name: str
    role: str
    principal_id: str
    principal_type: str
    scope: str
    urn: str
    # Who the principal is, as the stack file describes it (the assignment's description).
    description: str = ""
    # Why a person or group holding this role is a risk (``vocabulary.vault_role_risk``).
    risk: str | None = None


@dataclass(frozen=True)
class VaultView:
    """A Key Vault and what hangs off it."""

    name: str
    resource_group: str
    location: str
    settings: tuple[tuple[str, str], ...]
    urn: str
    protect: bool
    secrets: tuple[SecretRow, ...]
    role_assignments: tuple[RoleAssignmentRow, ...]


@dataclass(frozen=True)
class ClientRef:
    """A client application named by client id, with its app key when it is one of ours;
    ``assigned_at_deploy`` when the offline preview made the client id up."""

    client_id: str
    app: str | None
    assigned_at_deploy: bool = False


@dataclass(frozen=True)
class AppView:
    """Everything a reviewer reads about one partner-managed app in one stack."""

    key: str
    display_name: str
    component_urn: str | None
    application_urn: str | None
    client_id: str | None
    sign_in_audience: str
    identifier_uris: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    homepage_url: str
    implicit_access_tokens: bool | None
    implicit_id_tokens: bool | None
    scopes: tuple[ScopeRow, ...]
    app_roles: tuple[AppRoleRow, ...]
    known_clients: tuple[ClientRef, ...]
    pre_authorized: tuple[ClientRef, ...]
    permissions: tuple[PermissionRow, ...]
    service_principal_urn: str | None
    service_principal_object_id: str | None
    app_role_assignment_required: bool | None
    admin_agents: tuple[str, ...]
    credentials: tuple[CredentialRow, ...]
    secrets: tuple[SecretRow, ...]
    resources: tuple[Resource, ...]
    notes: tuple[Note, ...]
    protected: bool
    # The same ids, typed: whether the offline preview made them up.
    client: Id | None = None
    service_principal: Id | None = None
    # Redirect URIs whose host is outside the region's reach (tunnel or paste hosts, hosts off
    # the verified domains and the reviewed allow-list), with why: ``rules.redirect_host_problem``.
    redirect_risks: tuple[tuple[str, str], ...] = ()

    @property
    def in_admin_agents(self) -> bool:
        return bool(self.admin_agents)


@dataclass(frozen=True)
class ProviderRow:
    """A provider resource and the tenant it reaches."""

    name: str
    package: str
    tenant_id: str
    settings: tuple[tuple[str, str], ...]
    urn: str


@dataclass(frozen=True)
class StackView:
    """The analysed plan of one stack."""

    plan: Plan
    apps: tuple[AppView, ...]
    vaults: tuple[VaultView, ...]
    providers: tuple[ProviderRow, ...]
    unassigned_secrets: tuple[SecretRow, ...]
    notes: tuple[Note, ...] = field(default=())

    @property
    def stack(self) -> str:
        return self.plan.stack

    def app(self, key: str) -> AppView | None:
        return next((app for app in self.apps if app.key == key), None)


@dataclass(frozen=True)
class ViolationGroup:
    """Violations of one policy that say the same thing about several resources, counted once.

    Policy messages start with the resource's name (``<name>: <problem> Fix: <fix>``); with the
    name taken off, identical messages (three apps on client secrets, say) become one finding
    with the list of resources, so a report does not repeat the same fix text.
    """

    policy: str
    enforcement_level: str
    severity: str
    message: str  # without the leading "<resource>: "
    resources: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.resources)


def group_by_message(
    findings: Iterable[tuple[tuple[str, ...], str, str]],
) -> list[tuple[tuple[str, ...], str, list[str]]]:
    """Findings ``(key, resource name, message)`` that say the same thing, once: grouped by key
    and by the message without its leading ``"<resource>: "``, with their resource names, in
    first-seen order. The one grouping rule of every report (Markdown, diff, audit, terminal)."""
    groups: dict[tuple[tuple[str, ...], str], list[str]] = {}
    for key, name, message in findings:
        groups.setdefault((key, message.removeprefix(f"{name}: ")), []).append(name)
    return [(key, message, names) for (key, message), names in groups.items()]


def group_violations(violations: Iterable[Violation]) -> list[ViolationGroup]:
    """Violations grouped by policy, enforcement, severity and message; in first-seen order."""
    findings = (
        ((v.policy, v.enforcement_level, v.severity), short_name(v.urn), v.message)
        for v in violations
    )
    return [
        ViolationGroup(policy, level, severity, message, tuple(names))
        for (policy, level, severity), message, names in group_by_message(findings)
    ]
