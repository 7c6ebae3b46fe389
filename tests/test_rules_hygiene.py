"""The checks config and policies share (policies/partner_policies/rules.py)."""

from __future__ import annotations

import pytest

from policies.partner_policies import rules


def test_characters_are_named_by_code_point() -> None:
    assert rules.describe_character("\u200b") == "'\\u200b' (U+200B ZERO WIDTH SPACE)"
    assert rules.describe_character("о") == "'о' (U+043E CYRILLIC SMALL LETTER O)"


@pytest.mark.parametrize(
    "value",
    [
        "3f6b1c2d-4e5a-4b7c-8d9e-0a1b2c3d4e51",
        "3F6B1C2D-4E5A-4B7C-8D9E-0A1B2C3D4E51",
        "00000003-0000-0000-c000-000000000000",  # Microsoft Graph's app id is no placeholder
    ],
)
def test_real_guids_in_any_case_are_accepted(value: str) -> None:
    assert rules.guid_problem(value) is None


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("3f6b1c2d-4e5a-4b7c-8d9e-0a1b2c3d4e51\n", "ends with whitespace"),
        ("00000000-0000-0000-0000-000000000000", "placeholder"),
        ("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "placeholder"),
        ("{3f6b1c2d-4e5a-4b7c-8d9e-0a1b2c3d4e51}", "is not a GUID"),
    ],
)
def test_bad_guids_are_refused(value: str, rule: str) -> None:
    problem = rules.guid_problem(value)
    assert problem is not None
    assert rule in problem


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        ("20.30.0.0/16", False),  # the threshold itself is accepted
        ("20.30.0.0/15", True),
        ("203.0.113.0/24", False),  # documentation ranges stay usable as examples
        ("198.51.100.7", False),
        ("172.15.255.0/24", False),  # just below 172.16.0.0/12
        ("172.16.0.0/24", True),
        ("0.0.0.0/0", True),
        ("not an address", False),  # the caller's parser reports it in its own words
    ],
)
def test_ip_rule_threshold_and_non_public_ranges(value: str, refused: bool) -> None:
    assert (rules.ip_rule_problem(value) is not None) is refused


def test_free_text_may_hold_newlines_and_non_ascii_but_no_hidden_characters() -> None:
    assert rules.text_problem("Zürich — São Paulo\nsecond line\n") is None
    assert rules.text_problem(" \n\t") == "is blank; write the text reviewers and users will read"
    assert "U+2060 WORD JOINER" in (rules.text_problem("a\u2060b") or "")


@pytest.mark.parametrize("value", ["TODO", "tbd.", "N/A", "-", "..."])
def test_placeholder_reasons_are_refused(value: str) -> None:
    assert "is a placeholder, not a reason" in (rules.reason_problem(value) or "")


TENANT = "3f6b1c2d-4e5a-4b7c-8d9e-0a1b2c3d4e51"
CLIENT = "4b1f0a9e-2c3d-4e5f-8a7b-6c5d4e3f2a10"
OTHER = "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c61"


@pytest.mark.parametrize(
    ("uri", "client_id", "refused"),
    [
        (f"api://{TENANT}/partner-portal-api", None, False),
        (f"api://{TENANT.upper()}/x", None, False),
        (f"api://{TENANT}", None, True),  # the tenant alone names no app
        (f"api://{TENANT}/", None, True),
        (f"api://{CLIENT}", CLIENT, False),
        (f"api://{CLIENT}/path", CLIENT.upper(), False),
        (f"api://{CLIENT}", None, True),  # no client id yet: only the tenant is known
        (f"api://{OTHER}/x", CLIENT, True),
        ("https://us.contoso-partner.example/api", None, False),  # another form: not this rule's
        ("api://partner-portal-api", None, False),  # the form rule reports it
    ],
)
def test_api_uris_carry_this_regions_tenant_or_app(
    uri: str, client_id: str | None, refused: bool
) -> None:
    assert (rules.api_uri_owner_problem(uri, TENANT, client_id) is not None) is refused


def test_certificate_rules_never_raise_on_garbage() -> None:
    """Whatever the bytes, a reason or None: the DER reader's errors stay inside the rule."""
    for data in (b"", b"\x30", b"\x30\x84\xff\xff\xff\xff", b"\x30\x80\x00\x00", bytes(range(256))):
        assert rules.certificate_der_problem(data) is not None
        assert rules.certificate_file_problem(data) is not None
    assert rules.certificate_file_problem(b"-----BEGIN CERTIFICATE-----\n") is not None
