"""Credential rules: client secret lifetime (deterministic 'today'), certificates preferred."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
)

from policies.partner_policies import evaluate, today
from policies.partner_policies.credentials import (
    add_months,
    parse_go_duration,
    password_lifetime_policy,
)
from tests.policies.fixtures import (
    baseline,
    changed,
    findings,
    new_findings,
    region_config,
    set_prop,
)

PASSWORD_TYPE = "azuread:index/applicationPassword:ApplicationPassword"
LIFETIME_FIX = (
    "Fix: shorten the secret's life to at most 24 months (for example lifetimeDays 365 in "
    "apps.yaml), or use a certificate credential."
)


def test_three_year_password_is_refused() -> None:
    records = changed("api-secret", "endDate", "2029-10-01T00:00:00Z")
    assert new_findings(records) == [
        (
            "azuread-application-password-lifetime",
            "mandatory",
            "api-secret",
            "api-secret: endDate 2029-10-01T00:00:00Z is 1096 days after startDate 2026-10-01; "
            f"the limit is 24 months (2028-10-01). {LIFETIME_FIX}",
        )
    ]


def test_exactly_two_years_is_allowed_across_a_leap_day() -> None:
    assert new_findings(changed("api-secret", "endDate", "2028-10-01T00:00:00Z")) == []


def test_rotation_date_is_the_start_when_there_is_no_start_date() -> None:
    records = changed("api-secret", "startDate")
    set_prop(records, "api-secret", "endDate", "2028-10-02T00:00:00Z")
    assert new_findings(records) == [
        (
            "azuread-application-password-lifetime",
            "mandatory",
            "api-secret",
            "api-secret: endDate 2028-10-02T00:00:00Z is 732 days after "
            "rotateWhenChanged.rotationDate 2026-10-01; the limit is 24 months (2028-10-01). "
            + LIFETIME_FIX,
        )
    ]


def _secret_findings(records: list[dict[str, Any]], **kwargs: Any) -> list[str]:
    return [f[3] for f in new_findings(records, **kwargs) if f[2] == "api-secret"]


def test_without_any_start_the_evaluation_date_is_the_start() -> None:
    records = changed("api-secret", "startDate")
    set_prop(records, "api-secret", "rotateWhenChanged")
    assert _secret_findings(records, evaluation_date=date(2025, 1, 1)) == [
        "api-secret: endDate 2027-10-01T00:00:00Z is 1003 days after the evaluation date "
        f"2025-01-01; the limit is 24 months (2027-01-01). {LIFETIME_FIX}"
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
        "api-secret: endDate 2027-10-01T00:00:00Z is 1003 days after the evaluation date "
        f"2025-01-01; the limit is 24 months (2027-01-01). {LIFETIME_FIX}"
    ]


def test_start_far_after_the_evaluation_date_is_refused() -> None:
    """A two-year secret that starts in 2030 is valid until 2032: it is refused now."""
    records = changed("api-secret", "startDate", "2030-01-01T00:00:00Z")
    set_prop(records, "api-secret", "endDate", "2031-01-01T00:00:00Z")
    assert new_findings(records) == [
        (
            "azuread-application-password-lifetime",
            "mandatory",
            "api-secret",
            "api-secret: startDate 2030-01-01 is 1157 days after the evaluation date 2026-11-01; "
            "a secret may start at most 30 days ahead (2026-12-01). Fix: start the secret when "
            "it is created (a rotation date no later than 2026-12-01): its value exists from "
            "that day, and a later start only moves its end further out.",
        )
    ]


def test_rotation_date_far_ahead_is_refused_too() -> None:
    records = changed("api-secret", "startDate")
    set_prop(records, "api-secret", "rotateWhenChanged", {"rotationDate": "2027-06-01"})
    set_prop(records, "api-secret", "endDate", "2028-06-01T00:00:00Z")
    assert [f[3] for f in new_findings(records)] == [
        "api-secret: rotateWhenChanged.rotationDate 2027-06-01 is 212 days after the evaluation "
        "date 2026-11-01; a secret may start at most 30 days ahead (2026-12-01). Fix: start the "
        "secret when it is created (a rotation date no later than 2026-12-01): its value exists "
        "from that day, and a later start only moves its end further out."
    ]


def test_start_within_the_allowance_passes_and_the_allowance_is_configurable() -> None:
    records = changed("api-secret", "startDate", "2026-11-20T00:00:00Z")
    set_prop(records, "api-secret", "endDate", "2027-11-20T00:00:00Z")
    assert new_findings(records) == []
    config = region_config()
    config["azuread-application-password-lifetime"] = {"maxStartDaysAhead": 7}
    assert [f[3] for f in new_findings(records, config)] == [
        "api-secret: startDate 2026-11-20 is 19 days after the evaluation date 2026-11-01; a "
        "secret may start at most 7 days ahead (2026-11-08). Fix: start the secret when it is "
        "created (a rotation date no later than 2026-11-08): its value exists from that day, "
        "and a later start only moves its end further out."
    ]


def test_results_depend_on_the_evaluation_date_only() -> None:
    """Same records and date, same findings; the real date never enters (it is a parameter)."""
    records = changed("api-secret", "startDate", "2030-01-01T00:00:00Z")
    set_prop(records, "api-secret", "endDate", "2031-01-01T00:00:00Z")
    assert new_findings(records, evaluation_date=date(2029, 12, 15)) == []
    assert new_findings(records) == new_findings(records)
    assert len(new_findings(records)) == 1


def test_missing_end_date_is_refused() -> None:
    assert new_findings(changed("api-secret", "endDate")) == [
        (
            "azuread-application-password-lifetime",
            "mandatory",
            "api-secret",
            "api-secret: endDate is not set, so the provider picks the secret's lifetime. Fix: "
            "set an explicit endDate at most 24 months after the start.",
        )
    ]


def test_relative_end_date_is_measured_too() -> None:
    records = changed("api-secret", "endDate")
    set_prop(records, "api-secret", "endDateRelative", "26280h")  # 3 years
    assert [f[3] for f in new_findings(records)] == [
        "api-secret: endDateRelative 26280h is 1095 days after startDate 2026-10-01; the limit "
        f"is 24 months (2028-10-01). {LIFETIME_FIX}"
    ]


def test_end_before_start_is_refused() -> None:
    records = changed("api-secret", "endDate", "2026-09-01T00:00:00Z")
    assert [f[3] for f in new_findings(records)] == [
        "api-secret: endDate 2026-09-01T00:00:00Z is not after its start (startDate "
        "2026-10-01). Fix: set an endDate after the start, or rotate the secret with a new "
        "start date."
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
            "api-sp-secret: endDate 2029-10-01T00:00:00Z is 1096 days after startDate "
            f"2026-10-01; the limit is 24 months (2028-10-01). {LIFETIME_FIX}",
        )
    ]


def test_service_principal_password_start_is_checked() -> None:
    records = changed("api-sp-secret", "startDate", "2027-03-01T00:00:00Z")
    assert [f[3] for f in new_findings(records)] == [
        "api-sp-secret: startDate 2027-03-01 is 120 days after the evaluation date 2026-11-01; "
        "a secret may start at most 30 days ahead (2026-12-01). Fix: start the secret when it "
        "is created (a rotation date no later than 2026-12-01): its value exists from that day, "
        "and a later start only moves its end further out."
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
        "pw: endDate 2028-06-01T00:00:00Z is 882 days after the evaluation date 2026-01-01; the "
        f"limit is 24 months (2028-01-01). {LIFETIME_FIX}"
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


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(datetime(2024, 2, 29, tzinfo=UTC), 24) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 30, tzinfo=UTC), 3) == datetime(2027, 2, 28, tzinfo=UTC)


def test_evaluate_defaults_to_the_date_it_is_called() -> None:
    """Without an explicit date, evaluate() reads the current UTC date when it is called."""
    start = today() + timedelta(days=40)
    records = changed("api-secret", "startDate", f"{start.isoformat()}T00:00:00Z")
    set_prop(records, "api-secret", "endDate", f"{(start + timedelta(days=365)).isoformat()}")
    found = [
        v["policy"] for v in evaluate(records, region_config()) if v["urn"].endswith("::api-secret")
    ]
    assert "azuread-application-password-lifetime" in found
