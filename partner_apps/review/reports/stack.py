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
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from partner_apps.review.analysis.views import StackView, analyze
from partner_apps.review.plan.document import (
    Catalog,
    Plan,
    as_list,
    as_str,
    load_catalog,
    plan_from_document,
    policy_status,
    stack_policies,
)
from partner_apps.review.plan.inputs import (
    default_plans,
    display_path,
    plans_for_cli,
)
from partner_apps.review.plan.values import flatten, join_words, show_value, yes_no
from partner_apps.review.reports.ids import Values, assigned_note
from partner_apps.review.reports.markdown import write_text
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
    bullets,
    code,
    label,
    make_table,
    strong,
    text,
    to_html,
    to_markdown,
)
from partner_apps.review.reports.stack_sections import (
    app_section,
    codes,
    earliest_expiry,
    mermaid,
    provider_block,
    resource_block,
    vault_section,
    violation_table,
)

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
    apps: list[Block] = [app_section(app, values) for app in view.apps]
    if not view.apps:
        apps.append(Paragraph(text("This stack declares no partner-managed app.")))
    blocks.append(Section("Apps", tuple(apps)))
    blocks += [vault_section(vault, values) for vault in view.vaults]
    blocks.append(Section("Diagram", (CodeBlock("mermaid", mermaid(view)),)))
    blocks.append(Section("Providers", (provider_block(view, values),)))
    blocks.append(Section("Resources", (resource_block(view, values),)))
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

    def item(name: str, *value: InlineLike) -> Inline:
        return text(label(f"{name}:"), " ", *value)

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
            codes(domains, values) if domains else text("(none recorded)"),
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
        help=f"plan files or folders of plans (default: {display_path(default_plans())})",
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
