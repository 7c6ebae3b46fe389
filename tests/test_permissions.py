"""Tests of the permission catalog (policies/partner_policies/catalog.py), the one model of it."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from policies.partner_policies import catalog as permissions
from policies.partner_policies.catalog import (
    AAD_GRAPH,
    APIS,
    AZURE_SERVICE_MANAGEMENT,
    GRAPH,
    PARTNER_CENTER,
    PERMISSIONS,
    CatalogError,
    Permission,
    by_id,
    check_allowed,
    find_api,
    lookup,
    risk_of,
)

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "permission-ids.json"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# "Delegated", "Application", "Delegated (Microsoft Partner Center)", "Delegated  (Office ...)"
ORIGIN = re.compile(r"^(Delegated|Application)\s*(?:\((?P<api>[^)]*)\))?\s*$")


def _reference_ids() -> dict[tuple[str, str, str], set[str]]:
    """(API name, value, kind) -> ids from the public fact table beside the checkout."""
    if not REFERENCE.is_file():
        pytest.skip(f"reference table {REFERENCE} is not present beside the checkout")
    table: dict[tuple[str, str, str], set[str]] = {}
    for entry in json.loads(REFERENCE.read_text(encoding="utf-8")):
        origin = entry.get("Origin", entry.get("origin"))
        match = ORIGIN.match(origin or "")
        assert match, f"unexpected origin {origin!r} in {entry}"
        api = (match.group("api") or GRAPH.name).strip()
        key = (api, entry["value"], match.group(1).lower())
        table.setdefault(key, set()).add(entry["id"].lower())
    return table


def test_ids_match_the_reference_table() -> None:
    reference = _reference_ids()
    checked = 0
    for p in PERMISSIONS:
        ids = reference.get((p.api.name, p.value, p.kind))
        if ids is None:
            continue
        checked += 1
        assert p.id in ids, f"{p.api.name} {p.value} ({p.kind}): {p.id} but reference has {ids}"
    # Most of the catalog is in the table: the check above must not pass vacuously.
    assert checked >= 100


def test_catalog_ids_do_not_belong_to_another_reference_permission() -> None:
    reference = _reference_ids()
    owners: dict[tuple[str, str, str], str] = {}
    for (api, value, kind), ids in reference.items():
        for perm_id in ids:
            owners[(api, perm_id, kind)] = value
    for p in PERMISSIONS:
        owner = owners.get((p.api.name, p.id, p.kind))
        assert owner in (None, p.value), f"{p.value} uses the id of {owner}"


def test_ids_are_lower_case_guids() -> None:
    for api in APIS:
        assert GUID.match(api.app_id), api
    for p in PERMISSIONS:
        assert GUID.match(p.id), p


def test_entries_are_unique() -> None:
    by_name = Counter((p.api.app_id, p.value, p.kind) for p in PERMISSIONS)
    by_perm_id = Counter((p.api.app_id, p.id, p.kind) for p in PERMISSIONS)
    assert [k for k, n in by_name.items() if n > 1] == []
    assert [k for k, n in by_perm_id.items() if n > 1] == []


def test_order_is_deterministic() -> None:
    assert list(PERMISSIONS) == sorted(PERMISSIONS, key=lambda p: (p.api.name, p.value, p.kind))
    assert [a.name for a in APIS] == sorted(a.name for a in APIS)


def test_well_known_apis() -> None:
    assert GRAPH.app_id == "00000003-0000-0000-c000-000000000000"
    assert PARTNER_CENTER.app_id == "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"
    assert AZURE_SERVICE_MANAGEMENT.app_id == "797f4846-ba00-4fd7-ba43-dac1f8f63013"
    assert AAD_GRAPH.app_id == "00000002-0000-0000-c000-000000000000"
    assert AAD_GRAPH.retired
    assert "2025-08-31" in AAD_GRAPH.retired_note
    assert not any(a.retired for a in (GRAPH, PARTNER_CENTER, AZURE_SERVICE_MANAGEMENT))


def test_find_api() -> None:
    assert find_api("Microsoft Graph") is GRAPH
    assert find_api("microsoft graph") is GRAPH
    assert find_api("00000003-0000-0000-C000-000000000000") is GRAPH
    assert find_api("Windows Azure Active Directory") is AAD_GRAPH
    assert find_api("Azure AD Graph") is AAD_GRAPH
    assert find_api("Microsoft Partner Center") is PARTNER_CENTER
    assert find_api("Nonexistent API") is None


@pytest.mark.parametrize(
    ("api", "value", "kind", "expected_id"),
    [
        (
            "Microsoft Graph",
            "Directory.Read.All",
            "application",
            "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
        ),
        (
            "Microsoft Graph",
            "Directory.Read.All",
            "delegated",
            "06da0dbc-49e2-44d2-8312-53f166ab848a",
        ),
        ("Microsoft Graph", "User.Read", "delegated", "e1fe6dd8-ba31-4d61-89e7-88639da4683d"),
        ("Microsoft Graph", "openid", "delegated", "37f7f235-527c-4136-accd-4a02d197296e"),
        (
            "00000003-0000-0000-c000-000000000000",
            "DeviceManagementManagedDevices.Read.All",
            "application",
            "2f51be20-0bb4-4fed-bf7b-db946066c75e",
        ),
        (
            "Microsoft Partner Center",
            "user_impersonation",
            "delegated",
            "1cebfa2a-fb4d-419e-b5f9-839b4383e05a",
        ),
        (
            "Azure Service Management",
            "user_impersonation",
            "delegated",
            "41094075-9dad-400e-a0bd-54e686782033",
        ),
        (
            "Windows Azure Active Directory",
            "Directory.AccessAsUser.All",
            "delegated",
            "a42657d6-7f20-40e3-b6f0-cee03008a62a",
        ),
        ("Microsoft Graph", "Mail.Read", "application", "810c84a8-4a9e-49e6-bf7d-12d183f40d01"),
    ],
)
def test_lookup_resolves(api: str, value: str, kind: permissions.Kind, expected_id: str) -> None:
    p = lookup(api, value, kind)
    assert (p.value, p.kind, p.id) == (value, kind, expected_id)
    assert p.resource_access_type == ("Role" if kind == "application" else "Scope")


def test_lookup_ignores_case_and_returns_microsoft_spelling() -> None:
    assert lookup("microsoft graph", "directory.read.all", "application").value == (
        "Directory.Read.All"
    )


def test_unknown_api_is_named() -> None:
    with pytest.raises(CatalogError, match="Microsoft Grahp") as error:
        lookup("Microsoft Grahp", "User.Read", "delegated")
    assert "'Microsoft Graph'" in str(error.value)
    assert "User.Read" in str(error.value)


def test_unknown_permission_suggests_close_matches() -> None:
    with pytest.raises(CatalogError) as error:
        lookup("Microsoft Graph", "Directory.Read.Al", "application")
    message = str(error.value)
    assert "Microsoft Graph" in message
    assert "'Directory.Read.Al'" in message
    assert "Did you mean 'Directory.Read.All'" in message


def test_permission_of_the_other_kind_only() -> None:
    with pytest.raises(CatalogError, match="exists only as a delegated permission") as error:
        lookup("Microsoft Graph", "Directory.AccessAsUser.All", "application")
    assert "Microsoft Graph" in str(error.value)
    with pytest.raises(CatalogError, match="exists only as an application permission"):
        lookup("Microsoft Graph", "Group.Create", "delegated")


def test_bad_kind_is_refused() -> None:
    with pytest.raises(CatalogError, match="kind"):
        lookup("Microsoft Graph", "User.Read", "Scope")  # type: ignore[arg-type]


def test_check_allowed_outside_csp_limit() -> None:
    reason = check_allowed(lookup("Microsoft Graph", "Mail.Read", "delegated"))
    assert reason is not None
    assert "Mail.Read" in reason
    assert "CSP partner-managed apps (directory and Intune only)" in reason


def test_check_allowed_retired_api() -> None:
    for p in PERMISSIONS:
        if p.api is AAD_GRAPH:
            reason = check_allowed(p)
            assert reason is not None
            assert "retired" in reason
            assert "2025-08-31" in reason
            assert not p.csp_allowed
    assert check_allowed(lookup("Windows Azure Active Directory", "User.Read", "delegated"))


@pytest.mark.parametrize(
    ("api", "value", "kind"),
    [
        ("Microsoft Graph", "Directory.Read.All", "application"),
        ("Microsoft Graph", "User.Read", "delegated"),
        ("Microsoft Graph", "offline_access", "delegated"),
        ("Microsoft Graph", "DeviceManagementConfiguration.ReadWrite.All", "application"),
        ("Microsoft Partner Center", "user_impersonation", "delegated"),
        ("Azure Service Management", "user_impersonation", "delegated"),
    ],
)
def test_check_allowed_usable(api: str, value: str, kind: permissions.Kind) -> None:
    assert check_allowed(lookup(api, value, kind)) is None


def test_csp_allowed_follows_family() -> None:
    for p in PERMISSIONS:
        if p.api is GRAPH:
            assert p.csp_allowed == (p.family in permissions.CSP_GRAPH_FAMILIES), p
        else:
            assert p.csp_allowed == (not p.api.retired), p


def test_application_permissions_need_admin_consent() -> None:
    for p in PERMISSIONS:
        if p.kind == "application":
            assert p.admin_consent, p


@pytest.mark.parametrize(
    ("value", "admin_consent"),
    [
        ("User.Read", False),
        ("openid", False),
        ("profile", False),
        ("email", False),
        ("offline_access", False),
        ("User.Read.All", True),
        ("Directory.ReadWrite.All", True),
        ("Group.Read.All", True),
    ],
)
def test_delegated_admin_consent(value: str, admin_consent: bool) -> None:
    assert lookup("Microsoft Graph", value, "delegated").admin_consent is admin_consent


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("Directory.ReadWrite.All", "application"),
        ("Directory.ReadWrite.All", "delegated"),
        ("RoleManagement.ReadWrite.Directory", "application"),
        ("Application.ReadWrite.All", "application"),
        ("AppRoleAssignment.ReadWrite.All", "application"),
        ("Directory.AccessAsUser.All", "delegated"),
        ("DeviceManagementRBAC.ReadWrite.All", "application"),
        ("DeviceManagementManagedDevices.PrivilegedOperations.All", "application"),
        ("User.ReadWrite.All", "application"),
        ("Group.ReadWrite.All", "application"),
        ("GroupMember.ReadWrite.All", "application"),
        ("Domain.ReadWrite.All", "application"),
        ("Organization.ReadWrite.All", "application"),
    ],
)
def test_high_privilege(value: str, kind: permissions.Kind) -> None:
    p = lookup("Microsoft Graph", value, kind)
    assert p.high_privilege
    assert p.risk == "high"


def test_risk_is_what_the_permission_gives_over_every_customer_of_the_region() -> None:
    # App-only access reaches every consenting customer with no user in the loop.
    assert lookup("Microsoft Graph", "Directory.ReadWrite.All", "application").risk == "high"
    assert lookup("Microsoft Graph", "Directory.Read.All", "application").risk == "high"
    # Delegated Partner Center / Azure Service Management act on every customer through GDAP.
    assert lookup("Microsoft Partner Center", "user_impersonation", "delegated").risk == "high"
    assert lookup("Azure Service Management", "user_impersonation", "delegated").risk == "high"
    assert lookup("Microsoft Graph", "User.Read.All", "delegated").risk == "medium"
    assert lookup("Microsoft Graph", "User.Read", "delegated").risk == "low"
    for p in PERMISSIONS:
        risk, reason = risk_of(p)
        assert (p.risk, p.risk_reason) == (risk, reason)
        assert reason, p.qualified
        if p.kind == "application" or p.high_privilege:
            assert p.risk == "high", p.qualified
        elif p.risk == "low":
            assert not p.admin_consent, p.qualified


def test_by_id() -> None:
    found = by_id(GRAPH.app_id, "7AB1D382-F21E-4ACD-A863-BA3E13F7DA61", "application")
    assert found is not None
    assert found.value == "Directory.Read.All"
    assert by_id(GRAPH.app_id, "7ab1d382-f21e-4acd-a863-ba3e13f7da61", "delegated") is None
    assert by_id(GRAPH.app_id, "00000000-0000-0000-0000-000000000000") is None
    aad = by_id(AAD_GRAPH.app_id, "78c8a3c8-a07e-4b9e-af1b-b5ccab50a175")
    assert aad is not None
    assert aad.api is AAD_GRAPH
    # Microsoft uses one id for both kinds of User.Export.All: the kind decides.
    export_id = "405a51b5-8d8d-430b-9842-8be4b0e9f324"
    delegated = by_id(GRAPH.app_id, export_id, "delegated")
    assert delegated is not None
    assert delegated.kind == "delegated"
    for p in PERMISSIONS:
        assert by_id(p.api.app_id, p.id, p.kind) is p


def test_coverage_of_the_csp_families() -> None:
    families = {p.family for p in PERMISSIONS if p.api is GRAPH}
    assert families >= permissions.CSP_GRAPH_FAMILIES
    names = {(p.value, p.kind) for p in PERMISSIONS if p.api is GRAPH}
    for value in ("Directory", "User", "Group", "GroupMember", "Device", "Organization", "Domain"):
        assert (f"{value}.Read.All", "application") in names
    for value in ("Mail.Read", "Mail.Send", "Files.Read.All", "Sites.Read.All", "Calendars.Read"):
        assert not lookup("Microsoft Graph", value, "application").csp_allowed


def test_descriptions_are_present() -> None:
    for p in PERMISSIONS:
        assert p.description.strip(), p
        assert isinstance(p, Permission)


def test_the_catalog_value_finds_what_the_lookups_find() -> None:
    """The pack and the reports are handed ``CATALOG``; it agrees with the module's lookups."""
    catalog = permissions.load_catalog()
    for p in PERMISSIONS:
        assert catalog.find(p.api.app_id.upper(), p.id.upper(), p.kind) is p, p.qualified
        assert catalog.api(p.api.app_id) is p.api
        assert p.qualified == f"{p.api.name}/{p.value}"
    assert catalog.api("00000000-0000-0000-0000-000000000000") is None
