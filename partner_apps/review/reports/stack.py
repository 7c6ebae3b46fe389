"""Render a stack's recorded plan as the Markdown reviewers read (``build/preview/<stack>.md``).

Per app: its permissions by API (name, delegated or application, admin consent, risk, the reason
from the app definitions), exposed scopes, known clients, AdminAgents membership, credentials and
their expiry, Key Vault secrets, identifier and redirect URIs. Then the policy results, the Key
Vault, a Mermaid diagram, the providers and every resource. Permission ids are named through the
catalog (``policies/partner_policies/catalog.py``); an id it does not know is shown raw, as high
risk.

Usage::

    python -m partner_apps.review.reports.stack                       # every plan in build/preview
    python -m partner_apps.review.reports.stack build/preview/us.json --stdout

The output depends only on the plan: sorted, no timestamps, byte-identical across runs.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from partner_apps.review.analysis.views import (
    AppView,
    ClientRef,
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
    load_catalog,
    load_results,
    parse_urn,
    plan_from_document,
    policy_status,
    stack_policies,
)
from partner_apps.review.plan.values import flatten, join_words, show_value, yes_no
from partner_apps.review.reports.markdown import code, mermaid_label, node_id, write_text
from partner_apps.review.reports.model import (
    Block,
    CodeBlock,
    Details,
    Inline,
    Paragraph,
    Quote,
    Report,
    Section,
    Table,
    bullets,
    make_table,
    parse_inline,
    text,
    to_html,
    to_markdown,
)
from policies.partner_policies import rules

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_PLANS = ROOT / "build" / "preview"


# --------------------------------------------------------------------------------------------
# Pieces shared with the audit report
# --------------------------------------------------------------------------------------------


def risk_text(row: PermissionRow) -> str:
    """The risk as shown in tables: high risk in bold so it stands out."""
    return f"**{row.risk}**" if row.risk == "high" else row.risk


def permission_text(row: PermissionRow) -> str:
    """The permission's name, with what the catalog says is unusual about it."""
    text = code(row.permission)
    extras = []
    if not row.known:
        extras.append("unknown (not in catalog)")
    if row.high_privilege:
        extras.append("high privilege")
    if row.retired:
        extras.append("retired API: grants nothing")
    if row.csp_allowed is False:
        extras.append("outside CSP-supported Graph resources")
    return f"{text} ({', '.join(extras)})" if extras else text


def api_text(row: PermissionRow) -> str:
    """The API column: catalog name, or the app of this stack that exposes the scope."""
    if row.in_plan_api is not None:
        return f"{code(row.in_plan_api)} (app in this stack)"
    return row.api


def consent_cell(row: PermissionRow) -> str:
    """'yes' when an admin must consent."""
    if row.admin_consent is None:
        return "unknown"
    return yes_no(row.admin_consent)


def permission_rows(rows: Iterable[PermissionRow]) -> list[list[str]]:
    """Table rows: API, permission, type, admin consent, risk, reason."""
    return [
        [api_text(r), permission_text(r), r.kind, consent_cell(r), risk_text(r), r.reason]
        for r in rows
    ]


PERMISSION_HEADERS = ("API", "Permission", "Type", "Admin consent", "Risk", "Reason")


def violation_rows(view: StackView) -> list[list[str]]:
    """Policy violations: enforcement, severity, policy, resources, message (mandatory first).

    The same finding on several resources is one row, with its resources and their count.
    """
    return [
        [
            f"**{g.enforcement_level}**"
            if g.enforcement_level == "mandatory"
            else g.enforcement_level,
            g.severity,
            code(g.policy),
            ", ".join(code(name) for name in g.resources)
            + (f" ({g.count} resources)" if g.count > 1 else ""),
            g.message,
        ]
        for g in group_violations(view.plan.violations)
    ]


def _short_urn(urn: str) -> str:
    parsed = parse_urn(urn)
    return parsed.name if parsed else urn or "(stack)"


def earliest_expiry(app: AppView) -> str:
    """The earliest credential end date of an app ('' when it has none)."""
    dates = sorted(c.end_date for c in app.credentials if c.end_date[:1].isdigit())
    return dates[0] if dates else ""


# --------------------------------------------------------------------------------------------
# Markdown of one stack
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Ids the offline preview's mocks made up (the plan's ``assignedAtDeploy``)
# --------------------------------------------------------------------------------------------

ASSIGNED = "(assigned at deploy)"
ASSIGNED_NOTE = (
    "Client, object and resource ids shown as *(assigned at deploy)* are not known yet: the "
    "offline preview made them up, and Entra ID and Azure assign the real ones at deploy."
)
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def id_cell(plan: Plan, value: str | None, missing: str = "(known after apply)") -> str:
    """An id as Markdown: ``(assigned at deploy)`` for one the offline preview made up."""
    if value and value.lower() in plan.assigned_at_deploy:
        return ASSIGNED
    return code(value or missing)


def client_text(plan: Plan, ref: ClientRef) -> str:
    """A client application; one of ours whose client id the mocks made up says so."""
    if ref.client_id.lower() in plan.assigned_at_deploy:
        return f"{code(ref.app)} (client id assigned at deploy)" if ref.app else ASSIGNED
    return ref.markdown()


def label_assigned(markdown: str, assigned: Collection[str]) -> str:
    """``markdown`` with every made-up id (``assigned``, lower case) labelled: a code span that is
    only such an id becomes ``(assigned at deploy)``, any other occurrence is replaced in place.
    Fenced blocks (the Mermaid diagram) are left alone: ids there are node names, not shown."""
    if not assigned:
        return markdown

    def replace(match: re.Match[str]) -> str:
        return ASSIGNED if match.group(0).lower() in assigned else match.group(0)

    def label(line: str) -> str:
        line = re.sub(
            r"`(" + GUID.pattern + r")`",
            lambda m: ASSIGNED if m.group(1).lower() in assigned else m.group(0),
            line,
        )
        return GUID.sub(replace, line)

    out, fenced = [], False
    for line in markdown.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        out.append(line if fenced or line.lstrip().startswith("```") else label(line))
    return "\n".join(out)


def _result(status: str, violations: int) -> str:
    """A policy's result cell: a failure in bold, an advisory policy's findings plainly."""
    if status == "fail":
        return f"**fail** ({violations})"
    if status == "reported":
        return f"reported (by design) ({violations})"
    return status


def stack_report(view: StackView) -> Report:
    """The reviewer report of one analysed stack, as data: ``render_stack`` writes it as
    Markdown and ``render_stack_html`` as HTML, so the two cannot drift."""
    plan = view.plan
    cells = _Cells(plan.assigned_at_deploy)
    title = f"Stack `{plan.stack}`" + (f" — {plan.project}" if plan.project else "")
    blocks: list[Block] = [bullets(cells.inline(line) for line in _region_items(plan))]
    if plan.assigned_at_deploy:
        blocks.append(Paragraph(cells.inline(ASSIGNED_NOTE)))
    glance: list[Block] = [*_glance(view, cells)]
    glance += [Quote(cells.inline(f"**Check:** {note}")) for note in view.notes]
    blocks.append(Section("At a glance", tuple(glance)))
    blocks.append(Section("Policy results", tuple(_policy_blocks(view, cells))))
    apps: list[Block] = [Section(*_app_section(view, app, cells), level=3) for app in view.apps]
    if not view.apps:
        apps.append(Paragraph(text("This stack declares no partner-managed app.")))
    blocks.append(Section("Apps", tuple(apps)))
    blocks += [Section(*_vault_section(vault, cells)) for vault in view.vaults]
    blocks.append(Section("Diagram", (CodeBlock("mermaid", "\n".join(mermaid(view)[1:-1])),)))
    blocks.append(Section("Providers", (_provider_block(view, cells),)))
    blocks.append(Section("Resources", (_resource_block(view, cells),)))
    outputs = list(flatten(dict(plan.outputs)))
    if outputs and any(path for path, _ in outputs):
        rows = ([code(p), code(show_value(v))] for p, v in outputs)
        details = Details("Outputs", (cells.table(("Output", "Value"), rows),))
        blocks.append(Section("Stack outputs", (details,)))
    return Report(title, tuple(blocks))


def render_stack(view: StackView) -> str:
    """The reviewer Markdown of one analysed stack."""
    return to_markdown(stack_report(view))


def render_stack_html(view: StackView) -> str:
    """The same report as one standalone HTML page."""
    return to_html(stack_report(view))


class _Cells:
    """Markdown-written cell text to the report model, with made-up ids labelled."""

    def __init__(self, assigned: Collection[str]) -> None:
        self.assigned = assigned

    def inline(self, markdown: str) -> Inline:
        return parse_inline(label_assigned(markdown, self.assigned))

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
        return make_table(headers, ([self.inline(c) for c in row] for row in rows))

    def paragraph(self, markdown: str) -> Paragraph:
        return Paragraph(self.inline(markdown))


def _region_items(plan: Plan) -> list[str]:
    region = plan.region
    domains = [code(d) for d in as_list(region.get("verifiedDomains")) if isinstance(d, str)]
    production = region.get("production")
    lines = [
        f"**Region:** {code(as_str(region.get('id')) or plan.stack)}",
        f"**Partner tenant:** {code(as_str(region.get('tenantId')) or '(not recorded)')}",
    ]
    if as_str(region.get("subscriptionId")):
        lines.append(f"**Subscription:** {code(as_str(region.get('subscriptionId')))}")
    lines += [
        f"**Location:** {as_str(region.get('location')) or '(not recorded)'}",
        f"**Production:** {yes_no(production if isinstance(production, bool) else None)}",
        f"**Verified domains:** {', '.join(domains) or '(none recorded)'}",
    ]
    return lines


def _glance(view: StackView, cells: _Cells) -> list[Block]:
    rows = []
    for app in view.apps:
        kinds = sorted({r.kind for r in app.permissions})
        counts = ", ".join(f"{sum(1 for r in app.permissions if r.kind == k)} {k}" for k in kinds)
        high = sum(1 for r in app.permissions if r.risk == "high")
        rows.append(
            [
                f"{code(app.key)} {app.display_name}",
                f"{len(app.permissions)}" + (f" ({counts})" if counts else ""),
                f"**{high}**" if high else "0",
                str(sum(1 for r in app.permissions if r.admin_consent)),
                "yes" if app.in_admin_agents else "**no**",
                earliest_expiry(app) or "—",
            ]
        )
    glance = cells.table(
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
        verdict = f"**{mandatory} mandatory policy violation(s) block this stack**"
        verdict += f", {other} advisory." if other else "."
    elif other:
        verdict = f"No mandatory policy violation; {other} advisory."
    else:
        verdict = "No policy violations."
    return [glance, cells.paragraph(verdict)]


def _policy_blocks(view: StackView, cells: _Cells) -> list[Block]:
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
        text = f"{passed} of {len(policies) - disabled} enabled policies pass"
        if reported:
            text += f"; {reported} advisory report findings by design (listed below)"
        if disabled:
            text += f"; {disabled} disabled by the region's policy config"
        if source == "pack":
            text += " (policy list and enforcement from the policy pack's defaults)"
        blocks.append(cells.paragraph(text + "."))
    if plan.violations:
        blocks.append(
            cells.table(
                ("Enforcement", "Severity", "Policy", "Resource", "Message"), violation_rows(view)
            )
        )
    else:
        blocks.append(cells.paragraph("No policy violations."))
    if source != "violations":
        every = cells.table(
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


def _uri_list(values: Sequence[str]) -> str:
    return ", ".join(code(v) for v in values) if values else "—"


def _app_section(view: StackView, app: AppView, cells: _Cells) -> tuple[str, tuple[Block, ...]]:
    """The title and blocks of one app's section."""
    implicit = (
        "not set"
        if app.implicit_access_tokens is None and app.implicit_id_tokens is None
        else f"access tokens {yes_no(app.implicit_access_tokens)}, "
        f"ID tokens {yes_no(app.implicit_id_tokens)}"
    )
    admin = (
        "yes — group " + ", ".join(code(g) for g in app.admin_agents)
        if app.admin_agents
        else "**no** (not pre-consented for customers)"
    )
    sp_id = id_cell(view.plan, app.service_principal_object_id, "(unknown)")
    sp = (
        f"{'object id assigned at deploy' if sp_id == ASSIGNED else sp_id}"
        f" (app role assignment required: {yes_no(app.app_role_assignment_required)})"
        if app.service_principal_urn
        else "**none**"
    )
    settings = [
        ["Client id", id_cell(view.plan, app.client_id)],
        ["Sign-in audience", code(app.sign_in_audience or "(not set)")],
        ["Identifier URIs", _uri_list(app.identifier_uris)],
        ["Redirect URIs", _uri_list(app.redirect_uris)],
        ["Homepage", code(app.homepage_url) if app.homepage_url else "—"],
        ["Implicit grant", implicit],
        ["Service principal", sp],
        ["AdminAgents member", admin],
        [
            "Known client apps",
            ", ".join(client_text(view.plan, c) for c in app.known_clients) or "—",
        ],
        ["Protected", yes_no(app.protected)],
    ]
    if app.pre_authorized:
        settings.append(
            [
                "Pre-authorized clients",
                ", ".join(client_text(view.plan, c) for c in app.pre_authorized),
            ]
        )
    blocks: list[Block] = [cells.table(("Setting", "Value"), settings)]
    permissions: Block = (
        cells.table(PERMISSION_HEADERS, permission_rows(app.permissions))
        if app.permissions
        else cells.paragraph("No API permissions.")
    )
    blocks.append(Section("Permissions", (permissions,), level=4))
    if app.scopes or app.app_roles:
        rows = [
            [code(s.value), f"scope ({s.type})", yes_no(s.enabled), code(s.id)] for s in app.scopes
        ]
        rows += [
            [
                code(r.value),
                f"app role ({', '.join(r.allowed_member_types)})",
                yes_no(r.enabled),
                code(r.id),
            ]
            for r in app.app_roles
        ]
        scopes = cells.table(("Value", "Kind", "Enabled", "Id"), rows)
        blocks.append(Section("Exposed scopes and roles", (scopes,), level=4))
    credentials: Block = cells.paragraph("No credential.")
    if app.credentials:
        credentials = cells.table(
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
        secrets = cells.table(
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
    blocks += [Quote(cells.inline(f"**Check:** {note}")) for note in app.notes]
    return f"{code(app.key)} — {app.display_name}", tuple(blocks)


def _value_text(managed: bool) -> str:
    return "written by this program" if managed else "written once, then kept outside Pulumi"


_IP_RULE = re.compile(r"^networkAcls\.ipRules\[\d+\]\.value\Z")


def _network_risk(path: str, value: str, vault: VaultView) -> str:
    """A network setting that exposes the vault, flagged where it is listed (the same rules as
    the config edge and the vault network-access policy, which refuse them)."""
    if _IP_RULE.match(path):
        problem = rules.ip_rule_problem(value)
        return f" **⚠ risk**: {problem}" if problem else ""
    if path == "publicNetworkAccess" and value.lower() == "enabled":
        settings = dict(vault.settings)
        if settings.get("networkAcls.defaultAction", "Allow").lower() != "deny":
            return " **⚠ risk**: reachable from any network (networkAcls.defaultAction is not Deny)"
    return ""


def _vault_section(vault: VaultView, cells: _Cells) -> tuple[str, tuple[Block, ...]]:
    """The title and blocks of one vault's section."""
    rows = [
        ["Resource group", code(vault.resource_group or "?")],
        ["Location", vault.location or "?"],
        ["Protected", yes_no(vault.protect)],
        *([code(k), code(v) + _network_risk(k, v, vault)] for k, v in vault.settings),
    ]
    blocks: list[Block] = [cells.table(("Setting", "Value"), rows)]
    if vault.role_assignments:
        blocks.append(cells.paragraph("**Role assignments**"))
        blocks.append(
            cells.table(
                ("Role", "Principal", "Principal type"),
                (
                    [r.role, code(r.principal_id), r.principal_type or "—"]
                    for r in vault.role_assignments
                ),
            )
        )
    secrets = sorted(vault.secrets, key=lambda s: s.secret_name)
    if secrets:
        blocks.append(cells.paragraph("**Secrets**"))
        blocks.append(
            cells.table(
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
    return f"Key Vault {code(vault.name)}", tuple(blocks)


def mermaid(view: StackView) -> list[str]:
    """A small flowchart: apps, service principals, AdminAgents, vaults and secrets."""
    lines = ["```mermaid", "flowchart LR"]
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
    return [*lines, *edges, "```"]


def _edge_label(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum() or ch in "._-") or "scope"


def _provider_block(view: StackView, cells: _Cells) -> Block:
    if not view.providers:
        return cells.paragraph("No explicit provider (default providers).")
    return cells.table(
        ("Provider", "Package", "Tenant", "Settings"),
        (
            [
                code(p.name),
                p.package,
                code(p.tenant_id or "?"),
                ", ".join(f"{k}={v}" for k, v in p.settings if k != "tenantId") or "—",
            ]
            for p in view.providers
        ),
    )


def _resource_block(view: StackView, cells: _Cells) -> Block:
    resources = sorted(view.plan.resources, key=lambda r: (r.type, r.name))
    custom = sum(1 for r in resources if r.custom)
    protected = sum(1 for r in resources if r.protect)
    listing = cells.table(
        ("Type", "Name", "Protected", "Ignored changes"),
        (
            [
                code(r.type),
                code(r.name),
                yes_no(r.protect),
                ", ".join(code(p) for p in r.ignore_changes) or "—",
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
