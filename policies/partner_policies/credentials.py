"""Credential policies: client secrets live at most two years, certificates are preferred, and a
certificate credential is one Entra can use and that carries no key material.

The secret policies cover ``ApplicationPassword``, ``ServicePrincipalPassword`` and an
Application's inline ``password`` block; the certificate policy ``ApplicationCertificate`` and
``ServicePrincipalCertificate`` (``rules.certificate_file_problem``, the config edge's rule for
the PEM file of the repository).

A secret's life is measured from its start (``startDate``, else
``rotateWhenChanged.rotationDate``, where the program names the rotation date, else the
evaluation date) to its end, and the start may lie at most ``maxStartDaysAhead`` days after the
evaluation date: a secret's value exists from the day it is created, so a start far ahead would
keep a valid secret around longer than the limit allows.

The evaluation date ("today") is never read from a clock here, so the same records always give
the same results: it is the ``evaluationDate`` config property when a region pins it, else the
date the caller passed (``evaluate(..., evaluation_date=...)`` injects it as that property;
the pack's ``__main__`` binds the date the CLI started it). Without either, checks that need it
are skipped.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from . import references as ref
from . import rules, tokens
from ._framework import (
    UNKNOWN,
    ConfigProperty,
    PolicySpec,
    ResourceContext,
    get,
    resource_policy,
)
from .engine import SECRET_MARKER

EVALUATION_DATE = "evaluationDate"
_PASSWORD_TYPES = (tokens.PASSWORD, tokens.SERVICE_PRINCIPAL_PASSWORD)
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


def _password_blocks(resource: ResourceContext) -> list[tuple[str, Mapping[str, Any]]]:
    if resource.type in _PASSWORD_TYPES:
        return [("", resource.props)]
    block = get(resource.props, "password")
    return [("password.", block)] if isinstance(block, Mapping) else []


def _evaluation_day(resource: ResourceContext, bound: date | None) -> datetime | None:
    """'Today' for this evaluation: the config's evaluationDate, else the date bound at build."""
    configured = parse_time(resource.config.get(EVALUATION_DATE))
    if configured is not None:
        return configured
    return parse_time(bound) if bound is not None else None


def _start(block: Mapping[str, Any], today: datetime | None) -> tuple[Any, str]:
    """When the secret's life starts, and where that came from (for the message)."""
    start = block.get("startDate")
    if start is not None:
        return start, "startDate"
    rotation = get(block, "rotateWhenChanged", "rotationDate")
    if rotation is not None:
        return rotation, "rotateWhenChanged.rotationDate"
    return today, "the evaluation date"


def _check_lifetime(resource: ResourceContext, bound: date | None) -> Iterable[str]:
    max_days = int(resource.config.get("maxLifetimeDays", rules.MAX_SECRET_LIFETIME_DAYS))
    ahead = int(resource.config.get("maxStartDaysAhead", rules.MAX_ROTATION_DAYS_AHEAD))
    today = _evaluation_day(resource, bound)
    for prefix, block in _password_blocks(resource):
        raw_start, start_source = _start(block, today)
        end_value, relative = block.get("endDate"), block.get("endDateRelative")
        if UNKNOWN in (raw_start, end_value, relative):
            continue
        start = parse_time(raw_start)
        if start is None:
            continue  # no start and no evaluation date: nothing to measure from
        if today is not None and start_source != "the evaluation date":
            problem = rules.rotation_date_problem(start.date(), today.date(), ahead)
            if problem:
                yield resource.violation(
                    f"{prefix}{start_source} {problem}.",
                    "set rotationDate in apps.yaml no later than the day of the `pulumi up`: the "
                    "replacement deletes the old secret at once.",
                )
        if end_value is not None:
            end, end_label = parse_time(end_value), f"{prefix}endDate {end_value}"
        elif isinstance(relative, str):
            duration = parse_go_duration(relative)
            end = start + duration if duration is not None else None
            end_label = f"{prefix}endDateRelative {relative}"
        else:
            yield resource.violation(
                f"{prefix}endDate is not set, so the provider picks the secret's lifetime.",
                f"set an explicit endDate at most {max_days} days after the start "
                "(lifetimeDays in apps.yaml).",
            )
            continue
        if end is None:
            yield resource.violation(
                f"{end_label} is not a valid RFC 3339 date.",
                "write endDate like 2027-10-01T00:00:00Z.",
            )
            continue
        if end <= start:
            yield resource.violation(
                f"{end_label} is not after its start ({start_source} {start.date()}).",
                "set a later rotationDate in apps.yaml to rotate the secret.",
            )
            continue
        problem = rules.lifetime_days_problem((end - start).days, max_days)
        if problem:
            yield resource.violation(
                f"{end_label}: from {start_source} {start.date()} the secret {problem}.",
                f"set lifetimeDays in apps.yaml to at most {max_days}, or use a certificate "
                "credential.",
            )


def password_lifetime_policy(evaluation_date: date | None = None) -> ResourceValidationPolicy:
    """The lifetime policy; ``evaluation_date`` is 'today' unless the config pins one."""
    spec = PolicySpec(
        name="azuread-application-password-lifetime",
        description=(
            "Client secrets live at most 730 days from their start, and start no later than the "
            "evaluation date."
        ),
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Give every client secret an end at most 730 days after its start (lifetimeDays in "
            "apps.yaml, from rotationDate), with a rotationDate no later than the day of the "
            "`pulumi up`, and rotate it before it ends."
        ),
        url=ref.MAESTER_APP_MANAGEMENT_POLICY.url,
        references=(
            ref.MAESTER_APP_MANAGEMENT_POLICY,
            ref.AADA_EXPIRED_CREDENTIALS,
            ref.CSP_SECURE_APP_MODEL,
            ref.MS_APP_SECURITY,
        ),
        applies_to=(*_PASSWORD_TYPES, tokens.APPLICATION),
        config=(
            ConfigProperty(
                "maxLifetimeDays",
                {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": rules.MAX_SECRET_LIFETIME_DAYS,
                    "default": rules.MAX_SECRET_LIFETIME_DAYS,
                    "description": "Longest life of a client secret, in days from its start.",
                },
                loosens="increase",
            ),
            ConfigProperty(
                "maxStartDaysAhead",
                {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": 90,
                    "default": rules.MAX_ROTATION_DAYS_AHEAD,
                    "description": (
                        "How many days after the evaluation date a secret's start may lie."
                    ),
                },
                loosens="increase",
            ),
            ConfigProperty(
                EVALUATION_DATE,
                {
                    "type": "string",
                    "description": (
                        "The date (YYYY-MM-DD) checks treat as today: the start of secrets "
                        "without one, and the reference for maxStartDaysAhead. Unset, it is the "
                        "date the evaluation runs (the offline preview passes it; the pack takes "
                        "the date the CLI starts it)."
                    ),
                },
            ),
        ),
        tags=("azuread", "credentials"),
    )
    return resource_policy(spec, lambda resource: _check_lifetime(resource, evaluation_date))


def _check_prefer_certificate(resource: ResourceContext) -> Iterable[str]:
    for prefix, _block in _password_blocks(resource):
        if resource.type == tokens.SERVICE_PRINCIPAL_PASSWORD:
            yield resource.violation(
                "uses a client secret (ServicePrincipalPassword) where a certificate could be "
                "used.",
                "this program registers no service principal password: remove it, and give the app "
                "a certificate in apps.yaml instead (`credential: {type: certificate, "
                "publicKeyFile: ...}`; the private key stays in Key Vault).",
            )
            continue
        yield resource.violation(
            f"uses a client secret ({prefix or 'ApplicationPassword'}) where a certificate could "
            "be used.",
            "in apps.yaml give the app `credential: {type: certificate, publicKeyFile: "
            "certs/{region}/<app>.pem}` (only the public key in the repository; the private key "
            "in Key Vault) once its clients can use it.",
        )


def _prefer_certificate_policy() -> ResourceValidationPolicy:
    spec = PolicySpec(
        name="azuread-application-password-prefer-certificate",
        description="Advisory: a client secret is used where a certificate credential could be.",
        severity=Severity.LOW,
        enforcement=EnforcementLevel.ADVISORY,
        remediation=(
            "Prefer certificate credentials (or federated credentials) over client secrets, on "
            "the application and on its service principal: a secret can be copied and "
            "replayed, a certificate proves possession of a private key."
        ),
        url=ref.MAESTER_NO_SECRETS.url,
        references=(
            ref.MAESTER_NO_SECRETS,
            ref.AADA_PASSWORD_CREDENTIALS,
            ref.CSP_SECURE_APP_MODEL,
            ref.MS_APP_SECURITY,
        ),
        applies_to=(*_PASSWORD_TYPES, tokens.APPLICATION),
        tags=("azuread", "credentials"),
    )
    return resource_policy(spec, _check_prefer_certificate)


# --- Certificate credentials ---------------------------------------------------------------------

_CERTIFICATE_TYPES = (tokens.CERTIFICATE, tokens.SERVICE_PRINCIPAL_CERTIFICATE)


def _certificate_der(value: str, encoding: str) -> bytes | str:
    """The DER of a ``base64`` or ``hex`` certificate value, or why it cannot be decoded."""
    try:
        if encoding == "hex":
            return bytes.fromhex(value)
        return base64.b64decode("".join(value.split()), validate=True)
    except ValueError:
        return f"is not valid {encoding}"


def _check_certificate(resource: ResourceContext, bound: date | None) -> Iterable[str]:
    value = get(resource.props, "value")
    encoding = get(resource.props, "encoding")
    # "[secret]": the offline preview records the value hidden (the program's config edge has
    # applied the same rule to the file); the CLI hands the pack the real value.
    if not isinstance(value, str) or value == SECRET_MARKER or encoding is UNKNOWN:
        return
    today = _evaluation_day(resource, bound)
    day = today.date() if today is not None else None
    kind = str(encoding or "pem").lower()
    if kind == "pem":
        problem = rules.certificate_file_problem(value.encode("utf-8"), day)
    else:
        der = _certificate_der(value, kind)
        problem = der if isinstance(der, str) else rules.certificate_der_problem(der, day)
    if problem is not None:
        yield resource.violation(
            f"value ({kind}) {problem}.",
            f"give the app its own end-entity certificate with an RSA key of at least "
            f"{rules.MIN_RSA_KEY_BITS} bits, valid from the day of the `pulumi up` at the "
            "latest, and the public certificate only (publicKeyFile in apps.yaml).",
        )


def certificate_policy(evaluation_date: date | None = None) -> ResourceValidationPolicy:
    """Certificate credentials Entra can use and that carry no key material."""
    spec = PolicySpec(
        name="azuread-application-certificate-credential",
        description=(
            "Certificate credentials are an end-entity certificate with an RSA key of at least "
            "2048 bits, valid already, and carry no private key material."
        ),
        severity=Severity.HIGH,
        enforcement=EnforcementLevel.MANDATORY,
        remediation=(
            "Send only the public certificate (one PEM CERTIFICATE block, or its DER) of an "
            "end-entity certificate (not a CA) with an RSA key of at least 2048 bits whose "
            "validity has begun; keep the private key in Key Vault."
        ),
        url=ref.MS_CERTIFICATE_CREDENTIALS.url,
        references=(ref.MS_CERTIFICATE_CREDENTIALS, ref.MS_GRAPH_ADD_KEY, ref.MS_APP_SECURITY),
        applies_to=_CERTIFICATE_TYPES,
        config=(
            ConfigProperty(
                EVALUATION_DATE,
                {
                    "type": "string",
                    "description": (
                        "The date (YYYY-MM-DD) checks treat as today: a certificate that "
                        "starts after it is refused. Unset, it is the date the evaluation runs."
                    ),
                },
            ),
        ),
        tags=("azuread", "credentials"),
    )
    return resource_policy(spec, lambda resource: _check_certificate(resource, evaluation_date))


def policies(evaluation_date: date | None = None) -> list[ResourceValidationPolicy]:
    return [
        password_lifetime_policy(evaluation_date),
        _prefer_certificate_policy(),
        certificate_policy(evaluation_date),
    ]
