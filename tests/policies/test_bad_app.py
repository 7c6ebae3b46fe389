"""The issue's acceptance test: a deliberately bad app is blocked, one violation per problem.

Problems: an http redirect URI, a Mail.Read application permission, implicit grant on, an AAD
Graph permission, a 3-year password, and a vault open to public networks. Each yields exactly one
violation naming the resource and the fix; the mandatory ones block the deployment. The password
also gets the certificate advisory (a separate, non-blocking finding every password gets).
"""

from __future__ import annotations

from typing import Any

from tests.policies.fixtures import (
    AAD_GRAPH,
    MAIL_READ_ROLE,
    baseline,
    find,
    findings,
    record,
)

AAD_DIRECTORY_READ_ALL = "5778995a-e1bf-45b8-affa-663a9f3f4d04"


def _set(records: list[dict[str, Any]], name: str, change: dict[str, Any]) -> None:
    target = find(records, name)
    for side in ("inputs", "outputs"):
        target[side].update(change)


def bad_stack() -> list[dict[str, Any]]:
    records = baseline()
    web = find(records, "web-app")["inputs"]["web"]
    _set(
        records,
        "web-app",
        {
            "web": {
                **web,
                "redirectUris": ["http://portal.contoso-partner.example/signin-oidc"],
                "implicitGrant": {
                    "accessTokenIssuanceEnabled": True,
                    "idTokenIssuanceEnabled": False,
                },
            }
        },
    )
    _set(records, "api-access-graph", {"roleIds": [MAIL_READ_ROLE]})
    records.append(
        record(
            "azuread:index/applicationApiAccess:ApplicationApiAccess",
            "web-access-aad-graph",
            {
                "applicationId": "/applications/5c2a1b0f-3d4e-4f6a-9b8c-7d6e5f4a3b21",
                "apiClientId": AAD_GRAPH,
                "roleIds": [AAD_DIRECTORY_READ_ALL],
            },
        )
    )
    _set(records, "api-secret", {"endDate": "2029-10-01T00:00:00Z"})
    vault = find(records, "vault")["inputs"]["properties"]
    _set(
        records,
        "vault",
        {
            "properties": {
                **vault,
                "publicNetworkAccess": "Enabled",
                "networkAcls": {"defaultAction": "Allow"},
            }
        },
    )
    return records


def test_bad_app_yields_one_violation_per_problem() -> None:
    found = [(policy, level, name) for policy, level, name, _ in findings(bad_stack())]
    assert sorted(found) == sorted(
        [
            ("azuread-application-redirect-uris-https", "mandatory", "web-app"),
            ("azuread-application-implicit-grant-disabled", "mandatory", "web-app"),
            ("azuread-required-access-graph-csp-families", "mandatory", "api-access-graph"),
            ("azuread-required-access-no-retired-api", "mandatory", "web-access-aad-graph"),
            ("azuread-application-password-lifetime", "mandatory", "api-secret"),
            ("azuread-application-password-prefer-certificate", "advisory", "api-secret"),
            ("azuread-application-password-prefer-certificate", "advisory", "api-sp-secret"),
            ("azure-native-keyvault-vault-network-access", "mandatory", "vault"),
        ]
    )


def test_each_violation_names_the_resource_and_the_fix() -> None:
    for _policy, _level, name, message in findings(bad_stack()):
        assert message.startswith(f"{name}: ")
        assert " Fix: " in message


def test_the_aad_graph_violation_says_why() -> None:
    (message,) = [m for p, _, _, m in findings(bad_stack()) if p.endswith("no-retired-api")]
    assert "retired on 2025-08-31" in message
    assert "no longer grant anything" in message


def test_the_mandatory_violations_block_the_deployment() -> None:
    """The engine fails preview/up when any mandatory policy is violated."""
    levels = [level for _, level, _, _ in findings(bad_stack())]
    assert levels.count("mandatory") == 6
    assert "mandatory" in levels  # blocked
    assert {level for _, level, _, _ in findings(baseline())} == {"advisory"}  # not blocked
