"""A world for the SAM commands: both example region stacks against the loopback cloud.

Used by the tests (the ``world`` fixture of ``tests/sam/conftest.py``) and by the sandbox demo
(``partner-apps demo``, ``make demo``).

Per region stack file (``Pulumi.us.yaml``, ``Pulumi.eu.yaml``): its partner tenant with the SAM
app (redirect URIs from ``apps.yaml``), a partner admin, the job identity whose object id is the
stack file's Secrets Officer, and its vault holding what ``pulumi up`` leaves there: the app's
client secret and the refresh-token placeholder. Stack outputs are written as the Pulumi CLI
prints them. The commands run in-process through ``partner_apps.cli.main`` with the real clients.

The world is a project of its own (``example_project``): the two example stack files and their
policy config, so that a region the checkout adds (one more ``Pulumi.<region>.yaml``, with no
tenant in this world) is not one of the world's regions for the commands that read every stack.

``open_world(..., sovereign=...)``: a project of its own holding one stack file of a sovereign
cloud (``usgov``: ``cloud: usgovernment``). No ``PARTNER_APPS_*`` override is set: the product
computes the cloud's real endpoints from the stack file, and in-process name resolution
(``fakecloud/names.py``) takes those real host names to the fake; any other host name fails.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import requests
import yaml
from azure.core.credentials import TokenCredential
from azure.identity import ClientSecretCredential

from components.files import safe_load
from partner_apps import cli
from partner_apps.sam import flows
from partner_apps.sam.http import RetryingSession
from partner_apps.sam.target import Endpoints, file_outputs
from partner_apps.sandbox.fakecloud import Cloud, FakeCloud
from partner_apps.sandbox.fakecloud.names import HOSTS, Resolver, cloud_hosts, resolving
from partner_apps.sandbox.fakecloud.state import App, User

ROOT = Path(__file__).resolve().parents[2]
SAM = "partner-center-sam"
STACKS = ("eu", "us")


def _load_yaml(path: Path) -> Any:
    return safe_load(path.read_text(encoding="utf-8"))


@dataclass
class Region:
    stack: str
    tenant_id: str
    vault_name: str
    sam: App
    job: App
    admin: User
    display_name: str


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class World:
    cloud: Cloud
    fake: FakeCloud
    regions: dict[str, Region]
    outputs_dir: Path
    sleeps: list[float] = field(default_factory=list)
    clock: list[datetime] = field(default_factory=lambda: [datetime.now(UTC)])
    confirm_answer: bool | None = None
    browser_calls: int = 0
    texts: list[str] = field(default_factory=list)
    interrupt_on_sleep: bool = False
    session_timeout: float = 5.0
    project_dir: Path = ROOT
    # A sovereign world: the product's own credential chain (EnvironmentCredential) at the
    # cloud's real sign-in host; and the name resolution that takes real hosts to the fake.
    product_credential: bool = False
    resolver: Resolver | None = None

    def now(self) -> datetime:
        return self.clock[0]

    def advance(self, days: float) -> None:
        self.clock[0] = self.clock[0] + timedelta(days=days)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.interrupt_on_sleep:
            raise KeyboardInterrupt

    def browser(self, url: str) -> None:
        """The admin's browser: the authorize page signs in, then posts its form (form_post) or
        follows the redirect to the loopback listener."""
        self.browser_calls += 1
        answer = requests.get(url, allow_redirects=False, timeout=10)
        if answer.status_code == 302:
            requests.get(answer.headers["Location"], timeout=10)
            return
        assert answer.status_code == 200, answer.text
        action = re.search(r'action="([^"]+)"', answer.text)
        assert action is not None, answer.text
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', answer.text))
        requests.post(html.unescape(action.group(1)), data=fields, timeout=10)

    def runtime(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> flows.Runtime:
        login = self.fake.url("login")

        def credential(target: Any) -> TokenCredential:
            if self.product_credential:
                return flows.default_credential(target)
            job = self.regions[target.stack].job
            return ClientSecretCredential(
                target.tenant_id,
                job.client_id,
                job.secret,
                authority=login,
                disable_instance_discovery=True,
            )

        confirm = None
        if self.confirm_answer is not None:
            answer = self.confirm_answer

            def confirm(question: str) -> bool:
                return answer

        return flows.Runtime(
            project_dir=self.project_dir,
            outputs=file_outputs(args.outputs or self.outputs_dir),
            endpoints=Endpoints.from_env(),
            out=out,
            err=err,
            credential=credential,
            session=lambda: RetryingSession(
                sleep=self.sleep, timeout=(self.session_timeout, self.session_timeout)
            ),
            now=self.now,
            open_browser=self.browser,
            confirm=confirm,
            loopback_timeout=10.0,
            progress=True,
        )

    def run(self, *argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(list(argv), out=out, err=err, runtime_factory=self.runtime)
        result = Result(code, out.getvalue(), err.getvalue())
        self.texts += [result.out, result.err]
        return result

    def stored(self, stack: str) -> Any:
        region = self.regions[stack]
        return self.cloud.latest(region.vault_name, f"{SAM}-sam-refresh-token")

    def versions(self, stack: str) -> list[Any]:
        region = self.regions[stack]
        return list(self.cloud.vaults[region.vault_name].secrets[f"{SAM}-sam-refresh-token"])


def _stack_region(stack: str, project_dir: Path = ROOT) -> dict[str, Any]:
    document = _load_yaml(project_dir / f"Pulumi.{stack}.yaml")
    region: dict[str, Any] = document["config"]["partner-apps:region"]
    return region


def _sam_definition() -> dict[str, Any]:
    apps = _load_yaml(ROOT / "apps.yaml")["apps"]
    definition: dict[str, Any] = apps[SAM]
    return definition


# The US Government stack of a sovereign world (Pulumi.usgov.yaml: the US stack file with the
# usgov region's id, cloud, location, and a tenant, domains, subscription and vault of its own).
USGOV = "usgov"
_USGOV_REGION = {
    "id": USGOV,
    "cloud": "usgovernment",
    "tenantId": "7d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6",
    "verifiedDomains": ["usgov.contoso-partner.example"],
    "subscriptionId": "8e3f4a5b-6c7d-4e8f-9a01-b2c3d4e5f6a7",
    "location": "usgovvirginia",
}


def sovereign_project(directory: Path) -> Path:
    """A project of its own with one stack file, ``Pulumi.usgov.yaml`` (cloud: usgovernment)."""
    project = directory / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "apps.yaml"):
        (project / name).write_bytes((ROOT / name).read_bytes())
    document = _load_yaml(ROOT / "Pulumi.us.yaml")
    region = document["config"]["partner-apps:region"]
    region.update(_USGOV_REGION)
    region["keyVault"]["name"] = "kv-cspapps-usgov-01"
    region["keyVault"]["resourceGroupName"] = "rg-partner-apps-usgov"
    region["tags"]["region"] = USGOV
    (project / f"Pulumi.{USGOV}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    return project


def example_project(directory: Path, stacks: tuple[str, ...] = STACKS) -> Path:
    """A project of its own with the world's stack files: ``Pulumi.yaml``, ``apps.yaml``, and per
    stack its ``Pulumi.<stack>.yaml`` and ``policies/config/<stack>.json``, copied from the
    checkout. Any other stack file of the checkout (a region added there) stays out."""
    project = directory / "sandbox-project"
    (project / "policies" / "config").mkdir(parents=True)
    names = ["Pulumi.yaml", "apps.yaml"]
    names += [f"Pulumi.{stack}.yaml" for stack in stacks]
    names += [f"policies/config/{stack}.json" for stack in stacks]
    for name in names:
        (project / name).write_bytes((ROOT / name).read_bytes())
    return project


def build_cloud(
    project_dir: Path = ROOT, stacks: tuple[str, ...] = STACKS
) -> tuple[Cloud, dict[str, Region]]:
    cloud = Cloud()
    definition = _sam_definition()
    regions: dict[str, Region] = {}
    for index, stack in enumerate(stacks):
        region = _stack_region(stack, project_dir)
        tenant = region["tenantId"]
        cloud.tenant(tenant, company=f"Contoso {stack.upper()}")
        sam = cloud.add_app(
            tenant,
            client_id=f"5a{index}00000-0000-4000-8000-00000000000{index}",
            redirect_uris=tuple(definition["redirectUris"]),
        )
        job = cloud.add_app(tenant)
        job.object_id = region["keyVault"]["secretsOfficers"][0]["principalId"]
        admin = cloud.add_user(tenant, f"admin@{region['verifiedDomains'][0]}")
        vault = cloud.add_vault(region["keyVault"]["name"], tenant, {job.object_id})
        cloud.put_secret(
            vault,
            f"{SAM}-client-secret",
            sam.secret,
            content_type=f"client secret of {definition['displayName']}",
        )
        cloud.put_secret(
            vault,
            f"{SAM}-sam-refresh-token",
            "pending-consent",
            content_type=f"Secure Application Model refresh token of {definition['displayName']}",
            tags=dict(region["tags"]),
        )
        regions[stack] = Region(
            stack, tenant, vault.name, sam, job, admin, str(definition["displayName"])
        )
    return cloud, regions


def stack_outputs(
    region: Region, vault_url: str, login: str = "https://login.microsoftonline.com"
) -> dict[str, Any]:
    """What ``pulumi stack output --json --show-secrets=false`` prints (the parts read here)."""
    return {
        "region": region.stack,
        "tenantId": region.tenant_id,
        "authority": f"{login}/{region.tenant_id}",
        "vaultUri": f"{vault_url}/",
        "apps": {
            SAM: {
                "clientId": region.sam.client_id,
                "keyVaultSecretIds": {"clientSecret": "[secret]", "refreshToken": "[secret]"},
            }
        },
        "routing": {region.stack: {SAM: region.sam.client_id}},
    }


@contextmanager
def open_world(
    directory: Path, *, sovereign: str | None = None, lifetime: float = 120.0
) -> Iterator[World]:
    """The loopback cloud running, its outputs written to ``directory``, and the environment
    pointing the product's clients at it (restored afterwards).

    ``sovereign`` (``usgovernment``): the ``usgov`` project of ``sovereign_project``, its real
    host names resolved to the fake in this process, and no ``PARTNER_APPS_*`` override: only
    the one CA-bundle setting (``REQUESTS_CA_BUNDLE``) and the job's credential for
    azure-identity's ``EnvironmentCredential`` (``AZURE_TENANT_ID``, ``AZURE_CLIENT_ID``,
    ``AZURE_CLIENT_SECRET``). ``lifetime``: seconds after which the servers stop by themselves."""
    project_dir = example_project(directory) if sovereign is None else sovereign_project(directory)
    stacks = STACKS if sovereign is None else (USGOV,)
    cloud, regions = build_cloud(project_dir, stacks)
    saved = dict(os.environ)
    try:
        with FakeCloud(cloud, directory, lifetime=lifetime) as fake:
            outputs_dir = directory / "outputs"
            outputs_dir.mkdir()
            hosts = HOSTS[sovereign or "public"]
            for stack, region in regions.items():
                vault = cloud.vaults[region.vault_name]
                if sovereign is not None:
                    vault.url = f"https://{vault.name}.{hosts['vault']}"
                document = stack_outputs(region, vault.url, f"https://{hosts['login']}")
                (outputs_dir / f"{stack}.json").write_text(json.dumps(document), encoding="utf-8")
            for key in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
                os.environ.pop(key, None)
            for key in [key for key in os.environ if key.startswith("PARTNER_APPS_")]:
                os.environ.pop(key)
            if sovereign is None:
                os.environ.update(fake.env())
                yield World(cloud, fake, regions, outputs_dir, project_dir=project_dir)
                return
            (region,) = regions.values()
            os.environ.update(
                {
                    "REQUESTS_CA_BUNDLE": str(fake.ca_file),
                    "NO_PROXY": "127.0.0.1,localhost",
                    "AZURE_TENANT_ID": region.tenant_id,
                    "AZURE_CLIENT_ID": region.job.client_id,
                    "AZURE_CLIENT_SECRET": region.job.secret,
                }
            )
            for key in ("SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE"):
                os.environ.pop(key, None)
            with resolving(cloud_hosts(fake, sovereign)) as resolver:
                yield World(
                    cloud,
                    fake,
                    regions,
                    outputs_dir,
                    project_dir=project_dir,
                    product_credential=True,
                    resolver=resolver,
                )
    finally:
        os.environ.clear()
        os.environ.update(saved)
