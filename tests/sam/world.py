"""A world for the SAM commands: both example region stacks against the loopback cloud.

Used by the tests (the ``world`` fixture of ``conftest.py``) and by the demo
(``python -m tests.sam.demo``).

Per region stack file (``Pulumi.us.yaml``, ``Pulumi.eu.yaml``): its partner tenant with the SAM
app (redirect URIs from ``apps.yaml``), a partner admin, the job identity whose object id is the
stack file's Secrets Officer, and its vault holding what ``pulumi up`` leaves there: the app's
client secret and the refresh-token placeholder. Stack outputs are written as the Pulumi CLI
prints them. The commands run in-process through ``partner_apps.cli.main`` with the real clients.
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
from azure.identity import ClientSecretCredential

from partner_apps import cli
from partner_apps.sam import flows
from partner_apps.sam.http import RetryingSession
from partner_apps.sam.target import Endpoints, file_outputs
from tests.conftest import load_yaml
from tests.fakecloud import Cloud, FakeCloud
from tests.fakecloud.state import App, User

ROOT = Path(__file__).resolve().parents[2]
SAM = "partner-center-sam"
STACKS = ("eu", "us")


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

        def credential(target: Any) -> ClientSecretCredential:
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
            project_dir=ROOT,
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


def _stack_region(stack: str) -> dict[str, Any]:
    document = load_yaml(ROOT / f"Pulumi.{stack}.yaml")
    region: dict[str, Any] = document["config"]["partner-apps:region"]
    return region


def _sam_definition() -> dict[str, Any]:
    apps = load_yaml(ROOT / "apps.yaml")["apps"]
    definition: dict[str, Any] = apps[SAM]
    return definition


def build_cloud() -> tuple[Cloud, dict[str, Region]]:
    cloud = Cloud()
    definition = _sam_definition()
    regions: dict[str, Region] = {}
    for index, stack in enumerate(STACKS):
        region = _stack_region(stack)
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


def stack_outputs(region: Region, vault_url: str) -> dict[str, Any]:
    """What ``pulumi stack output --json --show-secrets=false`` prints (the parts read here)."""
    return {
        "region": region.stack,
        "tenantId": region.tenant_id,
        "authority": f"https://login.microsoftonline.com/{region.tenant_id}",
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
def open_world(directory: Path) -> Iterator[World]:
    """The loopback cloud running, its outputs written to ``directory``, and the environment
    pointing the product's clients at it (restored afterwards)."""
    cloud, regions = build_cloud()
    saved = dict(os.environ)
    try:
        with FakeCloud(cloud, directory, lifetime=120.0) as fake:
            outputs_dir = directory / "outputs"
            outputs_dir.mkdir()
            for stack, region in regions.items():
                document = stack_outputs(region, cloud.vaults[region.vault_name].url)
                (outputs_dir / f"{stack}.json").write_text(json.dumps(document), encoding="utf-8")
            for key in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
                os.environ.pop(key, None)
            os.environ.update(fake.env())
            yield World(cloud, fake, regions, outputs_dir)
    finally:
        os.environ.clear()
        os.environ.update(saved)
