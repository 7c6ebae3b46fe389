"""Required access rules: retired APIs, the CSP limit, the allow-list, high privilege."""

from __future__ import annotations

from tests.policies.fixtures import (
    AAD_GRAPH,
    DIRECTORY_READ_ALL_ROLE,
    DIRECTORY_READ_WRITE_ALL_ROLE,
    GRAPH,
    MAIL_READ_ROLE,
    OPENID_SCOPE,
    USER_READ_ALL_SCOPE,
    baseline,
    changed,
    new_findings,
    region_config,
    set_prop,
)

AAD_DIRECTORY_READ_ALL = "5778995a-e1bf-45b8-affa-663a9f3f4d04"
CSP_FIX = (
    "Fix: remove it; use a directory (users, groups, devices, organization, roles) or Intune "
    "(device management) permission from the permission catalog."
)


def test_permission_on_aad_graph_is_refused_with_the_reason() -> None:
    records = changed("api-access-graph", "apiClientId", AAD_GRAPH)
    set_prop(records, "api-access-graph", "roleIds", [AAD_DIRECTORY_READ_ALL])
    assert new_findings(records) == [
        (
            "azuread-required-access-no-retired-api",
            "mandatory",
            "api-access-graph",
            "api-access-graph: requests permissions on Windows Azure Active Directory "
            f"({AAD_GRAPH}), a retired API: roleIds[0] (application permission Windows Azure "
            f"Active Directory/Directory.Read.All ({AAD_DIRECTORY_READ_ALL})). Azure AD Graph "
            f"(Windows Azure Active Directory, appId {AAD_GRAPH}) was retired on 2025-08-31, so "
            "its permissions no longer grant anything; use the equivalent Microsoft Graph "
            "permission instead. Fix: remove every permission on this API and request the "
            "Microsoft Graph equivalent instead (for example Microsoft Graph/Directory.Read.All).",
        )
    ]


def test_graph_permission_outside_directory_and_intune_is_refused() -> None:
    records = changed("api-access-graph", "roleIds", [MAIL_READ_ROLE])
    assert new_findings(records) == [
        (
            "azuread-required-access-graph-csp-families",
            "mandatory",
            "api-access-graph",
            "api-access-graph: roleIds[0]: application permission Microsoft Graph/Mail.Read "
            f"({MAIL_READ_ROLE}) belongs to the 'mail' family; a CSP app may call Microsoft Graph "
            f"only for directory and Intune resources. {CSP_FIX}",
        )
    ]


def test_unknown_graph_permission_id_is_refused() -> None:
    unknown = "11111111-2222-4333-8444-555555555555"
    records = changed("api-access-graph", "roleIds", [unknown])
    assert new_findings(records) == [
        (
            "azuread-required-access-graph-csp-families",
            "mandatory",
            "api-access-graph",
            f"api-access-graph: roleIds[0]: application permission {unknown} of Microsoft Graph "
            "is not in the permission catalog, so it cannot be shown to be a directory or Intune "
            "permission (the only Microsoft Graph resources a CSP app may call). " + CSP_FIX,
        )
    ]


def test_inline_required_resource_access_is_checked_too() -> None:
    inline = [
        {
            "resourceAppId": GRAPH,
            "resourceAccesses": [
                {"id": MAIL_READ_ROLE, "type": "Role"},
                {"id": OPENID_SCOPE, "type": "Scope"},
            ],
        }
    ]
    records = changed("web-app", "requiredResourceAccesses", inline)
    assert new_findings(records) == [
        (
            "azuread-required-access-graph-csp-families",
            "mandatory",
            "web-app",
            "web-app: requiredResourceAccesses[0].resourceAccesses[0]: application permission "
            f"Microsoft Graph/Mail.Read ({MAIL_READ_ROLE}) belongs to the 'mail' family; a CSP "
            f"app may call Microsoft Graph only for directory and Intune resources. {CSP_FIX}",
        )
    ]


def test_application_permission_must_be_allow_listed_and_high_privilege_is_reported() -> None:
    records = changed("api-access-graph", "roleIds", [DIRECTORY_READ_WRITE_ALL_ROLE])
    name = "Microsoft Graph/Directory.ReadWrite.All"
    assert new_findings(records) == [
        (
            "azuread-required-access-allow-list",
            "mandatory",
            "api-access-graph",
            f"api-access-graph: roleIds[0]: application permission {name} "
            f"({DIRECTORY_READ_WRITE_ALL_ROLE}) is not on this region's "
            f"allowedApplicationPermissions. Fix: remove it, or after review add '{name}' to "
            "allowedApplicationPermissions of this policy in policies/reviewed/default.json "
            "(every region) or policies/reviewed/<region>.json (one region), then run "
            "`make generate`.",
        ),
        (
            "azuread-required-access-high-privilege",
            "advisory",
            "api-access-graph",
            "api-access-graph: roleIds[0]: requests high-privilege application permission "
            f"{name} ({DIRECTORY_READ_WRITE_ALL_ROLE}). Fix: confirm it is needed and reviewed; "
            "prefer a narrower permission (for example Directory.Read.All instead of "
            "Directory.ReadWrite.All). This is reported on every run by design, even when "
            "allow-listed.",
        ),
    ]


def test_high_privilege_is_reported_even_when_allow_listed() -> None:
    records = changed("api-access-graph", "roleIds", [DIRECTORY_READ_WRITE_ALL_ROLE])
    config = region_config()
    allowed = config["azuread-required-access-allow-list"]["allowedApplicationPermissions"]
    allowed.append(DIRECTORY_READ_WRITE_ALL_ROLE)  # by id this time
    assert [f[:3] for f in new_findings(records, config)] == [
        ("azuread-required-access-high-privilege", "advisory", "api-access-graph")
    ]


def test_configured_high_privilege_list_applies_to_any_permission() -> None:
    config = region_config()
    config["azuread-required-access-high-privilege"]["highPrivilegePermissions"] = [
        "Microsoft Graph/Directory.Read.All"
    ]
    assert [f[:3] for f in new_findings(baseline(), config)] == [
        ("azuread-required-access-high-privilege", "advisory", "api-access-graph")
    ]


def test_admin_consent_delegated_permission_must_be_allow_listed() -> None:
    records = changed("web-access-graph", "scopeIds", [USER_READ_ALL_SCOPE])
    name = "Microsoft Graph/User.Read.All"
    assert new_findings(records) == [
        (
            "azuread-required-access-allow-list",
            "mandatory",
            "web-access-graph",
            f"web-access-graph: scopeIds[0]: delegated permission {name} ({USER_READ_ALL_SCOPE}) "
            "needs admin consent and is not on this region's allowedAdminConsentPermissions. "
            f"Fix: remove it, or after review add '{name}' to allowedAdminConsentPermissions of "
            "this policy in policies/reviewed/default.json (every region) or "
            "policies/reviewed/<region>.json (one region), then run `make generate`.",
        )
    ]


def test_delegated_permissions_without_admin_consent_need_no_allow_listing() -> None:
    config = region_config()
    config["azuread-required-access-allow-list"]["allowedAdminConsentPermissions"] = []
    # The web app asks for openid, offline_access, User.Read (no admin consent) and Partner
    # Center user_impersonation (admin consent): only the last one needs listing.
    assert [f[:3] for f in new_findings(baseline(), config)] == [
        ("azuread-required-access-allow-list", "mandatory", "web-access-partner-center")
    ]


def test_allow_list_entries_match_by_name_or_id_case_insensitively() -> None:
    config = region_config()
    config["azuread-required-access-allow-list"]["allowedApplicationPermissions"] = [
        "microsoft graph/directory.read.all",
        "2f51be20-0bb4-4fed-bf7b-db946066c75e",
    ]
    records = changed("api-access-graph", "roleIds", [DIRECTORY_READ_ALL_ROLE])
    assert new_findings(records, config) == []


APP_READ_WRITE_ALL_SCOPE = "bdfbf15f-ee85-4955-8675-146e8e5296b5"  # Application.ReadWrite.All
SAM_COMPONENT = "us-partner-center-sam"


def test_sam_only_permission_is_refused_on_any_other_app() -> None:
    records = changed("web-access-graph", "scopeIds", [APP_READ_WRITE_ALL_SCOPE])
    name = "Microsoft Graph/Application.ReadWrite.All"
    allow_list = [f for f in new_findings(records) if f[0] == "azuread-required-access-allow-list"]
    assert allow_list == [
        (
            "azuread-required-access-allow-list",
            "mandatory",
            "web-access-graph",
            f"web-access-graph: scopeIds[0]: delegated permission {name} "
            f"({APP_READ_WRITE_ALL_SCOPE}) is allowed for the Secure Application Model app only "
            "(samAdminConsentPermissions): it is how `partner-apps customers` writes consents in "
            "customer tenants. Fix: remove it from this app; only the app marked "
            "secureApplicationModel in apps.yaml may request it.",
        )
    ]


def test_sam_only_permission_is_allowed_in_the_sam_component_and_still_reported() -> None:
    assert region_config()["azuread-required-access-allow-list"][
        "secureApplicationModelComponents"
    ] == [SAM_COMPONENT]
    parent = f"urn:pulumi:us::partner-apps::partner-apps:index:PartnerManagedApp::{SAM_COMPONENT}"
    records = changed("web-access-graph", "scopeIds", [APP_READ_WRITE_ALL_SCOPE], parent=parent)
    assert [f[:3] for f in new_findings(records)] == [
        ("azuread-required-access-high-privilege", "advisory", "web-access-graph")
    ]
    # Without the reviewed entry, the SAM app is held to the region-wide list like any app.
    config = region_config()
    config["azuread-required-access-allow-list"]["samAdminConsentPermissions"] = []
    assert ("azuread-required-access-allow-list", "mandatory", "web-access-graph") in [
        f[:3] for f in new_findings(records, config)
    ]
