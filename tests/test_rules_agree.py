"""Config and policies give the same verdict on the same input: one owner per rule.

Each rule the config edge and the policy pack share (``policies/partner_policies/rules.py``) is
tried on inputs on both sides of its boundary, through the real paths:

* the **config verdict**: ``apps.yaml`` changed in a copy of the project and the US stack
  validated, as ``pulumi up`` does (``ConfigError`` naming the key, or accepted);
* the **policy verdict**: when config accepts, the real program runs under mocks on that copy
  and the pack evaluates its resources with the region's policy config *generated* from it
  (``preview/policy_config.py``), so escape hatches such as localhost for development apps are
  tried end to end; when config refuses, the program cannot run, so the same value is written
  into the resource the accepted baseline registers, and the pack evaluates that.

The five rules on which the two sides once disagreed are all here: implicit grant, localhost
redirects, identifier URIs on subdomains, the secret lifetime and the rotation date; so are the
bad-input rules both sides apply: a redirect URI's form (fragment, user information, characters
Entra refuses, whitespace, look-alike letters) and the vault firewall's ip ranges (a region value
of the stack file, not of ``apps.yaml``). Issue 28 added two: an ``api://`` identifier URI carries
this region's own tenant or app (``stack-identifier-uris-own-region``), and a certificate
credential is one Entra can use with no key material (the PEM file config reads, the value the
pack sees: ``azuread-application-certificate-credential``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine

from components.config import (
    ConfigError,
)
from components.stackfiles import load_stack_file
from partner_apps.preview import policy_config
from partner_apps.preview.build import run_stack, settings_for
from partner_apps.preview.recorder import StackRun
from policies.partner_policies import evaluate

from . import certgen
from .conftest import ROOT, copy_project, edit_yaml, load_yaml
from .policies import fixtures

# "Today" of every run here, so the date rules do not move with the calendar. The example
# secrets rotated on 2026-10-01 for 365 days are current on this day.
TODAY = date(2027, 1, 15)
STACK = "us"
APP = "azuread:index/application:Application"
PASSWORD = "azuread:index/applicationPassword:ApplicationPassword"
VAULT = "azure-native:keyvault:Vault"

US_TENANT = "3f6b1c2d-4e5a-4b7c-8d9e-0a1b2c3d4e51"
EU_TENANT = load_yaml(ROOT / "Pulumi.eu.yaml")["config"]["partner-apps:region"]["tenantId"]

Apps = dict[str, Any]
Records = list[dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    """One shared rule: how an input is written in apps.yaml and into a registered resource."""

    policy: str  # the policy that owns the rule on the pack's side
    app: str  # the apps.yaml key the input changes
    to_config: Callable[[Apps, Any], None]
    to_resources: Callable[[Records, str, Any], None]  # (records, display name, value)
    file: str = "apps.yaml"  # the file to_config changes (its ``apps`` or stack ``config``)


def _resource(records: Records, type_: str, display_name: str) -> dict[str, Any]:
    for record in records:
        if record["type"] != type_:
            continue
        name = record["inputs"].get("displayName", "")
        if name == display_name or name.startswith(f"{STACK}-{display_name} "):
            return record
    raise AssertionError(f"no {type_} for {display_name!r} in the plan")


def _set(record: dict[str, Any], path: str, value: Any) -> None:
    for side in ("inputs", "outputs"):
        node = record[side]
        *parents, leaf = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = copy.deepcopy(value)


def _redirect_to_config(apps: Apps, value: Any) -> None:
    development, uri = value
    apps["partner-portal-web"]["development"] = development
    apps["partner-portal-web"]["redirectUris"].append(uri)


def _redirect_to_resources(records: Records, display: str, value: Any) -> None:
    record = _resource(records, APP, display)
    uris = [*record["inputs"]["web"]["redirectUris"], value[1]]
    _set(record, "web.redirectUris", uris)


def _vault_to_config(config: dict[str, Any], value: Any) -> None:
    vault = config["partner-apps:region"]["keyVault"]
    vault["publicNetworkAccess"] = "Enabled"
    vault["allowedIpRanges"] = [value]


def _vault_to_resources(records: Records, display: str, value: Any) -> None:
    (record,) = [r for r in records if r["type"] == VAULT]
    _set(record, "properties.publicNetworkAccess", "Enabled")
    _set(record, "properties.networkAcls", {"defaultAction": "Deny", "ipRules": [{"value": value}]})


def _implicit_to_config(apps: Apps, value: Any) -> None:
    apps["partner-portal-web"]["implicitGrant"] = {"idTokens": value, "reason": "legacy client"}


def _implicit_to_resources(records: Records, display: str, value: Any) -> None:
    _set(_resource(records, APP, display), "web.implicitGrant.idTokenIssuanceEnabled", value)


def _identifier_to_config(apps: Apps, value: Any) -> None:
    apps["partner-portal-api"]["identifierUri"] = value


def _identifier_to_resources(records: Records, display: str, value: Any) -> None:
    _set(_resource(records, APP, display), "identifierUris", [value])


def _lifetime_to_config(apps: Apps, value: Any) -> None:
    apps["partner-portal-api"]["credential"]["lifetimeDays"] = value


def _lifetime_to_resources(records: Records, display: str, value: Any) -> None:
    record = _resource(records, PASSWORD, "partner-portal-api")
    start = date.fromisoformat(record["inputs"]["rotateWhenChanged"]["rotationDate"])
    end = start.toordinal() + value
    _set(record, "endDate", f"{date.fromordinal(end).isoformat()}T00:00:00Z")


def _rotation_to_config(apps: Apps, value: Any) -> None:
    apps["partner-portal-api"]["credential"]["rotationDate"] = date.fromisoformat(value)


def _rotation_to_resources(records: Records, display: str, value: Any) -> None:
    record = _resource(records, PASSWORD, "partner-portal-api")
    _set(record, "rotateWhenChanged.rotationDate", value)
    end = date.fromisoformat(value).toordinal() + 365
    _set(record, "endDate", f"{date.fromordinal(end).isoformat()}T00:00:00Z")


RULES = {
    "implicit-grant": Rule(
        "azuread-application-implicit-grant-disabled",
        "partner-portal-web",
        _implicit_to_config,
        _implicit_to_resources,
    ),
    "redirect-localhost": Rule(
        "azuread-application-redirect-uris-https",
        "partner-portal-web",
        _redirect_to_config,
        _redirect_to_resources,
    ),
    "redirect-form": Rule(
        "azuread-application-redirect-uris-https",
        "partner-portal-web",
        _redirect_to_config,
        _redirect_to_resources,
    ),
    "vault-ip-rule": Rule(
        "azure-native-keyvault-vault-network-access",
        "partner-portal-web",  # (a region value; the app is only the baseline's anchor)
        _vault_to_config,
        _vault_to_resources,
        file="Pulumi.us.yaml",
    ),
    "identifier-uri": Rule(
        "azuread-application-identifier-uris",
        "partner-portal-api",
        _identifier_to_config,
        _identifier_to_resources,
    ),
    "identifier-uri-region": Rule(
        "stack-identifier-uris-own-region",
        "partner-portal-api",
        _identifier_to_config,
        _identifier_to_resources,
    ),
    "secret-lifetime": Rule(
        "azuread-application-password-lifetime",
        "partner-portal-api",
        _lifetime_to_config,
        _lifetime_to_resources,
    ),
    "rotation-date": Rule(
        "azuread-application-password-lifetime",
        "partner-portal-api",
        _rotation_to_config,
        _rotation_to_resources,
    ),
}

# (rule, input, accepted by both sides)
CASES = [
    ("implicit-grant", False, True),
    ("implicit-grant", True, False),
    ("redirect-localhost", (True, "http://localhost:5000/signin-oidc"), True),
    ("redirect-localhost", (False, "http://localhost:5000/signin-oidc"), False),
    ("redirect-localhost", (False, "https://portal.contoso-partner.example/callback"), True),
    # The azuread provider refuses a redirect URI without a path (IsRedirectUriFunc).
    ("redirect-localhost", (False, "https://portal.contoso-partner.example"), False),
    ("redirect-form", (False, "https://portal.contoso-partner.example/cb?tenant=us"), True),
    ("redirect-form", (False, "https://portal.contoso-partner.example/cb#done"), False),
    ("redirect-form", (False, "https://agent@portal.contoso-partner.example/cb"), False),
    ("redirect-form", (False, "https://portal.contoso-partner.example/cb(1)"), False),
    ("redirect-form", (False, "https://portal.contoso-partner.example/cb\n"), False),
    ("redirect-form", (False, "https://p\u043ertal.contoso-partner.example/cb"), False),
    ("redirect-form", (True, "http://localhost:5000/cb#x"), False),
    ("vault-ip-rule", "203.0.113.0/24", True),
    ("vault-ip-rule", "20.30.0.0/16", True),
    ("vault-ip-rule", "20.30.0.0/15", False),
    ("vault-ip-rule", "0.0.0.0/0", False),
    ("vault-ip-rule", "10.0.0.0/16", False),
    ("vault-ip-rule", "169.254.0.0/16", False),
    ("identifier-uri", "https://api.us.contoso-partner.example/portal", True),
    ("identifier-uri", "https://us.contoso-partner.example.attacker.example/api", False),
    ("identifier-uri", "https://eu.contoso-partner.example/api", False),
    ("identifier-uri", "https://us.c\u043entoso-partner.example/api", False),
    ("identifier-uri", "https://us.contoso-partner.example/api\n", False),
    # api:// identifier URIs carry this region's own tenant or app (issue 28).
    ("identifier-uri-region", f"api://{US_TENANT}/partner-portal-api", True),
    ("identifier-uri-region", "api", True),
    ("identifier-uri-region", f"api://{EU_TENANT}/partner-portal-api", False),
    ("identifier-uri-region", f"api://{EU_TENANT}", False),
    ("identifier-uri-region", f"api://{US_TENANT}", False),
    ("identifier-uri-region", "api://4b1f0a9e-2c3d-4e5f-8a7b-6c5d4e3f2a10", False),
    ("secret-lifetime", 730, True),
    ("secret-lifetime", 731, False),
    ("rotation-date", TODAY.isoformat(), True),
    ("rotation-date", date.fromordinal(TODAY.toordinal() + 1).isoformat(), False),
]


def _travel() -> Any:
    return time_machine.travel(datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC))


def _policy_config(project: Path) -> dict[str, Any]:
    with _travel():
        settings = settings_for(project, load_stack_file(project / f"Pulumi.{STACK}.yaml"))
    document: dict[str, Any] = json.loads(policy_config.render(project, settings))
    return document


def _run(project: Path) -> StackRun:
    with _travel():
        run = run_stack(project, STACK)
    assert run.error is None, run.error
    return run


def _refused_by_policy(records: Records, config: dict[str, Any], policy: str) -> list[str]:
    return [
        v["message"]
        for v in evaluate(records, config, evaluation_date=TODAY)
        if v["policy"] == policy and v["enforcementLevel"] == "mandatory"
    ]


def _with_reviewed(project: Path) -> Path:
    (project / "policies" / "reviewed").mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "policies" / "reviewed").glob("*.json"):
        (project / "policies" / "reviewed" / path.name).write_bytes(path.read_bytes())
    return project


@pytest.fixture
def project(project_copy: Path) -> Path:
    return _with_reviewed(project_copy)


@dataclass(frozen=True)
class Baseline:
    run: StackRun
    config: dict[str, Any]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    """The unchanged project's run and policy config, computed once for every case (they are
    the same for all: each case edits its own copy afterwards)."""
    project = _with_reviewed(copy_project(tmp_path_factory.mktemp("baseline")))
    return Baseline(_run(project), _policy_config(project))


def test_the_baseline_passes_every_policy_the_cases_check(baseline: Baseline) -> None:
    for policy in sorted({rule.policy for rule in RULES.values()}):
        assert _refused_by_policy(baseline.run.resources, baseline.config, policy) == [], policy


@pytest.mark.parametrize(
    ("rule_id", "value", "accepted"),
    CASES,
    ids=[f"{rule}-{'accepted' if ok else 'refused'}-{i}" for i, (rule, _, ok) in enumerate(CASES)],
)
def test_config_and_policy_give_the_same_verdict(
    project: Path, baseline: Baseline, rule_id: str, value: Any, accepted: bool
) -> None:
    rule = RULES[rule_id]
    baseline_config = baseline.config
    display = next(
        r["inputs"]["displayName"]
        for r in baseline.run.resources
        if r["type"] == APP and r["name"] == f"{STACK}-{rule.app}-app"
    )

    root = "apps" if rule.file == "apps.yaml" else "config"
    edit_yaml(project / rule.file, lambda doc: rule.to_config(doc[root], value))
    try:
        _policy_config(project)
    except ConfigError as error:
        config_refuses: list[str] = [str(problem) for problem in error.problems]
    else:
        config_refuses = []

    if config_refuses:
        # The program cannot run on it: the same value in the resource the baseline registers.
        records = copy.deepcopy(baseline.run.resources)
        rule.to_resources(records, display, value)
        policy_refuses = _refused_by_policy(records, baseline_config, rule.policy)
    else:
        # End to end: the program on the changed copy, the policy config generated from it.
        run = _run(project)
        policy_refuses = _refused_by_policy(run.resources, _policy_config(project), rule.policy)

    assert bool(config_refuses) == (not accepted), (
        f"apps.yaml: apps.{rule.app} ({rule_id} = {value!r}): config "
        f"{'refuses' if config_refuses else 'accepts'} it: {config_refuses}"
    )
    assert bool(policy_refuses) == (not accepted), (
        f"{rule.policy} on apps.{rule.app} ({rule_id} = {value!r}): the policy "
        f"{'refuses' if policy_refuses else 'accepts'} it, config "
        f"{'refuses' if config_refuses else 'accepts'} it: {policy_refuses}"
    )


# --- Certificates: the file config reads and the value the pack sees (issue 28) -----------------

CERTIFICATE_POLICY = "azuread-application-certificate-credential"
PEM = (ROOT / "tests" / "certs" / "portal.pem").read_bytes()
CERTIFICATES: dict[str, tuple[Callable[[], bytes], bool]] = {
    "rsa-2048": (lambda: PEM, True),
    "rsa-3072-end-entity": (lambda: certgen.certificate_pem("rsa-3072", ca=False), True),
    "valid-from-today": (lambda: certgen.certificate_pem(not_before=TODAY), True),
    "chain-with-explanatory-text": (
        lambda: b"subject=CN = portal\n" + PEM + certgen.certificate_pem(ca=True),
        True,
    ),
    "rsa-512": (lambda: certgen.certificate_pem("rsa-512"), False),
    "rsa-1024": (lambda: certgen.certificate_pem("rsa-1024"), False),
    "ec-p256": (lambda: certgen.certificate_pem("ec-p256"), False),
    "ed25519": (lambda: certgen.certificate_pem("ed25519"), False),
    "ca": (lambda: certgen.certificate_pem(ca=True), False),
    "not-yet-valid": (
        lambda: certgen.certificate_pem(not_before=date.fromordinal(TODAY.toordinal() + 1)),
        False,
    ),
    "trailing-data": (lambda: PEM + b"exported 2027-01-15\n", False),
    "key-body-without-headers": (lambda: PEM + certgen.private_key_body(), False),
    "key-block": (lambda: PEM + certgen.private_key_pem(), False),
}


@pytest.mark.parametrize(
    ("make", "accepted"), CERTIFICATES.values(), ids=[f"{k}" for k in CERTIFICATES]
)
def test_config_and_policy_give_the_same_verdict_on_a_certificate(
    project: Path, make: Callable[[], bytes], accepted: bool
) -> None:
    pem = make()
    (project / "certs" / "us").mkdir(parents=True)
    (project / "certs" / "us" / "portal.pem").write_bytes(pem)

    def use_certificate(apps: Apps) -> None:
        apps["partner-portal-web"]["credential"] = {
            "type": "certificate",
            "publicKeyFile": "certs/{region}/portal.pem",
        }

    edit_yaml(project / "apps.yaml", lambda doc: use_certificate(doc["apps"]))
    try:
        _policy_config(project)
        config_refuses: list[str] = []
    except ConfigError as error:
        config_refuses = [str(problem) for problem in error.problems]

    # The pack sees the value a program sends: here the whole file, as another program could.
    records = fixtures.changed("web-certificate", "value", pem.decode("utf-8"))
    policy_refuses = [
        v["message"]
        for v in evaluate(records, fixtures.region_config(), evaluation_date=TODAY)
        if v["policy"] == CERTIFICATE_POLICY
    ]
    assert bool(config_refuses) == (not accepted), config_refuses
    assert bool(policy_refuses) == (not accepted), policy_refuses
    if config_refuses:  # the same rule, in the same words
        reason = config_refuses[0].split("'certs/us/portal.pem' ", 1)[1]
        assert reason in policy_refuses[0], (reason, policy_refuses[0])
