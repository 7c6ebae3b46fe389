"""``evaluate`` runs the pack as the engine would: config, enforcement, secrets, unknowns, parity.

The parity test feeds the same records to pulumi-policy's own analyzer servicer (the code behind
``pulumi preview --policy-pack``) as protobuf requests and compares the diagnostics.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import date
from typing import Any, cast

import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
)
from pulumi_policy.policy import _PolicyAnalyzerServicer

from policies.partner_policies import (
    ALL_POLICIES,
    PACK_ENFORCEMENT_LEVEL,
    PACK_NAME,
    PolicyConfigError,
    evaluate,
)
from policies.partner_policies.engine import reconcile_config, to_wire
from tests.policies.fixtures import (
    EVALUATION_DATE,
    baseline,
    changed,
    findings,
    first_preview,
    new_findings,
    region_config,
    set_prop,
)

PURGE = "azure-native-keyvault-vault-purge-protection"


def _purge_off() -> list[dict[str, Any]]:
    return changed("vault", "properties.enablePurgeProtection", False)


def test_config_overrides_the_default_enforcement_level() -> None:
    config = region_config()
    config[PURGE] = {"enforcementLevel": "advisory"}
    assert [f[:3] for f in new_findings(_purge_off(), config)] == [(PURGE, "advisory", "vault")]


def test_all_sets_every_level_and_a_policy_entry_wins_over_all() -> None:
    config = {**region_config(), "all": "advisory", PURGE: "mandatory"}
    levels = {policy: level for policy, level, _, _ in findings(_purge_off(), config)}
    assert levels == {
        "azuread-application-password-prefer-certificate": "advisory",
        PURGE: "mandatory",
    }


def test_disabled_policies_do_not_run_and_remediate_reports_as_mandatory() -> None:
    config = region_config()
    config[PURGE] = {"enforcementLevel": "disabled"}
    assert new_findings(_purge_off(), config) == []
    config[PURGE] = "remediate"
    assert [f[:2] for f in new_findings(_purge_off(), config)] == [(PURGE, "mandatory")]


def test_config_defaults_apply_when_the_config_leaves_them_out() -> None:
    settings = reconcile_config(ALL_POLICIES, region_config())
    assert settings["azure-native-keyvault-vault-soft-delete"].properties == {
        "minimumRetentionDays": 90
    }
    assert settings["azuread-application-redirect-uris-https"].properties == {
        "allowLocalhost": False,  # the default: the region config leaves it out
        "allowLocalhostApps": [],
        "samLoopbackApps": ["Contoso Secure Application Model"],
    }
    assert settings["azuread-application-multi-tenant"].enforcement == EnforcementLevel.MANDATORY


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({}, "azuread-application-identifier-uris: verifiedDomains is required"),
        (
            {**region_config(), "azuread-application-identifier-uris": {"verifiedDomains": "x"}},
            "verifiedDomains: Invalid type. Expected: array, given: str",
        ),
        (
            {**region_config(), PURGE: {"enforcementLevel": "blocking"}},
            "'blocking' is not valid",
        ),
        (
            {
                **region_config(),
                "azure-native-keyvault-vault-soft-delete": {"minimumRetentionDays": 3},
            },
            "minimumRetentionDays: Must be greater than or equal to 7",
        ),
    ],
)
def test_invalid_config_is_refused_like_the_cli_does(config: dict[str, Any], error: str) -> None:
    with pytest.raises(PolicyConfigError, match=error):
        evaluate(baseline(), config)


def _capture(type_token: str, seen: list[ResourceValidationArgs]) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type == type_token:
            seen.append(args)

    return ResourceValidationPolicy(name="capture", description="Capture args.", validate=validate)


def test_secret_marker_reaches_policies_as_the_sdk_presents_secrets() -> None:
    """pulumi-policy unwraps secrets for validation: a policy sees the plain value."""
    seen: list[ResourceValidationArgs] = []
    evaluate(baseline(), {}, policies=[_capture("azure-native:keyvault:Secret", seen)])
    (args,) = seen
    assert args.props["properties"]["value"] == "[secret]"
    assert args.opts.additional_secret_outputs == ["properties"]
    assert to_wire("[secret]") == {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        "value": "[secret]",
    }


def test_the_evaluation_date_reaches_policies_that_declare_it() -> None:
    seen: dict[str, Any] = {}

    def policy(name: str, schema: PolicyConfigSchema | None) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            seen[name] = args.get_config()

        return ResourceValidationPolicy(
            name=name, description="Capture config.", validate=validate, config_schema=schema
        )

    dated = PolicyConfigSchema(properties={"evaluationDate": {"type": "string"}})
    chosen: list[ResourceValidationPolicy | StackValidationPolicy] = [
        policy("dated", dated),
        policy("undated", None),
    ]
    evaluate(baseline()[:1], {}, policies=chosen, evaluation_date=date(2026, 3, 4))
    assert seen == {"dated": {"evaluationDate": "2026-03-04"}, "undated": {}}
    # A date pinned in the config file wins.
    evaluate(
        baseline()[:1],
        {"dated": {"evaluationDate": "2025-01-01"}},
        policies=chosen,
        evaluation_date=date(2026, 3, 4),
    )
    assert seen["dated"] == {"evaluationDate": "2025-01-01"}


def test_numbers_arrive_as_floats_as_on_the_wire() -> None:
    seen: list[ResourceValidationArgs] = []
    evaluate(baseline(), {}, policies=[_capture("azure-native:keyvault:Vault", seen)])
    assert seen[0].props["properties"]["softDeleteRetentionInDays"] == 90.0
    assert isinstance(seen[0].props["properties"]["softDeleteRetentionInDays"], float)


def test_resources_get_their_provider_looked_up_by_urn() -> None:
    seen: list[ResourceValidationArgs] = []
    evaluate(baseline(), {}, policies=[_capture("azure-native:keyvault:Vault", seen)])
    provider = seen[0].provider
    assert provider is not None
    assert provider.resource_type == "pulumi:providers:azure-native"
    assert provider.name == "us-azure-native"
    assert (
        provider.urn
        == "urn:pulumi:us::partner-apps::pulumi:providers:azure-native::us-azure-native"
    )
    assert provider.props["location"] == "eastus"


def test_each_policy_gets_its_own_props_as_the_sdk_servicer_decodes_them() -> None:
    """The servicer decodes a resource's properties afresh for every policy: one policy that
    changes what it was handed (the SDK's proxy allows it) changes nothing for the next."""
    seen: list[Any] = []

    def meddle(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type == "azure-native:keyvault:Vault":
            props = cast(MutableMapping[str, Any], args.props)
            props["location"] = "westeurope"
            args.props = {"location": "replaced"}

    def read(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type == "azure-native:keyvault:Vault":
            seen.append((isinstance(args, ResourceValidationArgs), args.props["location"]))

    evaluate(
        baseline(),
        {},
        policies=[
            ResourceValidationPolicy(name="meddle", description="Changes props.", validate=meddle),
            ResourceValidationPolicy(name="read", description="Reads props.", validate=read),
        ],
    )
    assert seen == [(True, "eastus")]


def _naive() -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        # Reading props["location"] raises when it is unknown (preview).
        if args.resource_type == "azure-native:keyvault:Vault" and args.props["location"] != "x":
            report("moved", None)

    return ResourceValidationPolicy(
        name="naive",
        description="Reads a value without guarding unknowns.",
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


def test_policy_touching_an_unknown_value_gets_the_sdks_preview_diagnostic() -> None:
    records = changed("vault", "location", "[unknown]")
    assert evaluate(records, {}, policies=[_naive()]) == [
        {
            "policy": "naive",
            "severity": "",
            "enforcementLevel": "advisory",
            "urn": "urn:pulumi:us::partner-apps::azure-native:keyvault:Vault::vault",
            "message": "can't run policy 'naive' from policy pack 'csp-partner-apps@v0.0.1' "
            "during preview: string value at .location can't be known during preview",
        }
    ]


def test_unknown_value_diagnostic_matches_the_sdk_servicer() -> None:
    records = changed("vault", "location", "[unknown]")
    ours = {
        (v["policy"], v["enforcementLevel"], v["urn"], v["message"])
        for v in evaluate(records, {}, policies=[_naive()])
    }
    assert ours == _servicer_findings(records, {}, [_naive()])


def test_pack_policies_skip_unknown_values_instead_of_failing() -> None:
    records = changed("vault", "location", "[unknown]")
    set_prop(records, "vault", "properties.enablePurgeProtection", "[unknown]")
    assert new_findings(records) == []


# --- Parity with pulumi-policy's analyzer servicer ------------------------------------------------

_PROTO_LEVELS = {
    EnforcementLevel.ADVISORY: proto.ADVISORY,
    EnforcementLevel.MANDATORY: proto.MANDATORY,
    EnforcementLevel.REMEDIATE: proto.REMEDIATE,
    EnforcementLevel.DISABLED: proto.DISABLED,
}
_LEVEL_NAMES = {proto.ADVISORY: "advisory", proto.MANDATORY: "mandatory"}


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(to_wire(dict(value)), struct_pb2.Struct())


def _options(record: Mapping[str, Any]) -> Any:
    return proto.AnalyzerResourceOptions(
        protect=bool(record["protect"]),
        additionalSecretOutputs=list(record["additionalSecretOutputs"]),
        parent=record["parent"] or "",
    )


def _provider(record: Mapping[str, Any], records: list[dict[str, Any]]) -> Any:
    provider_urn = record["provider"].rpartition("::")[0]
    provider = next(r for r in records if r["urn"] == provider_urn)
    return proto.AnalyzerProviderResource(
        type=provider["type"],
        properties=_struct(provider["inputs"]),
        urn=provider_urn,
        name=provider["name"],
    )


def _servicer_findings(
    records: list[dict[str, Any]],
    config: dict[str, Any],
    chosen: list[ResourceValidationPolicy | StackValidationPolicy] = ALL_POLICIES,
) -> set[tuple[str, ...]]:
    # The SDK's private servicer is untyped; Any keeps the calls below checkable as plain code.
    policies: list[Policy] = list(chosen)
    servicer: Any = _PolicyAnalyzerServicer(PACK_NAME, "0.0.1", policies, PACK_ENFORCEMENT_LEVEL)
    settings = reconcile_config(chosen, config, PACK_ENFORCEMENT_LEVEL)
    servicer.Configure(
        proto.ConfigureAnalyzerRequest(
            policyConfig={
                name: proto.PolicyConfig(
                    enforcementLevel=_PROTO_LEVELS[s.enforcement],
                    properties=_struct(s.properties),
                )
                for name, s in settings.items()
            }
        ),
        None,
    )
    found: set[tuple[str, ...]] = set()
    diagnostics = []
    for record in records:
        request = proto.AnalyzeRequest(
            type=record["type"],
            properties=_struct(record["inputs"]),
            urn=record["urn"],
            name=record["name"],
            options=_options(record),
        )
        if record["provider"]:
            request.provider.CopyFrom(_provider(record, records))
        diagnostics += [(d, record["urn"]) for d in servicer.Analyze(request, None).diagnostics]
    stack_request = proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(
                type=r["type"],
                properties=_struct({**r["inputs"], **r["outputs"]}),
                urn=r["urn"],
                name=r["name"],
                options=_options(r),
                provider=_provider(r, records) if r["provider"] else None,
                dependencies=r["dependencies"],
                propertyDependencies={
                    prop: proto.AnalyzerPropertyDependencies(urns=urns)
                    for prop, urns in r["propertyDependencies"].items()
                },
            )
            for r in records
        ]
    )
    diagnostics += [(d, "") for d in servicer.AnalyzeStack(stack_request, None).diagnostics]
    for diagnostic, resource_urn in diagnostics:
        # The servicer prefixes the policy's description; the CLI prints both.
        message = diagnostic.message.removeprefix(diagnostic.description + "\n")
        found.add(
            (
                diagnostic.policyName,
                _LEVEL_NAMES[diagnostic.enforcementLevel],
                diagnostic.urn or resource_urn,
                message,
            )
        )
    return found


def _bad_stack() -> list[dict[str, Any]]:
    records = changed("vault", "properties.enablePurgeProtection", False)
    set_prop(records, "api-client-secret", "", additionalSecretOutputs=[])
    set_prop(records, "web-app", "web.redirectUris", ["http://portal.contoso-partner.example/x"])
    set_prop(records, "web-admin-agents", "memberObjectId", "99999999-0000-4000-8000-000000000000")
    set_prop(records, "us-azure-native", "location", "westus")
    set_prop(records, "api-secret", "endDate", "2030-01-01T00:00:00Z")
    return records


def _bad_first_preview() -> list[dict[str, Any]]:
    """A first preview (ids unknown) where only the property dependencies reveal the problems."""
    records = [r for r in first_preview() if r["name"] != "web-admin-agents"]
    set_prop(records, "web-access-api", "scopeIds", ["99999999-0000-4000-8000-000000000002"])
    return records


@pytest.mark.parametrize(
    "records",
    [baseline(), _bad_stack(), first_preview(), _bad_first_preview()],
    ids=["baseline", "bad", "first-preview", "bad-first-preview"],
)
def test_evaluate_matches_the_sdk_analyzer_servicer(records: list[dict[str, Any]]) -> None:
    config = region_config()
    # The servicer gets the evaluation date the way the CLI would: from the config file.
    for dated in (
        "azuread-application-password-lifetime",
        "azuread-application-certificate-credential",
    ):
        config[dated] = {"evaluationDate": EVALUATION_DATE.isoformat()}
    ours = {
        (v["policy"], v["enforcementLevel"], v["urn"], v["message"])
        for v in evaluate(records, config, evaluation_date=date(2000, 1, 1))
    }
    assert ours
    assert ours == _servicer_findings(records, config)


def test_every_policy_kind_is_exercised_by_the_parity_stack() -> None:
    kinds = {type(p).__mro__[1] for p in ALL_POLICIES}
    assert kinds == {ResourceValidationPolicy, StackValidationPolicy}
    policies = {f[0] for f in findings(_bad_stack())}
    assert policies >= {
        PURGE,
        "azure-native-keyvault-secret-value-secret",
        "azuread-application-redirect-uris-https",
        "stack-partner-apps-admin-agents",
        "stack-providers-single-region",
        "azuread-application-password-lifetime",
    }
