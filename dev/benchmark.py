"""Scale benchmark: offline preview time against bare registration under Pulumi mocks.

For every combination of region count and apps per region this generates a synthetic project in a
temporary directory (``Pulumi.yaml`` copied from this project, one ``Pulumi.<region>.yaml`` per
region with deterministic fake tenant/subscription GUIDs, ``apps.yaml`` with N apps,
``policies/config/<region>.json``) and times two things on it:

* **full**: ``partner_apps.preview.command.main`` for every region: the recording harness, the
  policy pack,
  plan JSON, Markdown and the cross-region audit (what ``make preview`` does);
* **bare**: the same program (``components.program.run``) with the same config, registering the
  same resources under a plain ``pulumi.runtime.mocks.MockMonitor`` and minimal mocks: no
  recording, no policies, no rendering. This is the floor the Pulumi SDK itself sets.

It prints one row per combination: total resources, the median seconds of each, milliseconds per
resource of the full preview, the overhead ratio full / bare, and the peak memory of the full
preview run once more as ``make preview`` runs it, in a process of its own
(``partner-apps preview``; its peak resident set, imports included). It is a script, not a
test; see docs/benchmark.md for how to read it.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import copy
import gc
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from components import program
from components.regions import REGIONS, Region
from components.stackfiles import engine_config, load_stack_file
from partner_apps.preview import command as preview
from partner_apps.preview.mocks import GET_SERVICE_PRINCIPAL, published_by
from partner_apps.preview.recorder import collector_tuned, isolate_outputs, mock_guid, project_name
from policies.partner_policies import catalog as permissions

ROOT = Path(__file__).resolve().parent.parent
POLICY_TEMPLATE = ROOT / "policies" / "config" / "us.json"
# Every generated GUID is UUIDv5 in this namespace: the same inputs give the same project.
_NAMESPACE = uuid.UUID("6d1c2b3a-8f7e-4d5c-9b0a-1e2f3a4b5c6d")

# Regions the benchmark uses, in this order: the committed stacks' regions first, then the other
# public-cloud rows of the region table (sovereign clouds need other provider environments).
_PUBLIC_REGIONS = sorted(r.id for r in REGIONS.values() if r.cloud == "public")
BENCH_REGIONS: tuple[str, ...] = (
    "us",
    "eu",
    *(r for r in _PUBLIC_REGIONS if r not in ("us", "eu")),
)

# Application permissions an API app may ask for: Graph directory and Intune reads (the CSP limit),
# none of them high privilege. Each API app takes two, rotating through the list.
_API_ROLES: tuple[tuple[str, str], ...] = (
    ("Directory.Read.All", "Lists customer users, groups and devices."),
    ("DeviceManagementManagedDevices.Read.All", "Shows Intune device compliance per customer."),
    ("Group.Read.All", "Reads customer groups for the tenant overview."),
    ("Organization.Read.All", "Reads the customer organisation profile."),
    ("DeviceManagementConfiguration.Read.All", "Reports Intune configuration profiles."),
    ("User.Read.All", "Reads customer user profiles for support cases."),
    ("Domain.Read.All", "Lists the customer's verified domains."),
    ("GroupMember.Read.All", "Reads group memberships for access reviews."),
)
# Delegated sign-in permissions of a web client (user consent, no reason needed), plus one that
# needs admin consent on every third client.
_WEB_SCOPES: tuple[str, ...] = ("User.Read", "openid", "offline_access", "profile")
_WEB_ADMIN_SCOPE = ("User.Read.All", "Shows colleagues' profiles in the agent picker.")

# The location each synthetic region stack uses: the region's main general-access datacentre.
_PRIMARY_LOCATIONS = {
    "au": "australiaeast",
    "ca": "canadacentral",
    "eu": "westeurope",
    "jp": "japaneast",
    "uk": "uksouth",
    "us": "eastus",
}

# A real self-signed public certificate (valid 2026-01-01 to 2028-06-30): the program parses it.
_CERTIFICATE = ROOT / "tests" / "certs" / "portal.pem"


def guid(*parts: str) -> str:
    """A deterministic, well-formed GUID for one value of the synthetic project."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


# --- The synthetic project ------------------------------------------------------------------------


def _app_kind(index: int) -> str:
    """Apps come in threes: an API, the web client of that API, a Secure Application Model app."""
    return ("api", "web", "sam")[index % 3]


def _app_key(index: int) -> str:
    return f"{_app_kind(index)}-{index // 3 + 1:03d}"


def apps_document(count: int) -> dict[str, Any]:
    """``apps.yaml`` with ``count`` apps: APIs with scopes and known clients, web clients that
    require the API's scope, SAM apps; permissions from the catalog within the CSP limit."""
    apps: dict[str, Any] = {}
    for index in range(count):
        key = _app_key(index)
        group = index // 3 + 1
        kind = _app_kind(index)
        if kind == "api":
            roles = [_API_ROLES[(group + offset) % len(_API_ROLES)] for offset in (0, 1)]
            scopes = [
                {
                    "value": "user_impersonation",
                    "type": "User",
                    "adminConsentDisplayName": f"Access API {group}",
                    "adminConsentDescription": f"Lets clients call API {group} as the user.",
                    "userConsentDisplayName": f"Access API {group}",
                    "userConsentDescription": f"Lets the app call API {group} on your behalf.",
                }
            ]
            if group % 2 == 0:
                scopes.append(
                    {
                        "value": "Reports.Read",
                        "type": "Admin",
                        "adminConsentDisplayName": f"Read reports of API {group}",
                        "adminConsentDescription": f"Lets clients read API {group} reports.",
                    }
                )
            app: dict[str, Any] = {
                "displayName": f"Benchmark API {group}",
                "description": f"Synthetic API app {group} of the scale benchmark.",
                "identifierUri": "verified-domain",
                "exposeApi": True,
                "scopes": scopes,
                "permissions": [
                    {
                        "api": "Microsoft Graph",
                        "permission": value,
                        "type": "application",
                        "reason": reason,
                    }
                    for value, reason in roles
                ],
                "credential": {
                    "type": "password",
                    "rotationDate": date(2026, 10, 1),
                    "lifetimeDays": 365,
                },
            }
            if index + 1 < count:  # its web client exists: the classic multi-tier pair
                app["knownClients"] = [_app_key(index + 1)]
        elif kind == "web":
            api = _app_key(index - 1)
            requested: list[dict[str, Any]] = [
                {"api": "Microsoft Graph", "permission": value, "type": "delegated"}
                for value in _WEB_SCOPES
            ]
            if group % 3 == 0:
                value, reason = _WEB_ADMIN_SCOPE
                requested.append(
                    {
                        "api": "Microsoft Graph",
                        "permission": value,
                        "type": "delegated",
                        "reason": reason,
                    }
                )
            app = {
                "displayName": f"Benchmark Portal {group}",
                "description": f"Synthetic web client {group} of the scale benchmark.",
                "homepageUrl": f"https://portal{group}.{{region}}.bench-partner.example/",
                "redirectUris": [f"https://portal{group}.{{region}}.bench-partner.example/signin"],
                "permissions": requested,
                "requiredScopes": [
                    {"app": api, "scope": "user_impersonation", "reason": "Calls its API."}
                ],
                # Every other web client uses a certificate, the rest a client secret.
                "credential": (
                    {
                        "type": "certificate",
                        "publicKeyFile": "certs/{region}/web.pem",
                        "endDate": date(2027, 9, 30),
                    }
                    if group % 2 == 0
                    else {"type": "password", "rotationDate": date(2026, 10, 1)}
                ),
            }
        else:
            app = {
                "displayName": f"Benchmark Secure Application Model {group}",
                "description": f"Synthetic SAM app {group}; automation calls Partner Center.",
                "secureApplicationModel": True,
                "redirectUris": [f"https://sam{group}.bench-partner.example/consent/callback"],
                "permissions": [
                    {
                        "api": "Microsoft Partner Center",
                        "permission": "user_impersonation",
                        "type": "delegated",
                        "reason": "Calls Partner Center as the consenting partner admin.",
                    },
                    {
                        "api": "Azure Service Management",
                        "permission": "user_impersonation",
                        "type": "delegated",
                        "reason": "Manages customer subscriptions through ARM.",
                    },
                ],
                "credential": {
                    "type": "password",
                    "rotationDate": date(2026, 10, 1),
                    "lifetimeDays": 180,
                },
            }
        apps[key] = app
    return {"apps": apps}


def region_document(region: Region, position: int) -> dict[str, Any]:
    """``partner-apps:region`` of one synthetic region stack (values unique per region)."""
    rid = region.id
    document: dict[str, Any] = {
        "id": rid,
        "cloud": region.cloud,
        "tenantId": guid(rid, "tenant"),
        "verifiedDomains": [f"{rid}.bench-partner.example", f"bench-{rid}.onmicrosoft.example"],
        "subscriptionId": guid(rid, "subscription"),
        "location": _PRIMARY_LOCATIONS.get(rid, region.locations[0]),
        "production": True,
        "protect": True,
        "owners": [guid(rid, "owner", "1"), guid(rid, "owner", "2")],
        # Half the regions look AdminAgents up by name, half pin its object id (both paths).
        "adminAgents": (
            {"displayName": "AdminAgents"}
            if position % 2 == 0
            else {"objectId": guid(rid, "admin-agents")}
        ),
        "keyVault": {
            "name": f"kv-bench-{rid}-01",
            "resourceGroupName": f"rg-bench-apps-{rid}",
            "publicNetworkAccess": "Disabled",
            "secretsOfficers": [
                {
                    "principalId": guid(rid, "deployer"),
                    "principalType": "ServicePrincipal",
                    "description": "deploying identity and the refresh-token rotation job",
                }
            ],
            "secretsUsers": [
                {
                    "principalId": guid(rid, "runtime"),
                    "principalType": "ServicePrincipal",
                    "description": "portal runtime (managed identity)",
                }
            ],
        },
        "tags": {"workload": "csp-partner-apps-benchmark", "region": rid},
    }
    return document


def policy_document(
    template: dict[str, Any], region: Region, stack: dict[str, Any], apps: dict[str, Any]
) -> dict[str, Any]:
    """``policies/config/<region>.json``: the committed us.json's shape, this region's values, and
    an allow-list admitting exactly what the synthetic apps ask for."""
    config = copy.deepcopy(template)
    locations = sorted(region.locations)
    tenant = stack["tenantId"]
    config["azure-native-keyvault-vault-tenant"]["tenantId"] = tenant
    config["azure-native-location-in-region"]["allowedLocations"] = locations
    config["azuread-application-identifier-uris"]["verifiedDomains"] = stack["verifiedDomains"]
    application: set[str] = set()
    admin_consent: set[str] = set()
    for app in apps["apps"].values():
        for item in app.get("permissions", []):
            name = f"{item['api']}/{item['permission']}"
            if item["type"] == "application":
                application.add(name)
            elif permissions.lookup(item["api"], item["permission"], "delegated").admin_consent:
                admin_consent.add(name)
    config["azuread-required-access-allow-list"] = {
        "allowedApplicationPermissions": sorted(application),
        "allowedAdminConsentPermissions": sorted(admin_consent),
    }
    config["stack-production-resources-protected"]["production"] = stack["production"]
    config["stack-providers-single-region"].update(
        tenantId=tenant,
        subscriptionId=stack["subscriptionId"],
        location=stack["location"],
        allowedLocations=locations,
    )
    # The policy needs the exact group: pinned, or the id the mocked lookup by name returns.
    group = stack["adminAgents"].get("objectId") or mock_guid(
        stack["id"], "group", stack["adminAgents"]["displayName"]
    )
    config["stack-partner-apps-admin-agents"] = {"adminAgentsGroupObjectId": group}
    return config


def write_project(target: Path, regions: Sequence[str], apps_per_region: int) -> None:
    """Write the synthetic project for ``regions`` with ``apps_per_region`` apps into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", target / "Pulumi.yaml")
    apps = apps_document(apps_per_region)
    (target / "apps.yaml").write_text(yaml.safe_dump(apps, sort_keys=False), encoding="utf-8")
    template = json.loads(POLICY_TEMPLATE.read_text(encoding="utf-8"))
    (target / "policies" / "config").mkdir(parents=True, exist_ok=True)
    for position, rid in enumerate(regions):
        region = REGIONS[rid]
        stack = region_document(region, position)
        document = {
            "config": {"pulumi:disable-default-providers": ["*"], "partner-apps:region": stack}
        }
        (target / f"Pulumi.{rid}.yaml").write_text(
            yaml.safe_dump(document, sort_keys=False), encoding="utf-8"
        )
        policy = policy_document(template, region, stack, apps)
        (target / "policies" / "config" / f"{rid}.json").write_text(
            json.dumps(policy, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        certs = target / "certs" / rid
        certs.mkdir(parents=True, exist_ok=True)
        shutil.copy(_CERTIFICATE, certs / "web.pem")


# --- The two measurements -------------------------------------------------------------------------


class BareMocks(pulumi_mocks.Mocks):
    """The simplest mocks that let the program run: echo inputs, add the ids it reads."""

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        resource_id = guid(args.typ, args.name)
        outputs = dict(args.inputs)
        if args.typ.startswith("azuread:"):
            outputs.setdefault("objectId", resource_id)
            outputs.setdefault("clientId", resource_id)
        return resource_id, outputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == GET_SERVICE_PRINCIPAL:  # the program checks the catalog's ids
            return published_by(str(args.args.get("clientId", "")), "bare"), []
        object_id = guid(args.token, json.dumps(args.args, sort_keys=True, default=str))
        return {"id": object_id, "objectId": object_id}, []


def bare_stack(project_dir: Path, project: str, stack: str) -> int:
    """Run the program of one stack under a plain MockMonitor; return how many resources
    (providers and components included) it registered."""
    config, secret_keys = engine_config(load_stack_file(project_dir / f"Pulumi.{stack}.yaml"))
    mocks = BareMocks()
    monitor = pulumi_mocks.MockMonitor(mocks)

    def declare() -> None:
        program.run(project_dir)

    def body() -> int:
        # As partner_apps.preview.recorder.run_program does, without its recording monitor.
        pulumi.runtime.set_all_config(config, secret_keys)
        pulumi_mocks.set_mocks(mocks, project=project, stack=stack, preview=True, monitor=monitor)
        pulumi_settings.ROOT.set(None)
        isolate_outputs()
        _sync_await(run_in_stack(declare))
        return len(monitor.resources)

    # The same collector setting as the recording harness, so the ratio measures our layers.
    with collector_tuned():
        return contextvars.Context().run(body)


def run_bare(project_dir: Path, regions: Sequence[str]) -> tuple[float, int]:
    """Seconds and resources of the bare registration of every region."""
    project = project_name(project_dir)
    started = time.perf_counter()
    resources = sum(bare_stack(project_dir, project, stack) for stack in regions)
    return time.perf_counter() - started, resources


def run_full(project_dir: Path, regions: Sequence[str], out: Path) -> tuple[float, int]:
    """Seconds and resources of the offline preview of every region (must exit 0)."""
    shutil.rmtree(out, ignore_errors=True)
    argv = [
        *regions,
        "--project-dir",
        str(project_dir),
        "--out",
        str(out / "preview"),
        "--audit-dir",
        str(out / "audit"),
    ]
    captured = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        status = preview.main(argv)
    elapsed = time.perf_counter() - started
    if status != preview.EXIT_OK:
        sys.stderr.write(captured.getvalue())
        raise SystemExit(f"benchmark: the offline preview exited {status} on {project_dir}")
    resources = sum(
        len(json.loads((out / "preview" / f"{stack}.json").read_text("utf-8"))["resources"])
        for stack in regions
    )
    return elapsed, resources


# What the child runs: `partner-apps preview` (its import-time heap frozen, then main), and
# then it writes its own high-water mark of resident memory (Linux: VmHWM of /proc/self/status).
# A parent's figures would not do: a child created by fork inherits the benchmark process's own
# high-water mark (Linux carries it across fork and exec), so every row after the largest one
# showed the benchmark's peak instead of the preview's.
_PEAK_CHILD = """
import gc, os, sys
from partner_apps.preview import command as preview
gc.collect()
gc.freeze()
status = preview.main(sys.argv[2:])
with open("/proc/self/status", encoding="ascii") as proc:
    kib = next(line.split()[1] for line in proc if line.startswith("VmHWM:"))
with open(sys.argv[1], "w", encoding="ascii") as out:
    out.write(kib)
sys.stdout.flush()
sys.stderr.flush()
os._exit(status)
"""


def peak_memory(project_dir: Path, regions: Sequence[str], out: Path) -> int:
    """Peak resident set (bytes) of the offline preview over every region, run as
    ``partner-apps preview`` runs it in a process of its own (must exit 0); 0 where the
    system has no ``/proc/self/status``."""
    if not Path("/proc/self/status").is_file():
        return 0
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    figure = out / "peak-kib"
    command = [sys.executable, "-c", _PEAK_CHILD, str(figure), *regions]
    command += ["--project-dir", str(project_dir)]
    command += ["--out", str(out / "preview"), "--audit-dir", str(out / "audit")]
    done = subprocess.run(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False
    )
    if done.returncode != preview.EXIT_OK:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"benchmark: the preview of {project_dir} exited {done.returncode}")
    return int(figure.read_text(encoding="ascii")) * 1024


# --- The matrix -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the table: medians over the runs of one (regions, apps) combination."""

    regions: int
    apps: int
    resources: int
    bare: float
    full: float
    runs: int
    peak_bytes: int

    @property
    def ms_per_resource(self) -> float:
        return 1000 * self.full / self.resources

    @property
    def overhead(self) -> float:
        return self.full / self.bare


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _timed(run: Callable[[], tuple[float, int]], collector: bool) -> tuple[float, int]:
    """One measured run, started from a collected heap; the cyclic garbage collector stays on
    (as in ``make preview``) unless ``collector`` is false."""
    gc.collect()
    if not collector:
        gc.disable()
    try:
        return run()
    finally:
        gc.enable()


def measure(
    work: Path,
    regions: Sequence[str],
    apps: int,
    runs: int,
    log: Callable[[str], None],
    *,
    collector: bool = True,
    peak: bool = True,
) -> Row:
    """Generate one project and time ``runs`` bare and full runs on it, interleaved."""
    project_dir = work / f"r{len(regions)}-a{apps}"
    write_project(project_dir, regions, apps)
    bare_times: list[float] = []
    full_times: list[float] = []
    counts: set[tuple[int, int]] = set()
    for attempt in range(1, runs + 1):
        bare, bare_resources = _timed(lambda: run_bare(project_dir, regions), collector)
        full, full_resources = _timed(
            lambda: run_full(project_dir, regions, project_dir / "build"), collector
        )
        bare_times.append(bare)
        full_times.append(full)
        counts.add((bare_resources, full_resources))
        log(
            f"  {len(regions)} regions × {apps} apps, run {attempt}/{runs}: "
            f"bare {bare:.2f}s, full {full:.2f}s ({full_resources} resources)"
        )
    if len(counts) != 1 or len({*next(iter(counts))}) != 1:
        raise SystemExit(
            f"benchmark: bare and full registered different resources: {sorted(counts)}"
        )
    return Row(
        regions=len(regions),
        apps=apps,
        resources=next(iter(counts))[0],
        bare=statistics.median(bare_times),
        full=statistics.median(full_times),
        runs=runs,
        peak_bytes=peak_memory(project_dir, regions, project_dir / "build-peak") if peak else 0,
    )


def table(rows: Sequence[Row]) -> str:
    """The result as a Markdown table (paste it into docs/benchmark.md)."""
    lines = [
        "| regions | apps/region | resources | bare s | full s | ms/resource (full) | overhead "
        "| peak MiB (full) |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    lines += [
        f"| {row.regions} | {row.apps} | {row.resources} | {row.bare:.2f} | {row.full:.2f} | "
        f"{row.ms_per_resource:.2f} | {row.overhead:.2f}× | {row.peak_bytes / 2**20:.0f} |"
        for row in rows
    ]
    return "\n".join(lines)


def _counts(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of numbers"
        ) from None
    if not values or any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"{text!r}: give one or more numbers ≥ 1")
    return values


def main(argv: list[str] | None = None) -> int:
    """``make benchmark``: a developer's script, not a ``partner-apps`` command."""
    parser = argparse.ArgumentParser(
        prog="python -m dev.benchmark",
        description=(
            "Time the offline preview (recording, policies, Markdown, audit) of synthetic "
            "projects with N apps per region against the bare registration of the same "
            "resources under plain Pulumi mocks, and print a table."
        ),
    )
    parser.add_argument(
        "--apps", type=_counts, default=[1, 10, 100], help="apps per region (default: 1,10,100)"
    )
    parser.add_argument(
        "--regions",
        type=_counts,
        default=[2, 5],
        help=f"region counts (default: 2,5; at most {len(BENCH_REGIONS)}: "
        f"{', '.join(BENCH_REGIONS)})",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per combination, median reported (default: 3)"
    )
    parser.add_argument(
        "--repeat-large",
        type=int,
        default=1,
        help="runs for combinations with at least --large apps per region (default: 1)",
    )
    parser.add_argument(
        "--large", type=int, default=100, help="what counts as large (default: 100 apps/region)"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="write the synthetic projects and their previews here and keep them",
    )
    parser.add_argument(
        "--no-gc",
        action="store_true",
        help="disable Python's cyclic garbage collector during each measured run (diagnostic)",
    )
    options = parser.parse_args(argv)
    if max(options.regions) > len(BENCH_REGIONS):
        parser.error(f"--regions: at most {len(BENCH_REGIONS)} ({', '.join(BENCH_REGIONS)})")
    if options.repeat < 1 or options.repeat_large < 1:
        parser.error("--repeat and --repeat-large must be at least 1")

    with contextlib.ExitStack() as cleanup:
        if options.keep is not None:
            work = options.keep.resolve()
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        _progress(f"… warm-up (imports, first registrations) in {work}")
        measure(work / "warm-up", BENCH_REGIONS[:1], 1, 1, lambda _: None, peak=False)
        rows: list[Row] = []
        started = time.perf_counter()
        for region_count in sorted(set(options.regions)):
            for apps in sorted(set(options.apps)):
                runs = options.repeat_large if apps >= options.large else options.repeat
                _progress(f"… {region_count} regions × {apps} apps per region ({runs} runs)")
                rows.append(
                    measure(
                        work,
                        BENCH_REGIONS[:region_count],
                        apps,
                        runs,
                        _progress,
                        collector=not options.no_gc,
                    )
                )
        _progress(f"… done in {time.perf_counter() - started:.0f}s")
    print(table(rows))
    return 0


if __name__ == "__main__":
    # As `partner-apps preview` does after its imports: what is alive now stays alive, out of
    # the cyclic collector's reach, for both measurements alike.
    gc.collect()
    gc.freeze()
    sys.exit(main())
