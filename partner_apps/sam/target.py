"""What one region stack's SAM commands may touch (tenant, app, vault), checked before any request.

The client id of the Secure Application Model app and the vault URL come from the region stack's
outputs (``pulumi stack output --json --show-secrets=false``, or a JSON file of them); the tenant,
vault name and region id come from ``Pulumi.<stack>.yaml``. They must agree, and none may belong to
another region stack: a vault or client id copied from the EU outputs into a US run is refused
here, before anything talks to Entra or Key Vault.

Endpoints come from the stack's ``cloud`` (``partner-apps:region.cloud``: public, usgovernment,
china), through the one table of ``components/regions.py`` (``CLOUDS``): sign-in, Graph, Partner
Center, the Key Vault DNS suffix and the resource a vault's challenge names. For test
environments only (the tests' loopback cloud), the environment may replace them:
``PARTNER_APPS_LOGIN_URL``, ``PARTNER_APPS_PARTNER_CENTER_URL``, ``PARTNER_APPS_GRAPH_URL``,
``PARTNER_APPS_VAULT_URL_TEMPLATE`` (``https://{name}.<the cloud's vault suffix>``) and
``PARTNER_APPS_VAULT_URLS`` (a JSON object vault name -> URL, for vaults behind another host such
as the fake's, which serves each vault on its own port). While one is in effect the endpoints are
marked ``overridden``: a vault reached through an override skips Key Vault's challenge-resource
check (a loopback host cannot match it); a vault on its cloud's real host never does.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from components.files import APPS_FILE, REGION_KEY, ConfigError, read_yaml
from components.regions import CLOUDS, Cloud, CloudEndpoints
from components.stackfiles import load_stack_file, region_view, stack_files, stack_name
from partner_apps import exitcodes

from .errors import SamError

# The resource a SAM token of the public cloud is redeemed for (its identifier, not where requests
# go); a target's own is ``target.endpoints.partner_center_resource``.
PARTNER_CENTER_RESOURCE = CLOUDS["public"].partner_center_url
PARTNER_CENTER_SCOPE = f"{PARTNER_CENTER_RESOURCE}/user_impersonation"
# The secret names of components/key_vault.py (a test keeps them equal; importing that module
# would load the Azure Native SDK into every command).
PLACEHOLDER = "pending-consent"
# The test-only overrides (environment variable -> Endpoints field).
OVERRIDES = {
    "PARTNER_APPS_LOGIN_URL": "login_url",
    "PARTNER_APPS_PARTNER_CENTER_URL": "partner_center_url",
    "PARTNER_APPS_GRAPH_URL": "graph_url",
    "PARTNER_APPS_VAULT_URL_TEMPLATE": "vault_url_template",
}


def refresh_token_secret_name(app_key: str) -> str:
    return f"{app_key}-sam-refresh-token"


def client_secret_name(app_key: str) -> str:
    return f"{app_key}-client-secret"


# stack -> its outputs (``pulumi stack output --json``), or None when that stack has none.
OutputsSource = Callable[[str], Mapping[str, Any] | None]


def cloud_of(stack: str, region: Mapping[str, Any]) -> Cloud:
    """The ``cloud`` of a stack file's region (default ``public``); a SamError (exit 3) naming
    the file and key for a value outside the table."""
    value = region.get("cloud", "public")
    if value not in CLOUDS:
        known = ", ".join(CLOUDS)
        raise SamError(
            f"region {stack}: Pulumi.{stack}.yaml: {REGION_KEY}.cloud: {value!r} is not a cloud "
            f"of components/regions.py ({known})",
            exitcodes.CONFIG,
        )
    return cast(Cloud, value)


@dataclass(frozen=True)
class Endpoints:
    """Where one cloud's services are, and what their tokens are requested for.

    ``overrides`` (test environments only, ``from_env``) replace the cloud's URLs field by field
    (``OVERRIDES``); ``vault_urls`` replaces single vaults' URLs."""

    cloud: Cloud = "public"
    overrides: Mapping[str, str] = field(default_factory=dict)
    vault_urls: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, cloud: Cloud = "public") -> Endpoints:
        """``cloud``'s endpoints with the test overrides the environment sets."""
        env = os.environ if env is None else env
        overrides = {
            name: env[variable].rstrip("/") if name != "vault_url_template" else env[variable]
            for variable, name in OVERRIDES.items()
            if env.get(variable, "").strip()
        }
        return cls(cloud, overrides, _vault_urls(env.get("PARTNER_APPS_VAULT_URLS", "")))

    def for_cloud(self, cloud: Cloud) -> Endpoints:
        """The same overrides on ``cloud``'s endpoints (a stack's cloud decides them)."""
        return replace(self, cloud=cloud)

    @property
    def table(self) -> CloudEndpoints:
        return CLOUDS[self.cloud]

    @property
    def overridden(self) -> bool:
        """A test override is in effect (the tests' loopback cloud)."""
        return bool(self.overrides or self.vault_urls)

    @property
    def is_default_cloud(self) -> bool:
        return self.cloud == "public" and not self.overridden

    @property
    def login_url(self) -> str:
        return self.overrides.get("login_url", self.table.login_url)

    @property
    def partner_center_url(self) -> str:
        return self.overrides.get("partner_center_url", self.table.partner_center_url)

    @property
    def graph_url(self) -> str:
        return self.overrides.get("graph_url", self.table.graph_url)

    @property
    def vault_url_template(self) -> str:
        return self.overrides.get(
            "vault_url_template", f"https://{{name}}.{self.table.key_vault_suffix}"
        )

    # What tokens are requested for: the cloud's, whatever host the requests go to.
    @property
    def graph_resource(self) -> str:
        return self.table.graph_url

    @property
    def partner_center_resource(self) -> str:
        return self.table.partner_center_url

    @property
    def partner_center_scope(self) -> str:
        return f"{self.partner_center_resource}/user_impersonation"

    @property
    def vault_resource(self) -> str:
        return self.table.key_vault_resource

    def cloud_vault_url(self, vault_name: str) -> str:
        """The vault's URL on its cloud's real host (no override)."""
        return f"https://{vault_name}.{self.table.key_vault_suffix}"

    def vault_url(self, vault_name: str) -> str:
        url = self.vault_urls.get(vault_name) or self.vault_url_template.format(name=vault_name)
        return url.rstrip("/")

    def verifies_vault_challenge(self, vault_name: str) -> bool:
        """Key Vault's challenge-resource check stays on unless the vault is reached through a
        test override (a loopback host cannot match the challenge's resource)."""
        return self.vault_url(vault_name) == self.cloud_vault_url(vault_name)


def _vault_urls(text: str) -> dict[str, str]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise SamError(
            "PARTNER_APPS_VAULT_URLS must be a JSON object of vault name -> URL", exitcodes.CONFIG
        )
    return {str(key): str(url) for key, url in value.items()}


@dataclass(frozen=True)
class RegionTarget:
    """Everything a SAM command of one region stack may reach."""

    stack: str
    tenant_id: str
    app_key: str
    display_name: str
    client_id: str
    vault_name: str
    vault_url: str
    endpoints: Endpoints

    @property
    def authority(self) -> str:
        return f"{self.endpoints.login_url}/{self.tenant_id}"

    @property
    def token_secret(self) -> str:
        return refresh_token_secret_name(self.app_key)

    @property
    def client_secret(self) -> str:
        return client_secret_name(self.app_key)

    def where(self) -> str:
        """How every message names what it is about."""
        return f"region {self.stack}, app {self.app_key}, vault {self.vault_name}"


def _fail(stack: str, message: str) -> SamError:
    return SamError(f"region {stack}: {message}", exitcodes.CONFIG)


def pulumi_outputs(project_dir: Path) -> OutputsSource:
    """The real source: the Pulumi CLI, secrets never shown."""

    def read(stack: str) -> Mapping[str, Any] | None:
        command = ["pulumi", "stack", "output", "--json", "--show-secrets=false", "--stack", stack]
        try:
            done = subprocess.run(
                command, cwd=project_dir, capture_output=True, text=True, check=False
            )
        except FileNotFoundError:
            raise _fail(
                stack, "the Pulumi CLI is not installed; pass --outputs <file or folder>"
            ) from None
        if done.returncode != 0:
            return None
        try:
            value = json.loads(done.stdout or "{}")
        except json.JSONDecodeError as error:
            raise _fail(
                stack,
                f"`pulumi stack output --json --stack {stack}` printed no JSON ({error.msg}); "
                "pass --outputs <file or folder>",
            ) from None
        return value if isinstance(value, dict) and value else None

    return read


def file_outputs(path: Path) -> OutputsSource:
    """Outputs from a file (this one stack) or a folder of ``<stack>.json`` files."""

    def read(stack: str) -> Mapping[str, Any] | None:
        candidate = path / f"{stack}.json" if path.is_dir() else path
        if not candidate.is_file():
            return None
        try:
            value = json.loads(candidate.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise _fail(stack, f"{candidate.name} is not valid JSON ({error.msg})") from None
        except (OSError, UnicodeDecodeError) as error:
            raise _fail(
                stack, f"{candidate.name} cannot be read ({type(error).__name__})"
            ) from None
        if isinstance(value, dict) and {"planVersion", "resources"} <= set(value):
            # `make preview`'s plan of the stack (build/preview/<stack>.json), a common mix-up.
            raise _fail(
                stack,
                f"--outputs {candidate}: a plan of the offline preview (build/preview), not stack "
                f"outputs: save `pulumi stack output --json --show-secrets=false --stack {stack}` "
                "to a file and pass it (or a folder of <stack>.json files)",
            )
        return value if isinstance(value, dict) else None

    return read


def load_apps(project_dir: Path) -> Mapping[str, Any]:
    """The ``apps`` mapping of ``apps.yaml``, read once by each command that needs it (the SAM
    target and the customer consent both do).

    Read as the program reads it (``read_yaml``: UTF-8, a key defined twice refused, the line of
    a syntax error), so a file the program refuses is refused here with the same words; a file
    of another shape is a config error naming the key, never a stack trace.
    """
    try:
        document = read_yaml(project_dir / APPS_FILE)
    except ConfigError as error:
        raise SamError(str(error), exitcodes.CONFIG) from None
    apps = document.get("apps") if isinstance(document, dict) else None
    if not isinstance(apps, dict):
        raise SamError(
            f"{APPS_FILE}: apps: must be a mapping of app keys to app definitions "
            "(`make preview` checks the whole file)",
            exitcodes.CONFIG,
        )
    return apps


def sam_apps(apps: Mapping[str, Any]) -> dict[str, str]:
    """The Secure Application Model apps of ``apps.yaml``'s ``apps``: key -> display name."""
    return {
        str(key): str(app.get("displayName", key))
        for key, app in sorted(apps.items())
        if isinstance(app, dict) and app.get("secureApplicationModel") is True
    }


def region_stacks(project_dir: Path) -> list[str]:
    return [stack_name(path) for path in stack_files(project_dir)]


def region_of(project_dir: Path, stack: str) -> Mapping[str, Any]:
    """The ``partner-apps:region`` block of ``Pulumi.<stack>.yaml``; a SamError (exit 3) when the
    file is missing, unreadable or has none."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(region_stacks(project_dir)) or "none"
        raise _fail(stack, f"no stack file Pulumi.{stack}.yaml (region stacks: {known})")
    try:
        region = load_stack_file(path).config.get(REGION_KEY)
    except ConfigError as error:
        raise _fail(stack, str(error)) from None
    if not isinstance(region, dict):
        raise _fail(stack, f"Pulumi.{stack}.yaml has no {REGION_KEY}")
    return region


def _vault_name(region: Mapping[str, Any]) -> str:
    vault = region.get("keyVault")
    return str(vault.get("name", "")) if isinstance(vault, dict) else ""


def _pick_app(stack: str, apps: Mapping[str, str], app_key: str | None) -> str:
    if app_key is None:
        if len(apps) != 1:
            names = ", ".join(apps) or "none"
            raise _fail(stack, f"pick the Secure Application Model app with --app ({names})")
        return next(iter(apps))
    if app_key not in apps:
        raise _fail(stack, f"{app_key!r} is not a secureApplicationModel app of {APPS_FILE}")
    return app_key


@dataclass(frozen=True)
class _OtherRegions:
    """What the other region stacks own: their stack files' regions and, where the outputs
    source has them, their outputs."""

    regions: Mapping[str, Mapping[str, Any]]
    outputs: Mapping[str, Mapping[str, Any]]

    @classmethod
    def of(
        cls, project_dir: Path, stack: str, source: OutputsSource, own: Mapping[str, Any]
    ) -> _OtherRegions:
        regions: dict[str, Mapping[str, Any]] = {}
        outputs: dict[str, Mapping[str, Any]] = {}
        # The regions this stack is checked against (``region_view``): readable ones, and not a
        # newer file that copied this one's targets (that file is refused in its own region,
        # not this one).
        for other, region in sorted(region_view(project_dir, stack).others.items()):
            if not isinstance(region, dict):
                continue
            regions[other] = region
            other_outputs = source(other)
            # A single outputs file answers for every stack: only a different document counts.
            if other_outputs is not None and other_outputs != own:
                outputs[other] = other_outputs
        return cls(regions, outputs)

    def owner_of(self, value: str, pick: Callable[[Mapping[str, Any]], set[str]]) -> str | None:
        """The other region whose stack file or outputs hold ``value``."""
        for documents in (self.regions, self.outputs):
            for other, document in sorted(documents.items()):
                if value in pick(document):
                    return other
        return None


def _client_ids(document: Mapping[str, Any]) -> set[str]:
    return {
        str(app.get("clientId", ""))
        for app in (document.get("apps") or {}).values()
        if isinstance(app, dict)
    }


def _check_tenant(
    stack: str, own: Mapping[str, Any], tenant_id: str, others: _OtherRegions
) -> None:
    region = own.get("region")
    if region not in (None, stack):
        if isinstance(region, str):
            raise _fail(stack, f"the stack outputs are those of region {region!r}")
        # Not what `pulumi up` writes there (a region id): named by its kind, never dumped.
        raise _fail(stack, f"the stack outputs' region is a {type(region).__name__}, not {stack!r}")
    out_tenant = str(own.get("tenantId", ""))
    if out_tenant != tenant_id:
        theirs = others.owner_of(out_tenant, lambda doc: {str(doc.get("tenantId", ""))})
        extra = f" (the tenant of region {theirs})" if theirs else ""
        raise _fail(
            stack, f"the outputs name tenant {out_tenant}{extra}, the stack file {tenant_id}"
        )


def _check_vault(
    stack: str,
    own: Mapping[str, Any],
    vault_name: str,
    endpoints: Endpoints,
    others: _OtherRegions,
) -> str:
    expected = endpoints.vault_url(vault_name)
    out_vault = str(own.get("vaultUri", "")).rstrip("/")
    if out_vault != expected:
        theirs = others.owner_of(
            out_vault,
            lambda doc: {
                endpoints.vault_url(_vault_name(doc)),
                str(doc.get("vaultUri", "")).rstrip("/"),
            },
        )
        extra = f", the vault of region {theirs}" if theirs else ""
        raise _fail(
            stack,
            f"the outputs name vault {out_vault or '(none)'}{extra}; "
            f"this region's vault is {vault_name} ({expected})",
        )
    return expected


def _check_client_id(
    stack: str, own: Mapping[str, Any], app_key: str, others: _OtherRegions
) -> str:
    app_outputs = (own.get("apps") or {}).get(app_key)
    client_id = str(app_outputs.get("clientId", "")) if isinstance(app_outputs, dict) else ""
    if not client_id:
        raise _fail(stack, f"the outputs have no client id for app {app_key}")
    routed = ((own.get("routing") or {}).get(stack) or {}).get(app_key)
    if routed is not None and routed != client_id:
        raise _fail(stack, f"app {app_key}: routing and apps outputs disagree on the client id")
    theirs = others.owner_of(client_id, _client_ids)
    if theirs is not None:
        raise _fail(
            stack, f"app {app_key}: client id {client_id} is the client id of region {theirs}"
        )
    return client_id


def resolve(
    project_dir: Path,
    stack: str,
    outputs: OutputsSource,
    endpoints: Endpoints,
    app_key: str | None = None,
    *,
    apps: Mapping[str, Any] | None = None,
) -> RegionTarget:
    """The checked target of ``stack``, or a SamError (exit 3) naming the mismatch.

    ``apps``: the ``apps`` of ``apps.yaml`` where the caller has read them already (``None``:
    read here)."""
    region = region_of(project_dir, stack)
    # This stack's file shares a tenant, subscription, domain or vault with an older stack file:
    # it is the one to fix, and this region is refused (the older region still runs).
    problems = region_view(project_dir, stack).problems
    if problems:
        raise _fail(stack, "; ".join(str(problem) for problem in problems))
    if region.get("id") != stack:
        raise _fail(stack, f"Pulumi.{stack}.yaml: {REGION_KEY}.id is {region.get('id')!r}")
    tenant_id = str(region.get("tenantId", ""))
    vault_name = _vault_name(region)
    # The stack's cloud decides the endpoints; test overrides (if any) stay in effect.
    endpoints = endpoints.for_cloud(cloud_of(stack, region))
    apps = sam_apps(load_apps(project_dir) if apps is None else apps)
    key = _pick_app(stack, apps, app_key)
    own = outputs(stack)
    if own is None:
        raise _fail(
            stack,
            f"no stack outputs (`pulumi stack output --stack {stack}` shows why: not logged in "
            f"to the backend, or no `pulumi up --stack {stack}` yet; or pass --outputs)",
        )
    others = _OtherRegions.of(project_dir, stack, outputs, own)
    _check_tenant(stack, own, tenant_id, others)
    vault_url = _check_vault(stack, own, vault_name, endpoints, others)
    client_id = _check_client_id(stack, own, key, others)
    return RegionTarget(
        stack=stack,
        tenant_id=tenant_id,
        app_key=key,
        display_name=apps[key],
        client_id=client_id,
        vault_name=vault_name,
        vault_url=vault_url,
        endpoints=endpoints,
    )
