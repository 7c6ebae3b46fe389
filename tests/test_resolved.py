"""Values are resolved once at the config edge; components receive concrete values only."""

from __future__ import annotations

from datetime import date

from components.config import (
    StackSettings,
)

from .conftest import STACKS
from .test_apps_config import Apps, _validate


def _templated(apps: Apps) -> None:
    web = apps["partner-portal-web"]
    web["redirectUris"] = ["https://{region}.portal.contoso-partner.example/signin-oidc"]
    web["homepageUrl"] = "https://{region}.portal.contoso-partner.example/"
    apps["partner-portal-api"]["identifierUri"] = "https://{region}.contoso-partner.example/api"


def _settings(stack: str) -> StackSettings:
    return _validate(_templated, stack, today=date(2027, 1, 15))


def test_region_placeholders_are_resolved_for_the_stack_that_validates() -> None:
    for stack in STACKS:
        settings = _settings(stack)
        web = settings.resolved_apps["partner-portal-web"]
        assert web.redirect_uris == (
            f"https://{stack}.portal.contoso-partner.example/signin-oidc",
        ), f"Pulumi.{stack}.yaml: apps.partner-portal-web.redirectUris"
        assert web.homepage_url == f"https://{stack}.portal.contoso-partner.example/"
        api = settings.resolved_apps["partner-portal-api"]
        assert api.identifier_uris == (f"https://{stack}.contoso-partner.example/api",)
        assert not api.client_id_identifier_uri
        assert api.authority == f"https://login.microsoftonline.com/{settings.region.tenant_id}"


def test_symbolic_identifier_uris_and_credential_ends_are_resolved() -> None:
    settings = _validate(lambda apps: None, "us", today=date(2027, 1, 15))
    api = settings.resolved_apps["partner-portal-api"]
    assert api.identifier_uris == ("https://us.contoso-partner.example/partner-portal-api",)
    assert api.credential_end_date == date(2027, 10, 1)  # rotationDate 2026-10-01 + 365 days

    def api_uri(apps: Apps) -> None:
        apps["partner-portal-api"]["identifierUri"] = "api"

    api = _validate(api_uri, "us", today=date(2027, 1, 15)).resolved_apps["partner-portal-api"]
    assert api.identifier_uris == ()
    assert api.client_id_identifier_uri, "identifierUri: api -> api://<client id> after create"


def test_known_clients_are_built_before_the_apps_that_list_them() -> None:
    order = _validate(lambda apps: None, "us", today=date(2027, 1, 15)).build_order
    assert sorted(order) == sorted(
        ["partner-center-sam", "partner-portal-api", "partner-portal-web"]
    )
    assert order.index("partner-portal-web") < order.index("partner-portal-api")
