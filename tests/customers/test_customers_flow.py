"""plan → apply → verify → plan per region against the loopback cloud, as a scheduled run does."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from partner_apps import exitcodes
from partner_apps.sandbox.customer_world import ASM, GRAPH, CustomerWorld
from partner_apps.sandbox.world import SAM


def resource_app(cw: CustomerWorld, tenant: str, principal_id: str) -> str:
    """The app id of the service principal ``principal_id`` in ``tenant``."""
    principals = cw.tenant(tenant).service_principals.get(tenant, [])
    return next(str(p["appId"]) for p in principals if p["id"] == principal_id)


def _plan(cw: CustomerWorld, stack: str) -> tuple[int, dict[str, Any]]:
    result = cw.run("customers", "plan", "--stack", stack, "--output", "json")
    return result.code, json.loads(result.out)


def _login_tenants(cw: CustomerWorld, start: int) -> set[str]:
    return {
        request.path.split("/")[1]
        for request in cw.cloud.requests[start:]
        if request.service == "login"
    }


def test_plan_apply_verify_plan_for_two_regions_with_disjoint_customers(
    cw: CustomerWorld,
) -> None:
    for stack, other in (("us", "eu"), ("eu", "us")):
        start = len(cw.cloud.requests)
        code, plan = _plan(cw, stack)
        assert code == exitcodes.CHANGES
        assert {c["tenantId"] for c in plan["customers"]} == set(cw.customers[stack])
        assert plan["summary"]["changes"] > 0
        assert cw.run("customers", "apply", "--stack", stack).code == exitcodes.OK
        verified = cw.run("customers", "verify", "--stack", stack, "--output", "json")
        assert verified.code == exitcodes.OK, verified.out
        matrix = json.loads(verified.out)
        assert {(r["tenantId"], r["app"]) for r in matrix["results"]} == {
            (tenant, app) for tenant in cw.customers[stack] for app in cw.client_ids[stack]
        }
        assert all(r["state"] == "verified" for r in matrix["results"])
        code, again = _plan(cw, stack)
        assert code == exitcodes.OK
        assert again["summary"] == {
            "customers": len(cw.customers[stack]),
            "changes": 0,
            "failed": 0,
            "blocked": 0,
            "unchanged": len(cw.customers[stack]),
        }
        # The other region's customers were never asked for a token, nor changed.
        assert not _login_tenants(cw, start) & set(cw.customers[other])
        for tenant in cw.customers[other]:
            for client_id in cw.client_ids[stack].values():
                assert cw.principals(tenant, client_id) == []


def test_apply_writes_consent_then_only_what_consent_did_not_grant(cw: CustomerWorld) -> None:
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    ids = cw.client_ids["us"]
    api, web, sam = ids["partner-portal-api"], ids["partner-portal-web"], ids[SAM]
    for tenant in cw.customers["us"]:
        principals = {key: cw.principals(tenant, client_id) for key, client_id in ids.items()}
        assert all(len(found) == 1 for found in principals.values()), principals
        by_client = {
            (p[0]["appId"], resource_app(cw, tenant, g["resourceId"])): sorted(g["scope"].split())
            for g in cw.grants(tenant)
            for p in principals.values()
            if p[0]["id"] == g["clientId"]
        }
        assert by_client == {
            (web, GRAPH): ["User.Read", "offline_access", "openid"],
            # The SAM app's customer-tenant grants: never Partner Center nor its GDAP list.
            (sam, GRAPH): [
                "AppRoleAssignment.ReadWrite.All",
                "Application.ReadWrite.All",
                "DelegatedPermissionGrant.ReadWrite.All",
            ],
            (sam, ASM): ["user_impersonation"],
        }
        assert {g["consentType"] for g in cw.grants(tenant)} == {"AllPrincipals"}
        assert sorted(cw.cloud.roles_of(tenant, api)) == [
            "DeviceManagementManagedDevices.Read.All",
            "Directory.Read.All",
        ]
    posts = cw.cloud.consent_posts
    # The SAM app's and the web app's consents; partner-portal-api has application permissions
    # only, so its service principal came through Graph and it has no consent (nor any grant).
    assert len(posts) == 2 * len(cw.customers["us"])
    assert api not in {app for _, app, _ in posts}
    # In each customer the SAM app's consent came first: before it nothing could be read.
    firsts = {customer: app for customer, app, _ in reversed(posts)}
    assert set(firsts.values()) == {sam}
    lines = [
        json.loads(line) for line in (cw.audit_dir / "us-audit.jsonl").read_text().splitlines()
    ]
    # Each write: its intent line before it, its outcome line after (the same intentId).
    intents = {line["intentId"] for line in lines if line["phase"] == "intent"}
    outcomes = [line for line in lines if line["phase"] == "outcome"]
    assert intents == {line["intentId"] for line in outcomes}
    assert all(
        lines.index(o) > next(i for i, x in enumerate(lines) if x["intentId"] == o["intentId"])
        for o in outcomes
    )
    lines = outcomes
    consent = [line for line in lines if line["action"] == "consent"]
    assert {line["requestId"] for line in consent} == {request for _, _, request in posts}
    assert all(
        {"when", "who", "region", "customer", "tenantId", "app", "grants", "result", "requestId"}
        <= set(line)
        for line in lines
    )
    assert all(line["region"] == "us" for line in lines)
    assert lines[0]["who"].startswith("admin@us.contoso-partner.example")


@pytest.mark.parametrize("consent_assigns_app_roles", [False, True])
def test_each_app_role_is_assigned_once_through_graph_whatever_a_consent_assigns(
    cw: CustomerWorld, consent_assigns_app_roles: bool
) -> None:
    # Whether a consent also assigns the app roles named in its scope is undocumented; the
    # consent never names one (delegated scopes only), so either reading ends the same way.
    cw.cloud.consent_assigns_app_roles = consent_assigns_app_roles
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    lines = [
        json.loads(line) for line in (cw.audit_dir / "us-audit.jsonl").read_text().splitlines()
    ]
    assigned = [
        line for line in lines if line["action"] == "assign-app-role" and line["phase"] == "outcome"
    ]
    assert len(assigned) == 2 * len(cw.customers["us"])
    for tenant in cw.customers["us"]:
        pairs = Counter((a["principalId"], a["appRoleId"]) for a in cw.assignments(tenant))
        assert sorted(pairs.values()) == [1, 1], tenant
    assert _plan(cw, "us")[0] == exitcodes.OK


def test_plan_markdown_names_permissions_kinds_risk_and_region(cw: CustomerWorld) -> None:
    result = cw.run("customers", "plan", "--stack", "eu")
    assert result.code == exitcodes.CHANGES
    text = result.out
    assert text.startswith("# Customer consent plan: region eu\n"), text[:200]
    assert "`Directory.Read.All` | application | **high**" in text
    assert "`User.Read` | delegated | low" in text
    assert "Partner Center consent" in text
    assert "assign application permission Microsoft Graph Directory.Read.All" in text


def test_prune_removes_only_what_the_plan_lists(cw: CustomerWorld) -> None:
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    tenant = cw.customers["us"][0]
    api = cw.client_ids["us"]["partner-portal-api"]
    state = cw.tenant(tenant)
    principals = state.service_principals[tenant]
    graph = next(p for p in principals if p["appId"] == GRAPH)
    own = next(p for p in principals if p["appId"] == api)
    extra_role = next(r for r in graph["appRoles"] if r["value"] == "User.Read.All")
    state.app_role_assignments[graph["id"]].append(
        {
            "id": "extra",
            "principalId": own["id"],
            "resourceId": graph["id"],
            "appRoleId": extra_role["id"],
        }
    )
    assert _plan(cw, "us")[0] == exitcodes.OK  # without --prune: nothing to do
    pruning = cw.run("customers", "plan", "--stack", "us", "--prune", "--output", "json")
    code, plan = pruning.code, json.loads(pruning.out)
    assert code == exitcodes.CHANGES
    removals = [a for c in plan["customers"] for a in c["actions"]]
    assert [(a["action"], a["values"]) for a in removals] == [
        ("remove-app-role", ["User.Read.All"])
    ]
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    assert "User.Read.All" in cw.cloud.roles_of(tenant, api)  # apply without --prune keeps it
    assert cw.run("customers", "apply", "--stack", "us", "--prune").code == exitcodes.OK
    assert "User.Read.All" not in cw.cloud.roles_of(tenant, api)
    assert len(cw.cloud.roles_of(tenant, api)) == 2


def test_apply_with_a_reviewed_plan_does_only_that_plan(cw: CustomerWorld, tmp_path) -> None:
    out = tmp_path / "reviewed"
    assert cw.run("customers", "plan", "--stack", "us", "--out-dir", str(out)).code == (
        exitcodes.CHANGES
    )
    from partner_apps.sandbox.customer_world import add_customer

    late = add_customer(cw.world, "us", 99)  # a customer that appeared after the review
    result = cw.run("customers", "apply", "--stack", "us", "--plan", str(out / "us-plan.json"))
    assert result.code == exitcodes.OK
    assert cw.principals(late, cw.client_ids["us"]["partner-portal-api"]) == []
    code, plan = _plan(cw, "us")
    assert code == exitcodes.CHANGES
    assert {c["tenantId"] for c in plan["customers"] if c["actions"]} == {late}


def _values_a_string(document: dict[str, Any]) -> Any:
    action = next(a for c in document["customers"] for a in c["actions"] if a.get("values"))
    action["values"] = " ".join(action["values"])
    return document


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda document: [document], "not a plan (the JSON object"),
        (lambda document: {**document, "customers": {"a": 1}}, "customers[0]: not a customer"),
        (lambda document: {**document, "customers": ["x"]}, "customers[0]: not a customer"),
        (_values_a_string, "an action's values is not a list"),
        (None, "not readable"),
    ],
    ids=["a-list", "customers-an-object", "a-customer-a-string", "values-a-string", "not-utf-8"],
)
def test_a_reviewed_plan_of_another_shape_is_refused_before_any_write(
    cw: CustomerWorld, tmp_path: Path, change: Any, message: str
) -> None:
    out = tmp_path / "reviewed"
    assert cw.run("customers", "plan", "--stack", "us", "--out-dir", str(out)).code == (
        exitcodes.CHANGES
    )
    path = out / "us-plan.json"
    if change is None:
        path.write_bytes(b"\xff\xfe{}")
    else:
        path.write_text(json.dumps(change(json.loads(path.read_text()))), encoding="utf-8")
    result = cw.run("customers", "apply", "--stack", "us", "--plan", str(path))
    assert result.code == exitcodes.CONFIG, result.err
    assert f"--plan {path}: " in result.err, result.err
    assert message in result.err, result.err
    assert "Traceback" not in result.out + result.err
    assert cw.cloud.consent_posts == []
    assert cw.writes() == []


def test_what_a_command_cannot_write_is_refused_before_any_write(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    """A report folder, audit log or routing table it could not write would be found out only
    after an apply's consents: the command refuses at once (exit 3) and changes nothing."""
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n", encoding="utf-8")
    for verb in ("plan", "apply", "verify"):
        result = cw.run("customers", verb, "--stack", "us", "--out-dir", str(a_file))
        assert result.code == exitcodes.CONFIG, result.err
        assert f"--out-dir {a_file}: is a file, not a folder; nothing was changed" in result.err
    cw.audit_dir = a_file  # the audit log would be a-file/us-audit.jsonl
    result = cw.run("customers", "apply", "--stack", "us")
    assert result.code == exitcodes.CONFIG, result.err
    assert f"--audit-log {a_file / 'us-audit.jsonl'}: a file stands where its folder" in result.err
    for table in (a_file / "routing.json", tmp_path):
        for argv in (
            ("routing-part", "--stack", "us"),
            ("export-routing", "--parts", str(tmp_path)),
        ):
            result = cw.run("customers", *argv, "--file", str(table))
            assert result.code == exitcodes.CONFIG, result.err
            assert f"--file {table}" in result.err
    assert a_file.read_text(encoding="utf-8") == "not a folder\n"
    assert cw.cloud.consent_posts == []
    assert cw.writes() == []


@pytest.mark.parametrize("verb", ["plan", "apply", "verify"])
def test_exit_codes_without_a_sam_token(cw: CustomerWorld, verb: str) -> None:
    region = cw.world.regions["us"]
    cw.cloud.put_secret(
        cw.cloud.vaults[region.vault_name],
        "partner-center-sam-sam-refresh-token",
        "pending-consent",
    )
    result = cw.run("customers", verb, "--stack", "us")
    assert result.code == exitcodes.TOKEN_MISSING
    assert "partner-apps sam consent --stack us" in result.err


def test_the_verify_matrix_feeds_the_cross_region_audit(cw: CustomerWorld, tmp_path: Path) -> None:
    from partner_apps.review import audit

    folder = tmp_path / "customers"
    for stack in ("us", "eu"):
        cw.run("customers", "plan", "--stack", stack, "--out-dir", str(folder))
        cw.run("customers", "apply", "--stack", stack, "--out-dir", str(folder))
    cw.cloud.graph_refused.add(cw.customers["eu"][0])
    cw.cloud.late_tokens[cw.customers["eu"][0]] = 15  # 5 tries for each of its 3 apps
    for stack in ("us", "eu"):
        cw.run("customers", "verify", "--stack", stack, "--out-dir", str(folder))
    consent = audit.load_consent_results(folder)
    assert consent["problems"] == []
    states = Counter((r["stack"], r["state"]) for r in consent["results"])
    assert states == {("us", "verified"): 9, ("eu", "verified"): 3, ("eu", "failed"): 3}
    assert consent["auditLogs"]["us"].endswith("us-audit.jsonl")
    failed = [r for r in consent["results"] if r["state"] == "failed"]
    assert all("customers apply" in r["failure"] for r in failed)


def test_a_reviewed_plan_of_another_region_is_refused(cw: CustomerWorld, tmp_path: Path) -> None:
    out = tmp_path / "plans"
    cw.run("customers", "plan", "--stack", "eu", "--out-dir", str(out))
    result = cw.run("customers", "apply", "--stack", "us", "--plan", str(out / "eu-plan.json"))
    assert result.code == exitcodes.PLAN_OTHER_REGION
    assert "a plan of region 'eu', not 'us'" in result.err
    assert cw.cloud.consent_posts == []


def test_nothing_token_like_is_in_a_repr_of_the_clients(cw: CustomerWorld) -> None:
    import argparse
    import dataclasses
    import io

    from partner_apps.customers.region import open_region
    from partner_apps.customers.remote import GRAPH_RESOURCE, PARTNER_CENTER_RESOURCE

    args = argparse.Namespace(outputs=None, project_dir=cw.project_dir)
    # The world's bound methods would show the world (test state) in a repr: plain ones here.
    rt = dataclasses.replace(cw.runtime(args, io.StringIO(), io.StringIO()), sleep=time.sleep)
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    region = open_region(rt, "us")
    region.tokens.get(cw.customers["us"][0], GRAPH_RESOURCE)
    region.tokens.get(region.partner_tenant, PARTNER_CENTER_RESOURCE)
    shown = repr((region.http, region.api, region.tokens, region.target, region.apps))
    assert "**********" in shown  # the SAM secret and refresh token, masked
    assert not [secret for secret in cw.cloud.minted if secret in shown]


def test_a_revoked_sam_token_stops_before_any_customer_with_the_fix(cw: CustomerWorld) -> None:
    for grant in cw.cloud.grants.values():
        grant.revoked = True
    for verb in ("plan", "apply"):
        result = cw.run("customers", verb, "--stack", "us")
        assert result.code == exitcodes.SIGN_IN
        assert "revoked" in result.err
        assert "partner-apps sam consent --force" in result.err
    assert cw.cloud.consent_posts == []


def test_a_large_plan_summarises_by_change_and_stays_within_a_job_summary(tmp_path: Path) -> None:
    from partner_apps.customers import report
    from partner_apps.sandbox.customer_world import open_customer_world

    with open_customer_world(tmp_path, us=120, eu=0) as big:
        result = big.run("customers", "plan", "--stack", "us")
    assert result.code == exitcodes.CHANGES
    assert "| `partner-portal-api` | create the app's service principal" in result.out
    assert "| `partner-portal-web` | Partner Center consent (" in result.out
    assert "| 120 |" in result.out
    assert "more rows: every row is in `us-plan.json`" in result.out
    assert result.out.count("\n| Customer US") == report.MAX_ROWS
    assert len(result.out.encode()) < 1024 * 1024
