"""A world for the customer commands: both region stacks, their customers, the loopback cloud.

Builds on the SAM world (``world.py``): per region its partner tenant, SAM app, vault
and stack outputs, plus what ``customers`` needs: the partner-managed apps of ``apps.yaml``
registered in the partner tenant with their client secrets in the vault (as ``pulumi up`` leaves
them), a SAM refresh token already consented, Microsoft Graph's app roles and scopes (ids from the
permission catalog), and customers with active GDAP relationships: ``US_CUSTOMERS`` of the US
partner tenant, ``EU_CUSTOMERS`` of the EU one (disjoint). The clock is the world's: ``sleep``
advances it and records the wait, so nothing here waits in real time.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from components.files import safe_load
from partner_apps import cli
from partner_apps.sam import flows
from partner_apps.sandbox.fakecloud.state import Grant, PartnerTenant, Request
from partner_apps.sandbox.world import ROOT, SAM, Result, World, open_world
from policies.partner_policies import catalog

GRAPH = "00000003-0000-0000-c000-000000000000"
ASM = "797f4846-ba00-4fd7-ba43-dac1f8f63013"  # Azure Service Management
APPS = ("partner-portal-api", "partner-portal-web")
# Extra Graph permissions a customer tenant may hold beyond apps.yaml (drift, prune).
EXTRA_ROLES = ("User.Read.All",)
EXTRA_SCOPES = ("Mail.Read",)


def _uuid(prefix: str, index: int) -> str:
    return str(uuid.UUID(int=(int(prefix, 16) << 96) + index))


def _load_yaml(path: Path) -> Any:
    return safe_load(path.read_text(encoding="utf-8"))


@dataclass
class CustomerWorld:
    world: World
    customers: dict[str, list[str]]  # region -> tenant ids
    client_ids: dict[str, dict[str, str]]  # region -> app -> client id (the SAM app's too)
    audit_dir: Path
    sleeps: list[float] = field(default_factory=list)
    project_dir: Path = ROOT
    interrupt_after_sleeps: int | None = None
    # The benchmark runs on the real clock (the pacer must really wait); the tests never do.
    real_time: bool = False
    # Generous, so a loaded CI machine (parallel workers) never times a healthy answer out and
    # adds a retry's backoff to the recorded sleeps; the stall test sets a short one itself.
    timeout: str = "15"

    @property
    def cloud(self) -> Any:
        return self.world.cloud

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.world.clock[0] = self.world.clock[0] + timedelta(seconds=seconds)
        if (
            self.interrupt_after_sleeps is not None
            and len(self.sleeps) > self.interrupt_after_sleeps
        ):
            raise KeyboardInterrupt

    def runtime(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> flows.Runtime:
        base = self.world.runtime(args, out, err)
        if self.real_time:
            return dataclasses.replace(
                base,
                project_dir=self.project_dir,
                sleep=time.sleep,
                now=lambda: datetime.now(UTC),
                progress=False,
            )
        return dataclasses.replace(base, project_dir=self.project_dir, sleep=self.sleep)

    def run(self, *argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        extra: list[str] = []
        if argv and argv[0] == "customers" and argv[1] not in ("export-routing", "routing-part"):
            extra = ["--timeout", self.timeout, "--audit-log", str(self.audit_log(argv))]
        code = cli.main([*argv, *extra], out=out, err=err, runtime_factory=self.runtime)
        result = Result(code, out.getvalue(), err.getvalue())
        self.world.texts += [result.out, result.err]
        return result

    def audit_log(self, argv: tuple[str, ...]) -> Path:
        stack = argv[argv.index("--stack") + 1]
        return self.audit_dir / f"{stack}-audit.jsonl"

    def tenant(self, tenant_id: str) -> PartnerTenant:
        state: PartnerTenant = self.cloud.partners[tenant_id]
        return state

    def writes(self) -> list[Request]:
        """Every POST, PATCH or DELETE that reached a service other than Entra: the consents and
        Graph writes of a run (Entra's token requests are POSTs too, but write nothing)."""
        return [
            r
            for r in self.cloud.requests
            if r.method in ("POST", "PATCH", "DELETE") and r.service != "login"
        ]

    def principals(self, tenant_id: str, client_id: str) -> list[dict[str, Any]]:
        state = self.tenant(tenant_id)
        return [p for p in state.service_principals.get(tenant_id, []) if p["appId"] == client_id]

    def assignments(self, tenant_id: str) -> list[dict[str, Any]]:
        state = self.tenant(tenant_id)
        return [a for items in state.app_role_assignments.values() for a in items]

    def grants(self, tenant_id: str) -> list[dict[str, Any]]:
        return list(self.tenant(tenant_id).grants.get(tenant_id, []))


def _graph_resource(cloud: Any) -> None:
    apps = _load_yaml(ROOT / "apps.yaml")["apps"]
    roles: dict[str, str] = {}
    scopes: dict[str, str] = {}
    wanted = [
        (p["permission"], p["type"])
        for app in apps.values()
        for p in app.get("permissions") or []
        if p["api"] == "Microsoft Graph"
    ]
    wanted += [(v, "application") for v in EXTRA_ROLES] + [(v, "delegated") for v in EXTRA_SCOPES]
    for value, kind in wanted:
        found = catalog.lookup("Microsoft Graph", value, kind)
        (roles if kind == "application" else scopes)[found.value] = found.id
    cloud.add_resource(GRAPH, "Microsoft Graph", roles, scopes)
    asm = catalog.lookup("Azure Service Management", "user_impersonation", "delegated")
    cloud.add_resource(asm.api_app_id, asm.api.name, {}, {asm.value: asm.id})


# The resource URL of a delegated token for each API the SAM app names.
_RESOURCE_URLS = {
    "Microsoft Graph": "https://graph.microsoft.com",
    "Microsoft Partner Center": "https://api.partnercenter.microsoft.com",
    "Azure Service Management": "https://management.azure.com",
}


def sam_scopes(project_dir: Path = ROOT) -> dict[str, set[str]]:
    """What the SAM app's admin consent grants in its partner tenant: its delegated
    permissions in apps.yaml, per resource URL (the `scp` of its tokens there)."""
    apps = _load_yaml(project_dir / "apps.yaml")["apps"]
    result: dict[str, set[str]] = {}
    for permission in apps[SAM].get("permissions") or []:
        if permission.get("type", "delegated") == "delegated":
            url = _RESOURCE_URLS[str(permission["api"])]
            result.setdefault(url, set()).add(str(permission["permission"]))
    return result


def _register_apps(
    world: World, stack: str, index: int, apps: tuple[str, ...] = APPS
) -> dict[str, str]:
    region = world.regions[stack]
    cloud = world.cloud
    vault = cloud.vaults[region.vault_name]
    ids: dict[str, str] = {}
    for number, key in enumerate(apps):
        app = cloud.add_app(region.tenant_id, client_id=_uuid(f"a{index}{number}", 1))
        cloud.put_secret(vault, f"{key}-client-secret", app.secret, content_type="client secret")
        ids[key] = app.client_id
    # The SAM app's admin consent in its partner tenant (docs/sam-token.md, step 2).
    sam_app = cloud.find_app(region.sam.client_id)
    assert sam_app is not None
    sam_app.delegated = sam_scopes()
    # The SAM token: what `partner-apps sam consent` stored.
    grant = Grant(region.tenant_id, region.sam.client_id, region.admin, ("pwd", "mfa"))
    issued = cloud.issue(grant, "https://api.partnercenter.microsoft.com/user_impersonation")
    cloud.put_secret(vault, f"{SAM}-sam-refresh-token", issued["refresh_token"])
    return ids


def _outputs(world: World, stack: str, ids: dict[str, str]) -> None:
    path = world.outputs_dir / f"{stack}.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    for key, client_id in ids.items():
        document["apps"][key] = {"clientId": client_id}
    document["routing"][stack].update(ids)
    path.write_text(json.dumps(document), encoding="utf-8")


def add_customer(world: World, stack: str, index: int, *, activated: str | None = None) -> str:
    region = world.regions[stack]
    tenant = _uuid("c1" if stack == "us" else "c2", index)
    name = f"Customer {stack.upper()} {index:04d}"
    world.cloud.add_customer(
        region.tenant_id,
        tenant,
        name,
        f"c{index}.{stack}.customer.example",
        activated=activated or "2026-01-01T00:00:00Z",
    )
    return tenant


@contextmanager
def open_customer_world(
    directory: Path,
    *,
    us: int = 3,
    eu: int = 2,
    apps: tuple[str, ...] = APPS,
    lifetime: float = 120.0,
) -> Iterator[CustomerWorld]:
    with open_world(directory, lifetime=lifetime) as world:
        _graph_resource(world.cloud)
        # GDAP dates (activation, end, expiry) follow the world's clock, as the commands do.
        world.cloud.gdap_clock = lambda: world.clock[0]
        customers: dict[str, list[str]] = {}
        client_ids: dict[str, dict[str, str]] = {}
        for index, (stack, count) in enumerate((("us", us), ("eu", eu))):
            client_ids[stack] = _register_apps(world, stack, index, apps)
            _outputs(world, stack, client_ids[stack])
            # The SAM app is consented in every customer too (its own consent comes first).
            client_ids[stack] = {SAM: world.regions[stack].sam.client_id, **client_ids[stack]}
            customers[stack] = [add_customer(world, stack, n) for n in range(1, count + 1)]
        audit_dir = directory / "audit"
        yield CustomerWorld(world, customers, client_ids, audit_dir, project_dir=world.project_dir)
