"""The redirect-host policy (issue 27 item 5): a redirect URI whose host is outside the region's
verified domains, or a tunnel or paste host, is an advisory finding; a verified domain, a host in
the reviewed allowedExternalHosts and loopback redirects pass (loopback keeps its own rule)."""

from __future__ import annotations

import pytest

from policies.partner_policies import rules
from tests.policies.fixtures import changed, new_findings, region_config

POLICY = "azuread-application-redirect-uris-verified-hosts"


def _host_findings(uri: str, block: str = "web") -> list[tuple[str, str, str, str]]:
    records = changed("web-app", block, {"redirectUris": [uri]})
    return [f for f in new_findings(records) if f[0] == POLICY]


@pytest.mark.parametrize(
    "uri",
    [
        "https://x.ngrok-free.app/callback",
        "https://abc.ngrok.io/signin-oidc",
        "https://abc.eu.ngrok.app/cb",
        "https://quiet-river.trycloudflare.com/cb",
        "https://fuzzy-cat.loca.lt/cb",
        "https://me.serveo.net/cb",
        "https://abc.localhost.run/cb",
        "https://x1y2-443.euw.devtunnels.ms/cb",
        "https://X.NGROK-FREE.APP./callback",
    ],
)
def test_a_tunnel_host_is_an_advisory_finding(uri: str) -> None:
    (finding,) = _host_findings(uri)
    assert finding[1] == "advisory"
    assert finding[2] == "web-app"
    assert "a tunnel or paste host" in finding[3]
    assert "web.redirectUris[0]" in finding[3]


def test_a_tunnel_host_is_refused_even_when_allow_listed() -> None:
    config = region_config()
    config[POLICY]["allowedExternalHosts"].append("x.ngrok-free.app")
    records = changed("web-app", "web", {"redirectUris": ["https://x.ngrok-free.app/cb"]})
    assert [f[0] for f in new_findings(records, config)] == [POLICY]


@pytest.mark.parametrize(
    "uri",
    [
        "https://login.unverified.example/cb",
        # Not below a verified domain: a look-alike that ends with one's text.
        "https://evil-us.contoso-partner.example.attacker.example/cb",
        "https://notus.contoso-partner.example/cb",
    ],
)
def test_a_host_outside_the_verified_domains_is_an_advisory_finding(uri: str) -> None:
    (finding,) = _host_findings(uri, block="singlePageApplication")
    assert finding[1] == "advisory"
    assert "outside the region's verified domains" in finding[3]
    assert "allowedExternalHosts" in finding[3]
    assert "policies/reviewed/default.json" in finding[3]


@pytest.mark.parametrize(
    "uri",
    [
        "https://us.contoso-partner.example/cb",
        "https://portal.us.contoso-partner.example/signin-oidc",
        "https://app.contoso-us.onmicrosoft.example/cb",
        "https://portal.contoso-partner.example/signin-oidc",  # reviewed external host
        "https://sam.contoso-partner.example/consent/callback",  # reviewed external host
    ],
)
def test_verified_and_allow_listed_hosts_pass(uri: str) -> None:
    assert _host_findings(uri) == []


def test_loopback_redirects_keep_their_own_rule() -> None:
    for uri in ("http://localhost/", "https://localhost:8443/cb", "http://127.0.0.1/cb"):
        assert rules.redirect_host_problem(uri, ["us.contoso-partner.example"]) is None


def test_the_committed_config_reviews_the_external_hosts_in_every_region() -> None:
    for region in ("eu", "us"):
        config = region_config(region)[POLICY]
        assert config["allowedExternalHosts"] == [
            "portal.contoso-partner.example",
            "sam.contoso-partner.example",
        ], f"policies/config/{region}.json"
        assert config["verifiedDomains"], f"policies/config/{region}.json"
