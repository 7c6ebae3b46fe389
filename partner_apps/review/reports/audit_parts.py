"""The audit report's parts per region (owners, scopes, known clients, redirect URIs, Key Vault
network rules and role assignments) and the customer consent results, with the small helpers the
whole audit report shares."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from partner_apps.review.reports import figures
from partner_apps.review.reports.model import (
    Block,
    Figure,
    Inline,
    InlineLike,
    Paragraph,
    Section,
    bullets,
    code,
    make_table,
    strong,
    text,
)


def stack_names(data: Mapping[str, Any]) -> list[str]:
    return [s["stack"] for s in data["stacks"]]


def join(items: Sequence[InlineLike], last: str = " and ") -> Inline:
    """Inline ``a``, ``a and b``, ``a, b and c``."""
    parts: list[InlineLike] = []
    for index, item in enumerate(items):
        if index:
            parts.append(last if index == len(items) - 1 else ", ")
        parts.append(item)
    return text(*parts)


def codes(values: Iterable[str]) -> Inline:
    """Values as code, comma-separated; a dash for none."""
    listed = [v for v in values if v]
    return join([code(v) for v in listed], ", ") if listed else text("—")


def yes(value: Any) -> str:
    if value is None:
        return "unknown"
    return "yes" if value else "no"


def status_text(status: str | None) -> InlineLike:
    if status in (None, "ok", "no expiry"):
        return status or "—"
    return strong(status)


def or_none(blocks: Sequence[Block], none: str) -> tuple[Block, ...]:
    return tuple(blocks) if blocks else (Paragraph(text(none)),)


# --------------------------------------------------------------------------------------------
# Per region
# --------------------------------------------------------------------------------------------


def region(data: Mapping[str, Any], entry: Mapping[str, Any]) -> Section:
    stack = entry["stack"]
    title = f"Region {stack}"
    if entry.get("previewFailed"):
        return Section(
            title, (Paragraph(text("Preview failed: nothing is known about this region.")),)
        )
    apps = [a for a in data["apps"] if a["stack"] == stack]
    vaults = [v for v in data["vaults"] if v["stack"] == stack]
    intro = Paragraph(
        text(
            "Tenant ",
            code(entry["tenantId"] or "?"),
            ", subscription ",
            code(entry.get("subscriptionId") or "?"),
            f", location {entry['location'] or '?'}. ",
            _region_summary(data, stack),
        )
    )
    return Section(
        title,
        (
            intro,
            _owners(apps),
            _scopes(apps),
            _known_clients(apps),
            _redirect_uris(apps),
            _vault_network(vaults),
            _vault_roles(vaults),
        ),
    )


def _region_summary(data: Mapping[str, Any], stack: str) -> str:
    """Counts for one region: apps, grants, credentials and secrets by status, policy results."""
    permissions = [p for p in data["permissions"] if p["stack"] == stack]
    high = sum(1 for p in permissions if p["risk"] == "high")
    dated = [c["status"] for c in data["credentials"] if c["stack"] == stack]
    dated += [s["status"] for s in data["secrets"] if s["stack"] == stack]
    expired = dated.count("expired")
    soon = sum(1 for status in dated if status.startswith("expires in"))
    failing = sum(
        1 for p in data["policies"] if p["results"].get(stack, {}).get("status") == "fail"
    )
    reported = sum(
        1 for p in data["policies"] if p["results"].get(stack, {}).get("status") == "reported"
    )
    mandatory = sum(
        1
        for v in data["violations"]
        if v["stack"] == stack and v["enforcementLevel"] == "mandatory"
    )
    apps = sum(1 for a in data["apps"] if a["stack"] == stack)
    return (
        f"{apps} apps, {len(permissions)} permission grants ({high} high risk), "
        f"{len(dated)} credentials and secrets ({expired} expired, {soon} expiring within "
        f"{data['warnDays']} days), {failing} policies failing ({mandatory} mandatory "
        f"violations), {reported} advisory policies reporting findings (by design)."
    )


def _admin_agents_groups(app: Mapping[str, Any]) -> InlineLike:
    return codes(app["adminAgentsGroups"]) if app["adminAgentsGroups"] else strong("none")


def _owners(apps: Sequence[Mapping[str, Any]]) -> Section:
    table = make_table(
        (
            "App",
            "Display name",
            "Client id",
            "Registration owners",
            "Service principal owners",
            "AdminAgents group",
        ),
        (
            [
                code(a["app"]),
                a["displayName"],
                code(a["clientId"] or ""),
                codes(a["owners"]),
                codes(a["servicePrincipalOwners"]),
                _admin_agents_groups(a),
            ]
            for a in apps
        ),
    )
    return Section("Apps and owners", or_none([table] if apps else [], "No apps."), level=3)


def _scopes(apps: Sequence[Mapping[str, Any]]) -> Section:
    rows = [
        [
            code(a["app"]),
            code(s["value"]),
            "admin" if s["type"] == "Admin" else "user",
            "yes" if s["enabled"] else strong("no"),
            s["adminConsentDisplayName"] or "—",
        ]
        for a in apps
        for s in a["scopes"]
    ]
    table = make_table(("App", "Scope", "Consent", "Enabled", "Admin consent name"), rows)
    return Section(
        "Exposed scopes", or_none([table] if rows else [], "No app exposes a scope."), level=3
    )


def _client(ref: Mapping[str, Any]) -> Inline:
    client_id = ref["clientId"]
    if ref.get("app"):
        return text(code(ref["app"]), " (", code(client_id), ")")
    return text(code(client_id))


def _known_clients(apps: Sequence[Mapping[str, Any]]) -> Section:
    rows: list[list[InlineLike]] = [
        [code(a["app"]), _client(r)] for a in apps for r in a["knownClients"]
    ]
    table = make_table(("App", "Known client"), rows)
    return Section(
        "Known clients", or_none([table] if rows else [], "No app names known clients."), level=3
    )


def _https(uri: str) -> InlineLike:
    """yes, "no (loopback)" for http://localhost or 127.0.0.1, or **no**."""
    lowered = uri.lower()
    if lowered.startswith("https://"):
        return "yes"
    try:
        host = urlsplit(lowered).hostname
    except ValueError:
        host = None
    if lowered.startswith("http://") and host in ("localhost", "127.0.0.1", "::1"):
        return "no (loopback)"
    return strong("no")


def _redirect_uris(apps: Sequence[Mapping[str, Any]]) -> Section:
    rows = [[code(a["app"]), code(u), _https(u)] for a in apps for u in a["redirectUris"]]
    table = make_table(("App", "Redirect URI", "HTTPS"), rows)
    return Section(
        "Redirect URIs", or_none([table] if rows else [], "No app has redirect URIs."), level=3
    )


def _vault_network(vaults: Sequence[Mapping[str, Any]]) -> Section:
    table = make_table(
        (
            "Vault",
            "Public network access",
            "Default action",
            "Bypass",
            "IP rules",
            "Virtual network rules",
        ),
        (
            [
                code(v["vault"]),
                v["publicNetworkAccess"],
                v["defaultAction"],
                v["bypass"],
                codes(v["ipRules"]),
                codes(v["virtualNetworkRules"]),
            ]
            for v in vaults
        ),
    )
    return Section(
        "Key Vault network rules", or_none([table] if vaults else [], "No Key Vault."), level=3
    )


def _vault_roles(vaults: Sequence[Mapping[str, Any]]) -> Section:
    rows = [
        [
            code(v["vault"]),
            code(r["principalId"]),
            r["principalType"] or "—",
            text(r["role"], text(" ", strong("⚠ risk"), f": {r['risk']}") if r.get("risk") else ()),
            code(r["scope"]),
            r["description"] or "—",
        ]
        for v in vaults
        for r in v["roleAssignments"]
    ]
    table = make_table(
        ("Vault", "Principal", "Principal type", "Role", "Scope", "Description"), rows
    )
    return Section(
        "Key Vault role assignments",
        or_none([table] if rows else [], "No role assignment on the vault."),
        level=3,
    )


# --------------------------------------------------------------------------------------------
# Customer consent results
# --------------------------------------------------------------------------------------------


def consent(data: Mapping[str, Any]) -> Section:
    title = "Customer consent results"
    consent = data["consentResults"]
    if not consent.get("given"):
        return Section(title, (Paragraph(text("No customer consent results given.")),))
    blocks: list[Block] = []
    for stack in stack_names(data):
        results = [r for r in consent["results"] if r["stack"] == stack]
        blocks.append(_consent_region(stack, results, consent.get("auditLogs", {}).get(stack, "")))
    others = sorted({r["stack"] for r in consent["results"]} - set(stack_names(data)))
    if others:
        blocks.append(
            Paragraph(text("Results for stacks this audit has no plan for: ", codes(others), "."))
        )
    if consent["problems"]:
        blocks += [Paragraph(text(strong("Unreadable results"))), bullets(consent["problems"])]
    return Section(title, tuple(blocks))


def _consent_region(stack: str, results: Sequence[Mapping[str, Any]], log: str = "") -> Section:
    if not results:
        return Section(
            f"Consent in {stack}", (Paragraph(text("No consent results for this region.")),), 3
        )
    states: dict[str, int] = {}
    for result in results:
        states[result["state"]] = states.get(result["state"], 0) + 1
    summary = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
    last = max((r["checkedAt"] for r in results if r["checkedAt"]), default="—")
    tied = f" Last verified {last}; writes in the audit log {log}." if log else ""
    good = ("consented", "verified")
    table = make_table(
        ("Customer", "App", "State", "Checked at", "Tenant", "Roles", "Failure and fix"),
        (
            [
                code(r["customer"]),
                code(r["app"]),
                r["state"] if r["state"] in good else strong(r["state"]),
                r["checkedAt"] or "—",
                code(r["tenantId"]) if r.get("tenantId") else "—",
                r.get("roles") or "—",
                r.get("failure") or "—",
            ]
            for r in results
        ),
    )
    customers = sorted({str(r["customer"]) for r in results})
    apps = sorted({str(r["app"]) for r in results})
    picture = Figure(
        figures.matrix(
            f"Consent in {stack}: customers × apps",
            customers,
            apps,
            {(str(r["customer"]), str(r["app"])): str(r["state"]) for r in results},
        ),
        f"Customers × apps in {stack}: green verified, red failed, grey another state.",
    )
    return Section(
        f"Consent in {stack}",
        (Paragraph(text(f"Latest state: {summary}.{tied}")), picture, table),
        level=3,
    )
