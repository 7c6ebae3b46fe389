"""The sections of the stack report: each app, each Key Vault, the diagram, the providers and
the resources, with the table pieces the audit shares (permissions, violations)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from partner_apps.review.analysis.views import (
    AppView,
    ClientRef,
    PermissionRow,
    StackView,
    VaultView,
    group_violations,
)
from partner_apps.review.plan.values import yes_no
from partner_apps.review.reports.ids import Values, client_inline, id_span
from partner_apps.review.reports.markdown import mermaid_label, node_id
from partner_apps.review.reports.model import (
    Block,
    Details,
    Inline,
    InlineLike,
    Paragraph,
    Quote,
    Section,
    Span,
    Table,
    code,
    make_table,
    strong,
    text,
)
from policies.partner_policies import rules

# --------------------------------------------------------------------------------------------
# Pieces shared with the audit report
# --------------------------------------------------------------------------------------------


def risk_span(row: PermissionRow) -> Span:
    """The risk as shown in tables: high risk in bold so it stands out."""
    return strong(row.risk) if row.risk == "high" else Span("text", row.risk)


def permission_inline(row: PermissionRow) -> Inline:
    """The permission's name, with what the catalog says is unusual about it."""
    flags = row.flags(detailed=True)
    return text(code(row.permission), f" ({', '.join(flags)})" if flags else "")


def api_inline(row: PermissionRow) -> Inline:
    """The API column: catalog name, or the app of this stack that exposes the scope."""
    if row.in_plan_api is not None:
        return text(code(row.in_plan_api), " (app in this stack)")
    return text(row.api)


def consent_cell(row: PermissionRow) -> str:
    """'yes' when an admin must consent."""
    if row.admin_consent is None:
        return "unknown"
    return yes_no(row.admin_consent)


PERMISSION_HEADERS = ("API", "Permission", "Type", "Admin consent", "Risk", "Reason")


def permission_table(rows: Iterable[PermissionRow], values: Values) -> Table:
    """Permissions: API, permission, type, admin consent, risk, reason."""
    return make_table(
        PERMISSION_HEADERS,
        (
            [
                api_inline(r),
                permission_inline(r),
                r.kind,
                consent_cell(r),
                risk_span(r),
                values.text(r.reason),
            ]
            for r in rows
        ),
    )


def violation_table(view: StackView, values: Values) -> Table:
    """Policy violations: enforcement, severity, policy, resources, message (mandatory first).

    The same finding on several resources is one row, with its resources and their count.
    """
    rows: list[list[InlineLike]] = []
    for g in group_violations(view.plan.violations):
        names: list[InlineLike] = []
        for index, name in enumerate(g.resources):
            names += [", "] if index else []
            names.append(values.code(name))
        rows.append(
            [
                strong(g.enforcement_level)
                if g.enforcement_level == "mandatory"
                else g.enforcement_level,
                g.severity,
                code(g.policy),
                text(*names, f" ({g.count} resources)" if g.count > 1 else ""),
                values.text(g.message),
            ]
        )
    return make_table(("Enforcement", "Severity", "Policy", "Resource", "Message"), rows)


def earliest_expiry(app: AppView) -> str:
    """The earliest credential end date of an app ('' when it has none)."""
    dates = sorted(c.end_date for c in app.credentials if c.end_date[:1].isdigit())
    return dates[0] if dates else ""


def codes(values: Iterable[str], labels: Values) -> Inline:
    """Values as code, comma-separated; a dash for none."""
    parts: list[InlineLike] = []
    for index, value in enumerate(values):
        parts += [", "] if index else []
        parts.append(labels.code(value))
    return text(*parts) if parts else text("—")


def app_section(app: AppView, values: Values) -> Section:
    """One app's section."""
    implicit = (
        "not set"
        if app.implicit_access_tokens is None and app.implicit_id_tokens is None
        else f"access tokens {yes_no(app.implicit_access_tokens)}, "
        f"ID tokens {yes_no(app.implicit_id_tokens)}"
    )
    admin = (
        text("yes — group ", codes(app.admin_agents, values))
        if app.admin_agents
        else text(strong("no"), " (not pre-consented for customers)")
    )
    sp_id = app.service_principal
    sp = (
        text(
            "object id assigned at deploy"
            if sp_id is not None and sp_id.assigned_at_deploy
            else id_span(sp_id, "(unknown)"),
            f" (app role assignment required: {yes_no(app.app_role_assignment_required)})",
        )
        if app.service_principal_urn
        else text(strong("none"))
    )
    clients = _clients(app.known_clients)
    settings: list[list[InlineLike]] = [
        ["Client id", id_span(app.client)],
        ["Sign-in audience", code(app.sign_in_audience or "(not set)")],
        ["Identifier URIs", codes(app.identifier_uris, values)],
        ["Redirect URIs", text(codes(app.redirect_uris, values), _redirect_risks(app))],
        ["Homepage", values.code(app.homepage_url) if app.homepage_url else "—"],
        ["Implicit grant", implicit],
        ["Service principal", sp],
        ["AdminAgents member", admin],
        ["Known client apps", clients or "—"],
        ["Protected", yes_no(app.protected)],
    ]
    if app.pre_authorized:
        settings.append(["Pre-authorized clients", _clients(app.pre_authorized)])
    blocks: list[Block] = [make_table(("Setting", "Value"), settings)]
    permissions: Block = (
        permission_table(app.permissions, values)
        if app.permissions
        else Paragraph(text("No API permissions."))
    )
    blocks.append(Section("Permissions", (permissions,), level=4))
    if app.scopes or app.app_roles:
        rows: list[list[InlineLike]] = [
            [code(s.value), f"scope ({s.type})", yes_no(s.enabled), values.code(s.id)]
            for s in app.scopes
        ]
        rows += [
            [
                code(r.value),
                f"app role ({', '.join(r.allowed_member_types)})",
                yes_no(r.enabled),
                values.code(r.id),
            ]
            for r in app.app_roles
        ]
        scopes = make_table(("Value", "Kind", "Enabled", "Id"), rows)
        blocks.append(Section("Exposed scopes and roles", (scopes,), level=4))
    credentials: Block = Paragraph(text("No credential."))
    if app.credentials:
        credentials = make_table(
            ("Kind", "Resource", "Display name", "Expires", "Rotation date", "Protected"),
            (
                [
                    c.kind,
                    code(c.name),
                    c.display_name or "—",
                    c.end_date,
                    c.rotation_date or "—",
                    yes_no(c.protect),
                ]
                for c in app.credentials
            ),
        )
    blocks.append(Section("Credentials", (credentials,), level=4))
    if app.secrets:
        secrets = make_table(
            ("Secret", "Vault", "Expires", "Value"),
            (
                [
                    code(s.secret_name),
                    code(s.vault_name or "?"),
                    s.expires,
                    _value_text(s.value_managed),
                ]
                for s in app.secrets
            ),
        )
        blocks.append(Section("Key Vault secrets", (secrets,), level=4))
    blocks += [Quote(text(strong("Check:"), " ", values.note(note))) for note in app.notes]
    return Section(text(code(app.key), f" — {app.display_name}"), tuple(blocks), level=3)


def _clients(refs: Sequence[ClientRef]) -> Inline:
    parts: list[InlineLike] = []
    for index, ref in enumerate(refs):
        parts += [", "] if index else []
        parts.append(client_inline(ref))
    return text(*parts)


def _value_text(managed: bool) -> str:
    return "written by this program" if managed else "written once, then kept outside Pulumi"


_IP_RULE = re.compile(r"^networkAcls\.ipRules\[\d+\]\.value\Z")


def _network_risk(path: str, value: str, vault: VaultView) -> Inline:
    """A network setting that exposes the vault, flagged where it is listed (the same rules as
    the config edge and the vault network-access policy, which refuse them)."""
    if _IP_RULE.match(path):
        problem = rules.ip_rule_problem(value)
        return text(" ", strong("⚠ risk"), f": {problem}") if problem else ()
    if path == "publicNetworkAccess" and value.lower() == "enabled":
        settings = dict(vault.settings)
        if settings.get("networkAcls.defaultAction", "Allow").lower() != "deny":
            return text(
                " ",
                strong("⚠ risk"),
                ": reachable from any network (networkAcls.defaultAction is not Deny)",
            )
    return ()


def _redirect_risks(app: AppView) -> Inline:
    """Redirect URIs that send tokens outside the region's reach, flagged where they are listed."""
    parts: list[InlineLike] = []
    for uri, problem in app.redirect_risks:
        parts += [" ", strong("⚠ risk"), ": ", code(uri), f" {problem}."]
    return text(*parts)


def _role_risk(risk: str | None) -> Inline:
    """A person or group that can read the vault's secrets, flagged where it is listed."""
    return text(" ", strong("⚠ risk"), f": {risk}") if risk else ()


def vault_section(vault: VaultView, values: Values) -> Section:
    """One vault's section."""
    rows: list[Sequence[InlineLike]] = [
        ["Resource group", code(vault.resource_group or "?")],
        ["Location", vault.location or "?"],
        ["Protected", yes_no(vault.protect)],
    ]
    rows += [[code(k), text(values.code(v), _network_risk(k, v, vault))] for k, v in vault.settings]
    blocks: list[Block] = [make_table(("Setting", "Value"), rows)]
    if vault.role_assignments:
        blocks.append(Paragraph(text(strong("Role assignments"))))
        blocks.append(
            make_table(
                ("Role", "Principal", "Principal type", "Who (stack file)"),
                (
                    [
                        text(values.text(r.role), _role_risk(r.risk)),
                        values.code(r.principal_id),
                        r.principal_type or "—",
                        values.text(r.description) if r.description else "—",
                    ]
                    for r in vault.role_assignments
                ),
            )
        )
    secrets = sorted(vault.secrets, key=lambda s: s.secret_name)
    if secrets:
        blocks.append(Paragraph(text(strong("Secrets"))))
        blocks.append(
            make_table(
                ("Secret", "App", "Content type", "Expires", "Value"),
                (
                    [
                        code(s.secret_name),
                        code(s.app) if s.app else "—",
                        s.content_type or "—",
                        s.expires,
                        _value_text(s.value_managed),
                    ]
                    for s in secrets
                ),
            )
        )
    return Section(text("Key Vault ", code(vault.name)), tuple(blocks))


def mermaid(view: StackView) -> str:
    """A small flowchart (Mermaid): apps, service principals, AdminAgents, vaults and secrets."""
    lines = ["flowchart LR"]
    group_ids = sorted({g for app in view.apps for g in app.admin_agents})
    for group in group_ids:
        lines.append(f"  {node_id('aa', group)}{{{{{mermaid_label('AdminAgents')}}}}}")
    edges: list[str] = []
    for app in view.apps:
        app_node = node_id("app", app.key)
        lines.append(f"  {app_node}[{mermaid_label(f'{app.key} (app)')}]")
        if app.service_principal_urn:
            sp_node = node_id("sp", app.key)
            lines.append(f"  {sp_node}([{mermaid_label(f'{app.key} (service principal)')}])")
            edges.append(f"  {app_node} --> {sp_node}")
            edges += [f"  {sp_node} -->|member of| {node_id('aa', g)}" for g in app.admin_agents]
        apis = sorted({(r.in_plan_api, r.permission) for r in app.permissions if r.in_plan_api})
        edges += [
            f"  {app_node} -->|{_edge_label(scope)}| {node_id('app', api)}" for api, scope in apis
        ]
        edges += [
            f"  {app_node} -.->|stored in| {node_id('secret', s.vault_name + '_' + s.secret_name)}"
            for s in app.secrets
        ]
    for vault in view.vaults:
        vault_node = node_id("vault", vault.name)
        lines.append(f"  {vault_node}[({mermaid_label(f'Key Vault {vault.name}')})]")
        for secret in sorted(vault.secrets, key=lambda s: s.secret_name):
            secret_node = node_id("secret", secret.vault_name + "_" + secret.secret_name)
            lines.append(f"  {secret_node}[{mermaid_label(secret.secret_name)}]")
            edges.append(f"  {vault_node} --- {secret_node}")
    return "\n".join([*lines, *edges])


def _edge_label(label: str) -> str:
    return "".join(ch for ch in label if ch.isalnum() or ch in "._-") or "scope"


def provider_block(view: StackView, values: Values) -> Block:
    if not view.providers:
        return Paragraph(text("No explicit provider (default providers)."))
    return make_table(
        ("Provider", "Package", "Tenant", "Settings"),
        (
            [
                code(p.name),
                p.package,
                values.code(p.tenant_id or "?"),
                values.text(", ".join(f"{k}={v}" for k, v in p.settings if k != "tenantId")) or "—",
            ]
            for p in view.providers
        ),
    )


def resource_block(view: StackView, values: Values) -> Block:
    resources = sorted(view.plan.resources, key=lambda r: (r.type, r.name))
    custom = sum(1 for r in resources if r.custom)
    protected = sum(1 for r in resources if r.protect)
    listing = make_table(
        ("Type", "Name", "Protected", "Ignored changes"),
        (
            [
                code(r.type),
                values.code(r.name),
                yes_no(r.protect),
                codes(r.ignore_changes, values),
            ]
            for r in resources
        ),
    )
    summary = f"{len(resources)} resources ({custom} managed, {protected} protected)"
    return Details(summary, (listing,))
