"""Credential policies: client secrets live at most two years, and certificates are preferred.

A secret's life is measured from its start: ``startDate``, else ``rotateWhenChanged.rotationDate``
(the program names the rotation date there), else the evaluation date. The evaluation date is the
``evaluationDate`` config property when set, else the clock the policy was built with, so tests
and reviews of old plans are deterministic.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from . import references as ref
from . import tokens
from ._framework import (
    UNKNOWN,
    ConfigProperty,
    PolicySpec,
    ResourceContext,
    get,
    resource_policy,
)

Clock = Callable[[], datetime]

_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms|us|µs|ns)")
_GO_UNITS = {
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "ns": 1e-9,
}


def system_clock() -> datetime:
    return datetime.now(UTC)


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp or a YYYY-MM-DD date, as an aware UTC datetime."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_go_duration(value: str) -> timedelta | None:
    """``endDateRelative`` values such as ``17520h`` or ``2400h30m``."""
    text = value.strip()
    if not text or _GO_DURATION.sub("", text):
        return None
    seconds = sum(float(n) * _GO_UNITS[unit] for n, unit in _GO_DURATION.findall(text))
    return timedelta(seconds=seconds)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later (clamped to the month's last day: Feb 29 -> Feb 28)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _password_blocks(resource: ResourceContext) -> list[tuple[str, Mapping[str, Any]]]:
    if resource.type == tokens.PASSWORD:
        return [("", resource.props)]
    block = get(resource.props, "password")
    return [("password.", block)] if isinstance(block, Mapping) else []


def _start(block: Mapping[str, Any], config: Mapping[str, Any], clock: Clock) -> tuple[Any, str]:
    """When the secret's life starts, and where that came from (for the message)."""
    start = block.get("startDate")
    if start is not None:
        return start, "startDate"
    rotation = get(block, "rotateWhenChanged", "rotationDate")
    if rotation is not None:
        return rotation, "rotateWhenChanged.rotationDate"
    configured = config.get("evaluationDate")
    if configured:
        return configured, "the evaluation date"
    return clock(), "today"


def _check_lifetime(resource: ResourceContext, clock: Clock) -> Iterable[str]:
    months = int(resource.config.get("maxLifetimeMonths", 24))
    for prefix, block in _password_blocks(resource):
        raw_start, start_source = _start(block, resource.config, clock)
        end_value, relative = block.get("endDate"), block.get("endDateRelative")
        if UNKNOWN in (raw_start, end_value, relative):
            continue
        start = parse_time(raw_start)
        if start is None:
            continue
        if end_value is not None:
            end, end_label = parse_time(end_value), f"{prefix}endDate {end_value}"
        elif isinstance(relative, str):
            duration = parse_go_duration(relative)
            end = start + duration if duration is not None else None
            end_label = f"{prefix}endDateRelative {relative}"
        else:
            yield resource.violation(
                f"{prefix}endDate is not set, so the provider picks the secret's lifetime.",
                f"set an explicit endDate at most {months} months after the start.",
            )
            continue
        if end is None:
            yield resource.violation(
                f"{end_label} is not a valid RFC 3339 date.",
                "write endDate like 2027-10-01T00:00:00Z.",
            )
            continue
        limit = add_months(start, months)
        if end <= start:
            yield resource.violation(
                f"{end_label} is not after its start ({start_source} {start.date()}).",
                "set an endDate after the start, or rotate the secret with a new start date.",
            )
        elif end > limit:
            days = (end - start).days
            yield resource.violation(
                f"{end_label} is {days} days after {start_source} {start.date()}; the limit is "
                f"{months} months ({limit.date()}).",
                f"shorten the secret's life to at most {months} months (for example lifetimeDays "
                "365 in apps.yaml), or use a certificate credential.",
            )


def password_lifetime_policy(clock: Clock = system_clock) -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azuread-application-password-lifetime",
        description="Client secrets expire at most two years after their start.",
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Give every ApplicationPassword an endDate at most 24 months after its start "
            "(startDate or rotateWhenChanged.rotationDate), and rotate it before then."
        ),
        url=ref.MAESTER_APP_MANAGEMENT_POLICY.url,
        references=(
            ref.MAESTER_APP_MANAGEMENT_POLICY,
            ref.AADA_EXPIRED_CREDENTIALS,
            ref.CSP_SECURE_APP_MODEL,
            ref.MS_APP_SECURITY,
        ),
        applies_to=(tokens.PASSWORD, tokens.APPLICATION),
        config=(
            ConfigProperty(
                "maxLifetimeMonths",
                {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 24,
                    "default": 24,
                    "description": "Longest life of a client secret, in months from its start.",
                },
            ),
            ConfigProperty(
                "evaluationDate",
                {
                    "type": "string",
                    "description": (
                        "Date (YYYY-MM-DD) used as 'today' for secrets without a start; unset "
                        "means the real date."
                    ),
                },
            ),
        ),
        tags=("azuread", "credentials"),
    )
    return resource_policy(spec, lambda resource: _check_lifetime(resource, clock))


def _check_prefer_certificate(resource: ResourceContext) -> Iterable[str]:
    for prefix, _block in _password_blocks(resource):
        yield resource.violation(
            f"uses a client secret ({prefix or 'ApplicationPassword'}) where a certificate could "
            "be used.",
            "register an azuread.ApplicationCertificate (only the public key in the program; the "
            "private key in Key Vault) and remove the password once clients use it.",
        )


def _prefer_certificate_policy() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azuread-application-password-prefer-certificate",
        description="Advisory: a client secret is used where a certificate credential could be.",
        severity=Severity.LOW,
        enforcement=EnforcementLevel.ADVISORY,
        remediation=(
            "Prefer certificate credentials (or federated credentials) over client secrets: a "
            "secret can be copied and replayed, a certificate proves possession of a private key."
        ),
        url=ref.MAESTER_NO_SECRETS.url,
        references=(
            ref.MAESTER_NO_SECRETS,
            ref.AADA_PASSWORD_CREDENTIALS,
            ref.CSP_SECURE_APP_MODEL,
            ref.MS_APP_SECURITY,
        ),
        applies_to=(tokens.PASSWORD, tokens.APPLICATION),
        tags=("azuread", "credentials"),
    )
    return resource_policy(spec, _check_prefer_certificate)


def policies(clock: Clock = system_clock) -> list[ResourceValidationPolicy]:
    return [password_lifetime_policy(clock), _prefer_certificate_policy()]
