"""A new GDAP customer onboarded end to end, as Microsoft documents it (issue 25): the "not
consented yet" answers, delegated scopes only in the consent, the GDAP roles read before any
write, pruning on any resource, and per-client throttling."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from partner_apps import exitcodes
from partner_apps.customers import gdap
from partner_apps.customers.remote import Pacer
from partner_apps.sandbox.customer_world import ASM, GRAPH, CustomerWorld, open_customer_world
from partner_apps.sandbox.fakecloud.state import (
    CLOUD_APPLICATION_ADMINISTRATOR,
    DIRECTORY_READERS,
    GLOBAL_ADMINISTRATOR,
    PRIVILEGED_ROLE_ADMINISTRATOR,
)
from partner_apps.sandbox.world import SAM

API = "partner-portal-api"  # application permissions only (apps.yaml)
WEB = "partner-portal-web"  # delegated permissions only


def _json_run(cw: CustomerWorld, *argv: str) -> tuple[int, dict[str, Any]]:
    result = cw.run(*argv, "--output", "json")
    return result.code, json.loads(result.out)


def _set_roles(cw: CustomerWorld, tenant: str, roles: tuple[str, ...]) -> None:
    """The roles the consenting admins' security group holds in ``tenant`` (its assignment)."""
    partner = cw.tenant(cw.world.regions["us"].tenant_id)
    relationship = next(r for r in partner.relationships if r["customer"]["tenantId"] == tenant)
    relationship["accessDetails"]["unifiedRoles"] = [{"roleDefinitionId": r} for r in roles]
    for assignment in partner.access_assignments[relationship["id"]]:
        assignment["accessDetails"]["unifiedRoles"] = [{"roleDefinitionId": r} for r in roles]


# -- onboarding --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [90099, 65001, 7000229, 700016])
def test_a_new_customer_goes_from_no_consent_to_verified_in_one_plan_apply_verify(
    cw: CustomerWorld, code: int
) -> None:
    # 90099 is what Entra documents for a partner admin's token before the app's consent; the
    # others mean the same and are treated alike.
    cw.cloud.unconsented_admin_code = code
    status, plan = _json_run(cw, "customers", "plan", "--stack", "us")
    assert status == exitcodes.CHANGES, plan
    assert plan["summary"]["failed"] == 0, plan["customers"]
    assert all(c.get("read") is False for c in plan["customers"])
    result = cw.run("customers", "apply", "--stack", "us")
    assert result.code == exitcodes.OK, result.out + result.err
    verified = cw.run("customers", "verify", "--stack", "us", "--output", "json")
    assert verified.code == exitcodes.OK, verified.out
    assert {r["state"] for r in json.loads(verified.out)["results"]} == {"verified"}
    status, again = _json_run(cw, "customers", "plan", "--stack", "us")
    assert status == exitcodes.OK
    assert again["summary"]["changes"] == 0


# -- the consent request -----------------------------------------------------------------------


def test_the_consent_asks_for_delegated_scopes_only_and_an_app_only_app_gets_no_grant(
    cw: CustomerWorld,
) -> None:
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    ids = cw.client_ids["us"]
    partner = cw.tenant(cw.world.regions["us"].tenant_id)
    for tenant in cw.customers["us"]:
        bodies = {c["applicationId"]: c for c in partner.application_consents[tenant]}
        # The app with application permissions only was never sent to Partner Center.
        assert ids[API] not in bodies
        web = bodies[ids[WEB]]["applicationGrants"]
        assert web == [
            {"enterpriseApplicationId": GRAPH, "scope": "User.Read,offline_access,openid"}
        ]
        for body in bodies.values():
            for grant in body["applicationGrants"]:
                # No application permission's name (Directory.Read.All is both) in any scope.
                assert "Directory.Read.All" not in grant["scope"].split(","), body
        # Its service principal exists, with its app roles and no delegated grant at all.
        own = cw.principals(tenant, ids[API])
        assert len(own) == 1
        assert not [g for g in cw.grants(tenant) if g["clientId"] == own[0]["id"]]
        assert sorted(cw.cloud.roles_of(tenant, ids[API])) == [
            "DeviceManagementManagedDevices.Read.All",
            "Directory.Read.All",
        ]
    lines = [json.loads(x) for x in (cw.audit_dir / "us-audit.jsonl").read_text().splitlines()]
    made = [
        x
        for x in lines
        if x["app"] == API and x["action"] == "create-app-principal" and x["phase"] == "outcome"
    ]
    assert len(made) == len(cw.customers["us"])


# -- prune on any resource ---------------------------------------------------------------------


def test_prune_sees_and_removes_grants_and_assignments_on_any_resource(cw: CustomerWorld) -> None:
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    tenant = cw.customers["us"][0]
    ids = cw.client_ids["us"]
    state = cw.tenant(tenant)
    principals = state.service_principals[tenant]
    graph = next(p for p in principals if p["appId"] == GRAPH)
    asm = next(p for p in principals if p["appId"] == ASM)
    api = next(p for p in principals if p["appId"] == ids[API])
    web = next(p for p in principals if p["appId"] == ids[WEB])
    # Exchange is in no customer tenant until someone adds it (apps.yaml never names it).
    exchange = {
        "id": "exchange-sp",
        "appId": "00000002-0000-0ff1-ce00-000000000000",
        "displayName": "Office 365 Exchange Online",
        "appRoles": [{"id": "dc890d15-9560-4a4c-9b7f-a736ec74ec40", "value": "full_access_as_app"}],
    }
    principals.append(exchange)
    grants = state.grants.setdefault(tenant, [])
    # What a consent that carried an app role's name would have made: a tenant-wide delegated
    # Directory.Read.All for the app-only app; and a grant of the web app on an API apps.yaml
    # does not give it; and one user's own consent.
    grants += [
        {"id": "g1", "clientId": api["id"], "consentType": "AllPrincipals", "principalId": None,
         "resourceId": graph["id"], "scope": "Directory.Read.All"},
        {"id": "g2", "clientId": web["id"], "consentType": "AllPrincipals", "principalId": None,
         "resourceId": asm["id"], "scope": "user_impersonation"},
        {"id": "g3", "clientId": web["id"], "consentType": "Principal", "principalId": "u1",
         "resourceId": graph["id"], "scope": "Mail.Read"},
    ]  # fmt: skip
    state.app_role_assignments.setdefault("exchange-sp", []).append(
        {"id": "a1", "principalId": api["id"], "resourceId": "exchange-sp",
         "appRoleId": "dc890d15-9560-4a4c-9b7f-a736ec74ec40"}
    )  # fmt: skip
    code, plan = _json_run(cw, "customers", "plan", "--stack", "us", "--prune")
    assert code == exitcodes.CHANGES
    found = sorted(
        (a["action"], a["app"], a.get("api", ""), tuple(a.get("values", ())))
        for c in plan["customers"]
        for a in c["actions"]
    )
    assert found == [
        ("remove-app-role", API, "Office 365 Exchange Online", ("full_access_as_app",)),
        ("remove-delegated", API, "Microsoft Graph", ("Directory.Read.All",)),
        ("remove-delegated", WEB, "Azure Service Management", ("user_impersonation",)),
        ("remove-delegated", WEB, "Microsoft Graph", ("Mail.Read",)),
    ]
    assert cw.run("customers", "apply", "--stack", "us", "--prune").code == exitcodes.OK
    left = {g["id"] for g in state.grants[tenant]}
    assert not left & {"g1", "g2", "g3"}
    assert state.app_role_assignments["exchange-sp"] == []
    code, plan = _json_run(cw, "customers", "plan", "--stack", "us", "--prune")
    assert code == exitcodes.OK, plan


# -- GDAP roles, read before any write ---------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "blocked"),
    [
        ((CLOUD_APPLICATION_ADMINISTRATOR,), ["Privileged Role Administrator"]),
        (
            (DIRECTORY_READERS,),
            ["Cloud Application Administrator", "Privileged Role Administrator"],
        ),
        ((), ["Cloud Application Administrator", "Privileged Role Administrator"]),
    ],
)
def test_a_customer_whose_relationship_lacks_a_role_is_blocked_before_any_write(
    cw: CustomerWorld, roles: tuple[str, ...], blocked: list[str]
) -> None:
    lacking, *others = cw.customers["us"]
    _set_roles(cw, lacking, roles)
    code, plan = _json_run(cw, "customers", "plan", "--stack", "us")
    assert code == exitcodes.CUSTOMERS_FAILED
    by_tenant = {c["tenantId"]: c for c in plan["customers"]}
    assert by_tenant[lacking]["blocked"] == blocked
    assert by_tenant[lacking]["cause"].startswith("blocked: needs role")
    for role in blocked:
        assert role in by_tenant[lacking]["cause"]
        assert role in by_tenant[lacking]["fix"]
    assert plan["summary"]["blocked"] == 1
    before = len(cw.writes())
    result = cw.run("customers", "apply", "--stack", "us")
    assert result.code == exitcodes.CUSTOMERS_FAILED
    # No write of any kind reached the blocked customer (its consent included); the others done.
    assert not [w for w in cw.writes()[before:] if lacking in w.path]
    assert not [c for c, _, _ in cw.cloud.consent_posts if c == lacking]
    assert all(
        cw.principals(lacking, client_id) == [] for client_id in cw.client_ids["us"].values()
    )
    for tenant in others:
        assert len(cw.principals(tenant, cw.client_ids["us"][API])) == 1
    assert "blocked: needs role" in result.out


@pytest.mark.parametrize(
    "roles",
    [
        (CLOUD_APPLICATION_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR),  # the README's set
        (PRIVILEGED_ROLE_ADMINISTRATOR,),
        (GLOBAL_ADMINISTRATOR,),
    ],
)
def test_the_documented_role_sets_are_enough(cw: CustomerWorld, roles: tuple[str, ...]) -> None:
    for tenant in cw.customers["us"]:
        _set_roles(cw, tenant, roles)
    result = cw.run("customers", "apply", "--stack", "us")
    assert result.code == exitcodes.OK, result.out
    code, plan = _json_run(cw, "customers", "plan", "--stack", "us")
    assert code == exitcodes.OK
    assert plan["summary"]["changes"] == 0


def test_only_active_assignments_of_approved_roles_count(cw: CustomerWorld) -> None:
    # A pending assignment holding Global Administrator (which the relationship does not even
    # approve) adds nothing: the roles read are the active assignment's.
    tenant = cw.customers["us"][0]
    partner = cw.tenant(cw.world.regions["us"].tenant_id)
    relationship = next(r for r in partner.relationships if r["customer"]["tenantId"] == tenant)
    partner.access_assignments[relationship["id"]].append(
        {
            "id": "pending",
            "status": "pending",
            "accessContainer": {"accessContainerId": "g", "accessContainerType": "securityGroup"},
            "accessDetails": {"unifiedRoles": [{"roleDefinitionId": GLOBAL_ADMINISTRATOR}]},
        }
    )
    code, plan = _json_run(cw, "customers", "plan", "--stack", "us")
    assert code == exitcodes.CHANGES  # the pending assignment's role is not counted
    assert next(c["gdapRoles"] for c in plan["customers"]) == [
        "Cloud Application Administrator",
        "Privileged Role Administrator",
    ]


def test_the_roles_each_action_needs() -> None:
    assert gdap.need_of("assign-app-role", GRAPH) is gdap.GRAPH_APP_ROLES
    assert gdap.need_of("remove-app-role", GRAPH) is gdap.GRAPH_APP_ROLES
    assert gdap.need_of("assign-app-role", "another-api") is gdap.CONSENT
    for kind in ("consent", "create-app-principal", "grant-delegated", "remove-delegated"):
        assert gdap.need_of(kind, GRAPH) is gdap.CONSENT
    held = frozenset({gdap.CLOUD_APPLICATION_ADMINISTRATOR})
    assert gdap.missing([gdap.CONSENT, gdap.GRAPH_APP_ROLES], held) == [gdap.GRAPH_APP_ROLES]
    roles = gdap.active_roles(
        [
            {"status": "active", "accessDetails": {"unifiedRoles": [
                {"roleDefinitionId": gdap.GLOBAL_ADMINISTRATOR.upper()}]}},
            {"status": "expired", "accessDetails": {"unifiedRoles": [
                {"roleDefinitionId": gdap.PRIVILEGED_ROLE_ADMINISTRATOR}]}},
        ],
        {gdap.GLOBAL_ADMINISTRATOR, gdap.PRIVILEGED_ROLE_ADMINISTRATOR},
    )  # fmt: skip
    assert roles == frozenset({gdap.GLOBAL_ADMINISTRATOR})


# -- per-client throttling ---------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += max(seconds, 0.0)


def test_after_a_429_no_start_of_the_client_leaves_before_retry_after() -> None:
    clock = _Clock()
    pacer = Pacer(10.0, clock=clock, sleep=clock.sleep)
    starts: list[tuple[str, float]] = []
    pacer.wait("app-a")
    starts.append(("app-a", clock()))
    pacer.hold(2.0)  # a 429 with Retry-After: 2, for one request of the client
    held_until = clock() + 2.0
    for key in ("app-a", "app-b", "app-a"):
        pacer.wait(key)  # slots already scheduled or not: all after the hold
        starts.append((key, clock()))
    pacer.gate()  # an unpaced call of the client (the customer listing)
    starts.append(("unpaced", clock()))
    assert all(when >= held_until for _, when in starts[1:]), starts
    # After the hold the paced starts are spaced again, not released all at once.
    a_starts = [when for key, when in starts[1:] if key == "app-a"]
    assert a_starts[1] - a_starts[0] >= 0.1 - 1e-9


def test_a_thread_whose_slot_fell_inside_a_hold_takes_a_new_one_after_it() -> None:
    clock = _Clock()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)
    pacer.wait("k")  # slot 100
    # The next slot would be at 101; a 429 meanwhile holds the client until 105.
    real_sleep = clock.sleep

    def sleep_then_throttled(seconds: float) -> None:
        real_sleep(seconds)
        if clock() < 103:
            pacer.hold(4.0)

    pacer.sleep = sleep_then_throttled
    pacer.wait("k")
    assert clock() >= 105.0


@pytest.mark.parametrize("reading", ["consented", "caller"])
def test_both_readings_of_the_rate_limit_end_with_every_consent_once_and_none_in_a_window(
    tmp_path: Path, reading: str
) -> None:
    # Real time, 30 customers: 60 consents (the SAM app's and the web app's). Keyed on the
    # calling app, the client's per-app pacing overshoots the 50/s; the first 429 holds every
    # request of the client for its Retry-After and switches the consents to one shared pace.
    with open_customer_world(tmp_path, us=30, eu=0) as cw:
        cw.real_time = True
        cw.cloud.consent_rate_limit = 50
        cw.cloud.consent_limit_key = reading
        result = cw.run("customers", "apply", "--stack", "us", "--workers", "32")
        assert result.code == exitcodes.OK, result.out + result.err
        assert cw.cloud.requests_in_throttle_window == 0
        if reading == "caller":
            assert cw.cloud.throttled > 0  # the storm happened, and was waited out
        per_app = Counter(app for _, app, _ in cw.cloud.consent_posts)
        ids = cw.client_ids["us"]
        assert per_app == Counter({ids[SAM]: 30, ids[WEB]: 30})
        partner = cw.tenant(cw.world.regions["us"].tenant_id)
        for tenant in cw.customers["us"]:
            consents = Counter(c["applicationId"] for c in partner.application_consents[tenant])
            assert set(consents.values()) == {1}, tenant


# -- Partner Center's MFA enforcement (error 900421) -------------------------------------------

# Partner Center documents HTTP 401 with error 900421 for App+User calls without MFA; its error
# body's exact form is not specified, so both a JSON body and a WWW-Authenticate header are read.
_MFA_FORMS = [
    pytest.param({"body": {"code": 900421, "description": "MFA is required"}}, id="json-body"),
    pytest.param(
        {"headers": {"WWW-Authenticate": 'Bearer error="invalid_token", error_codes="900421"'}},
        id="www-authenticate",
    ),
]


@pytest.mark.parametrize("form", _MFA_FORMS)
def test_a_consent_refused_for_want_of_mfa_says_to_sign_in_again_with_mfa(
    cw: CustomerWorld, form: dict[str, Any]
) -> None:
    from partner_apps.sandbox.fakecloud import Fault

    cw.cloud.inject(
        Fault("partnercenter", "POST", "applicationconsents", status=401, times=99, **form)
    )
    result = cw.run("customers", "apply", "--stack", "us", "--output", "json")
    assert result.code == exitcodes.CUSTOMERS_FAILED
    document = json.loads(result.out)
    fixes = {c["fix"] for c in document["customers"] if c.get("cause")}
    assert fixes == {"sign in again with MFA: `partner-apps sam consent --stack us --force`"}


@pytest.mark.parametrize("form", _MFA_FORMS)
def test_a_customer_listing_refused_for_want_of_mfa_exits_sign_in(
    cw: CustomerWorld, form: dict[str, Any]
) -> None:
    from partner_apps.sandbox.fakecloud import Fault

    cw.cloud.inject(Fault("partnercenter", "GET", "/v1/customers", status=401, times=99, **form))
    result = cw.run("customers", "plan", "--stack", "us")
    assert result.code == exitcodes.SIGN_IN  # as `sam refresh` answers it
    assert "900421" in result.err
    assert "partner-apps sam consent --stack us --force" in result.err


def test_each_consent_carries_the_documented_headers(cw: CustomerWorld) -> None:
    # "Control panel vendor APIs": Accept (required), MS-RequestId (idempotency),
    # MS-CorrelationId (tracing); the body is JSON.
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    assert cw.cloud.consent_headers
    for headers in cw.cloud.consent_headers:
        assert headers["accept"] == "application/json"
        assert headers["content-type"].startswith("application/json")
        assert headers["ms-requestid"]
        assert headers["ms-correlationid"]
