"""Markdown of the customer plan, the apply results and the verify matrix, from their JSON.

The JSON is the one model (``Plan.as_json``, the verify document); this module only renders it,
in the reviewer style of the stack plans: permission names, delegated or application, risk,
region. Nothing here sees a token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from partner_apps.review.reports.markdown import code, table

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


def _limited(headers: Sequence[str], rows: list[list[Any]], json_name: str) -> list[str]:
    lines = table(headers, rows[:MAX_ROWS])
    if len(rows) > MAX_ROWS:
        lines += ["", f"… and {len(rows) - MAX_ROWS} more rows: every row is in {code(json_name)}."]
    return lines


def _by_change(plan: Mapping[str, Any]) -> list[str]:
    counts: dict[tuple[str, str], int] = {}
    for customer in plan["customers"]:
        for action in customer["actions"]:
            key = (str(action["app"]), action_text(action))
            counts[key] = counts.get(key, 0) + 1
    rows = [[code(app), text, count] for (app, text), count in sorted(counts.items())]
    return table(("App", "Change", "Customers"), rows)


def _roles(names: Sequence[str]) -> str:
    return ", ".join(f"⚠ {n}" if n == GLOBAL_ADMINISTRATOR else n for n in names) or "—"


def action_text(action: Mapping[str, Any]) -> str:
    template = ACTION_TEXT.get(str(action.get("action")), str(action.get("action")))
    resource = str(action.get("resourceAppId", ""))
    return template.format(
        api=action.get("api", ""),
        values=_roles(list(action.get("values") or [])),
        resource=code(resource.split("/", 1)[0]) if resource else "—",
        group=code(resource.rsplit("/", 1)[-1]) if resource else "—",
    )


def _gdap(plan: Mapping[str, Any]) -> list[str]:
    """Per customer whose file manages GDAP: its relationships (roles by name, Global
    Administrator marked ⚠), what was found, the approval links and the consents waiting."""
    managed = [c for c in plan["customers"] if c.get("gdap") is not None]
    if not managed:
        return []
    lines = ["### GDAP relationships", ""]
    for customer in managed:
        gdap = customer["gdap"]
        template = gdap.get("template")
        lines += [
            f"#### {customer['name']} ({code(customer['tenantId'])})",
            "",
            f"Template: {code(template) if template else '—'}"
            + (" · **offboarding**" if customer.get("offboard") else ""),
            "",
        ]
        rows = [
            [
                code(r["displayName"]),
                r["status"],
                _roles(r["roles"]),
                (r.get("endDateTime") or "—"),
                r.get("autoExtendDuration") or "—",
                "template" if r.get("managed") else "by hand",
            ]
            for r in gdap.get("relationships") or []
        ]
        if rows:
            headers = ("Relationship", "Status", "Roles", "Ends", "Auto-extend", "Made")
            lines += [*table(headers, rows), ""]
        else:
            lines += ["No GDAP relationship yet.", ""]
        for finding in gdap.get("findings") or []:
            lines.append(f"- {finding['cause']}: {finding['fix']}")
        for link in gdap.get("approvalLinks") or []:
            lines.append(f"- Approval link for the customer's Global Administrator: {link}")
        if customer.get("waiting"):
            lines.append(
                f"- {len(customer['waiting'])} consent change(s) wait for an active GDAP "
                "relationship (the next plan after the customer's approval lists them)"
            )
        lines.append("")
    return lines


def _offboarding(plan: Mapping[str, Any]) -> list[str]:
    leaving = [c for c in plan["customers"] if c.get("offboard")]
    if not leaving:
        return []
    lines = [
        "### Offboarding",
        "",
        "In this order: our apps' application permissions and delegated grants, their service "
        "principals (the Secure Application Model app last), the Partner Center consents, then "
        "the GDAP relationships terminated. The audit log gets one dated record listing each "
        "removal; `customers verify` then shows every app not consented.",
        "",
    ]
    rows = [
        [customer["name"], code(customer["tenantId"]), code(a["app"]), action_text(a)]
        for customer in leaving
        for a in customer["actions"]
    ]
    return [*lines, *table(("Customer", "Tenant", "App", "Removal"), rows), ""]


def _change_manager(plan: Mapping[str, Any]) -> list[str]:
    """What a partner can forward to each customer's change manager: what changes in their
    tenant and when (the plan's date; the changes are made by the next reviewed apply)."""
    lines: list[str] = []
    for customer in plan["customers"]:
        said = [_plain(a) for a in customer["actions"]]
        said = [text for text in said if text]
        if not said:
            continue
        lines += [
            f"**{customer['name']}** ({code(customer['tenantId'])}): planned "
            f"{plan['generatedAt']}, made by the partner's next reviewed apply.",
            "",
            *(f"- {text}" for text in dict.fromkeys(said)),
            "",
        ]
    if not lines:
        return []
    return ["### For each customer's change manager", "", *lines]


def _plain(action: Mapping[str, Any]) -> str:
    kind = str(action.get("action", ""))
    roles = _roles(list(action.get("values") or []))
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
        return f"The application {action.get('app')} is added to your tenant (admin consent)"
    if kind in ("grant-delegated", "assign-app-role"):
        return f"The application {action.get('app')} gets the permissions {roles}"
    if kind.startswith("offboard-") or kind.startswith("remove-"):
        return f"The application {action.get('app')} and its permissions are removed"
    return ""


def _apps(plan: Mapping[str, Any]) -> list[str]:
    rows = [
        [
            code(app["app"]),
            code(app["clientId"]),
            grant["api"],
            code(grant["permission"]),
            grant["kind"],
            f"**{grant['risk']}**" if grant["risk"] == "high" else grant["risk"],
        ]
        for app in plan["apps"]
        for grant in app["grants"]
    ]
    return table(("App", "Client id", "API", "Permission", "Type", "Risk"), rows)


def plan_markdown(plan: Mapping[str, Any]) -> str:
    summary = plan["summary"]
    region = plan["region"]
    lines = [
        f"## Customer consent plan: region {region}",
        "",
        f"Partner tenant {code(plan['partnerTenantId'])}, generated {plan['generatedAt']}: "
        f"**{summary['changes']}** change(s) in {summary['customers']} customer(s), "
        f"{summary['unchanged']} unchanged, {summary['failed']} failed"
        + (
            f" ({summary['blocked']} of them blocked: their GDAP relationship lacks a role)"
            if summary.get("blocked")
            else ""
        )
        + (" (with `--prune`: removals listed)." if plan.get("prune") else "."),
        "",
        "### What every customer tenant gets",
        "",
        "Delegated permissions: one tenant-wide grant (`AllPrincipals`) per API; application "
        "permissions: app role assignments (app-only, every customer: high risk).",
        "",
        *_apps(plan),
        "",
    ]
    changes = [
        [customer["name"], code(customer["tenantId"]), code(action["app"]), action_text(action)]
        for customer in plan["customers"]
        for action in customer["actions"]
    ]
    lines += ["### Changes", ""]
    unread = [c for c in plan["customers"] if c.get("read") is False]
    if unread:
        lines += [
            f"{len(unread)} customer(s) not read yet: the Secure Application Model app has no "
            "consent there, so nothing could be read and their changes are those of an empty "
            "tenant. `apply` makes that app's consent first, then reads the tenant and does only "
            "what is still missing.",
            "",
        ]
    if changes:
        lines += [*_by_change(plan), "", "Per customer:", ""]
        lines += _limited(("Customer", "Tenant", "App", "Change"), changes, f"{region}-plan.json")
    else:
        lines.append("None.")
    lines += ["", *_gdap(plan), *_offboarding(plan), *_change_manager(plan)]
    lines += [*_failures(plan["customers"], with_app=False)]
    if plan.get("excluded"):
        lines += ["### Not touched", ""]
        lines += table(
            ("Customer", "Tenant", "Why"),
            ([e["name"], code(e["tenantId"]), e["reason"]] for e in plan["excluded"]),
        )
        lines.append("")
    return "\n".join(lines)


def _failures(items: Sequence[Mapping[str, Any]], *, with_app: bool) -> list[str]:
    failed = [item for item in items if item.get("cause")]
    if not failed:
        return []
    headers = ("Customer", "Tenant", *(("App",) if with_app else ()), "Cause", "Fix")
    rows = [
        [
            item.get("customer") or item.get("name"),
            code(item["tenantId"]),
            *((code(item["app"]),) if with_app else ()),
            item["cause"],
            item["fix"],
        ]
        for item in failed
    ]
    return ["### Failed", "", *table(headers, rows), ""]


def apply_markdown(document: Mapping[str, Any]) -> str:
    outcomes = document["customers"]
    writes = [
        [
            o["name"],
            code(o["tenantId"]),
            code(w["app"]),
            w["action"],
            w["result"],
            code(w["requestId"]),
        ]
        for o in outcomes
        for w in o["writes"]
    ]
    lines = [
        f"## Customer consent apply: region {document['region']}",
        "",
        f"{len(writes)} write(s) in {len(outcomes)} customer(s); audit log "
        f"{code(document.get('auditLog') or '(none)')}.",
        "",
    ]
    if writes:
        headers = ("Customer", "Tenant", "App", "Write", "Result", "Request id")
        lines += _limited(headers, writes, f"{document['region']}-apply.json")
        lines.append("")
    links = [
        f"- {o['name']} ({code(o['tenantId'])}): {w['approvalLink']}"
        for o in outcomes
        for w in o["writes"]
        if w.get("approvalLink")
    ]
    if links:
        lines += [
            "### GDAP approval links",
            "",
            "Send each to the customer's Global Administrator (Microsoft 365 admin center):",
            "",
            *links,
            "",
        ]
    lines += _failures(outcomes, with_app=False)
    return "\n".join(lines)


def verify_markdown(document: Mapping[str, Any]) -> str:
    results = document["results"]
    apps = sorted({r["app"] for r in results})
    by_customer: dict[tuple[str, str], dict[str, str]] = {}
    for r in results:
        mark = r["state"] if r["state"] in ("verified", "offboarded") else "**failed**"
        by_customer.setdefault((r["customer"], r["tenantId"]), {})[r["app"]] = mark
    rows = [
        [name, code(tenant), *(cells.get(app, "—") for app in apps)]
        for (name, tenant), cells in sorted(by_customer.items())
    ]
    verified = sum(1 for r in results if r["state"] == "verified")
    lines = [
        f"## Customer access: region {document['stack']}",
        "",
        f"Checked {document['checkedAt']}: {verified} of {len(results)} customer × app "
        "verified (a new app-only token each, its roles, then GET /organization).",
        "",
        *table(("Customer", "Tenant", *(code(a) for a in apps)), rows),
        "",
        *_failures(results, with_app=True),
    ]
    return "\n".join(lines)
