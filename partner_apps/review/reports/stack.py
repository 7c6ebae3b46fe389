"""The reviewer report of one stack's recorded plan (``build/preview/<stack>.md`` and ``.html``).

Per app: its permissions by API (name, delegated or application, admin consent, risk, the reason
from the app definitions), exposed scopes, known clients, AdminAgents membership, credentials and
their expiry, Key Vault secrets, identifier and redirect URIs. Then the policy results, the Key
Vault, a Mermaid diagram, the providers and every resource. Permission ids are named through the
catalog (``policies/partner_policies/catalog.py``); an id it does not know is shown raw, as high
risk.

The report is built as a typed document (``reports.model``: spans, tables, sections) from the
analysed plan's values, and rendered to Markdown, HTML and JSON from that one document; nothing
here writes Markdown text or parses it back. An id the offline preview made up reads
"(assigned at deploy)": the typed ids of the views say which (``Id``, ``ClientRef``), and the
plan's own list of them (``assignedAtDeploy``) labels any other value that carries one.

Usage::

    python -m partner_apps.review.reports.stack                       # every plan in build/preview
    python -m partner_apps.review.reports.stack build/preview/us.json --stdout

The output depends only on the plan: sorted, no timestamps, byte-identical across runs.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from partner_apps.review.analysis.views import (
    AppView,
    ClientRef,
    Id,
    Note,
    PermissionRow,
    StackView,
    VaultView,
    analyze,
    group_violations,
)
from partner_apps.review.plan.document import (
    Catalog,
    Plan,
    PlanError,
    PreviewFailure,
    as_list,
    as_str,
    is_unknown,
    load_catalog,
    load_results,
    plan_from_document,
    policy_status,
    stack_policies,
)
from partner_apps.review.plan.values import flatten, join_words, show_value, yes_no
from partner_apps.review.reports.markdown import mermaid_label, node_id, write_text
from partner_apps.review.reports.model import (
    Block,
    CodeBlock,
    Details,
    Inline,
    InlineLike,
    Paragraph,
    Quote,
    Report,
    Section,
    Span,
    Table,
    bullets,
    code,
    em,
    make_table,
    strong,
    text,
    to_html,
    to_markdown,
)
from policies.partner_policies import rules

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_PLANS = ROOT / "build" / "preview"


# --------------------------------------------------------------------------------------------
# Ids the offline preview's mocks made up (the plan's ``assignedAtDeploy``)
# --------------------------------------------------------------------------------------------

ASSIGNED = "(assigned at deploy)"
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def assigned_note() -> Inline:
    """What "(assigned at deploy)" means, said once at the top of a report that shows it."""
    return text(
        "Client, object and resource ids shown as ",
        em(ASSIGNED),
        " are not known yet: the offline preview made them up, and Entra ID and Azure assign "
        "the real ones at deploy.",
    )


def id_span(value: Id | None, missing: str = "(known after apply)") -> Span:
    """A typed id: "(assigned at deploy)" for one the offline preview made up, else as code."""
    if value is not None and value.assigned_at_deploy:
        return Span("text", ASSIGNED)
    return code(value.value if value is not None else missing)


def client_inline(ref: ClientRef) -> Inline:
    """A client application: its app key when it is one of ours, and its client id."""
    if ref.assigned_at_deploy:
        return text(code(ref.app), " (client id assigned at deploy)") if ref.app else text(ASSIGNED)
    if is_unknown(ref.client_id):
        return (
            text(code(ref.app), " (client id known after apply)") if ref.app else text("(unknown)")
        )
    return (
        text(code(ref.app), " (", code(ref.client_id), ")")
        if ref.app
        else text(code(ref.client_id))
    )


class Values:
    """A plan's free-form values (outputs, settings, messages) as spans: a value that is an id
    the offline preview made up reads "(assigned at deploy)", and one that carries such an id
    (a resource id, a message) has it replaced in place. The plan's list says which ids."""

    def __init__(self, assigned: frozenset[str]) -> None:
        self.assigned = assigned

    def _label(self, match: re.Match[str]) -> str:
        return ASSIGNED if match.group(0).lower() in self.assigned else match.group(0)

    def text(self, value: str) -> str:
        return GUID.sub(self._label, value) if self.assigned else value

    def code(self, value: str) -> Span:
        if value.lower() in self.assigned:
            return Span("text", ASSIGNED)
        return code(self.text(value))

    def note(self, note: Note) -> Inline:
        """A note's text, its identifiers as code."""
        return text(
            *(self.text(p) if isinstance(p, str) else self.code(p.value) for p in note.parts)
        )


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


def _codes(values: Iterable[str], labels: Values) -> Inline:
    """Values as code, comma-separated; a dash for none."""
    parts: list[InlineLike] = []
    for index, value in enumerate(values):
        parts += [", "] if index else []
        parts.append(labels.code(value))
    return text(*parts) if parts else text("—")


# --------------------------------------------------------------------------------------------
# The report of one stack
# --------------------------------------------------------------------------------------------


def _result(status: str, violations: int) -> InlineLike:
    """A policy's result cell: a failure in bold, an advisory policy's findings plainly."""
    if status == "fail":
        return text(strong("fail"), f" ({violations})")
    if status == "reported":
        return f"reported (by design) ({violations})"
    return status


def stack_report(view: StackView) -> Report:
    """The reviewer report of one analysed stack, as data: ``to_markdown``, ``to_html`` and
    ``to_json`` render it, so the renderings cannot drift."""
    plan = view.plan
    values = Values(plan.assigned_at_deploy)
    title = text("Stack ", code(plan.stack), f" — {plan.project}" if plan.project else "")
    blocks: list[Block] = [bullets(_region_items(plan, values))]
    if plan.assigned_at_deploy:
        blocks.append(Paragraph(assigned_note()))
    glance: list[Block] = [*_glance(view)]
    glance += [Quote(text(strong("Check:"), " ", values.note(note))) for note in view.notes]
    blocks.append(Section("At a glance", tuple(glance)))
    blocks.append(Section("Policy results", tuple(_policy_blocks(view, values))))
    apps: list[Block] = [_app_section(app, values) for app in view.apps]
    if not view.apps:
        apps.append(Paragraph(text("This stack declares no partner-managed app.")))
    blocks.append(Section("Apps", tuple(apps)))
    blocks += [_vault_section(vault, values) for vault in view.vaults]
    blocks.append(Section("Diagram", (CodeBlock("mermaid", mermaid(view)),)))
    blocks.append(Section("Providers", (_provider_block(view, values),)))
    blocks.append(Section("Resources", (_resource_block(view, values),)))
    outputs = list(flatten(dict(plan.outputs)))
    if outputs and any(path for path, _ in outputs):
        rows = ([code(p), values.code(show_value(v))] for p, v in outputs)
        details = Details("Outputs", (make_table(("Output", "Value"), rows),))
        blocks.append(Section("Stack outputs", (details,)))
    return Report(title, tuple(blocks))


def render_stack(view: StackView) -> str:
    """The reviewer Markdown of one analysed stack."""
    return to_markdown(stack_report(view))


def render_stack_html(view: StackView) -> str:
    """The same report as one standalone HTML page."""
    return to_html(stack_report(view))


def _region_items(plan: Plan, values: Values) -> list[Inline]:
    region = plan.region
    domains = [d for d in as_list(region.get("verifiedDomains")) if isinstance(d, str)]
    production = region.get("production")

    def item(label: str, *value: InlineLike) -> Inline:
        return text(strong(f"{label}:"), " ", *value)

    items = [
        item("Region", values.code(as_str(region.get("id")) or plan.stack)),
        item("Partner tenant", values.code(as_str(region.get("tenantId")) or "(not recorded)")),
    ]
    if as_str(region.get("subscriptionId")):
        items.append(item("Subscription", values.code(as_str(region.get("subscriptionId")))))
    items += [
        item("Location", values.text(as_str(region.get("location")) or "(not recorded)")),
        item("Production", yes_no(production if isinstance(production, bool) else None)),
        item(
            "Verified domains",
            _codes(domains, values) if domains else text("(none recorded)"),
        ),
    ]
    return items


def _glance(view: StackView) -> list[Block]:
    rows: list[list[InlineLike]] = []
    for app in view.apps:
        kinds = sorted({r.kind for r in app.permissions})
        counts = ", ".join(f"{sum(1 for r in app.permissions if r.kind == k)} {k}" for k in kinds)
        high = sum(1 for r in app.permissions if r.risk == "high")
        rows.append(
            [
                text(code(app.key), f" {app.display_name}"),
                f"{len(app.permissions)}" + (f" ({counts})" if counts else ""),
                strong(str(high)) if high else "0",
                str(sum(1 for r in app.permissions if r.admin_consent)),
                "yes" if app.in_admin_agents else strong("no"),
                earliest_expiry(app) or "—",
            ]
        )
    glance = make_table(
        (
            "App",
            "Permissions",
            "High risk",
            "Admin consent",
            "In AdminAgents",
            "Credential expires",
        ),
        rows,
    )
    mandatory = sum(1 for v in view.plan.violations if v.enforcement_level == "mandatory")
    other = len(view.plan.violations) - mandatory
    if mandatory:
        verdict = text(
            strong(f"{mandatory} mandatory policy violation(s) block this stack"),
            f", {other} advisory." if other else ".",
        )
    elif other:
        verdict = text(f"No mandatory policy violation; {other} advisory.")
    else:
        verdict = text("No policy violations.")
    return [glance, Paragraph(verdict)]


def _policy_blocks(view: StackView, values: Values) -> list[Block]:
    plan = view.plan
    listed, source = stack_policies(plan)
    policies = list(listed.values())
    failed: dict[str, int] = {}
    for v in plan.violations:
        failed[v.policy] = failed.get(v.policy, 0) + 1
    status = {p.name: policy_status(p, failed.get(p.name, 0)) for p in policies}
    blocks: list[Block] = []
    if source != "violations":
        disabled = sum(1 for s in status.values() if s == "disabled")
        passed = sum(1 for s in status.values() if s == "pass")
        reported = sum(1 for s in status.values() if s == "reported")
        summary = f"{passed} of {len(policies) - disabled} enabled policies pass"
        if reported:
            summary += f"; {reported} advisory report findings by design (listed below)"
        if disabled:
            summary += f"; {disabled} disabled by the region's policy config"
        if source == "pack":
            summary += " (policy list and enforcement from the policy pack's defaults)"
        blocks.append(Paragraph(text(summary + ".")))
    if plan.violations:
        blocks.append(violation_table(view, values))
    else:
        blocks.append(Paragraph(text("No policy violations.")))
    if source != "violations":
        every = make_table(
            ("Policy", "Severity", "Enforcement", "Result"),
            (
                [
                    code(p.name),
                    p.severity,
                    p.enforcement_level,
                    _result(status[p.name], failed.get(p.name, 0)),
                ]
                for p in policies
            ),
        )
        blocks.append(Details("Every policy", (every,)))
    return blocks


def _app_section(app: AppView, values: Values) -> Section:
    """One app's section."""
    implicit = (
        "not set"
        if app.implicit_access_tokens is None and app.implicit_id_tokens is None
        else f"access tokens {yes_no(app.implicit_access_tokens)}, "
        f"ID tokens {yes_no(app.implicit_id_tokens)}"
    )
    admin = (
        text("yes — group ", _codes(app.admin_agents, values))
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
        ["Identifier URIs", _codes(app.identifier_uris, values)],
        ["Redirect URIs", _codes(app.redirect_uris, values)],
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


def _vault_section(vault: VaultView, values: Values) -> Section:
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
                ("Role", "Principal", "Principal type"),
                (
                    [values.text(r.role), values.code(r.principal_id), r.principal_type or "—"]
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


def _provider_block(view: StackView, values: Values) -> Block:
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


def _resource_block(view: StackView, values: Values) -> Block:
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
                _codes(r.ignore_changes, values),
            ]
            for r in resources
        ),
    )
    summary = f"{len(resources)} resources ({custom} managed, {protected} protected)"
    return Details(summary, (listing,))


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def plan_report(document: Mapping[str, Any] | Plan, catalog: Catalog | None = None) -> Report:
    """The reviewer report of one plan (a recorded plan document or a loaded Plan), as data:
    parsed and analysed once for both renderings."""
    plan = document if isinstance(document, Plan) else plan_from_document(document)
    return stack_report(analyze(plan, catalog or load_catalog()))


def render_plan(document: Mapping[str, Any] | Plan, catalog: Catalog | None = None) -> str:
    """The reviewer Markdown of one plan (a recorded plan document or a loaded Plan)."""
    return to_markdown(plan_report(document, catalog))


def render_plan_html(document: Mapping[str, Any] | Plan, catalog: Catalog | None = None) -> str:
    """The same report as one standalone HTML page (from the same report model)."""
    return to_html(plan_report(document, catalog))


def summary_line(view: StackView, target: str) -> str:
    """One line per stack for the terminal."""
    permissions = [r for app in view.apps for r in app.permissions]
    high = sum(1 for r in permissions if r.risk == "high")
    mandatory = sum(1 for v in view.plan.violations if v.enforcement_level == "mandatory")
    advisory = len(view.plan.violations) - mandatory
    parts = [
        f"{len(view.apps)} apps",
        f"{len(permissions)} permissions ({high} high risk)",
        f"{mandatory} mandatory / {advisory} advisory violations",
    ]
    return f"{view.stack}: {join_words(parts)} -> {target}"


def results_for_cli(
    arguments: list[Path] | None,
) -> tuple[list[Plan], list[PreviewFailure]] | None:
    """The plans and failed previews a command was given (default: build/preview).

    None after printing an error (unreadable input, or neither a plan nor a failed preview).
    """
    paths: list[Path] = arguments or [DEFAULT_PLANS]
    try:
        plans, failures = load_results(paths) if arguments or DEFAULT_PLANS.is_dir() else ([], [])
    except PlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    if not plans and not failures:
        print(
            f"error: no plan found in {', '.join(display_path(p) for p in paths)} "
            "(run `make preview` first)",
            file=sys.stderr,
        )
        return None
    return plans, failures


def plans_for_cli(arguments: list[Path] | None) -> list[Plan] | None:
    """The plans a command was given (default: build/preview); None after printing an error."""
    results = results_for_cli(arguments)
    if results is None:
        return None
    plans, failures = results
    for failure in failures:
        print(f"{failure.stack}: {failure.summary}", file=sys.stderr)
    if not plans:
        print("error: no plan to read: every stack's preview failed", file=sys.stderr)
        return None
    return plans


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m partner_apps.review.reports.stack",
        description=(
            "Render recorded plans (build/preview/<stack>.json) as reviewer Markdown: per app its "
            "permissions with reasons, scopes, known clients, AdminAgents membership, credentials, "
            "Key Vault secrets and URIs; the policy results; a Mermaid diagram."
        ),
    )
    parser.add_argument(
        "plans",
        nargs="*",
        type=Path,
        metavar="PLAN",
        help=f"plan files or folders of plans (default: {display_path(DEFAULT_PLANS)})",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        help="write <stack>.md here (default: next to each plan)",
    )
    parser.add_argument(
        "--stdout", action="store_true", help="print the Markdown instead of writing files"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    plans = plans_for_cli(args.plans)
    if plans is None:
        return 2
    catalog = load_catalog()
    texts = []
    for plan in plans:
        view = analyze(plan, catalog)
        text = render_stack(view)
        if args.stdout:
            texts.append(text)
            continue
        folder = args.out_dir or Path(plan.source).parent
        target = folder / f"{plan.stack}.md"
        write_text(target, text)
        print(summary_line(view, display_path(target)))
    if args.stdout:
        sys.stdout.write("\n".join(texts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
