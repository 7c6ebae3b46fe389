"""The single-region rule, customer selection, propagation waits and routing."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from partner_apps import exitcodes
from partner_apps.sandbox.customer_world import CustomerWorld, add_customer
from tests.conftest import ROOT


def _project(
    cw: CustomerWorld, tmp_path: Path, selections: dict[str, dict[str, list[str]]]
) -> Path:
    project = shutil.copytree(cw.project_dir, tmp_path / "project")  # the world's own regions
    (project / "customers").mkdir()
    for stack, selection in selections.items():
        (project / "customers" / f"{stack}.yaml").write_text(yaml.safe_dump(selection))
    cw.project_dir = project
    return project


def test_a_tenant_another_region_lists_is_refused_before_any_write(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    us_customer = cw.customers["us"][0]
    _project(cw, tmp_path, {"eu": {"include": [us_customer]}})
    for verb in ("plan", "apply", "verify"):
        result = cw.run("customers", verb, "--stack", "us")
        assert result.code == exitcodes.CONFIG, result.err
        assert f"{us_customer} is listed by region eu" in result.err
    assert cw.cloud.consent_posts == []
    assert not [
        r for r in cw.cloud.requests if r.method in ("POST", "PATCH") and r.service == "graph"
    ]


def test_an_included_tenant_that_is_not_this_partners_customer_is_refused(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    eu_customer = cw.customers["eu"][0]
    _project(cw, tmp_path, {"us": {"include": [eu_customer]}})
    result = cw.run("customers", "apply", "--stack", "us")
    assert result.code == exitcodes.CONFIG
    assert "not a customer of this region's partner tenant" in result.err
    assert cw.cloud.consent_posts == []


_API_TWICE = (
    (ROOT / "apps.yaml")
    .read_text(encoding="utf-8")
    .replace("\napps:\n", "\napps:\n  partner-portal-api:\n    displayName: again\n", 1)
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"- a list\n- of apps\n", "apps.yaml: apps: must be a mapping of app keys"),
        (b"apps:\n  - partner-portal-api\n", "apps.yaml: apps: must be a mapping of app keys"),
        (b"apps: {}\nregion: caf\xe9\n", "apps.yaml: (file): is not UTF-8"),
        (_API_TWICE.encode(), "apps.yaml: apps.partner-portal-api: "),
    ],
    ids=["a-list", "apps-a-list", "not-utf-8", "an-app-defined-twice"],
)
@pytest.mark.parametrize(
    "command", [("sam", "status"), ("customers", "plan")], ids=["sam-status", "customers-plan"]
)
def test_an_apps_file_the_program_refuses_is_a_config_error_before_any_request(
    cw: CustomerWorld, tmp_path: Path, content: bytes, message: str, command: tuple[str, str]
) -> None:
    project = _project(cw, tmp_path, {})
    (project / "apps.yaml").write_bytes(content)
    before = len(cw.cloud.requests)
    result = cw.run(*command, "--stack", "us")
    # `sam status` reports each stack on stdout, errors included; `customers` on stderr.
    said = result.out + result.err
    assert result.code == exitcodes.CONFIG, said
    assert message in said, said
    assert "Traceback" not in said
    assert cw.cloud.requests[before:] == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"include: TENANT\n", "customers/us.yaml: include: must be a list of tenant ids"),
        (b"exclude: [5]\n", "customers/us.yaml: exclude: must be a list of tenant ids"),
        (b"only: []\n", "customers/us.yaml may hold only include and exclude"),
        (b"include: [caf\xe9]\n", "us.yaml: (file): is not UTF-8"),
        (b"include: []\ninclude: []\n", "us.yaml: include: is defined twice"),
    ],
    ids=["a-single-id", "a-number", "another-key", "not-utf-8", "a-key-twice"],
)
def test_a_malformed_selection_is_refused_naming_its_key_before_any_write(
    cw: CustomerWorld, tmp_path: Path, content: bytes, message: str
) -> None:
    project = _project(cw, tmp_path, {})
    tenant = cw.customers["us"][0].encode()
    (project / "customers" / "us.yaml").write_bytes(content.replace(b"TENANT", tenant))
    for verb in ("plan", "apply"):
        result = cw.run("customers", verb, "--stack", "us")
        assert result.code == exitcodes.CONFIG, result.err
        assert message in result.err, result.err
        assert "Traceback" not in result.out + result.err
    assert cw.cloud.consent_posts == []
    assert cw.writes() == []


def test_exclude_leaves_a_customer_untouched_and_says_so(cw: CustomerWorld, tmp_path: Path) -> None:
    skipped = cw.customers["us"][1]
    _project(cw, tmp_path, {"us": {"exclude": [skipped]}})
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    assert cw.principals(skipped, cw.client_ids["us"]["partner-portal-api"]) == []
    plan = cw.run("customers", "plan", "--stack", "us")
    assert plan.code == exitcodes.OK
    assert f"`{skipped}` | excluded" in plan.out


def test_a_customer_without_an_active_gdap_relationship_is_not_touched(cw: CustomerWorld) -> None:
    partner = cw.tenant(cw.world.regions["us"].tenant_id)
    gone = cw.customers["us"][2]
    for relationship in partner.relationships:
        if relationship["customer"]["tenantId"] == gone:
            relationship["status"] = "terminated"
    result = cw.run("customers", "plan", "--stack", "us", "--output", "json")
    plan = json.loads(result.out)
    assert gone not in {c["tenantId"] for c in plan["customers"]}
    assert [(e["tenantId"], e["reason"]) for e in plan["excluded"]] == [
        (gone, "no active GDAP relationship")
    ]


def test_customers_and_relationships_are_read_page_by_page(tmp_path: Path) -> None:
    from partner_apps.sandbox.customer_world import open_customer_world

    with open_customer_world(tmp_path, us=620, eu=0) as cw:
        result = cw.run("customers", "plan", "--stack", "us", "--output", "json")
        assert len(json.loads(result.out)["customers"]) == 620
        pages = [
            r for r in cw.cloud.requests if r.service == "partnercenter" and "customers" in r.path
        ]
        assert len(pages) == 2
        relationships = [r for r in cw.cloud.requests if "delegatedAdminRelationships?" in r.path]
        assert len(relationships) == 3


def test_late_relationship_is_verified_after_the_waits_with_a_new_token_each_try(
    cw: CustomerWorld,
) -> None:
    now = cw.world.now()
    fresh = add_customer(
        cw.world,
        "us",
        50,
        activated=(now - timedelta(seconds=20)).isoformat().replace("+00:00", "Z"),
    )
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    cw.sleeps.clear()
    cw.cloud.late_tokens[fresh] = 4  # the first four tokens asked for in that tenant fail
    start = len(cw.cloud.requests)
    result = cw.run("customers", "verify", "--stack", "us", "--output", "json", "--workers", "1")
    assert result.code == exitcodes.OK, result.out
    checks = [r for r in json.loads(result.out)["results"] if r["tenantId"] == fresh]
    assert {c["state"] for c in checks} == {"verified"}
    # The first app verified (the SAM app) meets the four late tokens; the others do not.
    assert {c["app"]: c["attempts"] for c in checks} == {
        "partner-center-sam": 5,
        "partner-portal-api": 1,
        "partner-portal-web": 1,
    }
    token_requests = [
        r for r in cw.cloud.requests[start:] if r.service == "login" and fresh in r.path
    ]
    assert len(token_requests) == sum(c["attempts"] for c in checks)
    # One wait until 3 minutes have passed since the consent apply just wrote (the clock is
    # the world's: waited, not slept), then 60 s before each new token; bounded.
    # (A retry's short backoff, should the loaded machine drop a connection, is no such wait.)
    waits = [s for s in cw.sleeps if s >= 30]
    assert 170 < waits[0] <= 180, cw.sleeps
    assert waits[1:] == [60.0] * 4, cw.sleeps
    assert all(s <= 8 for s in cw.sleeps if s < 30), cw.sleeps


def test_verify_gives_up_in_bounded_tries_with_cause_and_fix(cw: CustomerWorld) -> None:
    now = cw.world.now()
    fresh = add_customer(
        cw.world,
        "us",
        51,
        activated=(now - timedelta(seconds=5)).isoformat().replace("+00:00", "Z"),
    )
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    cw.cloud.late_tokens[fresh] = 1000
    result = cw.run("customers", "verify", "--stack", "us", "--attempts", "3")
    assert result.code == exitcodes.CUSTOMERS_FAILED
    assert "no service principal in the customer tenant" in result.out
    assert "still after 3 tries" in result.out
    assert "partner-apps customers apply" in result.out


def test_verify_of_a_customer_never_consented_fails_at_once_with_the_fix(cw: CustomerWorld) -> None:
    result = cw.run("customers", "verify", "--stack", "eu", "--output", "json")
    assert result.code == exitcodes.CUSTOMERS_FAILED
    results = json.loads(result.out)["results"]
    assert all(r["attempts"] == 1 and r["state"] == "failed" for r in results)
    assert all("customers apply" in r["fix"] for r in results)
    assert cw.sleeps == []


def _parts(cw: CustomerWorld, folder: Path) -> Path:
    """Each region's routing part, written by its own job (here: one world, two regions)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stack in ("us", "eu"):
        result = cw.run(
            "customers", "routing-part", "--stack", stack, "--file", str(folder / f"{stack}.json")
        )
        assert result.code == exitcodes.OK, result.err
    return folder


def test_export_routing_and_route(cw: CustomerWorld, tmp_path: Path) -> None:
    table = tmp_path / "routing.json"
    parts = _parts(cw, tmp_path / "parts")
    start = len(cw.cloud.requests)
    result = cw.run("customers", "export-routing", "--parts", str(parts), "--file", str(table))
    assert result.code == exitcodes.OK, result.err
    assert len(cw.cloud.requests) == start  # files only: no identity, no network
    document = json.loads(table.read_text())
    assert document["tenants"] == {
        **dict.fromkeys(cw.customers["us"], "us"),
        **dict.fromkeys(cw.customers["eu"], "eu"),
    }
    eu_tenant = cw.customers["eu"][0]
    cw.cloud.region_scope[eu_tenant] = "NA"  # a hint that would point elsewhere
    result = cw.run(
        "route", "anna@c1.eu.customer.example", "--table", str(table), "--output", "json"
    )
    assert result.code == exitcodes.OK, result.err
    route = json.loads(result.out)
    assert route["region"] == "eu"
    assert route["tenantId"] == eu_tenant
    assert route["clientId"] == cw.client_ids["eu"]["partner-portal-web"]
    assert route["tenantRegionScopeHint"] == "NA"
    unknown = cw.run("route", "bob@nowhere.example", "--table", str(table))
    assert unknown.code == exitcodes.UNROUTABLE
    assert "AADSTS90002" in unknown.err
    partner = cw.run("route", "admin@us.contoso-partner.example", "--table", str(table))
    assert partner.code == exitcodes.UNROUTABLE  # no domain of the partner tenant in the fake


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[]", "the routing table is not version 1"),
        ('{"version": 1, "tenants": ["x"]}', "tenants and clientIds must be JSON objects"),
        ('{"version": 1, "clientIds": {"us": []}}', "clientIds must map each region"),
        ('{"version": 1, "tenants"', "not readable"),
    ],
    ids=["a-list", "tenants-a-list", "a-region-a-list", "cut-short"],
)
def test_a_routing_table_of_another_shape_is_refused(
    cw: CustomerWorld, tmp_path: Path, table: str, message: str
) -> None:
    path = tmp_path / "routing.json"
    path.write_text(table, encoding="utf-8")
    start = len(cw.cloud.requests)
    result = cw.run("route", "anna@c1.eu.customer.example", "--table", str(path))
    assert result.code == exitcodes.CONFIG, result.err  # a local file: before any request
    assert message in result.err, result.err
    assert f"routing table {path}" in result.err
    assert cw.cloud.requests[start:] == []
    assert "Traceback" not in result.out + result.err


def test_routing_module_is_standard_library_only() -> None:
    import ast

    source = (ROOT / "partner_apps" / "routing.py").read_text()
    imported = {
        (node.module or "").split(".")[0]
        if isinstance(node, ast.ImportFrom)
        else alias.name.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    import sys

    assert imported - {"__future__"} <= set(sys.stdlib_module_names)


def test_verify_checks_the_roles_claim_against_the_application_permissions(
    cw: CustomerWorld,
) -> None:
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    tenant = cw.customers["us"][0]
    state = cw.tenant(tenant)
    for resource, assignments in state.app_role_assignments.items():
        state.app_role_assignments[resource] = assignments[1:]  # one role lost (drift)
    cw.sleeps.clear()
    result = cw.run(
        "customers", "verify", "--stack", "us", "--output", "json", "--recent-minutes", "0"
    )
    assert result.code == exitcodes.CUSTOMERS_FAILED
    failed = [r for r in json.loads(result.out)["results"] if r["state"] == "failed"]
    assert [(r["tenantId"], r["app"], r["attempts"]) for r in failed] == [
        (tenant, "partner-portal-api", 1)
    ]
    assert failed[0]["cause"].startswith("the token lacks the roles ")
    assert "customers apply --stack us" in failed[0]["fix"]
    assert cw.sleeps == []  # not recent: no wait
    plan = cw.run("customers", "plan", "--stack", "us", "--output", "json")
    assert plan.code == exitcodes.CHANGES  # and the plan puts it back


def _write_part(path: Path, region: str, tenants: list[str], **extra: Any) -> Path:
    document = {
        "kind": "routing-part",
        "version": 1,
        "region": region,
        "generatedAt": "2026-12-07T00:00:00+00:00",
        "tenants": tenants,
        "clientIds": {"partner-portal-web": "00000a01-0000-0000-0000-000000000001"},
        **extra,
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


US_T = "000000c1-0000-0000-0000-000000000001"
EU_T = "000000c2-0000-0000-0000-000000000001"


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ([("us", [US_T]), ("eu", [US_T])], f"tenant {US_T} is a customer of regions us"),
        ([("us", [US_T]), ("us", [EU_T])], "'us' also has the part"),
        ([("us", [US_T])], "no routing part for region(s) eu"),
        ([("us", [US_T]), ("eu", [EU_T]), ("uk", [])], "'uk' is not a region stack"),
        ([("us", ["not-a-guid"]), ("eu", [EU_T])], "tenants: must be a list of tenant ids"),
        ([("us", [US_T, US_T.upper()]), ("eu", [EU_T])], "tenants: lists a tenant twice"),
    ],
    ids=[
        "tenant-in-two-regions",
        "region-twice",
        "region-missing",
        "unknown-region",
        "bad-tenant-id",
        "tenant-twice",
    ],
)
def test_export_routing_refuses_parts_that_do_not_make_one_table(
    cw: CustomerWorld, tmp_path: Path, parts: list[tuple[str, list[str]]], message: str
) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    for number, (region, tenants) in enumerate(parts):
        _write_part(folder / f"{number}-{region}.json", region, tenants)
    table = tmp_path / "routing.json"
    result = cw.run("customers", "export-routing", "--parts", str(folder), "--file", str(table))
    assert result.code == exitcodes.CONFIG, result.err
    assert message in result.err
    assert "nothing was written" in result.err
    assert not table.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "(file): not JSON"),
        ("[]", "(document): must be a JSON object"),
        ('{"kind": "routing-table", "version": 1}', "kind/version: must be 'routing-part'"),
        (
            '{"kind": "routing-part", "version": 1, "region": "us", "tenants": [], '
            '"clientIds": {"web": "nope"}}',
            "clientIds: must map app keys to client ids",
        ),
    ],
    ids=["cut-short", "a-list", "another-kind", "bad-client-id"],
)
def test_a_routing_part_of_another_shape_is_refused_naming_the_file_and_key(
    cw: CustomerWorld, tmp_path: Path, text: str, message: str
) -> None:
    part = tmp_path / "us.json"
    part.write_text(text, encoding="utf-8")
    result = cw.run("customers", "export-routing", "--parts", str(part))
    assert result.code == exitcodes.CONFIG
    assert f"routing part {part}: {message}" in result.err
    assert result.out == ""


def test_the_same_parts_always_make_the_same_table(cw: CustomerWorld, tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    _write_part(folder / "us.json", "us", [US_T])
    _write_part(folder / "eu.json", "eu", [EU_T], generatedAt="2026-12-08T00:00:00+00:00")
    first = cw.run("customers", "export-routing", "--parts", str(folder))
    second = cw.run("customers", "export-routing", "--parts", str(folder / "eu.json"),
                    str(folder / "us.json"))  # fmt: skip
    assert first.code == second.code == exitcodes.OK
    assert first.out == second.out
    document = json.loads(first.out)
    assert document["generatedAt"] == "2026-12-08T00:00:00+00:00"
    assert document["tenants"] == {US_T: "us", EU_T: "eu"}


def test_a_relationship_that_is_not_active_gives_no_access_even_if_listed(
    cw: CustomerWorld,
) -> None:
    # A server that ignores `$filter=status eq 'active'` lists a terminated relationship too.
    partner = cw.tenant(cw.world.regions["us"].tenant_id)
    tenant = cw.customers["us"][0]
    for relationship in partner.relationships:
        if relationship["customer"]["tenantId"] == tenant:
            relationship["status"] = "terminated"
    cw.cloud.ignore_relationship_filter = True
    result = cw.run("customers", "plan", "--stack", "us", "--output", "json")
    document = json.loads(result.out)
    assert tenant not in {c["tenantId"] for c in document["customers"]}
    left = {e["tenantId"]: e["reason"] for e in document["excluded"]}
    assert left[tenant] == "no active GDAP relationship"
