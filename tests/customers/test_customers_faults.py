"""Faults survived with nothing lost and nothing doubled; secrets never shown."""

from __future__ import annotations

import json
from collections import Counter

from partner_apps import exitcodes
from partner_apps.sandbox.customer_world import CustomerWorld
from partner_apps.sandbox.fakecloud import Fault


def _assert_exactly_once(cw: CustomerWorld, stack: str) -> None:
    """Every customer of ``stack`` has each app once (the SAM app too), one grant per app and
    API (the SAM app's on Graph and Azure Service Management, the web app's), each role once,
    one Partner Center consent per app."""
    apps = cw.client_ids[stack]
    for tenant in cw.customers[stack]:
        for client_id in apps.values():
            assert len(cw.principals(tenant, client_id)) == 1, tenant
        pairs = Counter((g["clientId"], g["resourceId"]) for g in cw.grants(tenant))
        assert sorted(pairs.values()) == [1, 1, 1], tenant
        pairs = Counter((a["principalId"], a["appRoleId"]) for a in cw.assignments(tenant))
        assert sorted(pairs.values()) == [1, 1], tenant
        consents = cw.tenant(cw.world.regions[stack].tenant_id).application_consents[tenant]
        # partner-portal-api has application permissions only: its service principal is made
        # through Graph, with no Partner Center consent (which would make a delegated grant).
        consented = sorted(v for k, v in apps.items() if k != "partner-portal-api")
        assert sorted(c["applicationId"] for c in consents) == consented, tenant


def _clean_plan(cw: CustomerWorld, stack: str) -> None:
    result = cw.run("customers", "plan", "--stack", stack)
    assert result.code == exitcodes.OK, result.out


def test_429_storm_and_5xx_are_waited_out_and_the_request_id_is_reused(cw: CustomerWorld) -> None:
    cw.cloud.inject(
        Fault(
            "partnercenter",
            "POST",
            "applicationconsents",
            status=429,
            headers={"Retry-After": "2"},
            times=4,
        )
    )
    cw.cloud.inject(Fault("partnercenter", "POST", "applicationconsents", status=503, times=1))
    cw.cloud.inject(Fault("graph", "POST", "appRoleAssignedTo", status=502, times=2))
    cw.cloud.inject(Fault("graph", "GET", "servicePrincipals", status=500, times=2))
    result = cw.run("customers", "apply", "--stack", "us", "--workers", "1")
    assert result.code == exitcodes.OK, result.out + result.err
    assert 2.0 in cw.sleeps  # Retry-After honoured
    _assert_exactly_once(cw, "us")
    # The consent retried after 429 and 503 kept its MS-RequestId: all posts of one customer and
    # app carry one id.
    ids: dict[tuple[str, str], set[str]] = {}
    for customer, app, request_id in cw.cloud.consent_posts:
        ids.setdefault((customer, app), set()).add(request_id)
    assert all(len(found) == 1 for found in ids.values())
    _clean_plan(cw, "us")


def test_lost_answers_and_timeouts_do_not_double_writes(cw: CustomerWorld) -> None:
    # The stalled answer below (2 s) must time out. The timeout is every request's in this run:
    # a healthy answer that took longer on a loaded machine is retried like the stalled one, and
    # what this test asserts (each write exactly once) must hold then too.
    cw.timeout = "1"
    # Served but the answer lost: the client must look before it sends again.
    cw.cloud.inject(Fault("graph", "POST", "appRoleAssignedTo", action="lose", times=2))
    cw.cloud.inject(Fault("partnercenter", "POST", "applicationconsents", action="lose", times=1))
    cw.cloud.inject(
        Fault("graph", "GET", "appRoleAssignments", action="stall", stall_seconds=2, times=1)
    )
    result = cw.run("customers", "apply", "--stack", "us", "--workers", "2")
    assert result.code == exitcodes.OK, result.out + result.err
    _assert_exactly_once(cw, "us")
    _clean_plan(cw, "us")


def test_a_token_expiring_mid_run_is_fetched_anew(cw: CustomerWorld) -> None:
    expired = {"error": {"code": "InvalidAuthenticationToken", "message": "Lifetime validation"}}
    cw.cloud.inject(Fault("graph", "GET", "oauth2PermissionGrants", status=401, body=expired))
    cw.cloud.inject(Fault("partnercenter", "POST", "applicationconsents", status=401))
    start = len(cw.cloud.requests)
    result = cw.run("customers", "apply", "--stack", "us", "--workers", "1")
    assert result.code == exitcodes.OK, result.out
    # A new token after each 401: one more for the partner tenant, one more for one customer.
    partner = cw.world.regions["us"].tenant_id
    tokens = Counter(
        r.path.split("/")[1]
        for r in cw.cloud.requests[start:]
        if r.service == "login" and r.path.endswith("/token")
    )
    # Key Vault (the job identity), Partner Center, Graph (GDAP list), Partner Center after the 401.
    assert tokens[partner] == 4
    # Per customer: the plan's (refused: the SAM app is not consented yet), the one after the SAM
    # consent, and for one customer one more after the 401.
    assert sorted(tokens[t] for t in cw.customers["us"]) == [2, 2, 3]
    _assert_exactly_once(cw, "us")
    _clean_plan(cw, "us")


def test_an_interrupted_apply_resumes_and_finishes(cw: CustomerWorld) -> None:
    cw.cloud.inject(Fault("graph", "POST", "appRoleAssignedTo", status=503, times=3))
    cw.interrupt_after_sleeps = 0  # Ctrl-C during the first wait
    interrupted = cw.run("customers", "apply", "--stack", "us", "--workers", "1")
    assert interrupted.code == exitcodes.INTERRUPTED
    assert "run the command again" in interrupted.err
    cw.interrupt_after_sleeps = None
    partial = cw.run("customers", "plan", "--stack", "us", "--output", "json")
    assert partial.code == exitcodes.CHANGES
    resumed = cw.run("customers", "apply", "--stack", "us")
    assert resumed.code == exitcodes.OK, resumed.out
    _assert_exactly_once(cw, "us")
    _clean_plan(cw, "us")
    log = (cw.audit_dir / "us-audit.jsonl").read_text().splitlines()
    done = Counter(
        (line["tenantId"], line["app"], line["action"], tuple(line["grants"]))
        for line in map(json.loads, log)
        if line["result"] in ("created", "done")
    )
    assert set(done.values()) == {1}  # nothing applied twice across both runs


def test_graph_refusing_one_customer_does_not_stop_the_others(cw: CustomerWorld) -> None:
    refused = cw.customers["us"][1]
    cw.cloud.graph_refused.add(refused)
    result = cw.run("customers", "apply", "--stack", "us", "--output", "json")
    assert result.code == exitcodes.CUSTOMERS_FAILED
    document = json.loads(result.out)
    failed = [c for c in document["customers"] if c.get("cause")]
    assert [c["tenantId"] for c in failed] == [refused]
    assert "GDAP" in failed[0]["fix"]
    for tenant in cw.customers["us"]:
        client = cw.client_ids["us"]["partner-portal-api"]
        assert len(cw.principals(tenant, client)) == (0 if tenant == refused else 1)
    cw.cloud.graph_refused.clear()
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    _assert_exactly_once(cw, "us")


def test_retries_exhausted_fail_that_customer_and_the_next_run_finishes(cw: CustomerWorld) -> None:
    first = cw.customers["us"][0]
    cw.cloud.inject(Fault("graph", "POST", "appRoleAssignedTo", status=503, times=6))
    result = cw.run("customers", "apply", "--stack", "us", "--workers", "1", "--output", "json")
    assert result.code == exitcodes.CUSTOMERS_FAILED
    failed = [c for c in json.loads(result.out)["customers"] if c.get("cause")]
    assert [c["tenantId"] for c in failed] == [first]
    assert "next run picks up" in failed[0]["fix"]
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    _assert_exactly_once(cw, "us")


def test_canary_secrets_never_appear(cw: CustomerWorld, tmp_path) -> None:
    reports = tmp_path / "reports"
    cw.cloud.inject(Fault("login", "POST", "token", status=503, times=1))
    cw.cloud.graph_refused.add(cw.customers["eu"][0])
    for stack in ("us", "eu"):
        for verb in ("plan", "apply", "verify", "plan"):
            cw.run("customers", verb, "--stack", stack, "--out-dir", str(reports))
    for stack in ("us", "eu"):
        cw.run(
            "customers",
            "routing-part",
            "--stack",
            stack,
            "--file",
            str(reports / f"{stack}-routing-part.json"),
        )
    parts = [str(reports / f"{stack}-routing-part.json") for stack in ("us", "eu")]
    cw.run(
        "customers", "export-routing", "--parts", *parts, "--file", str(reports / "routing.json")
    )
    written = [path.read_text() for path in [*reports.iterdir(), *cw.audit_dir.iterdir()]]
    shown = "\n".join(cw.world.texts + written)
    assert shown
    leaked = [secret for secret in cw.cloud.minted if secret in shown]
    assert leaked == []
    assert "CANARY-" not in shown
