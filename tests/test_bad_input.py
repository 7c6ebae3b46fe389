"""Bad input: every malformed configuration is refused by both ways a stack runs.

Each case breaks a copy of the project (``project_copy``) in one way and checks

1. the offline preview (``partner-apps preview us``): exit status 2, the output names the file,
   the key path and the rule, no traceback, no plan written;
2. the real program under mocks (``partner_apps.preview.build.run_stack``, as ``pulumi up``
   runs it): the error
   names the same key path and nothing is registered. The preview makes exactly that call, so
   its run is recorded and checked (``runs``) rather than made twice.

Some problems reach the two paths differently; the ``program`` column says how (``Program``):

* ``LOAD``: the harness loads ``Pulumi.us.yaml`` itself, as the CLI does, so a stack file that
  cannot be read (YAML syntax, wrong shape, a key defined twice, not UTF-8, a mapping key that is
  not a string and so cannot be passed to the program as JSON) stops it with a ``ConfigError``:
  the program never runs;
* ``NOT_READ`` and ``PACK``: the program never reads ``policies/config``; ``pulumi up
  --policy-pack-config`` hands that file to the policy pack, which reports its own error when it
  is loaded, before the update. Those cases are the preview's alone: a file that cannot be read
  stops it before the program runs; a policy property the pack refuses is found when the pack is
  evaluated, after the program ran under mocks, so the preview names the policy and property in
  the pack's words and writes no plan (it does not print "nothing registered" then).
"""

from __future__ import annotations

import enum
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components import files
from components.config import (
    ConfigError,
)
from partner_apps.preview import command as preview
from partner_apps.preview.build import run_stack
from partner_apps.preview.recorder import StackRun

from . import certgen
from .conftest import ROOT, by_urn, edit_yaml, git_commit_all, load_yaml

US = "Pulumi.us.yaml"
APPS = "apps.yaml"
POLICY = "policies/config/us.json"
R = "partner-apps:region"
RT = "partner-apps:refreshTokens"
DDP = "pulumi:disable-default-providers"
API = "apps.partner-portal-api"
WEB = "apps.partner-portal-web"
SAM = "apps.partner-center-sam"

EU = load_yaml(ROOT / "Pulumi.eu.yaml")["config"][R]
# A real self-signed certificate (public part only), valid 2026-01-01 to 2028-06-30.
PEM = (ROOT / "tests" / "certs" / "portal.pem").read_text(encoding="utf-8")
KEY_BLOCK = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
)
CERT_FILE = "certs/{region}/portal.pem"

Edit = Callable[[Path], None]


class Program(enum.Enum):
    """How the real program (``run_stack``) meets the broken input."""

    SAME = "the program refuses it with the same problem and registers nothing"
    LOAD = "the harness cannot load Pulumi.us.yaml: ConfigError, the program never runs"
    NOT_READ = "the program does not read policies/config; the policy pack reports it"
    PACK = "the policy pack refuses a policy's properties; the program does not read them"


@dataclass(frozen=True)
class Case:
    id: str
    file: str  # the file the message names
    edit: Edit  # breaks the project copy
    key: str  # the key path the message names, exactly
    rule: str  # a distinctive fragment of the rule
    program: Program = Program.SAME


# --- Edits ----------------------------------------------------------------------------------------

_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _parts(path: str) -> list[int | str]:
    return [int(index) if index else name for index, name in _PART.findall(path)]


def _root(file: str, document: Any) -> Any:
    """Paths of a stack file start below ``config:`` (as the key paths in messages do)."""
    return document["config"] if file.startswith("Pulumi.") else document


def _change(file: str, change: Callable[[Any, int | str], None], path: str) -> Edit:
    def edit(project: Path) -> None:
        def apply(document: Any) -> None:
            *parents, last = _parts(path)
            node = _root(file, document)
            for part in parents:
                node = node[part]
            change(node, last)

        edit_yaml(project / file, apply)

    return edit


def put(file: str, path: str, value: Any) -> Edit:
    """Set (or add) the value at ``path``."""
    return _change(file, lambda node, last: node.__setitem__(last, value), path)


def delete(file: str, path: str) -> Edit:
    return _change(file, lambda node, last: node.__delitem__(last), path)


def append(file: str, path: str, value: Any) -> Edit:
    return _change(file, lambda node, last: node[last].append(value), path)


def r(path: str, value: Any) -> Edit:
    """Set a key of ``partner-apps:region`` in Pulumi.us.yaml."""
    return put(US, f"{R}.{path}", value)


def a(path: str, value: Any) -> Edit:
    """Set a key of apps.yaml."""
    return put(APPS, path, value)


def after_commit(edit: Edit) -> Edit:
    """Commit the copy to git, then ``edit`` it: the edited file has changes not committed, so it
    is the newer of two stack files that share a value, the one refused
    (``components/stackfiles.py``); without the commit the region table would decide."""

    def committed_then(project: Path) -> None:
        git_commit_all(project)
        edit(project)

    return committed_then


def both(*edits: Edit) -> Edit:
    def edit(project: Path) -> None:
        for item in edits:
            item(project)

    return edit


def text(file: str, content: str) -> Edit:
    """Replace the whole file (YAML syntax errors, files of the wrong shape)."""

    def edit(project: Path) -> None:
        (project / file).write_text(content, encoding="utf-8")

    return edit


def sub(file: str, old: str, new: str) -> Edit:
    """Replace one line fragment of the file's text (YAML typing that a dump would quote)."""

    def edit(project: Path) -> None:
        path = project / file
        content = path.read_text(encoding="utf-8")
        assert old in content, f"{old!r} not in {file}"
        path.write_text(content.replace(old, new, 1), encoding="utf-8")

    return edit


def policy(change: Callable[[dict[str, Any]], Any]) -> Edit:
    """Change policies/config/us.json (policy name -> enforcement level or properties)."""

    def edit(project: Path) -> None:
        path = project / POLICY
        document = json.loads(path.read_text(encoding="utf-8"))
        change(document)
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")

    return edit


def remove(file: str) -> Edit:
    def edit(project: Path) -> None:
        (project / file).unlink()

    return edit


def certificate(content: bytes | None, file: str = CERT_FILE) -> Edit:
    """partner-portal-web uses a certificate credential; write its PEM file (if any)."""
    credential = {"type": "certificate", "publicKeyFile": file, "endDate": "2027-09-30"}

    def edit(project: Path) -> None:
        a(f"{WEB}.credential", credential)(project)
        if content is not None:
            path = project / CERT_FILE.format(region="us")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)

    return edit


def raw(file: str, old: str, new: bytes) -> Edit:
    """Replace one fragment of the file's text by bytes (encodings other than UTF-8)."""

    def edit(project: Path) -> None:
        path = project / file
        content = path.read_bytes()
        assert old.encode() in content, f"{old!r} not in {file}"
        path.write_bytes(content.replace(old.encode(), new, 1))

    return edit


def in_utf16(file: str) -> Edit:
    """Save the file as UTF-16 (what some Windows editors call "Unicode")."""

    def edit(project: Path) -> None:
        path = project / file
        path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))

    return edit


def line_of(file: str, fragment: str) -> int:
    """The line of the project's ``file`` where ``fragment`` starts."""
    content = (ROOT / file).read_text(encoding="utf-8")
    return content[: content.index(fragment)].count("\n") + 1


def certificate_directory(project: Path) -> None:
    """publicKeyFile names the folder the PEM file is in."""
    a(f"{WEB}.credential", {"type": "certificate", "publicKeyFile": "certs/{region}"})(project)
    (project / "certs" / "us").mkdir(parents=True)


def certificate_symlink_outside(project: Path) -> None:
    """publicKeyFile is a symbolic link to a PEM file outside the repository."""
    certificate(None)(project)
    outside = project.parent / f"{project.name}-outside"
    outside.mkdir(exist_ok=True)
    (outside / "portal.pem").write_text(PEM, encoding="utf-8")
    link = project / CERT_FILE.format(region="us")
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside / "portal.pem")


def certificate_of(make: Callable[[], bytes], file: str = CERT_FILE) -> Edit:
    """``certificate`` with a PEM made when the case runs (``tests/certgen.py``)."""

    def edit(project: Path) -> None:
        certificate(make(), file)(project)

    return edit


def symlink_out(file: str) -> Edit:
    """``file`` becomes a symbolic link to a copy of itself outside the repository."""

    def edit(project: Path) -> None:
        outside = project.parent / f"{project.name}-outside"
        outside.mkdir(exist_ok=True)
        target = outside / Path(file).name
        target.write_bytes((project / file).read_bytes())
        (project / file).unlink()
        (project / file).symlink_to(target)

    return edit


def symlink_within(file: str) -> Edit:
    """``file`` becomes a symbolic link to the same content in a folder of the repository."""

    def edit(project: Path) -> None:
        target = project / "config" / Path(file).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((project / file).read_bytes())
        (project / file).unlink()
        (project / file).symlink_to(Path("config") / Path(file).name)  # relative, inside

    return edit


def grown(file: str, size: int) -> Edit:
    """``file`` padded with NUL bytes to ``size`` bytes (sparse: no disk is written)."""

    def edit(project: Path) -> None:
        with (project / file).open("r+b") as handle:
            handle.truncate(size)

    return edit


def named_pipe(file: str) -> Edit:
    """``file`` replaced by a named pipe: reading it would wait for a writer forever."""

    def edit(project: Path) -> None:
        path = project / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        os.mkfifo(path)

    return edit


# A 600-byte "billion laughs": nine levels of nine aliases, 9^9 strings once expanded.
ALIAS_BOMB = "".join(
    [
        'lol1: &l1 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n',
        *(f"lol{n}: &l{n} [{','.join([f'*l{n - 1}'] * 9)}]\n" for n in range(2, 10)),
    ]
)
DEEP = "[" * 3000 + "]" * 3000
DEEP_MAPPINGS = "{a: " * 3000 + "1" + "}" * 3000
ANCHORS = "anchors and aliases are not accepted in the project's config files"
NESTING = "mappings and lists nest more than 32 levels deep"
CORE_TAGS = "is not accepted: only the YAML core schema's !!str, !!int, !!float, !!bool, !!null"
MERGE = "merge key '<<' is not accepted: it copies the keys of another mapping and, given twice, "
OUTSIDE = "is a symbolic link (or lies under one) that leads outside the repository"
CERT = f"{WEB}.credential.publicKeyFile"
CERT_NAME = "'certs/us/portal.pem'"


def vault_ranges(*ranges: str) -> Edit:
    """A vault open to the public network, admitting ``ranges``."""
    return both(
        r("keyVault.publicNetworkAccess", "Enabled"), r("keyVault.allowedIpRanges", list(ranges))
    )


def permission(api: str, value: str, kind: str, reason: str | None = "needed") -> dict[str, Any]:
    entry = {"api": api, "permission": value, "type": kind}
    return entry | ({"reason": reason} if reason else {})


SCOPE = {
    "value": "user_impersonation",
    "type": "User",
    "adminConsentDisplayName": "Access",
    "adminConsentDescription": "Access",
    "userConsentDisplayName": "Access",
    "userConsentDescription": "Access",
}
PASSWORD = {"type": "password", "rotationDate": "2026-10-01"}
SECURE = {"secure": "v1:AAAAbm90LWEtcmVhbC1jaXBoZXJ0ZXh0"}
TENANT = "3f6b1c2d-4e5a-4b7c-8d9e-0a1b2c3d4e51"
NIL = "00000000-0000-0000-0000-000000000000"
WEB_LINE = line_of(APPS, "  partner-portal-web:\n")
CONFIG_LINE = line_of(US, "config:\n")
APPS_LINE = line_of(APPS, "apps:\n")
REGION_TAG_LINE = line_of(US, "      region: us\n")
COST_CENTER_LINE = line_of(US, '      costCenter: "4711"\n')
EXPOSE_LINE = line_of(APPS, "    exposeApi: true\n")
KNOWN_CLIENTS_LINE = line_of(APPS, "    knownClients:\n")
ROTATION_LINE = line_of(APPS, "      rotationDate: 2026-10-01\n")
SAM_LINE = line_of(APPS, "  partner-center-sam:\n")
TENANT_LINE = line_of(US, f"    tenantId: {TENANT}\n")


# --- The cases ------------------------------------------------------------------------------------

CASES = [
    # Malformed GUIDs
    Case("tenant-id-not-a-guid", US, r("tenantId", "contoso"), f"{R}.tenantId", "is not a GUID"),
    Case(
        "tenant-id-one-digit-short",
        US,
        r("tenantId", "3f6b1c2d-4e5a-4b7c-8d9e-0a1b2c3d4e5"),
        f"{R}.tenantId",
        "is not a GUID",
    ),
    Case(
        "tenant-id-read-as-a-date",
        US,
        sub(US, "tenantId: 3f6b1c2d-4e5a-4b7c-8d9e-0a1b2c3d4e51", "tenantId: 2024-01-01"),
        f"{R}.tenantId",
        "'2024-01-01' is not a GUID",
    ),
    Case(
        "tenant-id-a-number",
        US,
        r("tenantId", 31415926),
        f"{R}.tenantId",
        "Input should be a valid string",
    ),
    Case(
        "subscription-id-in-braces",
        US,
        r("subscriptionId", "{7a1d2e3f-4b5c-4d6e-9f70-81a2b3c4d5e1}"),
        f"{R}.subscriptionId",
        "is not a GUID",
    ),
    Case("owner-not-a-guid", US, r("owners[1]", "ops@contoso.example"), f"{R}.owners[1]", "GUID"),
    Case(
        "admin-agents-object-id-not-a-guid",
        US,
        r("adminAgents", {"objectId": "AdminAgents"}),
        f"{R}.adminAgents.objectId",
        "is not a GUID",
    ),
    Case(
        "secrets-officer-not-a-guid",
        US,
        r("keyVault.secretsOfficers[0].principalId", "deployer"),
        f"{R}.keyVault.secretsOfficers[0].principalId",
        "is not a GUID",
    ),
    # The single-region rule: the US file, edited since the last commit, is the newer of the two
    # files sharing the value, so it is the one refused (tests/test_regions_isolated.py has the
    # other orders)
    Case(
        "tenant-shared-with-eu",
        US,
        after_commit(r("tenantId", EU["tenantId"])),
        f"{R}.tenantId",
        "is also the tenant of stack 'eu' (Pulumi.eu.yaml)",
    ),
    Case(
        "subscription-shared-with-eu-in-upper-case",
        US,
        after_commit(r("subscriptionId", EU["subscriptionId"].upper())),
        f"{R}.subscriptionId",
        "is also the subscription of stack 'eu'",
    ),
    Case(
        "verified-domain-shared-with-eu",
        US,
        after_commit(append(US, f"{R}.verifiedDomains", EU["verifiedDomains"][0])),
        f"{R}.verifiedDomains[2]",
        "is also the verified domain of stack 'eu'",
    ),
    Case(
        "vault-name-shared-with-eu",
        US,
        after_commit(r("keyVault.name", EU["keyVault"]["name"])),
        f"{R}.keyVault.name",
        "is also the Key Vault name of stack 'eu'",
    ),
    Case(
        "eu-location-in-us-stack",
        US,
        r("location", "westeurope"),
        f"{R}.location",
        "'westeurope' (a location of region 'eu') is outside region 'us'",
    ),
    Case(
        "unknown-location",
        US,
        r("location", "moon-central"),
        f"{R}.location",
        "'moon-central' is outside region 'us'; allowed:",
    ),
    Case(
        "region-id-not-the-stack-name",
        US,
        r("id", "eu"),
        f"{R}.id",
        "region 'eu' does not match the stack name 'us'",
    ),
    Case("unknown-region-id", US, r("id", "apac"), f"{R}.id", "unknown region 'apac'"),
    Case(
        "cloud-of-another-region",
        US,
        r("cloud", "usgovernment"),
        f"{R}.cloud",
        "region 'us' is in the 'public' cloud, not 'usgovernment'",
    ),
    Case("unknown-cloud", US, r("cloud", "azure-stack"), f"{R}.cloud", "Input should be 'public'"),
    # Key Vault
    Case("vault-name-too-short", US, r("keyVault.name", "kv"), f"{R}.keyVault.name", "not a valid"),
    Case(
        "vault-name-too-long",
        US,
        r("keyVault.name", "kv-cspapps-us-0123456789abc"),
        f"{R}.keyVault.name",
        "is not a valid Key Vault name (3-24 letters",
    ),
    Case(
        "vault-name-double-hyphen",
        US,
        r("keyVault.name", "kv--apps-us"),
        f"{R}.keyVault.name",
        "is not a valid Key Vault name",
    ),
    Case(
        "vault-name-with-underscore",
        US,
        r("keyVault.name", "kv_apps_us"),
        f"{R}.keyVault.name",
        "is not a valid Key Vault name",
    ),
    Case(
        "resource-group-ends-with-dot",
        US,
        r("keyVault.resourceGroupName", "rg-partner-apps."),
        f"{R}.keyVault.resourceGroupName",
        "is not a valid resource group name",
    ),
    Case("unknown-vault-sku", US, r("keyVault.sku", "gold"), f"{R}.keyVault.sku", "'standard'"),
    Case(
        "soft-delete-retention-too-short",
        US,
        r("keyVault.softDeleteRetentionDays", 3),
        f"{R}.keyVault.softDeleteRetentionDays",
        "greater than or equal to 7",
    ),
    Case(
        "soft-delete-retention-too-long",
        US,
        r("keyVault.softDeleteRetentionDays", 365),
        f"{R}.keyVault.softDeleteRetentionDays",
        "less than or equal to 90",
    ),
    Case(
        "public-vault-without-ips",
        US,
        r("keyVault.publicNetworkAccess", "Enabled"),
        f"{R}.keyVault",
        "publicNetworkAccess Enabled needs allowedIpRanges",
    ),
    Case(
        "ip-ranges-on-a-private-vault",
        US,
        r("keyVault.allowedIpRanges", ["203.0.113.0/24"]),
        f"{R}.keyVault",
        "allowedIpRanges has no effect while publicNetworkAccess is Disabled",
    ),
    Case(
        "bad-cidr-prefix",
        US,
        both(
            r("keyVault.publicNetworkAccess", "Enabled"),
            r("keyVault.allowedIpRanges", ["203.0.113.0/33"]),
        ),
        f"{R}.keyVault.allowedIpRanges[0]",
        "is not an IPv4 address or CIDR range",
    ),
    Case(
        "cidr-with-host-bits",
        US,
        both(
            r("keyVault.publicNetworkAccess", "Enabled"),
            r("keyVault.allowedIpRanges", ["203.0.113.7/24"]),
        ),
        f"{R}.keyVault.allowedIpRanges[0]",
        "has host bits set",
    ),
    Case(
        "ipv6-range",
        US,
        both(
            r("keyVault.publicNetworkAccess", "Enabled"),
            r("keyVault.allowedIpRanges", ["2001:db8::/32"]),
        ),
        f"{R}.keyVault.allowedIpRanges[0]",
        "Key Vault network rules accept IPv4 only",
    ),
    Case(
        "bad-principal-type",
        US,
        r("keyVault.secretsUsers[0].principalType", "ManagedIdentity"),
        f"{R}.keyVault.secretsUsers[0].principalType",
        "Input should be 'ServicePrincipal', 'User' or 'Group'",
    ),
    Case(
        "principal-without-description",
        US,
        delete(US, f"{R}.keyVault.secretsOfficers[0].description"),
        f"{R}.keyVault.secretsOfficers[0].description",
        "required key is missing",
    ),
    # Region values
    Case(
        "admin-agents-name-and-object-id",
        US,
        r("adminAgents", {"displayName": "AdminAgents", "objectId": EU["adminAgents"]["objectId"]}),
        f"{R}.adminAgents",
        "set either displayName or objectId, not both",
    ),
    Case("no-owners", US, r("owners", []), f"{R}.owners", "List should have at least 1 item"),
    Case(
        "owner-listed-twice",
        US,
        r("owners[2]", "0C1D2E3F-4A5B-4C6D-8E7F-9A0B1C2D3E41"),
        f"{R}.owners",
        "is listed twice",
    ),
    Case(
        "verified-domain-not-a-domain",
        US,
        r("verifiedDomains[0]", "https://us.contoso-partner.example"),
        f"{R}.verifiedDomains[0]",
        "is not a domain name",
    ),
    Case(
        "tag-value-too-long",
        US,
        r("tags.workload", "x" * 300),
        f"{R}.tags.workload",
        "at most 256 characters",
    ),
    Case(
        "tag-key-a-number",
        US,
        sub(US, "    tags:\n", "    tags:\n      4711: cost center\n"),
        f"{R}.tags",
        "key 4711 is not a string; quote it",
        Program.LOAD,
    ),
    Case("production-not-a-boolean", US, r("production", "maybe"), f"{R}.production", "boolean"),
    Case(
        "location-a-list",
        US,
        r("location", ["eastus", "westus"]),
        f"{R}.location",
        "Input should be a valid string",
    ),
    Case(
        "verified-domains-a-string",
        US,
        r("verifiedDomains", "us.contoso-partner.example"),
        f"{R}.verifiedDomains",
        "Input should be a valid list",
    ),
    Case(
        "key-vault-a-string",
        US,
        r("keyVault", "kv-cspapps-us-01"),
        f"{R}.keyVault",
        "must be a mapping of keys, not a string",
    ),
    Case("region-a-list", US, put(US, R, ["us"]), R, "must be a mapping of keys, not a list"),
    Case(
        "unknown-region-key",
        US,
        r("colour", "blue"),
        f"{R}.colour",
        "unknown key (allowed: adminAgents, cloud, id,",
    ),
    Case(
        "unknown-vault-key",
        US,
        r("keyVault.softDelete", True),
        f"{R}.keyVault.softDelete",
        "unknown key (allowed:",
    ),
    Case(
        "missing-tenant-id",
        US,
        delete(US, f"{R}.tenantId"),
        f"{R}.tenantId",
        "required key is missing",
    ),
    Case(
        "missing-key-vault",
        US,
        delete(US, f"{R}.keyVault"),
        f"{R}.keyVault",
        "required key is missing",
    ),
    Case("missing-region", US, delete(US, R), R, "required key is missing"),
    Case(
        "region-holds-a-secure-value",
        US,
        r("subscriptionId", SECURE),
        R,
        "must not hold secure values",
    ),
    # Top-level config keys
    Case(
        "misspelt-namespace-key",
        US,
        put(US, "partner-apps:regoin", {}),
        "partner-apps:regoin",
        "unknown key (allowed: partner-apps:region",
    ),
    Case(
        "key-without-namespace",
        US,
        put(US, "region", "us"),
        "region",
        "unknown key (allowed: partner-apps:region",
    ),
    Case(
        "empty-config-key",
        US,
        sub(US, "config:\n", 'config:\n  "": us\n'),
        '""',
        "unknown key (allowed:",
    ),
    Case(
        "azuread-default-provider-tenant",
        US,
        put(US, "azuread:tenantId", EU["tenantId"]),
        "azuread:tenantId",
        "unknown key (default providers are disabled",
    ),
    Case(
        "azure-native-default-provider-location",
        US,
        put(US, "azure-native:location", "eastus"),
        "azure-native:location",
        "unknown key (default providers are disabled",
    ),
    Case("default-providers-enabled", US, delete(US, DDP), DDP, 'must be ["*"]'),
    Case(
        "default-providers-partly-disabled",
        US,
        put(US, DDP, ["azuread"]),
        DDP,
        'must be ["*"]',
    ),
    Case("default-providers-a-string", US, put(US, DDP, "*"), DDP, 'must be ["*"]'),
    # Refresh tokens
    Case(
        "refresh-token-in-plain-text",
        US,
        put(US, RT, {"partner-center-sam": "0.AAAA-plain-text-token"}),
        RT,
        "refresh tokens must be Pulumi secrets",
    ),
    Case(
        "refresh-token-for-unknown-app",
        US,
        put(US, RT, {"billing-sam": SECURE}),
        f"{RT}.billing-sam",
        "'billing-sam' is not an app of apps.yaml",
    ),
    Case(
        "refresh-token-for-non-sam-app",
        US,
        put(US, RT, {"partner-portal-web": SECURE}),
        f"{RT}.partner-portal-web",
        "is not a Secure Application Model app",
    ),
    Case(
        "refresh-tokens-one-secret-not-a-mapping",
        US,
        put(US, RT, SECURE),
        RT,
        "must map app keys to refresh tokens",
    ),
    Case(
        "refresh-token-keys-of-mixed-types",
        US,
        sub(
            US,
            "config:\n",
            f"config:\n  {RT}:\n    partner-center-sam: {SECURE}\n    7: {SECURE}\n",
        ),
        RT,
        "key 7 is not a string",
        Program.LOAD,
    ),
    # The stack file itself
    Case(
        "stack-file-yaml-syntax-error",
        US,
        sub(US, "    location: eastus\n", "    location: [eastus\n"),
        "line 16",
        "not valid YAML",
        Program.LOAD,
    ),
    Case(
        "stack-file-a-list",
        US,
        text(US, "- config\n"),
        "(file)",
        "must be a YAML mapping",
        Program.LOAD,
    ),
    Case(
        "stack-config-a-list",
        US,
        text(US, "config:\n  - partner-apps:region\n"),
        "config",
        "must be a mapping of config keys",
        Program.LOAD,
    ),
    Case(
        "stack-file-empty",
        US,
        text(US, "# nothing yet\n"),
        R,
        "required key is missing",
    ),
    # apps.yaml: permissions
    Case(
        "unknown-permission",
        APPS,
        a(f"{API}.permissions[0].permission", "Directory.Reed.All"),
        f"{API}.permissions[0]",
        "has no permission 'Directory.Reed.All' in the catalog. Did you mean 'Directory.Read.All'",
    ),
    Case(
        "unknown-api",
        APPS,
        a(f"{API}.permissions[0].api", "Microsoft Grahp"),
        f"{API}.permissions[0]",
        "Unknown API 'Microsoft Grahp'",
    ),
    Case(
        "delegated-only-permission-as-application",
        APPS,
        a(f"{WEB}.permissions[1].type", "application"),
        f"{WEB}.permissions[1]",
        "exists only as a delegated permission",
    ),
    Case(
        "unknown-permission-type",
        APPS,
        a(f"{WEB}.permissions[0].type", "Scope"),
        f"{WEB}.permissions[0].type",
        "Input should be 'delegated' or 'application'",
    ),
    Case(
        "graph-permission-outside-directory-and-intune",
        APPS,
        append(
            APPS, f"{API}.permissions", permission("Microsoft Graph", "Mail.Read", "application")
        ),
        f"{API}.permissions[2]",
        "is outside the Graph resources Microsoft supports for CSP partner-managed apps",
    ),
    Case(
        "retired-azure-ad-graph",
        APPS,
        append(
            APPS,
            f"{SAM}.permissions",
            permission("Windows Azure Active Directory", "User.Read", "delegated"),
        ),
        f"{SAM}.permissions[7]",
        "retired on 2025-08-31",
    ),
    Case(
        "permission-listed-twice",
        APPS,
        append(
            APPS,
            f"{API}.permissions",
            permission("Microsoft Graph", "directory.read.all", "application"),
        ),
        f"{API}.permissions[2]",
        "is listed twice",
    ),
    Case(
        "application-permission-without-reason",
        APPS,
        delete(APPS, f"{API}.permissions[0].reason"),
        f"{API}.permissions[0].reason",
        "is an application permission; give the reason",
    ),
    Case(
        "admin-consent-delegated-permission-without-reason",
        APPS,
        append(
            APPS,
            f"{WEB}.permissions",
            permission("Microsoft Graph", "User.Read.All", "delegated", reason=None),
        ),
        f"{WEB}.permissions[3].reason",
        "needs admin consent; give the reason",
    ),
    Case(
        "sam-app-without-partner-center",
        APPS,
        delete(APPS, f"{SAM}.permissions[0]"),
        f"{SAM}.permissions",
        "is a Secure Application Model app but does not require Microsoft Partner Center",
    ),
    Case(
        "permissions-a-mapping",
        APPS,
        a(f"{WEB}.permissions", {"Microsoft Graph": "User.Read"}),
        f"{WEB}.permissions",
        "Input should be a valid list",
    ),
    # apps.yaml: scopes
    Case(
        "duplicate-scope-value",
        APPS,
        append(APPS, f"{API}.scopes", SCOPE),
        API,
        "scope value 'user_impersonation' is defined twice",
    ),
    Case(
        "scope-value-with-a-space",
        APPS,
        a(f"{API}.scopes[0].value", "user impersonation"),
        f"{API}.scopes[0].value",
        "is not a scope value Graph accepts (' ' (U+0020 SPACE))",
    ),
    # Graph's character set for scope values: ASCII letters, digits and some punctuation only.
    Case(
        "scope-value-with-a-double-quote",
        APPS,
        a(f"{API}.scopes[0].value", 'user"impersonation'),
        f"{API}.scopes[0].value",
        """is not a scope value Graph accepts ('"' (U+0022 QUOTATION MARK))""",
    ),
    Case(
        "scope-value-with-a-backslash",
        APPS,
        a(f"{API}.scopes[0].value", "user\\impersonation"),
        f"{API}.scopes[0].value",
        "is not a scope value Graph accepts ('\\\\' (U+005C REVERSE SOLIDUS))",
    ),
    Case(
        "scope-value-not-ascii",
        APPS,
        a(f"{API}.scopes[0].value", "user_impersonatión"),
        f"{API}.scopes[0].value",
        "is not a scope value Graph accepts ('ó' (U+00F3 LATIN SMALL LETTER O WITH ACUTE))",
    ),
    Case(
        "scope-value-with-a-trailing-newline",
        APPS,
        a(f"{API}.scopes[0].value", "user_impersonation\n"),
        f"{API}.scopes[0].value",
        "is not a scope value Graph accepts ('\\n' (U+000A))",
    ),
    Case(
        "scope-value-starting-with-a-dot",
        APPS,
        a(f"{API}.scopes[0].value", ".impersonation"),
        f"{API}.scopes[0].value",
        "is not a scope value Graph accepts (a leading '.')",
    ),
    Case(
        "display-name-with-an-apostrophe",
        APPS,
        a(f"{WEB}.displayName", "Contoso's Partner Portal"),
        f"{WEB}.displayName",
        "builds an unescaped Graph filter",
    ),
    Case(
        "redirect-uri-longer-than-256",
        APPS,
        a(f"{WEB}.redirectUris[0]", "https://portal.contoso-partner.example/" + "a" * 230),
        f"{WEB}.redirectUris[0]",
        "Entra accepts redirect URIs of at most 256",
    ),
    Case(
        "user-scope-without-user-consent-texts",
        APPS,
        delete(APPS, f"{API}.scopes[0].userConsentDescription"),
        f"{API}.scopes[0]",
        "a scope of type User needs userConsentDisplayName and userConsentDescription",
    ),
    Case(
        "scopes-without-expose-api",
        APPS,
        a(f"{WEB}.scopes", [SCOPE]),
        WEB,
        "scopes are listed but exposeApi is false",
    ),
    # apps.yaml: URIs
    Case(
        "http-redirect-uri",
        APPS,
        a(f"{WEB}.redirectUris[0]", "http://portal.contoso-partner.example/signin-oidc"),
        f"{WEB}.redirectUris[0]",
        "is not https; Entra ID sends tokens to it",
    ),
    Case(
        "wildcard-redirect-uri",
        APPS,
        a(f"{WEB}.redirectUris[0]", "https://*.contoso-partner.example/signin-oidc"),
        f"{WEB}.redirectUris[0]",
        "contains a wildcard",
    ),
    Case(
        "localhost-redirect-uri-outside-development",
        APPS,
        append(APPS, f"{WEB}.redirectUris", "http://localhost:5000/signin-oidc"),
        f"{WEB}.redirectUris[1]",
        "points at localhost; only apps marked development",
    ),
    Case(
        "sam-loopback-redirect-with-a-port",
        APPS,
        append(APPS, f"{SAM}.redirectUris", "http://localhost:8400/"),
        f"{SAM}.redirectUris[2]",
        "may use exactly 'http://localhost/'",
    ),
    Case(
        "redirect-uri-without-a-path",
        APPS,
        a(f"{WEB}.redirectUris[0]", "https://portal.contoso-partner.example"),
        f"{WEB}.redirectUris[0]",
        "has no path: the azuread provider refuses a redirect URI without one",
    ),
    Case(
        "sam-loopback-redirect-with-a-path",
        APPS,
        a(f"{SAM}.redirectUris[1]", "http://127.0.0.1/callback"),
        f"{SAM}.redirectUris[1]",
        "is not the Secure Application Model app's loopback redirect",
    ),
    Case(
        "previous-key-is-a-current-key",
        APPS,
        put(APPS, f"{API}.previousKeys", ["partner-portal-web"]),
        f"{API}.previousKeys[0]",
        "is the key of an app of this file",
    ),
    Case(
        "previous-key-claimed-twice",
        APPS,
        both(
            put(APPS, f"{API}.previousKeys", ["portal-api"]),
            put(APPS, f"{WEB}.previousKeys", ["portal-api"]),
        ),
        f"{WEB}.previousKeys[0]",
        "is also a previous key of app 'partner-portal-api'",
    ),
    Case(
        "redirect-uri-listed-twice",
        APPS,
        append(APPS, f"{WEB}.redirectUris", "https://PORTAL.contoso-partner.example/signin-oidc"),
        f"{WEB}.redirectUris",
        "is listed twice",
    ),
    Case(
        "http-homepage",
        APPS,
        a(f"{WEB}.homepageUrl", "http://portal.contoso-partner.example/"),
        f"{WEB}.homepageUrl",
        "is not https",
    ),
    Case(
        "identifier-uri-off-the-verified-domains",
        APPS,
        a(f"{API}.identifierUri", "https://api.contoso.example/portal"),
        f"{API}.identifierUri",
        "uses host 'api.contoso.example', which is not a verified domain of the partner tenant",
    ),
    Case(
        "identifier-uri-of-the-eu-region",
        APPS,
        a(f"{API}.identifierUri", "https://eu.contoso-partner.example/api"),
        f"{API}.identifierUri",
        "which is not a verified domain of the partner tenant (region 'us'",
    ),
    Case(
        "identifier-uri-not-https",
        APPS,
        a(f"{API}.identifierUri", "urn:contoso:portal"),
        f"{API}.identifierUri",
        "is neither api:// nor https:// on a verified domain",
    ),
    Case(
        "identifier-uri-without-expose-api",
        APPS,
        a(f"{WEB}.identifierUri", "api"),
        f"{WEB}.identifierUri",
        "an identifier URI needs exposeApi: true",
    ),
    Case(
        "implicit-grant-even-with-a-reason",
        APPS,
        a(f"{WEB}.implicitGrant", {"idTokens": True, "reason": "legacy SPA"}),
        f"{WEB}.implicitGrant",
        "policy azuread-application-implicit-grant-disabled refuses it in every region",
    ),
    # apps.yaml: credentials
    Case(
        "secret-lifetime-over-two-years",
        APPS,
        a(f"{API}.credential.lifetimeDays", 731),
        f"{API}.credential",
        "lifetimeDays 731: the secret lives 731 days, more than 730",
    ),
    Case(
        "malformed-rotation-date",
        APPS,
        a(f"{API}.credential.rotationDate", "2026-13-01"),
        f"{API}.credential.rotationDate",
        "'2026-13-01' is not a date (expected YYYY-MM-DD)",
    ),
    Case(
        "rotation-date-in-another-format",
        APPS,
        a(f"{API}.credential.rotationDate", "01/10/2026"),
        f"{API}.credential.rotationDate",
        "is not a date (expected YYYY-MM-DD)",
    ),
    Case(
        "password-already-expired",
        APPS,
        a(f"{API}.credential.rotationDate", "2024-01-01"),
        f"{API}.credential.rotationDate",
        "ended on 2024-12-31, before today",
    ),
    Case(
        "certificate-credential-already-ended",
        APPS,
        both(certificate(PEM.encode()), a(f"{WEB}.credential.endDate", "2026-06-01")),
        f"{WEB}.credential.endDate",
        "ends on 2026-06-01, not after today",
    ),
    Case(
        "rotation-date-in-the-future",
        APPS,
        a(f"{API}.credential.rotationDate", "2999-01-01"),
        f"{API}.credential.rotationDate",
        "2999-01-01 is ",
    ),
    Case(
        "lifetime-days-a-string",
        APPS,
        a(f"{API}.credential.lifetimeDays", "a year"),
        f"{API}.credential.lifetimeDays",
        "Input should be a valid integer",
    ),
    Case(
        "unknown-credential-type",
        APPS,
        a(f"{API}.credential.type", "federated"),
        f"{API}.credential",
        "type must be 'password' or 'certificate'",
    ),
    Case(
        "unknown-credential-key",
        APPS,
        a(f"{API}.credential.value", "s3cr3t"),
        f"{API}.credential.value",
        "unknown key (allowed: lifetimeDays, rotationDate, type)",
    ),
    Case(
        "certificate-file-missing",
        APPS,
        certificate(None),
        f"{WEB}.credential.publicKeyFile",
        "'certs/us/portal.pem' does not exist",
    ),
    Case(
        "certificate-not-pem",
        APPS,
        certificate(b"ssh-rsa AAAAB3NzaC1yc2E portal\n"),
        f"{WEB}.credential.publicKeyFile",
        "'certs/us/portal.pem' is not a PEM certificate",
    ),
    Case(
        "certificate-in-der-form",
        APPS,
        certificate(b"\x30\x82\x01\xb3\x30\x82\x01\x59\xa0\x03\x02\x01\x02\xff\xfe"),
        f"{WEB}.credential.publicKeyFile",
        "is not a PEM certificate (convert a DER file",
    ),
    Case(
        "certificate-with-private-key",
        APPS,
        certificate((PEM + KEY_BLOCK).encode()),
        f"{WEB}.credential.publicKeyFile",
        "contains a private key; commit only the public certificate",
    ),
    Case(
        "certificate-end-date-after-its-expiry",
        APPS,
        both(certificate(PEM.encode()), a(f"{WEB}.credential.endDate", "2029-01-01")),
        f"{WEB}.credential.endDate",
        "2029-01-01 is outside the certificate's validity (2026-01-01 to 2028-06-30)",
    ),
    Case(
        "certificate-end-date-before-it-starts",
        APPS,
        both(certificate(PEM.encode()), a(f"{WEB}.credential.endDate", "2025-12-31")),
        f"{WEB}.credential.endDate",
        "2025-12-31 is outside the certificate's validity",
    ),
    Case(
        "certificate-outside-the-project",
        APPS,
        certificate(PEM.encode(), file="../outside/portal.pem"),
        f"{WEB}.credential.publicKeyFile",
        "is outside the project",
    ),
    # apps.yaml: links between apps
    Case(
        "known-client-not-an-app",
        APPS,
        append(APPS, f"{API}.knownClients", "mobile-app"),
        f"{API}.knownClients[1]",
        "'mobile-app' is not an app of this file",
    ),
    Case(
        "own-known-client",
        APPS,
        append(APPS, f"{API}.knownClients", "partner-portal-api"),
        f"{API}.knownClients[1]",
        "an app cannot be its own known client",
    ),
    Case(
        "known-clients-without-expose-api",
        APPS,
        a(f"{WEB}.knownClients", ["partner-center-sam"]),
        f"{WEB}.knownClients",
        "known clients need exposeApi: true",
    ),
    Case(
        "known-client-cycle",
        APPS,
        both(a(f"{WEB}.exposeApi", True), a(f"{WEB}.knownClients", ["partner-portal-api"])),
        f"{API}.knownClients",
        "form a cycle (partner-portal-api -> partner-portal-web -> partner-portal-api)",
    ),
    Case(
        "required-scope-of-unknown-app",
        APPS,
        a(f"{WEB}.requiredScopes[0].app", "billing-api"),
        f"{WEB}.requiredScopes[0].app",
        "'billing-api' is not an app of this file",
    ),
    Case(
        "required-scope-not-exposed",
        APPS,
        a(f"{WEB}.requiredScopes[0].scope", "admin_access"),
        f"{WEB}.requiredScopes[0].scope",
        "does not expose scope 'admin_access' (it exposes: user_impersonation)",
    ),
    Case(
        "required-scope-of-itself",
        APPS,
        a(f"{API}.requiredScopes", [{"app": "partner-portal-api", "scope": "user_impersonation"}]),
        f"{API}.requiredScopes[0].app",
        "an app cannot require its own scope",
    ),
    # apps.yaml: apps and the file
    Case(
        "duplicate-display-name",
        APPS,
        a(f"{WEB}.displayName", "contoso partner portal api"),
        f"{WEB}.displayName",
        "display names must be unique in the tenant",
    ),
    Case(
        "display-name-a-number",
        APPS,
        a(f"{WEB}.displayName", 42),
        f"{WEB}.displayName",
        "Input should be a valid string",
    ),
    Case(
        "missing-display-name",
        APPS,
        delete(APPS, f"{WEB}.displayName"),
        f"{WEB}.displayName",
        "required key is missing",
    ),
    Case(
        "missing-credential",
        APPS,
        delete(APPS, f"{WEB}.credential"),
        f"{WEB}.credential",
        "required key is missing",
    ),
    Case(
        "unknown-app-key",
        APPS,
        a(f"{WEB}.redirectUri", "https://portal.contoso-partner.example/"),
        f"{WEB}.redirectUri",
        "unknown key (allowed: credential, description, development,",
    ),
    Case(
        "app-key-of-a-microsoft-api",
        APPS,
        a("apps.microsoft-graph", {"displayName": "Graph helper", "credential": PASSWORD}),
        "apps.microsoft-graph",
        "'microsoft-graph' is reserved: it names a Microsoft API in resource names",
    ),
    Case(
        "app-key-not-lower-case",
        APPS,
        a("apps.Billing_API", {"displayName": "Billing", "credential": PASSWORD}),
        "apps.Billing_API",
        "'Billing_API' is not an app key",
    ),
    Case(
        "app-keyed-like-a-credential-type",
        APPS,
        a("apps.certificate", {"displayName": 7, "credential": PASSWORD}),
        "apps.certificate.displayName",
        "Input should be a valid string",
    ),
    Case("no-apps", APPS, a("apps", {}), "apps", "Dictionary should have at least 1 item"),
    Case("apps-a-list", APPS, a("apps", ["partner-portal-api"]), "apps", "valid dictionary"),
    Case(
        "unknown-top-level-key-in-apps-file",
        APPS,
        a("app", {}),
        "app",
        "unknown key (allowed: apps)",
    ),
    Case(
        "apps-yaml-syntax-error",
        APPS,
        sub(APPS, "    exposeApi: true\n", "    exposeApi: true: yes\n"),
        "line 10",
        # libyaml (C loader) and PyYAML's Python loader word the rule slightly differently.
        "not valid YAML: mapping values are not allowed",
    ),
    Case(
        "apps-yaml-tab-indentation",
        APPS,
        sub(APPS, "    exposeApi: true\n", "\texposeApi: true\n"),
        "line 10",
        "not valid YAML: found",
    ),
    Case("apps-yaml-missing", APPS, remove(APPS), "(file)", "file not found"),
    Case("apps-yaml-empty", APPS, text(APPS, ""), "(file)", "must be a mapping of keys, not empty"),
    # YAML itself: keys defined twice, files that are not UTF-8, YAML 1.1 booleans
    Case(
        "apps-yaml-app-defined-twice",
        APPS,
        sub(APPS, "  partner-center-sam:\n", "  partner-portal-web:\n"),
        WEB,
        f"is defined twice (lines {WEB_LINE} and {SAM_LINE}); YAML keeps only the last one",
    ),
    Case(
        "apps-yaml-key-defined-twice",
        APPS,
        sub(APPS, "    exposeApi: true\n", "    exposeApi: true\n    exposeApi: false\n"),
        f"{API}.exposeApi",
        "is defined twice (lines",
    ),
    Case(
        "stack-file-tenant-id-defined-twice",
        US,
        sub(
            US,
            f"    tenantId: {TENANT}\n",
            f"    tenantId: {TENANT}\n    tenantId: {EU['tenantId']}\n",
        ),
        f"{R}.tenantId",
        f"is defined twice (lines {TENANT_LINE} and {TENANT_LINE + 1})",
        Program.LOAD,
    ),
    Case(
        "apps-yaml-in-latin-1",
        APPS,
        raw(APPS, "Owned by the CSP", "Owned by the CSP caf\u00e9".encode("latin-1")),
        "(file)",
        "is not UTF-8: byte 0xe9 at offset",
    ),
    Case(
        "apps-yaml-in-utf-16",
        APPS,
        in_utf16(APPS),
        "(file)",
        "is not UTF-8: it is UTF-16",
    ),
    Case(
        "stack-file-in-windows-1252",
        US,
        raw(US, "# US region stack", "# US region stack \u2013 cp1252".encode("cp1252")),
        "(file)",
        "is not UTF-8: byte 0x96 at offset 84 (line 2)",
        Program.LOAD,
    ),
    Case(
        "tag-value-norway-no",
        US,
        sub(US, "      region: us\n", "      region: no\n"),
        f"{R}.tags.region",
        "is the boolean false, not text: YAML reads unquoted yes, no, on, off",
    ),
    Case(
        "display-name-yes",
        APPS,
        sub(APPS, "    displayName: Contoso Partner Portal\n", "    displayName: yes\n"),
        f"{WEB}.displayName",
        "is the boolean true, not text: YAML reads unquoted yes, no, on, off, true and false as "
        'booleans; quote the value ("no")',
    ),
    Case(
        "scope-value-on",
        APPS,
        sub(APPS, "      - value: user_impersonation\n", "      - value: on\n"),
        f"{API}.scopes[0].value",
        "is the boolean true, not text",
    ),
    Case(
        "app-key-on",
        APPS,
        sub(APPS, "  partner-center-sam:\n", "  on:\n"),
        "apps.true",
        "is the boolean true, not text",
    ),
    Case(
        "cloud-off",
        US,
        sub(US, "    cloud: public\n", "    cloud: off\n"),
        f"{R}.cloud",
        "is the boolean false, not text",
    ),
    # String hygiene: whitespace, invisible and non-ASCII characters, placeholders
    Case(
        "admin-agents-name-with-a-trailing-newline",
        US,
        r("adminAgents", {"displayName": "AdminAgents\n"}),
        f"{R}.adminAgents.displayName",
        "ends with whitespace",
    ),
    Case(
        "tenant-id-with-a-trailing-newline",
        US,
        r("tenantId", f"{TENANT}\n"),
        f"{R}.tenantId",
        "ends with whitespace; remove it",
    ),
    Case(
        "subscription-id-in-spaces",
        US,
        r("subscriptionId", " 7a1d2e3f-4b5c-4d6e-9f70-81a2b3c4d5e1 "),
        f"{R}.subscriptionId",
        "starts with whitespace",
    ),
    Case(
        "owner-with-a-zero-width-space",
        US,
        r("owners[1]", "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e41\u200b"),
        f"{R}.owners[1]",
        "contains the invisible character '\\u200b' (U+200B ZERO WIDTH SPACE) at position 37",
    ),
    Case(
        "tenant-id-with-a-full-width-digit",
        US,
        r("tenantId", "\uff13" + TENANT[1:]),
        f"{R}.tenantId",
        "contains the non-ASCII character '\uff13' (U+FF13 FULLWIDTH DIGIT THREE); a GUID must "
        "be ASCII",
    ),
    Case(
        "vault-name-with-a-trailing-newline",
        US,
        r("keyVault.name", "kv-cspapps-us-01\n"),
        f"{R}.keyVault.name",
        "is not a valid Key Vault name",
    ),
    Case(
        "resource-group-not-ascii",
        US,
        r("keyVault.resourceGroupName", "rg-partner-apps-\u00fcs"),
        f"{R}.keyVault.resourceGroupName",
        "is not a valid resource group name",
    ),
    Case(
        "verified-domain-with-a-cyrillic-o",
        US,
        r("verifiedDomains[0]", "us.c\u043entoso-partner.example"),
        f"{R}.verifiedDomains[0]",
        "contains the non-ASCII character '\u043e' (U+043E CYRILLIC SMALL LETTER O), which looks "
        "like the ASCII 'o'; a domain name must be ASCII (write an internationalised domain in "
        "its xn-- form)",
    ),
    Case(
        "redirect-uri-host-with-a-greek-omicron",
        APPS,
        a(f"{WEB}.redirectUris[0]", "https://p\u03bfrtal.contoso-partner.example/signin-oidc"),
        f"{WEB}.redirectUris[0]",
        "(U+03BF GREEK SMALL LETTER OMICRON), which looks like the ASCII 'o'",
    ),
    Case(
        "identifier-uri-with-a-cyrillic-a",
        APPS,
        a(f"{API}.identifierUri", "https://us.contoso-p\u0430rtner.example/api"),
        f"{API}.identifierUri",
        "(U+0430 CYRILLIC SMALL LETTER A), which looks like the ASCII 'a'",
    ),
    Case(
        "redirect-uri-with-a-trailing-newline",
        APPS,
        a(f"{WEB}.redirectUris[0]", "https://portal.contoso-partner.example/signin-oidc\n"),
        f"{WEB}.redirectUris[0]",
        "ends with whitespace",
    ),
    Case(
        "homepage-with-a-leading-space",
        APPS,
        a(f"{WEB}.homepageUrl", " https://portal.contoso-partner.example/"),
        f"{WEB}.homepageUrl",
        "starts with whitespace",
    ),
    Case(
        "display-name-with-a-right-to-left-override",
        APPS,
        a(f"{WEB}.displayName", "Contoso Partner \u202elatroP"),
        f"{WEB}.displayName",
        "(U+202E RIGHT-TO-LEFT OVERRIDE)",
    ),
    Case(
        "display-name-with-a-trailing-space",
        APPS,
        a(f"{WEB}.displayName", "Contoso Partner Portal "),
        f"{WEB}.displayName",
        "ends with whitespace",
    ),
    Case(
        "display-names-differing-only-in-case-and-spaces",
        APPS,
        a(f"{WEB}.displayName", "CONTOSO  Partner Portal api"),
        f"{WEB}.displayName",
        "is also the display name of app 'partner-portal-api' (ignoring case and spaces)",
    ),
    Case(
        "blank-permission-reason",
        APPS,
        a(f"{API}.permissions[0].reason", "   "),
        f"{API}.permissions[0].reason",
        "is blank; write why it is needed",
    ),
    Case(
        "placeholder-permission-reason",
        APPS,
        a(f"{API}.permissions[1].reason", "TODO"),
        f"{API}.permissions[1].reason",
        "'TODO' is a placeholder, not a reason",
    ),
    Case(
        "blank-required-scope-reason",
        APPS,
        a(f"{WEB}.requiredScopes[0].reason", "\n"),
        f"{WEB}.requiredScopes[0].reason",
        "is blank",
    ),
    Case(
        "blank-consent-description",
        APPS,
        a(f"{API}.scopes[0].adminConsentDescription", " "),
        f"{API}.scopes[0].adminConsentDescription",
        "is blank",
    ),
    Case(
        "blank-principal-description",
        US,
        r("keyVault.secretsOfficers[0].description", "\t"),
        f"{R}.keyVault.secretsOfficers[0].description",
        "is blank",
    ),
    Case("nil-tenant-id", US, r("tenantId", NIL), f"{R}.tenantId", "is a placeholder GUID"),
    Case(
        "nil-owner",
        US,
        r("owners[2]", NIL),
        f"{R}.owners[2]",
        "is a placeholder GUID, not a real id",
    ),
    Case(
        "repeated-digit-secrets-user",
        US,
        r("keyVault.secretsUsers[0].principalId", "11111111-1111-1111-1111-111111111111"),
        f"{R}.keyVault.secretsUsers[0].principalId",
        "is a placeholder GUID",
    ),
    Case(
        "permission-name-with-a-trailing-space",
        APPS,
        a(f"{API}.permissions[0].permission", "Directory.Read.All "),
        f"{API}.permissions[0].permission",
        "ends with whitespace",
    ),
    Case(
        "location-with-a-non-breaking-space",
        US,
        r("location", "east\u00a0us"),
        f"{R}.location",
        "(U+00A0 NO-BREAK SPACE)",
    ),
    Case(
        "required-scope-with-a-soft-hyphen",
        APPS,
        a(f"{WEB}.requiredScopes[0].scope", "user_imper\u00adsonation"),
        f"{WEB}.requiredScopes[0].scope",
        "(U+00AD SOFT HYPHEN)",
    ),
    # Redirect and homepage URIs (RFC 6749 section 3.1.2, Entra's reply-URL restrictions)
    Case(
        "redirect-uri-with-a-fragment",
        APPS,
        a(f"{WEB}.redirectUris[0]", "https://portal.contoso-partner.example/signin-oidc#done"),
        f"{WEB}.redirectUris[0]",
        "has a fragment ('#...'): RFC 6749 section 3.1.2 forbids one",
    ),
    Case(
        "redirect-uri-with-userinfo",
        APPS,
        a(f"{WEB}.redirectUris[0]", "https://portal.contoso-partner.example@evil.example/cb"),
        f"{WEB}.redirectUris[0]",
        "has user information ('...@') before the host",
    ),
    Case(
        "redirect-uri-with-characters-entra-refuses",
        APPS,
        a(f"{WEB}.redirectUris[0]", "https://portal.contoso-partner.example/sign-in(oidc),x"),
        f"{WEB}.redirectUris[0]",
        "contains '(', ')', ',': Entra does not support the characters ! $ ' ( ) , ;",
    ),
    Case(
        "sam-loopback-redirect-with-a-fragment",
        APPS,
        a(f"{SAM}.redirectUris[1]", "http://localhost#consent"),
        f"{SAM}.redirectUris[1]",
        "has a fragment",
    ),
    Case(
        "homepage-with-a-fragment",
        APPS,
        a(f"{WEB}.homepageUrl", "https://portal.contoso-partner.example/#home"),
        f"{WEB}.homepageUrl",
        "has a fragment",
    ),
    # Scope lifecycle
    Case(
        "required-scope-disabled",
        APPS,
        a(f"{API}.scopes[0].enabled", False),
        f"{WEB}.requiredScopes[0].scope",
        "scope 'user_impersonation' of app 'partner-portal-api' is disabled (enabled: false)",
    ),
    Case(
        "required-scope-twice",
        APPS,
        append(
            APPS,
            f"{WEB}.requiredScopes",
            {"app": "partner-portal-api", "scope": "user_impersonation"},
        ),
        f"{WEB}.requiredScopes[1]",
        "is listed twice (also requiredScopes[0]); require each scope once",
    ),
    # Files
    Case(
        "certificate-path-a-directory",
        APPS,
        certificate_directory,
        f"{WEB}.credential.publicKeyFile",
        "'certs/us' is a directory, not a file",
    ),
    Case(
        "certificate-symlink-out-of-the-repository",
        APPS,
        certificate_symlink_outside,
        f"{WEB}.credential.publicKeyFile",
        "'certs/us/portal.pem' is a symbolic link (or lies under one) that leads outside the "
        "repository",
    ),
    # Network exposure of the vault
    Case(
        "vault-open-to-the-internet",
        US,
        vault_ranges("0.0.0.0/0"),
        f"{R}.keyVault.allowedIpRanges[0]",
        "admits every IPv4 address (the whole internet)",
    ),
    Case(
        "vault-open-to-a-slash-8",
        US,
        vault_ranges("203.0.113.7", "20.0.0.0/8"),
        f"{R}.keyVault.allowedIpRanges[1]",
        "admits 16,777,216 addresses (/8), wider than /16",
    ),
    Case(
        "vault-open-to-a-private-range",
        US,
        vault_ranges("10.20.0.0/16"),
        f"{R}.keyVault.allowedIpRanges[0]",
        "overlaps 10.0.0.0/8, a private range (RFC 1918): the Key Vault firewall sees only public",
    ),
    Case(
        "vault-open-to-loopback",
        US,
        vault_ranges("127.0.0.1"),
        f"{R}.keyVault.allowedIpRanges[0]",
        "the loopback range",
    ),
    Case(
        "vault-open-to-link-local",
        US,
        vault_ranges("169.254.169.254"),
        f"{R}.keyVault.allowedIpRanges[0]",
        "the link-local range",
    ),
    # Hostile files (issue 28): YAML that attacks the reader
    Case(
        "stack-file-alias-bomb",
        US,
        sub(US, "config:\n", ALIAS_BOMB + "config:\n"),
        f"line {CONFIG_LINE}",
        f"anchor '&l1': {ANCHORS}",
        Program.LOAD,
    ),
    Case(
        "apps-yaml-alias-bomb",
        APPS,
        sub(APPS, "apps:\n", ALIAS_BOMB + "apps:\n"),
        f"line {APPS_LINE}",
        f"anchor '&l1': {ANCHORS}",
    ),
    Case(
        "apps-yaml-alias-of-a-shared-permission-list",
        APPS,
        sub(APPS, "    knownClients:\n", "    knownClients: &clients\n"),
        f"line {KNOWN_CLIENTS_LINE}",
        f"anchor '&clients': {ANCHORS}",
    ),
    Case(
        "stack-file-3000-deep-nesting",
        US,
        sub(US, "      region: us\n", f"      region: {DEEP}\n"),
        f"line {REGION_TAG_LINE}",
        NESTING,
        Program.LOAD,
    ),
    Case(
        "apps-yaml-3000-deep-mappings",
        APPS,
        sub(APPS, "    exposeApi: true\n", f"    exposeApi: {DEEP_MAPPINGS}\n"),
        f"line {EXPOSE_LINE}",
        NESTING,
    ),
    Case(
        "apps-yaml-set-tag",
        APPS,
        sub(
            APPS,
            "    knownClients:\n      - partner-portal-web\n",
            "    knownClients: !!set {partner-portal-web}\n",
        ),
        f"line {KNOWN_CLIENTS_LINE}",
        f"tag '!!set' {CORE_TAGS}",
    ),
    Case(
        "stack-file-binary-tag",
        US,
        sub(US, '      costCenter: "4711"\n', "      costCenter: !!binary NDcxMQ==\n"),
        f"line {COST_CENTER_LINE}",
        f"tag '!!binary' {CORE_TAGS}",
        Program.LOAD,
    ),
    Case(
        "apps-yaml-python-object-tag",
        APPS,
        sub(APPS, "    exposeApi: true\n", "    exposeApi: !!python/object/apply:os.getpid []\n"),
        f"line {EXPOSE_LINE}",
        f"tag '!!python/object/apply:os.getpid' {CORE_TAGS}",
    ),
    Case(
        "apps-yaml-omap-tag",
        APPS,
        sub(APPS, "    exposeApi: true\n", "    exposeApi: !!omap [a: 1]\n"),
        f"line {EXPOSE_LINE}",
        f"tag '!!omap' {CORE_TAGS}",
    ),
    Case(
        "stack-file-local-tag",
        US,
        sub(US, "      region: us\n", "      region: !Region us\n"),
        f"line {REGION_TAG_LINE}",
        f"tag '!Region' {CORE_TAGS}",
        Program.LOAD,
    ),
    Case(
        "apps-yaml-core-tag-on-the-wrong-value",
        APPS,
        sub(APPS, "    exposeApi: true\n", "    exposeApi: !!bool maybe\n"),
        f"line {EXPOSE_LINE}",
        "'maybe' is not a valid !!bool; write a value of that type or drop the tag",
    ),
    Case(
        "apps-yaml-two-merge-keys",
        APPS,
        sub(
            APPS,
            "    exposeApi: true\n",
            "    <<: {exposeApi: true}\n    <<: {exposeApi: false}\n",
        ),
        f"line {EXPOSE_LINE}",
        MERGE,
    ),
    Case(
        "stack-file-merge-key",
        US,
        sub(US, "      region: us\n", "      <<: {region: us}\n"),
        f"line {REGION_TAG_LINE}",
        MERGE,
        Program.LOAD,
    ),
    Case(
        "apps-yaml-a-date-that-does-not-exist",
        APPS,
        sub(APPS, "      rotationDate: 2026-10-01\n", "      rotationDate: 2026-13-45\n"),
        f"line {ROTATION_LINE}",
        "'2026-13-45' reads as a date but is not a valid one (month must be in 1..12)",
    ),
    Case(
        "apps-yaml-symlink-out-of-the-repository",
        APPS,
        symlink_out(APPS),
        "(file)",
        OUTSIDE,
    ),
    Case(
        "stack-file-symlink-out-of-the-repository",
        US,
        symlink_out(US),
        "(file)",
        OUTSIDE,
        Program.LOAD,
    ),
    Case(
        "apps-yaml-a-named-pipe",
        APPS,
        named_pipe(APPS),
        "(file)",
        "is not a regular file: it is a named pipe (FIFO)",
    ),
    Case(
        "stack-file-larger-than-the-cap",
        US,
        grown(US, files.MAX_YAML_BYTES + 1),
        "(file)",
        f"is larger than {files.MAX_YAML_BYTES:,} bytes",
        Program.LOAD,
    ),
    # Hostile files (issue 28): certificates Entra refuses or that must never be committed
    Case(
        "certificate-rsa-512",
        APPS,
        certificate_of(lambda: certgen.certificate_pem("rsa-512")),
        CERT,
        f"{CERT_NAME} has an RSA key of 512 bits; Entra needs at least 2048",
    ),
    Case(
        "certificate-rsa-1024",
        APPS,
        certificate_of(lambda: certgen.certificate_pem("rsa-1024")),
        CERT,
        f"{CERT_NAME} has an RSA key of 1024 bits; Entra needs at least 2048",
    ),
    Case(
        "certificate-ec-p256",
        APPS,
        certificate_of(lambda: certgen.certificate_pem("ec-p256")),
        CERT,
        f"{CERT_NAME} has an elliptic-curve (EC) key (curve P-256); Entra's certificate "
        "credentials are documented for RSA signatures only",
    ),
    Case(
        "certificate-ec-p384",
        APPS,
        certificate_of(lambda: certgen.certificate_pem("ec-p384")),
        CERT,
        "has an elliptic-curve (EC) key (curve P-384)",
    ),
    Case(
        "certificate-ed25519",
        APPS,
        certificate_of(lambda: certgen.certificate_pem("ed25519")),
        CERT,
        "has an Ed25519 key; Entra's certificate credentials are documented for RSA",
    ),
    Case(
        "certificate-not-yet-valid",
        APPS,
        certificate_of(
            lambda: certgen.certificate_pem(
                not_before=certgen.starting_in(30), not_after=certgen.starting_in(800)
            )
        ),
        CERT,
        f"{CERT_NAME} is not valid yet: it starts on",
    ),
    Case(
        "certificate-of-a-ca",
        APPS,
        certificate_of(lambda: certgen.certificate_pem(ca=True)),
        CERT,
        f"{CERT_NAME} is a CA certificate (basicConstraints CA:TRUE)",
    ),
    Case(
        "certificate-with-trailing-garbage",
        APPS,
        certificate((PEM + "exported by the portal on 2026-12-01\n").encode()),
        CERT,
        f"{CERT_NAME} has data after the certificate's END line (line 19",
    ),
    Case(
        "certificate-with-a-private-key-body-without-headers",
        APPS,
        certificate_of(lambda: PEM.encode() + certgen.private_key_body()),
        CERT,
        f"{CERT_NAME} holds a private key's base64 body without its PEM header lines (line 19)",
    ),
    Case(
        "certificate-with-a-private-key-body-before-it",
        APPS,
        certificate_of(lambda: certgen.private_key_body() + PEM.encode()),
        CERT,
        f"{CERT_NAME} holds a private key's base64 body without its PEM header lines (line 1)",
    ),
    Case(
        "certificate-with-a-private-key-body-inside-its-block",
        APPS,
        certificate_of(
            lambda: PEM.encode().replace(
                b"-----END CERTIFICATE-----",
                certgen.private_key_body() + b"-----END CERTIFICATE-----",
            )
        ),
        CERT,
        f"{CERT_NAME} holds key material in its 'CERTIFICATE' block (line 1), after the "
        "certificate's own base64",
    ),
    Case(
        "certificate-with-binary-garbage-after-it",
        APPS,
        certificate(PEM.encode() + b"\x00\xff\xfe\x7fELF"),
        CERT,
        f"{CERT_NAME} holds binary data (byte 0xff at offset",
    ),
    Case(
        "certificate-with-an-rsa-private-key-block",
        APPS,
        certificate((PEM + KEY_BLOCK.replace("PRIVATE KEY", "RSA PRIVATE KEY")).encode()),
        CERT,
        f"{CERT_NAME} contains a private key; commit only the public certificate",
    ),
    Case(
        "certificate-a-private-key-under-a-certificate-header",
        APPS,
        certificate_of(lambda: certgen.private_key_pem().replace(b"PRIVATE KEY", b"CERTIFICATE")),
        CERT,
        f"{CERT_NAME} holds key material in its 'CERTIFICATE' block (line 1)",
    ),
    Case(
        "certificate-a-named-pipe",
        APPS,
        both(certificate(None), named_pipe(CERT_FILE.format(region="us"))),
        CERT,
        f"{CERT_NAME} is not a regular file: it is a named pipe (FIFO)",
    ),
    Case(
        "certificate-larger-than-the-cap",
        APPS,
        both(certificate(PEM.encode()), grown("certs/us/portal.pem", 64 * 1024 + 1)),
        CERT,
        f"{CERT_NAME} is larger than 65,536 bytes",
    ),
    # Hostile files (issue 28): an identifier URI of another region
    Case(
        "identifier-uri-api-with-the-eu-tenant",
        APPS,
        a(f"{API}.identifierUri", f"api://{EU['tenantId']}/partner-portal-api"),
        f"{API}.identifierUri",
        f"carries {EU['tenantId']}, which is neither this region's tenant id ({TENANT}) nor the "
        "app's own client id: an api:// identifier URI names its own region's tenant or app "
        "only (the tenant of stack 'eu', Pulumi.eu.yaml)",
    ),
    Case(
        "identifier-uri-api-with-the-eu-tenant-alone",
        APPS,
        a(f"{API}.identifierUri", f"api://{EU['tenantId']}"),
        f"{API}.identifierUri",
        "(the tenant of stack 'eu', Pulumi.eu.yaml); in region 'us' use identifierUri: api",
    ),
    Case(
        "identifier-uri-api-with-a-literal-client-id",
        APPS,
        a(f"{API}.identifierUri", "api://4b1f0a9e-2c3d-4e5f-8a7b-6c5d4e3f2a10"),
        f"{API}.identifierUri",
        "carries 4b1f0a9e-2c3d-4e5f-8a7b-6c5d4e3f2a10, which is neither this region's tenant id",
    ),
    Case(
        "identifier-uri-api-with-the-own-tenant-alone",
        APPS,
        a(f"{API}.identifierUri", f"api://{TENANT}"),
        f"{API}.identifierUri",
        "is the tenant id alone; an identifier URI on the tenant id names an app with a path",
    ),
    # The region's policy config
    Case(
        "policy-config-missing",
        POLICY,
        remove(POLICY),
        "(file)",
        "missing: every region stack needs its policy config",
        Program.NOT_READ,
    ),
    Case(
        "policy-config-not-json",
        POLICY,
        text(POLICY, '{"all": "mandatory",}\n'),
        "line 1",
        "not valid JSON",
        Program.NOT_READ,
    ),
    Case(
        "policy-config-a-list",
        POLICY,
        text(POLICY, '["all"]\n'),
        "(file)",
        "must be a JSON object",
        Program.NOT_READ,
    ),
    Case(
        "policy-property-of-the-wrong-type",
        POLICY,
        policy(lambda doc: doc["stack-providers-single-region"].update(tenantId=42)),
        "stack-providers-single-region: tenantId",
        "Invalid type. Expected: string, given: int",
        Program.PACK,
    ),
    Case(
        "policy-property-missing",
        POLICY,
        policy(lambda doc: doc["stack-providers-single-region"].pop("tenantId")),
        "stack-providers-single-region: tenantId",
        "is required",
        Program.PACK,
    ),
    Case(
        "policy-enforcement-level-unknown",
        POLICY,
        policy(lambda doc: doc.update(all="sometimes")),
        "enforcement level for 'all'",
        "'sometimes' is not valid",
        Program.PACK,
    ),
]


def _preview(project: Path, out: Path) -> int:
    return preview.main(
        ["us", "--project-dir", str(project), "--out", str(out), "--audit-dir", str(out / "audit")]
    )


@dataclass
class _Runs:
    """What ``preview.build.run_stack`` returned or raised inside the preview, call by call."""

    calls: list[tuple[tuple[Path, str], StackRun | ConfigError]]

    def program(self, project: Path) -> StackRun:
        """The program's run for ``Pulumi.us.yaml`` of ``project``, as ``pulumi up`` runs it.

        The preview runs the program once, with ``run_stack(project, "us")`` and no options:
        the same call ``pulumi up``'s path makes, so its result is what running it again would
        give (a second run was half of this table's time). When the preview stopped before the
        program (its policy config unreadable), the program is run here.
        """
        for (directory, stack), outcome in self.calls:
            if directory == project.resolve() and stack == "us":
                if isinstance(outcome, ConfigError):
                    raise outcome
                return outcome
        return run_stack(project, "us")


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> _Runs:
    recorded = _Runs([])

    def recording(project_dir: Path, stack: str, **options: Any) -> StackRun:
        # The preview runs the program as `pulumi up` would: no planted mocks or values, only
        # its watchdog's time.
        assert set(options) <= {"stall_timeout"}, options
        try:
            run = run_stack(project_dir, stack, **options)
        except ConfigError as error:
            recorded.calls.append(((project_dir, stack), error))
            raise
        recorded.calls.append(((project_dir, stack), run))
        return run

    monkeypatch.setattr(preview, "run_stack", recording)
    return recorded


def test_the_table_is_large_and_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 60


def test_the_unbroken_copy_previews(project_copy: Path, tmp_path: Path, runs: _Runs) -> None:
    """The baseline every case breaks in one way."""
    assert _preview(project_copy, tmp_path / "out") == 0
    run = runs.program(project_copy)
    # The recorded run is the program's own: the same registrations (in the order the SDK's
    # tasks happened to send them), outputs and settings.
    again = run_stack(project_copy, "us")
    assert by_urn(run) == by_urn(again)
    assert (run.outputs, run.settings, run.error) == (again.outputs, again.settings, again.error)
    assert run.error is None
    assert run.resources


def _names_key_and_rule(text: str, case: Case) -> bool:
    """One line of ``text`` names the file, the key path and the rule (one problem, one line)."""
    # The pack words its errors itself: "<file>: ... <policy>: <property>...".
    where = f"{case.file}: " if case.program is Program.PACK else f"{case.file}: {case.key}: "
    return any(
        where in line and case.key in line and case.rule in line for line in text.splitlines()
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_naming_key_and_rule(
    case: Case,
    project_copy: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    runs: _Runs,
) -> None:
    case.edit(project_copy)
    out = tmp_path / "out"

    # 1. The offline preview.
    assert _preview(project_copy, out) == preview.EXIT_CONFIG
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Traceback" not in output
    assert _names_key_and_rule(captured.out, case), captured.out
    if case.program is not Program.PACK:
        assert "us: nothing registered" in captured.out
    assert not (out / "us.json").exists()

    # 2. The program, as `pulumi up` runs it.
    if case.program is Program.LOAD:
        with pytest.raises(ConfigError) as caught:
            runs.program(project_copy)
        assert _names_key_and_rule(str(caught.value), case), str(caught.value)
        return
    run = runs.program(project_copy)
    if case.program in (Program.NOT_READ, Program.PACK):
        assert run.error is None
        return
    assert run.error is not None
    assert "Traceback" not in run.error
    assert _names_key_and_rule(run.error, case), run.error
    assert run.resources == []


def _bom(file: str) -> Edit:
    def edit(project: Path) -> None:
        path = project / file
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    return edit


def _symlinked_certificate(project: Path) -> None:
    """certs/us/current.pem links to the PEM file beside it (a rotation kept by name)."""
    folder = project / "certs" / "us"
    (folder / "portal.pem").rename(folder / "portal-2026.pem")
    (folder / "current.pem").symlink_to("portal-2026.pem")


DISABLED_SCOPE = SCOPE | {"value": "reports.read", "enabled": False}
LEGITIMATE = {
    "api-and-permission-names-in-any-case": both(
        a(f"{API}.permissions[0].api", "microsoft graph"),
        a(f"{API}.permissions[0].permission", "directory.read.all"),
        a(f"{WEB}.permissions[0].permission", "USER.READ"),
    ),
    "upper-case-guids": both(
        r("tenantId", TENANT.upper()),
        r("owners[1]", "0C1D2E3F-4A5B-4C6D-8E7F-9A0B1C2D3E41"),
        r("keyVault.secretsUsers[0].principalId", "5B6C7D8E-9F0A-4B1C-8D2E-3F4A5B6C7D82"),
    ),
    "utf-8-byte-order-marks": both(_bom(APPS), _bom(US)),
    "non-ascii-free-text": both(
        a(f"{API}.description", "Back end — reads customer directories (Zürich, São Paulo)."),
        a(f"{WEB}.displayName", "Contoso Partner Portal – Agents"),
        a(f"{API}.permissions[0].reason", "Lists users for the portal's tenant overview.\n"),
    ),
    "a-disabled-scope-nobody-requires": append(APPS, f"{API}.scopes", DISABLED_SCOPE),
    "a-redirect-uri-with-a-query-and-an-upper-case-host": a(
        f"{WEB}.redirectUris[0]", "https://PORTAL.contoso-partner.example/signin-oidc?region=us"
    ),
    "a-narrow-public-vault-range": vault_ranges("203.0.113.0/24", "198.51.100.7", "20.30.0.0/16"),
    "quoted-yes-as-text": sub(US, "      region: us\n", '      region: "no"\n'),
    # Hostile files (issue 28): what the new rules must not refuse
    "config-files-symlinked-within-the-repository": both(symlink_within(APPS), symlink_within(US)),
    "core-tags-and-a-quoted-merge-key-as-text": both(
        sub(US, '      costCenter: "4711"\n', "      costCenter: !!str 4711\n"),
        a(f"{API}.notes", "<< merges nothing here & *nothing* is an alias"),
        sub(APPS, "    exposeApi: true\n", "    exposeApi: !!bool true\n"),
    ),
    "certificate-rsa-3072-end-entity": certificate_of(
        lambda: certgen.certificate_pem("rsa-3072", ca=False)
    ),
    "certificate-chain-with-explanatory-text-and-crlf": certificate_of(
        lambda: (
            b"subject=CN = portal\r\n"
            + PEM.encode().replace(b"\n", b"\r\n")
            + b"issuer=CN = Contoso issuing CA\r\n"
            + certgen.certificate_pem(ca=True)
            + b"\n"
        )
    ),
    "certificate-valid-from-today": certificate_of(
        lambda: certgen.certificate_pem(
            not_before=certgen.starting_in(0), not_after=certgen.starting_in(800)
        )
    ),
    "certificate-symlinked-within-the-repository": both(
        certificate(PEM.encode(), file="certs/{region}/current.pem"),
        _symlinked_certificate,
    ),
    "identifier-uri-api-with-the-own-tenant-and-a-path": a(
        f"{API}.identifierUri", f"api://{TENANT}/partner-portal-api"
    ),
    "identifier-uri-api-with-the-client-id": a(f"{API}.identifierUri", "api"),
}


@pytest.mark.parametrize("edit", list(LEGITIMATE.values()), ids=list(LEGITIMATE))
def test_legitimate_variants_are_accepted(
    edit: Edit, project_copy: Path, tmp_path: Path, runs: _Runs
) -> None:
    """What the classes above must not refuse: the same input written another valid way."""
    edit(project_copy)
    assert _preview(project_copy, tmp_path / "out") == 0
    run = runs.program(project_copy)
    assert run.error is None
    assert run.resources
