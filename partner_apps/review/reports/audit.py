"""The audit's report model: ``audit_data``'s document as sections, paragraphs and tables.

``build(data)`` makes one ``reports.model.Report``; ``markdown`` and ``html_page`` render it,
so ``audit.md`` and ``audit.html`` carry the same headings, text and table cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from partner_apps.review.analysis.views import group_by_message
from partner_apps.review.reports import figures
from partner_apps.review.reports.audit_parts import (
    consent,
    join,
    region,
    stack_names,
    status_text,
    yes,
)
from partner_apps.review.reports.model import (
    Block,
    Figure,
    Inline,
    InlineLike,
    ListItem,
    Paragraph,
    Report,
    Section,
    bullets,
    code,
    make_table,
    strong,
    text,
    to_html,
    to_markdown,
)

TITLE = "Audit: partner-managed apps across regions"

_POLICY_SOURCE_NOTES: dict[str, InlineLike] = {
    "plan": text(
        "Every policy of the pack, with the enforcement each region's policy config (",
        code("policies/config/<region>.json"),
        ") gives it; a disabled policy did not run there.",
    ),
    "mixed": "From each plan's own list where it has one, else the policy pack's defaults "
    "(older plans do not list the policies that ran).",
    "pack": "Policy list and enforcement from the policy pack's defaults (the plans do not "
    "list the policies that ran, so a region's policy config is not reflected).",
    "violations": "Only policies with a violation somewhere are listed (the policy list is "
    "not available).",
    "none": "No stack has a plan, so no policy result is known.",
}


def markdown(data: Mapping[str, Any]) -> str:
    return to_markdown(build(data))


def html_page(data: Mapping[str, Any]) -> str:
    return to_html(build(data))


def build(data: Mapping[str, Any]) -> Report:
    """The whole audit as one report model: the verdict first, then (in HTML) the contents."""
    blocks: list[Block] = [verdict(data)]
    unverified = _unverified(data)
    if unverified is not None:
        blocks.append(unverified)
    blocks += [_intro(data), _provenance(data)]
    failed = _failed(data)
    if failed is not None:
        blocks.append(failed)
    blocks += [
        _stacks(data),
        _policies(data),
        _admin_agents(data),
        _permissions(data),
        _differences(data),
        _credentials(data),
        _secrets(data),
    ]
    blocks += [region(data, stack) for stack in data["stacks"]]
    blocks.append(consent(data))
    return Report(TITLE, tuple(blocks), contents=True)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def verdict(data: Mapping[str, Any]) -> Paragraph:
    """What matters first: whether anything needs action (a failed preview, a mandatory
    violation, a failing policy, an expired or expiring credential or secret), then what was
    audited. An advisory policy's findings are reported by design and need no action."""
    failed = [s["stack"] for s in data["stacks"] if s.get("previewFailed")]
    audited = len(data["stacks"]) - len(failed)
    mandatory = sum(1 for v in data["violations"] if v["enforcementLevel"] == "mandatory")
    failing = sum(
        1 for p in data["policies"] if any(r["status"] == "fail" for r in p["results"].values())
    )
    reported = sum(
        1 for p in data["policies"] if any(r["status"] == "reported" for r in p["results"].values())
    )
    dated = [c["status"] for c in data["credentials"]] + [s["status"] for s in data["secrets"]]
    expired = dated.count("expired")
    soon = sum(1 for status in dated if status.startswith("expires in"))
    consents = data["consentResults"].get("results", [])
    unconsented = sum(1 for r in consents if r["state"] not in ("consented", "verified"))
    unverified = [p["stack"] for p in data.get("plans", ()) if not p["verified"]]
    problems = [
        *(
            [_count(len(unverified), "plan") + f" that do not verify ({', '.join(unverified)})"]
            if unverified
            else []
        ),
        *([_count(len(failed), "preview") + f" failed ({', '.join(failed)})"] if failed else []),
        *([_count(mandatory, "mandatory policy violation")] if mandatory else []),
        *([_count(failing, "policy", "policies") + " failing"] if failing else []),
        *([f"{expired} expired (credentials and Key Vault secrets)"] if expired else []),
        *([f"{soon} expiring within {data['warnDays']} days"] if soon else []),
        *([_count(unconsented, "customer consent") + " not verified"] if unconsented else []),
    ]
    audited_text = (
        f"{_count(audited, 'stack')} audited as of {data['asOf']}; "
        f"{_count(reported, 'advisory policy', 'advisory policies')} reporting findings "
        "(by design)."
    )
    if problems:
        return Paragraph(
            text(strong("Verdict: action needed"), f" — {'; '.join(problems)}. {audited_text}")
        )
    return Paragraph(
        text(
            strong("Verdict: nothing needs action"),
            " — no failed preview, no mandatory policy violation, no policy failing, nothing "
            f"expired or expiring within {data['warnDays']} days, no customer consent "
            f"unverified. {audited_text}",
        )
    )


# --------------------------------------------------------------------------------------------
# Head of the report
# --------------------------------------------------------------------------------------------


def _intro(data: Mapping[str, Any]) -> Paragraph:
    return Paragraph(
        text(
            "Project ",
            code(data["project"] or "?"),
            "; stacks ",
            join([code(s) for s in stack_names(data)]),
            f". Evaluated as of {data['asOf']} (UTC).",
        )
    )


def _commit(data: Mapping[str, Any]) -> Inline:
    commit = data["commit"]
    if commit == "unknown":
        return text("unknown (not a git checkout)")
    dirty = data.get("dirty")
    note = " (dirty: the work tree has uncommitted changes)" if dirty else ""
    if dirty is None:
        note = " (work tree state unknown)"
    return text(code(commit), note)


def expiry_summary(data: Mapping[str, Any]) -> str:
    """``n expired, n expiring within N days, n ok`` over credentials and Key Vault secrets."""
    statuses = [c["status"] for c in data["credentials"]] + [s["status"] for s in data["secrets"]]
    expired = statuses.count("expired")
    soon = sum(1 for s in statuses if s.startswith("expires in"))
    others = len(statuses) - expired - soon - statuses.count("ok")
    text_ = (
        f"{expired} expired, {soon} expiring within {data['warnDays']} days, "
        f"{statuses.count('ok')} ok (credentials and Key Vault secrets)"
    )
    return text_ + (f"; {others} without a usable expiry date" if others else "")


def _unverified(data: Mapping[str, Any]) -> Section | None:
    """The plans whose own verdict the audit's does not confirm: first, never missed."""
    plans = [p for p in data.get("plans", ()) if not p["verified"]]
    if not plans:
        return None
    intro = Paragraph(
        text(
            "The audit evaluated the policy pack again on each plan's recorded resources (with "
            "the region's policy config and the plan's evaluation date). These plans do not "
            "agree with that judgement, or could not be judged: treat them as tampered with or "
            "stale. The rest of this report counts the pack's own findings, not the plans' lists."
        )
    )
    items = [
        ListItem(
            text(
                code(p["stack"]),
                " (",
                code(p["file"] or "?"),
                ", SHA-256 ",
                code(p["sha256"] or "?"),
                "): ",
                _count(len(p["problems"]), "disagreement"),
            ),
            "\n".join(p["problems"]),
        )
        for p in plans
    ]
    return Section("⚠ Plans that do not verify", (intro, bullets(items)))


def _recorded_by(entry: Mapping[str, Any]) -> InlineLike:
    pack = entry.get("recordedBy")
    if not pack:
        return "not recorded"
    return text(code(pack["name"]), f" {pack['version']} ", code(pack["digest"]))


def _plans_table(data: Mapping[str, Any]) -> Block:
    rows: list[Sequence[InlineLike]] = [
        [
            code(p["stack"]),
            code(p["file"] or "?"),
            code(p["sha256"] or "not read from a file"),
            p["origin"],
            _recorded_by(p),
            p["evaluationDate"] or "not recorded",
            "yes" if p["verified"] else strong("⚠ no"),
        ]
        for p in data.get("plans", ())
    ]
    return make_table(
        (
            "Stack",
            "Plan file",
            "SHA-256",
            "Source",
            "Recorded by pack",
            "Evaluation date",
            "Judged again, agrees",
        ),
        rows,
    )


def _provenance(data: Mapping[str, Any]) -> Section:
    pack = data["policyPack"]
    rerun = f"partner-apps audit --as-of {data['asOf']} --warn-days {data['warnDays']}"
    if data["consentResults"].get("given"):
        rerun += " --consent-results DIR"
    rows: list[Sequence[InlineLike]] = [
        ["Evaluation date", f"{data['asOf']} (UTC); expiry status is relative to it"],
        ["Expiry warning", f"within {data['warnDays']} days"],
        ["Expiry status", expiry_summary(data)],
        ["Commit", _commit(data)],
        [
            "Policy pack",
            text(
                code(pack["name"]),
                f" version {pack['version']}",
                *((" source ", code(pack["digest"])) if pack.get("digest") else ()),
            ),
        ],
        ["Generated by", data.get("generator") or "unknown"],
        ["Generated at", f"{data.get('generatedAt') or 'unknown'} (UTC)"],
        ["Reproduce", text(code(rerun), " on the same commit and plans")],
    ]
    plans = Paragraph(
        text(
            "The plans judged (SHA-256 of each file as read; the source says whether it is an "
            "offline plan of the declared config or live state):"
        )
    )
    return Section(
        "About this audit",
        (make_table(("What", "Value"), rows), plans, _plans_table(data)),
    )


def _failed(data: Mapping[str, Any]) -> Section | None:
    failed = [s for s in data["stacks"] if s.get("previewFailed")]
    if not failed:
        return None
    items = []
    for entry in failed:
        first, *rest = entry["previewFailed"].strip().splitlines() or ["(no message)"]
        items.append(
            ListItem(
                text(code(entry["stack"]), f": preview failed: {first.strip()}"),
                "\n".join(rest),
            )
        )
    intro = Paragraph(
        text(
            "Nothing below is known for these stacks: their config or policy config is invalid, "
            "so no plan was recorded."
        )
    )
    return Section("⚠ Previews that failed", (intro, bullets(items)))


def _stack_row(entry: Mapping[str, Any]) -> list[InlineLike]:
    if entry.get("previewFailed"):
        return [code(entry["stack"]), "—", "—", "—", "—", "—", strong("preview failed")]
    return [
        code(entry["stack"]),
        code(entry["tenantId"] or "?"),
        code(entry.get("subscriptionId") or "?"),
        entry["location"] or "?",
        yes(entry["production"]),
        str(entry["apps"]),
        str(entry["resources"]),
    ]


def _stacks(data: Mapping[str, Any]) -> Section:
    headers = ("Stack", "Tenant", "Subscription", "Location", "Production", "Apps", "Resources")
    blocks: list[Block] = [make_table(headers, (_stack_row(s) for s in data["stacks"]))]
    checks: list[InlineLike] = [
        text(code(s["stack"]), f": {c}") for s in data["stacks"] for c in s["checks"]
    ]
    checks += [
        text(code(a["stack"]), " ", code(a["app"]), f": {c}")
        for a in data["apps"]
        for c in a["checks"]
    ]
    if checks:
        blocks += [Paragraph(text(strong("Checks"))), bullets(checks)]
    return Section("Stacks", tuple(blocks))


# --------------------------------------------------------------------------------------------
# Across regions
# --------------------------------------------------------------------------------------------


def result_text(policy: Mapping[str, Any], stack: str) -> InlineLike:
    """One policy × stack cell: pass, **fail** (n), reported (by design) (n), disabled, not run
    or **preview failed**.

    When the regions enforce the policy differently, the stack's own level follows the result.
    """
    result = policy["results"].get(stack)
    if result is None:
        return "—"
    status = result["status"]
    level = result.get("enforcementLevel")
    suffix = ""
    if policy["enforcementLevel"] == "varies" and level and status != "disabled":
        suffix = f" ({level})"
    if status == "fail":
        return text(strong("fail"), f" ({result['violations']}){suffix}")
    if status == "reported":  # an advisory policy's findings: read them, nothing failed
        return f"reported (by design) ({result['violations']}){suffix}"
    if status == "preview failed":
        return text(strong("preview failed"), suffix)
    return f"{status}{suffix}"


def _policies(data: Mapping[str, Any]) -> Section:
    stacks = stack_names(data)
    blocks: list[Block] = [
        Paragraph(text(_POLICY_SOURCE_NOTES[data["policySource"]])),
        make_table(
            ("Policy", "Severity", "Enforcement", *stacks),
            (
                [
                    code(p["policy"]),
                    p["severity"],
                    p["enforcementLevel"],
                    *(result_text(p, s) for s in stacks),
                ]
                for p in data["policies"]
            ),
        ),
    ]
    if data["violations"]:
        blocks += [
            Paragraph(
                text(
                    strong("Violations"),
                    " (the same finding on several resources of a stack is one row; "
                    "audit.json lists each)",
                )
            ),
            make_table(
                ("Stack", "Enforcement", "Severity", "Policy", "Resources", "Message"),
                (
                    [
                        code(stack),
                        level,
                        severity,
                        code(policy),
                        text(*_names(resources)),
                        message,
                    ]
                    for (stack, policy, level, severity, message), resources in _grouped(
                        data["violations"]
                    )
                ),
            ),
        ]
    return Section("Policies", tuple(blocks))


def _grouped(
    violations: Sequence[Mapping[str, Any]],
) -> list[tuple[tuple[str, str, str, str, str], list[str]]]:
    """Violations of a stack that say the same thing (the message without its leading resource
    name), with the resources they concern; sorted."""
    findings = (
        (
            (str(v["stack"]), str(v["policy"]), str(v["enforcementLevel"]), str(v["severity"])),
            str(v["resource"]),
            str(v["message"]),
        )
        for v in violations
    )
    grouped = [
        ((stack, policy, level, severity, message), sorted(names))
        for (stack, policy, level, severity), message, names in group_by_message(findings)
    ]
    return sorted(grouped)


def _names(resources: Sequence[str]) -> list[InlineLike]:
    parts: list[InlineLike] = []
    for index, name in enumerate(resources):
        if index:
            parts.append(", ")
        parts.append(code(name))
    if len(resources) > 1:
        parts.append(f" ({len(resources)} resources)")
    return parts


def _admin_agents(data: Mapping[str, Any]) -> Section:
    stacks = stack_names(data)
    by_app: dict[str, dict[str, bool]] = {}
    for app in data["apps"]:
        by_app.setdefault(app["app"], {})[app["stack"]] = app["adminAgents"]

    def cell(row: Mapping[str, bool], stack: str) -> InlineLike:
        if stack not in row:
            return "—"
        return "yes" if row[stack] else strong("no")

    table = make_table(
        ("App", *stacks),
        ([code(app), *(cell(row, s) for s in stacks)] for app, row in sorted(by_app.items())),
    )
    return Section("AdminAgents membership", (table,))


def _permission_name(p: Mapping[str, Any]) -> Inline:
    return text(code(p["permission"]), "" if p["inCatalog"] else " (unknown, not in catalog)")


def _permissions(data: Mapping[str, Any]) -> Section:
    table = make_table(
        ("App", "Stack", "API", "Permission", "Type", "Admin consent", "Risk", "Reason"),
        (
            [
                code(p["app"]),
                p["stack"],
                p["api"],
                _permission_name(p),
                p["type"],
                yes(p["adminConsent"]),
                strong(p["risk"]) if p["risk"] == "high" else p["risk"],
                p["reason"],
            ]
            for p in data["permissions"]
        ),
    )
    return Section("Permissions", (table,))


def _difference_what(d: Mapping[str, Any]) -> Inline:
    if not d["permission"]:
        return text(d["kind"])
    return text(f"{d['kind']}: {d['api']} ", code(d["permission"]))


def _differences(data: Mapping[str, Any]) -> Section:
    if not data["regionDifferences"]:
        return Section(
            "Differences between regions",
            (
                Paragraph(
                    text("Every region has the same apps, permissions and AdminAgents memberships.")
                ),
            ),
        )
    table = make_table(
        ("App", "What", "Present in", "Missing in"),
        (
            [
                code(d["app"]),
                _difference_what(d),
                ", ".join(d["presentIn"]),
                ", ".join(d["missingIn"]),
            ]
            for d in data["regionDifferences"]
        ),
    )
    return Section("Differences between regions", (table,))


def _expiry_note(data: Mapping[str, Any]) -> Paragraph:
    return Paragraph(
        text(
            f"Status as of {data['asOf']}: expired, expires in N days (within "
            f"{data['warnDays']} days) or ok; earliest expiry first."
        )
    )


def _credentials(data: Mapping[str, Any]) -> Section:
    table = make_table(
        ("Expires", "Status", "App", "Stack", "Kind", "Resource", "Rotation date"),
        (
            [
                c["endDate"],
                status_text(c["status"]),
                code(c["app"]),
                c["stack"],
                c["kind"],
                code(c["resource"]),
                c["rotationDate"] or "—",
            ]
            for c in data["credentials"]
        ),
    )
    return Section("Credentials", (_expiry_note(data), _expiry_picture(data), table))


def _state(status: str) -> str:
    """A credential's or secret's status as the pictures colour it."""
    if status in ("ok", "expired"):
        return status
    return "expiring" if status.startswith("expires in") else "unknown"


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _expiry_picture(data: Mapping[str, Any]) -> Figure:
    """Every credential and Key Vault secret (the SAM token's included) on one timeline."""
    items = [
        (f"{c['stack']} {c['app']} ({c['kind']})", _day(c["endDate"]), _state(c["status"]))
        for c in data["credentials"]
    ] + [
        (f"{s['stack']} {s['secret']}", _day(s["expires"]), _state(s["status"]))
        for s in data["secrets"]
    ]
    as_of = _day(data["asOf"]) or date.min
    return Figure(
        figures.timeline("Expiries", items, as_of, int(data["warnDays"])),
        f"When each credential and Key Vault secret expires, from {data['asOf']}; the shaded "
        f"band is the {data['warnDays']}-day warning window.",
    )


def _secrets(data: Mapping[str, Any]) -> Section:
    table = make_table(
        ("Expires", "Status", "Secret", "Stack", "Vault", "App", "Value"),
        (
            [
                s["expires"],
                status_text(s["status"]),
                code(s["secret"]),
                s["stack"],
                code(s["vault"] or "?"),
                code(s["app"]) if s["app"] else "—",
                "written by Pulumi" if s["valueManagedByPulumi"] else "kept outside Pulumi",
            ]
            for s in data["secrets"]
        ),
    )
    return Section("Key Vault secrets", (_expiry_note(data), table))
