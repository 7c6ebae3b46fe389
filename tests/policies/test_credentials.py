"""Credential rules: client secret lifetime (deterministic 'today'), certificates preferred."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
)

from policies.partner_policies import evaluate, today
from policies.partner_policies.credentials import (
    parse_go_duration,
    password_lifetime_policy,
)
from tests import certgen
from tests.policies.fixtures import (
    CERTIFICATE_PEM,
    baseline,
    changed,
    findings,
    new_findings,
    region_config,
    set_prop,
)

PASSWORD_TYPE = "azuread:index/applicationPassword:ApplicationPassword"
LIFETIME_FIX = (
    "prefer shorter-lived secrets or a certificate. Fix: set lifetimeDays in apps.yaml to at most "
    "730, or use a certificate credential."
)
ROTATION_FIX = (
    "changing it replaces the secret now, and a secret that starts later would leave the app "
    "without a valid one; rotate on or after that day instead. Fix: set rotationDate in apps.yaml "
    "no later than the day of the `pulumi up`: the replacement deletes the old secret at once."
)


def test_three_year_password_is_refused() -> None:
    records = changed("api-secret", "endDate", "2029-10-01T00:00:00Z")
    assert new_findings(records) == [
        (
            "azuread-application-password-lifetime",
            "mandatory",
            "api-secret",
            "api-secret: endDate 2029-10-01T00:00:00Z: from startDate 2026-10-01 the secret lives "
            f"1096 days, more than 730: {LIFETIME_FIX}",
        )
    ]


def test_730_days_are_allowed_and_731_are_not_the_rule_config_uses() -> None:
    """The same limit as the config edge (rules.MAX_SECRET_LIFETIME_DAYS): 730 days, not 24
    months (which is 731 days from 2026-10-01, across the leap day)."""
    assert new_findings(changed("api-secret", "endDate", "2028-09-30T00:00:00Z")) == []
    found = new_findings(changed("api-secret", "endDate", "2028-10-01T00:00:00Z"))
    assert [f[3] for f in found] == [
        "api-secret: endDate 2028-10-01T00:00:00Z: from startDate 2026-10-01 the secret lives "
        f"731 days, more than 730: {LIFETIME_FIX}"
    ]


def test_rotation_date_is_the_start_when_there_is_no_start_date() -> None:
    records = changed("api-secret", "startDate")
    set_prop(records, "api-secret", "endDate", "2028-10-02T00:00:00Z")
    assert new_findings(records) == [
        (
            "azuread-application-password-lifetime",
            "mandatory",
            "api-secret",
            "api-secret: endDate 2028-10-02T00:00:00Z: from rotateWhenChanged.rotationDate "
            f"2026-10-01 the secret lives 732 days, more than 730: {LIFETIME_FIX}",
        )
    ]


def _secret_findings(records: list[dict[str, Any]], **kwargs: Any) -> list[str]:
    return [f[3] for f in new_findings(records, **kwargs) if f[2] == "api-secret"]


def test_without_any_start_the_evaluation_date_is_the_start() -> None:
    records = changed("api-secret", "startDate")
    set_prop(records, "api-secret", "rotateWhenChanged")
    assert _secret_findings(records, evaluation_date=date(2025, 1, 1)) == [
        "api-secret: endDate 2027-10-01T00:00:00Z: from the evaluation date 2025-01-01 the "
        f"secret lives 1003 days, more than 730: {LIFETIME_FIX}"
    ]
    assert _secret_findings(records, evaluation_date=date(2026, 1, 1)) == []


def test_a_region_can_pin_the_evaluation_date() -> None:
    """A pinned evaluationDate wins over the date the evaluation is given."""
    records = changed("api-secret", "startDate")
    set_prop(records, "api-secret", "rotateWhenChanged")
    config = region_config()
    config["azuread-application-password-lifetime"] = {"evaluationDate": "2025-01-01"}
    found = _secret_findings(records, config=config, evaluation_date=date(2026, 1, 1))
    assert found == [
        "api-secret: endDate 2027-10-01T00:00:00Z: from the evaluation date 2025-01-01 the "
        f"secret lives 1003 days, more than 730: {LIFETIME_FIX}"
    ]


def test_start_after_the_evaluation_date_is_refused() -> None:
    """A secret that starts in 2030 is valid until 2031: it is refused now (as config does)."""
    records = changed("api-secret", "startDate", "2030-01-01T00:00:00Z")
    set_prop(records, "api-secret", "endDate", "2031-01-01T00:00:00Z")
    assert new_findings(records) == [
        (
            "azuread-application-password-lifetime",
            "mandatory",
            "api-secret",
            f"api-secret: startDate 2030-01-01 is after today (2026-11-01): {ROTATION_FIX}",
        )
    ]


def test_rotation_date_ahead_is_refused_too() -> None:
    records = changed("api-secret", "startDate")
    set_prop(records, "api-secret", "rotateWhenChanged", {"rotationDate": "2027-06-01"})
    set_prop(records, "api-secret", "endDate", "2028-06-01T00:00:00Z")
    assert [f[3] for f in new_findings(records)] == [
        "api-secret: rotateWhenChanged.rotationDate 2027-06-01 is after today (2026-11-01): "
        + ROTATION_FIX
    ]


def test_a_region_may_allow_a_start_some_days_ahead() -> None:
    records = changed("api-secret", "startDate", "2026-11-20T00:00:00Z")
    set_prop(records, "api-secret", "endDate", "2027-11-20T00:00:00Z")
    assert len(new_findings(records)) == 1
    config = region_config()
    config["azuread-application-password-lifetime"] = {"maxStartDaysAhead": 30}
    assert new_findings(records, config) == []
    config["azuread-application-password-lifetime"] = {"maxStartDaysAhead": 7}
    assert [f[3] for f in new_findings(records, config)] == [
        "api-secret: startDate 2026-11-20 is 19 days after today (2026-11-01), more than 7: "
        + ROTATION_FIX
    ]


def test_results_depend_on_the_evaluation_date_only() -> None:
    """Same records and date, same findings; the real date never enters (it is a parameter)."""
    records = changed("api-secret", "startDate", "2030-01-01T00:00:00Z")
    set_prop(records, "api-secret", "endDate", "2031-01-01T00:00:00Z")
    assert new_findings(records, evaluation_date=date(2030, 1, 1)) == []
    assert new_findings(records) == new_findings(records)
    assert len(new_findings(records)) == 1


def test_missing_end_date_is_refused() -> None:
    assert new_findings(changed("api-secret", "endDate")) == [
        (
            "azuread-application-password-lifetime",
            "mandatory",
            "api-secret",
            "api-secret: endDate is not set, so the provider picks the secret's lifetime. Fix: "
            "set an explicit endDate at most 730 days after the start (lifetimeDays in "
            "apps.yaml).",
        )
    ]


def test_relative_end_date_is_measured_too() -> None:
    records = changed("api-secret", "endDate")
    set_prop(records, "api-secret", "endDateRelative", "26280h")  # 3 years
    assert [f[3] for f in new_findings(records)] == [
        "api-secret: endDateRelative 26280h: from startDate 2026-10-01 the secret lives 1095 "
        f"days, more than 730: {LIFETIME_FIX}"
    ]


def test_end_before_start_is_refused() -> None:
    records = changed("api-secret", "endDate", "2026-09-01T00:00:00Z")
    assert [f[3] for f in new_findings(records)] == [
        "api-secret: endDate 2026-09-01T00:00:00Z is not after its start (startDate "
        "2026-10-01). Fix: set a later rotationDate in apps.yaml to rotate the secret."
    ]


def test_inline_application_password_is_checked() -> None:
    inline = {"displayName": "inline", "endDate": "2030-01-01T00:00:00Z", "startDate": "2026-01-01"}
    found = new_findings(changed("web-app", "password", inline))
    assert [f[:3] for f in found] == [
        ("azuread-application-password-lifetime", "mandatory", "web-app"),
        ("azuread-application-password-prefer-certificate", "advisory", "web-app"),
    ]


def test_certificate_advice_is_advisory_and_a_region_can_turn_it_off() -> None:
    assert [f[:3] for f in findings(baseline())] == [
        ("azuread-application-password-prefer-certificate", "advisory", "api-secret"),
        ("azuread-application-password-prefer-certificate", "advisory", "api-sp-secret"),
    ]
    config = region_config()
    config["azuread-application-password-prefer-certificate"] = "disabled"
    assert findings(baseline(), config) == []


def test_service_principal_password_lifetime_is_checked() -> None:
    records = changed("api-sp-secret", "endDate", "2029-10-01T00:00:00Z")
    assert new_findings(records) == [
        (
            "azuread-application-password-lifetime",
            "mandatory",
            "api-sp-secret",
            "api-sp-secret: endDate 2029-10-01T00:00:00Z: from startDate 2026-10-01 the secret "
            f"lives 1096 days, more than 730: {LIFETIME_FIX}",
        )
    ]


def test_service_principal_password_start_is_checked() -> None:
    records = changed("api-sp-secret", "startDate", "2027-03-01T00:00:00Z")
    assert [f[3] for f in new_findings(records)] == [
        f"api-sp-secret: startDate 2027-03-01 is after today (2026-11-01): {ROTATION_FIX}"
    ]


def _args(props: dict[str, Any], config: dict[str, Any] | None = None) -> ResourceValidationArgs:
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    return ResourceValidationArgs(
        PASSWORD_TYPE,
        props,
        "urn:pulumi:us::p::" + PASSWORD_TYPE + "::pw",
        "pw",
        options,
        None,
        config,
    )


def test_evaluation_date_is_bound_when_the_policy_is_built() -> None:
    """Called like pulumi-policy's own tests: validate(args, report) with a collecting report.

    This is how the pack runs under the CLI: its __main__ binds the date it starts.
    """
    reported: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append(message)

    policy = password_lifetime_policy(evaluation_date=date(2026, 1, 1))
    policy.validate(_args({"endDate": "2028-06-01T00:00:00Z"}), report)
    assert reported == [
        "pw: endDate 2028-06-01T00:00:00Z: from the evaluation date 2026-01-01 the secret lives "
        f"882 days, more than 730: {LIFETIME_FIX}"
    ]
    reported.clear()
    later = password_lifetime_policy(evaluation_date=date(2026, 1, 1) + timedelta(days=200))
    later.validate(_args({"endDate": "2028-06-01T00:00:00Z"}), report)
    assert reported == []
    # Without any date, what needs one is skipped rather than guessed.
    unbound = password_lifetime_policy()
    unbound.validate(_args({"endDate": "2040-06-01T00:00:00Z"}), report)
    unbound.validate(
        _args({"startDate": "2035-01-01T00:00:00Z", "endDate": "2036-01-01T00:00:00Z"}), report
    )
    assert reported == []


@pytest.mark.parametrize(
    ("text", "hours"),
    [("17520h", 17520), ("2400h30m", 2400.5), ("90m", 1.5), ("", None), ("1y", None)],
)
def test_go_durations(text: str, hours: float | None) -> None:
    duration = parse_go_duration(text)
    assert (duration.total_seconds() / 3600 if duration else None) == hours


def test_evaluate_defaults_to_the_date_it_is_called() -> None:
    """Without an explicit date, evaluate() reads the current UTC date when it is called."""
    start = today() + timedelta(days=40)
    records = changed("api-secret", "startDate", f"{start.isoformat()}T00:00:00Z")
    set_prop(records, "api-secret", "endDate", f"{(start + timedelta(days=365)).isoformat()}")
    found = [
        v["policy"] for v in evaluate(records, region_config()) if v["urn"].endswith("::api-secret")
    ]
    assert "azuread-application-password-lifetime" in found


# --- Certificate credentials (issue 28) ----------------------------------------------------------

CERTIFICATE_POLICY = "azuread-application-certificate-credential"
CERTIFICATE_FIX = (
    "Fix: give the app its own end-entity certificate with an RSA key of at least 2048 bits, "
    "valid from the day of the `pulumi up` at the latest, and the public certificate only "
    "(publicKeyFile in apps.yaml)."
)


def _certificate_findings(value: str, encoding: str = "pem") -> list[str]:
    records = changed("web-certificate", "value", value)
    set_prop(records, "web-certificate", "encoding", encoding)
    return [f[3] for f in new_findings(records) if f[0] == CERTIFICATE_POLICY]


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda: certgen.certificate_pem("rsa-512"), "has an RSA key of 512 bits"),
        (lambda: certgen.certificate_pem("rsa-1024"), "has an RSA key of 1024 bits"),
        (lambda: certgen.certificate_pem("ec-p256"), "(curve P-256); Entra's certificate"),
        (lambda: certgen.certificate_pem("ed25519"), "has an Ed25519 key"),
        (lambda: certgen.certificate_pem(ca=True), "is a CA certificate (basicConstraints"),
        (
            lambda: certgen.certificate_pem(not_before=date(2026, 11, 2)),
            "is not valid yet: it starts on 2026-11-02, after today (2026-11-01)",
        ),
        (lambda: CERTIFICATE_PEM.encode() + b"trailing\n", "has data after the certificate's END"),
        (
            lambda: CERTIFICATE_PEM.encode() + certgen.private_key_body(),
            "holds a private key's base64 body without its PEM header lines (line 19)",
        ),
        (lambda: CERTIFICATE_PEM.encode() + certgen.private_key_pem(), "contains a private key"),
    ],
    ids=[
        "rsa-512",
        "rsa-1024",
        "ec-p256",
        "ed25519",
        "ca",
        "not-yet-valid",
        "trailing-data",
        "key-body-without-headers",
        "key-block",
    ],
)
def test_certificates_entra_refuses_or_that_carry_key_material_are_refused(
    make: Callable[[], bytes], problem: str
) -> None:
    (message,) = _certificate_findings(make().decode("utf-8"))
    assert message.startswith("web-certificate: value (pem) "), message
    assert problem in message, message
    assert message.endswith(CERTIFICATE_FIX), message


def test_the_same_rules_apply_to_base64_and_hex_values() -> None:
    der = x509.load_pem_x509_certificate(certgen.certificate_pem("rsa-1024")).public_bytes(
        serialization.Encoding.DER
    )
    for value, encoding in ((base64.b64encode(der).decode(), "base64"), (der.hex(), "hex")):
        (message,) = _certificate_findings(value, encoding)
        assert f"value ({encoding}) has an RSA key of 1024 bits" in message
    assert _certificate_findings("not base64!", "base64") == [
        f"web-certificate: value (base64) is not valid base64. {CERTIFICATE_FIX}"
    ]


@pytest.mark.parametrize(
    "make",
    [
        lambda: certgen.certificate_pem("rsa-3072"),
        lambda: certgen.certificate_pem(ca=False),
        lambda: certgen.certificate_pem(not_before=date(2026, 11, 1)),  # valid from today
        lambda: b"subject=CN = portal\n" + CERTIFICATE_PEM.encode() + certgen.certificate_pem(),
    ],
    ids=["rsa-3072", "end-entity", "valid-from-today", "chain-with-explanatory-text"],
)
def test_honest_certificates_pass(make: Callable[[], bytes]) -> None:
    assert _certificate_findings(make().decode("utf-8")) == []


def test_a_value_the_offline_preview_hides_is_not_judged() -> None:
    """``[secret]``: the recording hides it; the config edge checked the file already."""
    assert _certificate_findings("[secret]") == []


def test_the_service_principal_certificate_is_checked_too() -> None:
    key = "".join(certgen.private_key_body().decode("ascii").split())  # base64 of its DER
    records = changed("api-sp-certificate", "value", key)
    (found,) = [f for f in new_findings(records) if f[0] == CERTIFICATE_POLICY]
    assert found[2] == "api-sp-certificate"
    assert "looks like a private key (or a PKCS#12 bundle), not a certificate" in found[3]
