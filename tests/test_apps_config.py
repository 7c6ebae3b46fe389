"""App definitions (apps.yaml): every rule is a config error naming the app and the key."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from components import config
from components.config import (
    ConfigError,
)
from components.stackfiles import load_stack_file

from .conftest import ROOT, STACKS, load_yaml

Apps = dict[str, Any]


def _validate(
    change: Callable[[Apps], None],
    stack: str = "us",
    project_dir: Path = ROOT,
    today: date | None = None,
) -> config.StackSettings:
    stack_file = load_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    apps = copy.deepcopy(load_yaml(ROOT / "apps.yaml"))
    change(apps["apps"])
    return config.validate(
        project="partner-apps",
        stack=stack,
        config=stack_file.config,
        secret_keys=set(stack_file.secret_keys),
        apps_document=apps,
        project_dir=project_dir,
        today=today,
    )


def _problems(change: Callable[[Apps], None]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _validate(change)
    return [str(problem) for problem in caught.value.problems]


def _permission(
    api: str, permission: str, kind: str, reason: str | None = "needed"
) -> dict[str, Any]:
    entry = {"api": api, "permission": permission, "type": kind}
    if reason:
        entry["reason"] = reason
    return entry


def test_permissions_resolve_to_catalog_ids() -> None:
    settings = _validate(lambda apps: None)
    resolved = {
        (item.permission.api.name, item.permission.value, item.permission.kind): item.permission.id
        for item in settings.resolved_permissions["partner-portal-api"]
    }
    assert resolved == {
        (
            "Microsoft Graph",
            "Directory.Read.All",
            "application",
        ): "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
        (
            "Microsoft Graph",
            "DeviceManagementManagedDevices.Read.All",
            "application",
        ): "2f51be20-0bb4-4fed-bf7b-db946066c75e",
    }
    sam = {
        (item.permission.api.app_id, item.permission.id)
        for item in settings.resolved_permissions["partner-center-sam"]
    }
    graph = "00000003-0000-0000-c000-000000000000"
    assert sam == {
        ("fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd", "1cebfa2a-fb4d-419e-b5f9-839b4383e05a"),
        ("797f4846-ba00-4fd7-ba43-dac1f8f63013", "41094075-9dad-400e-a0bd-54e686782033"),
        (graph, "bdfbf15f-ee85-4955-8675-146e8e5296b5"),  # Application.ReadWrite.All
        (graph, "84bccea3-f856-4a8a-967b-dbe0a3d53a64"),  # AppRoleAssignment.ReadWrite.All
        (graph, "41ce6ca6-6826-4807-84f1-1c82854f7ee5"),  # DelegatedPermissionGrant.ReadWrite.All
        (graph, "0c0064ea-477b-4130-82a5-4c2cc4ff68aa"),  # DelegatedAdminRelationship.Read.All
        (graph, "885f682f-a990-4bad-a642-36736a74b0c7"),  # DelegatedAdminRelationship.ReadWrite.All
    }


def test_unknown_permission_names_app_and_suggests() -> None:
    def change(apps: Apps) -> None:
        apps["partner-portal-api"]["permissions"][0]["permission"] = "Directory.Reed.All"

    (problem,) = _problems(change)
    assert problem.startswith(
        "apps.yaml: apps.partner-portal-api.permissions[0]: app 'partner-portal-api': "
        "Microsoft Graph has no permission 'Directory.Reed.All'"
    )
    assert "Did you mean 'Directory.Read.All'" in problem


def test_graph_permission_outside_directory_and_intune_is_refused() -> None:
    def change(apps: Apps) -> None:
        apps["partner-portal-api"]["permissions"].append(
            _permission("Microsoft Graph", "Mail.Read", "application")
        )

    assert _problems(change) == [
        "apps.yaml: apps.partner-portal-api.permissions[2]: app 'partner-portal-api': "
        "Microsoft Graph / Mail.Read (application): Microsoft Graph permission Mail.Read "
        "(application) is outside the Graph resources Microsoft supports for CSP "
        "partner-managed apps (directory and Intune only)."
    ]


def test_retired_aad_graph_is_refused_with_the_reason() -> None:
    def change(apps: Apps) -> None:
        apps["partner-center-sam"]["permissions"].append(
            _permission("Windows Azure Active Directory", "User.Read", "delegated")
        )

    (problem,) = _problems(change)
    assert problem.startswith(
        "apps.yaml: apps.partner-center-sam.permissions[7]: app 'partner-center-sam'"
    )
    assert "retired on 2025-08-31" in problem


def test_application_permission_needs_a_reason() -> None:
    def change(apps: Apps) -> None:
        del apps["partner-portal-api"]["permissions"][0]["reason"]

    assert _problems(change) == [
        "apps.yaml: apps.partner-portal-api.permissions[0].reason: app 'partner-portal-api': "
        "Microsoft Graph / Directory.Read.All (application) is an application permission; give "
        "the reason reviewers and auditors will read"
    ]


def test_delegated_permission_without_admin_consent_needs_no_reason() -> None:
    settings = _validate(lambda apps: None)
    openid = [
        item
        for item in settings.resolved_permissions["partner-portal-web"]
        if item.permission.value == "openid"
    ]
    assert openid
    assert openid[0].request.reason is None


@pytest.mark.parametrize(
    ("uri", "rule"),
    [
        ("http://portal.contoso-partner.example/signin", "is not https"),
        ("https://*.contoso-partner.example/signin", "contains a wildcard"),
        ("http://localhost:5000/signin", "points at localhost; only apps marked development"),
    ],
)
def test_redirect_uri_rules(uri: str, rule: str) -> None:
    def change(apps: Apps) -> None:
        apps["partner-portal-web"]["redirectUris"].append(uri)

    (problem,) = _problems(change)
    assert problem.startswith("apps.yaml: apps.partner-portal-web.redirectUris[1]: ")
    assert rule in problem


def test_localhost_allowed_for_development_apps() -> None:
    def change(apps: Apps) -> None:
        apps["partner-portal-web"]["development"] = True
        apps["partner-portal-web"]["redirectUris"].append("http://localhost:5000/signin-oidc")

    assert _validate(change).apps["partner-portal-web"].development


def test_identifier_uri_must_be_on_a_verified_domain_of_the_region() -> None:
    def change(apps: Apps) -> None:
        apps["partner-portal-api"]["identifierUri"] = "https://eu.contoso-partner.example/api"

    (problem,) = _problems(change)
    assert problem.startswith(
        "apps.yaml: apps.partner-portal-api.identifierUri: "
        "'https://eu.contoso-partner.example/api' "
        "uses host 'eu.contoso-partner.example', which is not a verified domain of the partner "
        "tenant (region 'us': us.contoso-partner.example, contoso-us.onmicrosoft.example)"
    )


def test_identifier_uri_on_a_subdomain_of_a_verified_domain_is_accepted() -> None:
    """Entra accepts subdomains of verified domains; config and policy share the rule."""

    def change(apps: Apps) -> None:
        apps["partner-portal-api"]["identifierUri"] = "https://api.us.contoso-partner.example/x"

    assert _validate(change).apps["partner-portal-api"].identifier_uri


def test_identifier_uri_with_region_placeholder_works_in_every_region() -> None:
    def change(apps: Apps) -> None:
        apps["partner-portal-api"]["identifierUri"] = "https://{region}.contoso-partner.example/api"

    for stack in STACKS:
        assert _validate(change, stack).apps["partner-portal-api"].identifier_uri


def test_implicit_grant_is_refused_even_with_a_reason() -> None:
    """No region relaxes the mandatory implicit-grant policy: config refuses what it would."""

    def change(apps: Apps) -> None:
        apps["partner-portal-web"]["implicitGrant"] = {"idTokens": True, "reason": "legacy SPA"}

    (problem,) = _problems(change)
    assert problem.startswith(
        "apps.yaml: apps.partner-portal-web.implicitGrant: implicit grant is not offered: the "
        "mandatory policy azuread-application-implicit-grant-disabled refuses it"
    ), problem


def test_duplicate_scope_value_and_scope_with_space() -> None:
    def change(apps: Apps) -> None:
        scope = apps["partner-portal-api"]["scopes"][0]
        apps["partner-portal-api"]["scopes"].append(dict(scope))
        apps["partner-portal-web"]["exposeApi"] = True
        apps["partner-portal-web"]["scopes"] = [dict(scope, value="read all")]

    problems = _problems(change)
    assert problems[0] == (
        "apps.yaml: apps.partner-portal-api: scope value 'user_impersonation' is defined twice"
    )
    assert problems[1].startswith("apps.yaml: apps.partner-portal-web.scopes[0].value: ")


def test_known_client_and_required_scope_must_be_apps_of_the_stack() -> None:
    def change(apps: Apps) -> None:
        apps["partner-portal-api"]["knownClients"].append("mobile-app")
        apps["partner-portal-web"]["requiredScopes"].append(
            {"app": "billing-api", "scope": "user_impersonation"}
        )
        apps["partner-portal-web"]["requiredScopes"].append(
            {"app": "partner-portal-api", "scope": "admin_access"}
        )

    assert _problems(change) == [
        "apps.yaml: apps.partner-portal-api.knownClients[1]: 'mobile-app' is not an app of this "
        "file; known clients must be apps of the same stack",
        "apps.yaml: apps.partner-portal-web.requiredScopes[1].app: 'billing-api' is not an app "
        "of this file; required scopes must come from apps of the same stack",
        "apps.yaml: apps.partner-portal-web.requiredScopes[2].scope: app 'partner-portal-api' "
        "does not expose scope 'admin_access' (it exposes: user_impersonation)",
    ]


def test_secret_lifetime_over_two_years_and_malformed_rotation_date() -> None:
    def change(apps: Apps) -> None:
        apps["partner-portal-api"]["credential"]["lifetimeDays"] = 1095
        apps["partner-portal-web"]["credential"]["rotationDate"] = "2026-13-01"

    problems = _problems(change)
    assert problems[0].startswith(
        "apps.yaml: apps.partner-portal-api.credential: lifetimeDays 1095: the secret lives 1095 "
        "days, more than 730"
    )
    assert problems[1] == (
        "apps.yaml: apps.partner-portal-web.credential.rotationDate: '2026-13-01' is not a date "
        "(expected YYYY-MM-DD)"
    )


def test_duplicate_display_names_are_refused() -> None:
    def change(apps: Apps) -> None:
        apps["partner-portal-web"]["displayName"] = "Contoso Partner Portal API"

    (problem,) = _problems(change)
    assert problem.startswith("apps.yaml: apps.partner-portal-web.displayName: ")
    assert "must be unique in the tenant" in problem


def test_secure_application_model_app_needs_partner_center() -> None:
    def change(apps: Apps) -> None:
        apps["partner-center-sam"]["permissions"] = apps["partner-center-sam"]["permissions"][1:]

    (problem,) = _problems(change)
    assert problem.startswith(
        "apps.yaml: apps.partner-center-sam.permissions: app 'partner-center-sam'"
    )


def test_unknown_app_key_lists_allowed_keys() -> None:
    def change(apps: Apps) -> None:
        apps["partner-portal-web"]["redirectUri"] = "https://x.example/"

    (problem,) = _problems(change)
    assert problem.startswith(
        "apps.yaml: apps.partner-portal-web.redirectUri: unknown key (allowed:"
    )
    assert "redirectUris" in problem


def test_missing_credential_is_a_missing_key() -> None:
    def change(apps: Apps) -> None:
        del apps["partner-portal-web"]["credential"]

    assert _problems(change) == [
        "apps.yaml: apps.partner-portal-web.credential: required key is missing"
    ]


def test_user_impersonation_offered_by_default() -> None:
    def change(apps: Apps) -> None:
        del apps["partner-portal-api"]["scopes"]

    api = _validate(change).apps["partner-portal-api"]
    (scope,) = api.effective_scopes()
    assert (scope.value, scope.type, scope.enabled) == ("user_impersonation", "User", True)


def test_only_the_first_certificate_of_a_chain_reaches_entra(tmp_path: Path) -> None:
    public = (ROOT / "tests" / "certs" / "portal.pem").read_text(encoding="utf-8")
    (tmp_path / "portal.pem").write_text(
        "subject=CN = portal\n" + public + public, encoding="utf-8"
    )

    def use_certificate(apps: Apps) -> None:
        apps["partner-portal-web"]["credential"] = {
            "type": "certificate",
            "publicKeyFile": "portal.pem",
        }

    loaded = _validate(use_certificate, project_dir=tmp_path).certificates["partner-portal-web"]
    assert loaded.pem == public, "apps.partner-portal-web.credential: exactly one certificate"
    assert loaded.thumbprint == "6DFE860CD71A1EC8D55E04DC62B2B46C4437F16B"
    assert loaded.end_date == date(2028, 6, 30)


def test_rotation_date_may_be_today_but_not_later() -> None:
    rotation = date(2026, 10, 1)  # apps.yaml's rotationDate
    _validate(lambda apps: None, today=rotation)
    with pytest.raises(ConfigError) as caught:
        _validate(lambda apps: None, today=rotation - timedelta(days=1))
    problems = [str(problem) for problem in caught.value.problems]
    assert (
        "apps.yaml: apps.partner-portal-api.credential.rotationDate: 2026-10-01 is after today "
        "(2026-09-30): changing it replaces the secret now" in problems[0]
    ), problems
