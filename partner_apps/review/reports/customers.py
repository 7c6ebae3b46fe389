"""The customer plan, the apply results and the verify matrix as typed report documents.

Built from the commands' JSON documents (``Plan.as_json``, the apply results, the verify
document: the JSON is the one model) in the reviewer style of the stack plans: permission names,
delegated or application, risk, region. ``to_markdown``, ``to_html`` and ``to_json`` of
``reports.model`` render them; nothing here builds Markdown or sees a token.

Usage::

    to_markdown(plan_report(plan)), to_html(apply_report(results)), verify_report(document)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from string import Formatter
from typing import Any

from partner_apps.review.reports.model import (
    Block,
    BulletList,
    Inline,
    InlineLike,
    ListItem,
    Paragraph,
    Report,
    Section,
    bullets,
    code,
    label,
    make_table,
    strong,
    text,
)

ACTION_TEXT = {
    "create-resource-principal": "create the service principal of {api}",
    "consent": "Partner Center consent ({values})",
    "create-app-principal": "create the app's service principal (no delegated permission: no "
    "consent)",
    "grant-delegated": "add delegated {api} {values} (tenant-wide)",
    "assign-app-role": "assign application permission {api} {values}",
    "remove-delegated": "remove delegated {api} {values}",
    "remove-app-role": "remove application permission {api} {values}",
    "gdap-create": "create GDAP relationship {resource} ({values})",
    "gdap-lock": "send GDAP relationship {resource} for the customer's approval",
    "gdap-add-assignment": "assign {values} to group {group}",
    "gdap-change-assignment": "change group {group}'s roles to {values}",
    "gdap-remove-assignment": "remove group {group}'s roles ({values})",
    "gdap-auto-extend": "set auto-extend of {resource} to {values}",
    "gdap-terminate": "terminate GDAP relationship {resource} ({values})",
    "offboard-remove-app-role": "remove an application permission (app role {values})",
    "offboard-remove-grant": "remove a delegated grant ({values})",
    "offboard-delete-principal": "delete the app's service principal",
    "offboard-delete-consent": "remove the Partner Center consent",
}
# A Global Administrator role is marked wherever a role list is shown (issue 30: reviewers must
# see it at a glance).
GLOBAL_ADMINISTRATOR = "Global Administrator"
# A job summary takes at most 1 MiB per step: longer tables are cut, the JSON has every row.
MAX_ROWS = 300


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def roles_text(names: Sequence[str]) -> str:
    """Role names, Global Administrator marked ⚠; a dash for none."""
    return ", ".join(f"⚠ {n}" if n == GLOBAL_ADMINISTRATOR else n for n in names) or "—"


def action_text(action: Mapping[str, Any]) -> Inline:
    """One planned change in words; a GDAP relationship's and a group's name as code."""
    kind = _str(action.get("action"))
    template = ACTION_TEXT.get(kind, kind)
    resource = _str(action.get("resourceAppId"))
    fields: dict[str, InlineLike] = {
        "api": _str(action.get("api")),
        "values": roles_text([_str(v) for v in action.get("values") or []]),
        "resource": code(resource.split("/", 1)[0]) if resource else "—",
        "group": code(resource.rsplit("/", 1)[-1]) if resource else "—",
    }
    parts: list[InlineLike] = []
    for literal, name, _, _ in Formatter().parse(template):
        parts.append(literal)
        if name is not None:
            parts.append(fields[name])
    return text(*parts)


def _limited(headers: Sequence[str], rows: list[list[InlineLike]], json_name: str) -> list[Block]:
    blocks: list[Block] = [make_table(headers, rows[:MAX_ROWS])]
    if len(rows) > MAX_ROWS:
        more = f"… and {len(rows) - MAX_ROWS} more rows: every row is in "
        blocks.append(Paragraph(text(more, code(json_name), ".")))
    return blocks


def _customer(name: Any, tenant: Any) -> Inline:
    return text(_str(name), " (", code(_str(tenant)), ")")


def _apps(plan: Mapping[str, Any]) -> Section:
    rows = [
        [
            code(_str(app["app"])),
            code(_str(app["clientId"])),
            _str(grant["api"]),
            code(_str(grant["permission"])),
            _str(grant["kind"]),
            strong(_str(grant["risk"])) if grant["risk"] == "high" else _str(grant["risk"]),
        ]
        for app in plan["apps"]
        for grant in app["grants"]
    ]
    intro = (
        "Delegated permissions: one tenant-wide grant (",
        code("AllPrincipals"),
        ") per API; application permissions: app role assignments (app-only, every customer: "
        "high risk).",
    )
    headers = ("App", "Client id", "API", "Permission", "Type", "Risk")
    return Section(
        "What every customer tenant gets", (Paragraph(text(*intro)), make_table(headers, rows))
    )


def _by_change(plan: Mapping[str, Any]) -> Block:
    counts: dict[tuple[str, Inline], int] = {}
    for customer in plan["customers"]:
        for action in customer["actions"]:
            key = (_str(action["app"]), action_text(action))
            counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (item[0][0], _plain(item[0][1])))
    rows: list[list[InlineLike]] = [
        [code(app), change, str(count)] for (app, change), count in ordered
    ]
    return make_table(("App", "Change", "Customers"), rows)


def _plain(inline: Inline) -> str:
    return "".join(span.text for span in inline)


def _changes(plan: Mapping[str, Any]) -> Section:
    blocks: list[Block] = []
    unread = [c for c in plan["customers"] if c.get("read") is False]
    if unread:
        blocks.append(
            Paragraph(
                text(
                    f"{len(unread)} customer(s) not read yet: the Secure Application Model app "
                    "has no consent there, so nothing could be read and their changes are those "
                    "of an empty tenant. ",
                    code("apply"),
                    " makes that app's consent first, then reads the tenant and does only what "
                    "is still missing.",
                )
            )
        )
    rows: list[list[InlineLike]] = [
        [_str(c["name"]), code(_str(c["tenantId"])), code(_str(a["app"])), action_text(a)]
        for c in plan["customers"]
        for a in c["actions"]
    ]
    if rows:
        blocks += [_by_change(plan), Paragraph(text("Per customer:"))]
        headers = ("Customer", "Tenant", "App", "Change")
        blocks += _limited(headers, rows, f"{plan['region']}-plan.json")
    else:
        blocks.append(Paragraph(text("None.")))
    return Section("Changes", tuple(blocks))


def _gdap_customer(customer: Mapping[str, Any]) -> Section:
    gdap = customer["gdap"]
    template = _str(gdap.get("template"))
    offboarding: tuple[InlineLike, ...] = (
        (" · ", strong("offboarding")) if customer.get("offboard") else ()
    )
    blocks: list[Block] = [
        Paragraph(text("Template: ", code(template) if template else "—", *offboarding))
    ]
    rows = [
        [
            code(_str(r["displayName"])),
            _str(r["status"]),
            roles_text([_str(role) for role in r["roles"]]),
            _str(r.get("endDateTime")) or "—",
            _str(r.get("autoExtendDuration")) or "—",
            "template" if r.get("managed") else "by hand",
        ]
        for r in gdap.get("relationships") or []
    ]
    if rows:
        headers = ("Relationship", "Status", "Roles", "Ends", "Auto-extend", "Made")
        blocks.append(make_table(headers, rows))
    else:
        blocks.append(Paragraph(text("No GDAP relationship yet.")))
    notes: list[InlineLike] = [
        f"{finding['cause']}: {finding['fix']}" for finding in gdap.get("findings") or []
    ]
    notes += [
        f"Approval link for the customer's Global Administrator: {link}"
        for link in gdap.get("approvalLinks") or []
    ]
    if customer.get("waiting"):
        notes.append(
            f"{len(customer['waiting'])} consent change(s) wait for an active GDAP relationship "
            "(the next plan after the customer's approval lists them)"
        )
    if notes:
        blocks.append(bullets(notes))
    return Section(_customer(customer["name"], customer["tenantId"]), tuple(blocks), level=3)


def _gdap(plan: Mapping[str, Any]) -> list[Block]:
    """Per customer whose file manages GDAP: its relationships (roles by name, Global
    Administrator marked ⚠), what was found, the approval links and the consents waiting."""
    managed = [c for c in plan["customers"] if c.get("gdap") is not None]
    if not managed:
        return []
    return [Section("GDAP relationships", tuple(_gdap_customer(c) for c in managed))]


def _offboarding(plan: Mapping[str, Any]) -> list[Block]:
    leaving = [c for c in plan["customers"] if c.get("offboard")]
    if not leaving:
        return []
    intro = text(
        "In this order: our apps' application permissions and delegated grants, their service "
        "principals (the Secure Application Model app last), the Partner Center consents, then "
        "the GDAP relationships terminated. The audit log gets one dated record listing each "
        "removal; ",
        code("customers verify"),
        " then shows every app not consented.",
    )
    rows: list[list[InlineLike]] = [
        [_str(c["name"]), code(_str(c["tenantId"])), code(_str(a["app"])), action_text(a)]
        for c in leaving
        for a in c["actions"]
    ]
    table = make_table(("Customer", "Tenant", "App", "Removal"), rows)
    return [Section("Offboarding", (Paragraph(intro), table))]


def _told(action: Mapping[str, Any]) -> str:
    """A change as a customer's change manager reads it (no identifiers)."""
    kind = _str(action.get("action"))
    roles = roles_text([_str(v) for v in action.get("values") or []])
    app = _str(action.get("app"))
    if kind == "gdap-create":
        return (
            f"Your partner requests an admin relationship (GDAP) with the roles {roles}; your "
            "Global Administrator approves it in the Microsoft 365 admin center"
        )
    if kind in ("gdap-add-assignment", "gdap-change-assignment"):
        return f"Partner administrators get the roles {roles} in your tenant through GDAP"
    if kind == "gdap-remove-assignment":
        return f"Partner administrators lose the roles {roles} in your tenant"
    if kind == "gdap-terminate":
        return f"An admin relationship of your partner ends (roles {roles})"
    if kind == "gdap-auto-extend":
        return "The admin relationship's automatic extension by 180 days changes"
    if kind in ("consent", "create-app-principal"):
        return f"The application {app} is added to your tenant (admin consent)"
    if kind in ("grant-delegated", "assign-app-role"):
        return f"The application {app} gets the permissions {roles}"
    if kind.startswith("offboard-") or kind.startswith("remove-"):
        return f"The application {app} and its permissions are removed"
    return ""


def _change_manager(plan: Mapping[str, Any]) -> list[Block]:
    """What a partner can forward to each customer's change manager: what changes in their
    tenant and when (the plan's date; the changes are made by the next reviewed apply)."""
    blocks: list[Block] = []
    for customer in plan["customers"]:
        said = [told for told in (_told(a) for a in customer["actions"]) if told]
        if not said:
            continue
        when = f": planned {plan['generatedAt']}, made by the partner's next reviewed apply."
        heading = text(
            label(_str(customer["name"])), " (", code(_str(customer["tenantId"])), ")", when
        )
        blocks += [Paragraph(heading), bullets(dict.fromkeys(said))]
    if not blocks:
        return []
    return [Section("For each customer's change manager", tuple(blocks))]


def _failures(items: Sequence[Mapping[str, Any]], *, with_app: bool) -> list[Block]:
    failed = [item for item in items if item.get("cause")]
    if not failed:
        return []
    headers = ("Customer", "Tenant", *(("App",) if with_app else ()), "Cause", "Fix")
    rows = [
        [
            _str(item.get("customer") or item.get("name")),
            code(_str(item["tenantId"])),
            *((code(_str(item["app"])),) if with_app else ()),
            _str(item["cause"]),
            _str(item["fix"]),
        ]
        for item in failed
    ]
    return [Section("Failed", (make_table(headers, rows),))]


def _summary(plan: Mapping[str, Any]) -> Paragraph:
    summary = plan["summary"]
    blocked = (
        f" ({summary['blocked']} of them blocked: their GDAP relationship lacks a role)"
        if summary.get("blocked")
        else ""
    )
    pruned: tuple[InlineLike, ...] = (
        (" (with ", code("--prune"), ": removals listed).") if plan.get("prune") else (".",)
    )
    return Paragraph(
        text(
            "Partner tenant ",
            code(_str(plan["partnerTenantId"])),
            f", generated {plan['generatedAt']}: ",
            strong(str(summary["changes"])),
            f" change(s) in {summary['customers']} customer(s), {summary['unchanged']} "
            f"unchanged, {summary['failed']} failed{blocked}",
            *pruned,
        )
    )


def plan_report(plan: Mapping[str, Any]) -> Report:
    """``customers plan``: what every customer tenant gets, the changes (by change and per
    customer), GDAP, offboarding, the change managers' summary, failures and exclusions."""
    blocks: list[Block] = [_summary(plan), _apps(plan), _changes(plan)]
    blocks += [*_gdap(plan), *_offboarding(plan), *_change_manager(plan)]
    blocks += _failures(plan["customers"], with_app=False)
    if plan.get("excluded"):
        rows: list[list[InlineLike]] = [
            [_str(e["name"]), code(_str(e["tenantId"])), _str(e["reason"])]
            for e in plan["excluded"]
        ]
        blocks.append(Section("Not touched", (make_table(("Customer", "Tenant", "Why"), rows),)))
    return Report(f"Customer consent plan: region {plan['region']}", tuple(blocks))


def apply_report(document: Mapping[str, Any]) -> Report:
    """``customers apply``: every write with its result and request id, the GDAP approval links
    to send, and the customers that failed."""
    outcomes = document["customers"]
    writes: list[list[InlineLike]] = [
        [
            _str(o["name"]),
            code(_str(o["tenantId"])),
            code(_str(w["app"])),
            _str(w["action"]),
            _str(w["result"]),
            code(_str(w["requestId"])),
        ]
        for o in outcomes
        for w in o["writes"]
    ]
    blocks: list[Block] = [
        Paragraph(
            text(
                f"{len(writes)} write(s) in {len(outcomes)} customer(s); audit log ",
                code(_str(document.get("auditLog")) or "(none)"),
                ".",
            )
        )
    ]
    if writes:
        headers = ("Customer", "Tenant", "App", "Write", "Result", "Request id")
        blocks += _limited(headers, writes, f"{document['region']}-apply.json")
    links = [
        ListItem(text(_customer(o["name"], o["tenantId"]), f": {w['approvalLink']}"))
        for o in outcomes
        for w in o["writes"]
        if w.get("approvalLink")
    ]
    if links:
        send = "Send each to the customer's Global Administrator (Microsoft 365 admin center):"
        blocks.append(
            Section("GDAP approval links", (Paragraph(text(send)), BulletList(tuple(links))))
        )
    blocks += _failures(outcomes, with_app=False)
    return Report(f"Customer consent apply: region {document['region']}", tuple(blocks))


def verify_report(document: Mapping[str, Any]) -> Report:
    """``customers verify``: a customer × app matrix (verified, offboarded or failed) and the
    failures with their cause and fix."""
    results = document["results"]
    apps = sorted({_str(r["app"]) for r in results})
    by_customer: dict[tuple[str, str], dict[str, InlineLike]] = {}
    for r in results:
        state = _str(r["state"])
        mark = state if state in ("verified", "offboarded") else strong("failed")
        by_customer.setdefault((_str(r["customer"]), _str(r["tenantId"])), {})[r["app"]] = mark
    rows = [
        [name, code(tenant), *(cells.get(app, "—") for app in apps)]
        for (name, tenant), cells in sorted(by_customer.items())
    ]
    verified = sum(1 for r in results if r["state"] == "verified")
    checked = (
        f"Checked {document['checkedAt']}: {verified} of {len(results)} customer × app verified "
        "(a new app-only token each, its roles, then GET /organization)."
    )
    blocks: list[Block] = [
        Paragraph(text(checked)),
        make_table(("Customer", "Tenant", *apps), rows),
        *_failures(results, with_app=True),
    ]
    return Report(f"Customer access: region {document['stack']}", tuple(blocks))
