"""Apply records before it acts, one apply per region at a time, a reviewed plan bound to what
was reviewed, and local files checked before any network call (issue 28, items 5 to 7)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from partner_apps import exitcodes
from partner_apps.customers import region as region_module
from partner_apps.sandbox.customer_world import CustomerWorld


def _lines(cw: CustomerWorld) -> list[dict[str, Any]]:
    path = cw.audit_dir / "us-audit.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _remote_writes(cw: CustomerWorld) -> int:
    return len([w for w in cw.writes() if not w.service.startswith("vault")])


def _project(cw: CustomerWorld, tmp_path: Path) -> Path:
    project = shutil.copytree(cw.project_dir, tmp_path / "project")  # the world's own regions
    cw.project_dir = project
    return project


# -- intent before, outcome after; an interrupted write resolved -------------------------------


def test_every_write_has_its_intent_on_disk_before_it_and_its_outcome_after(
    cw: CustomerWorld,
) -> None:
    seen: list[tuple[int, int]] = []  # (intent lines on disk, remote writes) at each intent
    real = region_module.AuditLog.intend

    def intend(self: Any, record: Any) -> str:
        intent = real(self, record)
        on_disk = sum(1 for line in _lines(cw) if line.get("phase") == "intent")
        seen.append((on_disk, _remote_writes(cw)))
        return intent

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(region_module.AuditLog, "intend", intend)
        assert cw.run("customers", "apply", "--stack", "us", "--workers", "1").code == 0
    # Every intent was on disk before its write: never more writes than intents written.
    assert all(writes < intents for intents, writes in seen)
    lines = _lines(cw)
    intents = [x["intentId"] for x in lines if x["phase"] == "intent"]
    outcomes = [x["intentId"] for x in lines if x["phase"] == "outcome"]
    assert sorted(intents) == sorted(outcomes)
    assert len(intents) == _remote_writes(cw)


def test_a_run_killed_between_a_write_and_its_outcome_is_resolved_by_the_next_apply(
    cw: CustomerWorld,
) -> None:
    real = region_module.AuditLog.write

    def killed_at_the_first_consent_outcome(self: Any, record: Any) -> None:
        if record.get("phase") == "outcome" and record.get("action") == "consent":
            raise KeyboardInterrupt  # the write was made; its outcome line never is
        real(self, record)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(region_module.AuditLog, "write", killed_at_the_first_consent_outcome)
        result = cw.run("customers", "apply", "--stack", "us", "--workers", "1")
    assert result.code == exitcodes.INTERRUPTED
    lines = _lines(cw)
    closed = {x["intentId"] for x in lines if x["phase"] != "intent"}
    orphans = [x for x in lines if x["phase"] == "intent" and x["intentId"] not in closed]
    assert orphans  # made in Microsoft's cloud, no outcome line
    assert {x["action"] for x in orphans} == {"consent"}
    orphan = orphans[0]
    # A second intent that never reached Microsoft (written by hand: a kill before the request).
    never_sent = {
        **{k: orphan[k] for k in ("when", "who", "region", "customer", "tenantId")},
        "app": "partner-portal-api",
        "action": "assign-app-role",
        "api": "Microsoft Graph",
        "resourceAppId": "00000003-0000-0000-c000-000000000000",
        "roleId": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",  # Directory.Read.All
        "grants": ["Directory.Read.All"],
        "phase": "intent",
        "intentId": "never-sent",
        "result": "intent",
    }
    with (cw.audit_dir / "us-audit.jsonl").open("a", encoding="utf-8") as log:
        log.write(json.dumps(never_sent) + "\n")
    assert cw.run("customers", "apply", "--stack", "us").code == exitcodes.OK
    resolved = {x["intentId"]: x["result"] for x in _lines(cw) if x["phase"] == "resolution"}
    assert resolved == {**{x["intentId"]: "done" for x in orphans}, "never-sent": "not-done"}
    # Nothing is pending any more, and the plan is clean: nothing written twice, nothing lost.
    assert cw.run("customers", "plan", "--stack", "us").code == exitcodes.OK


def test_a_full_disk_stops_the_apply_before_its_next_write_with_exit_3(cw: CustomerWorld) -> None:
    real_fsync = os.fsync
    calls = [0]

    def fsync(descriptor: int) -> None:
        calls[0] += 1
        if calls[0] > 5:
            raise OSError(28, "No space left on device")
        real_fsync(descriptor)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "fsync", fsync)
        result = cw.run("customers", "apply", "--stack", "us", "--workers", "2")
    assert result.code == exitcodes.CONFIG
    assert f"audit log {cw.audit_dir / 'us-audit.jsonl'}: cannot be written" in result.err
    assert "No space left on device" in result.err
    assert "Traceback" not in result.err
    # No write without its intent line: at most the five intents that were synced.
    intents = [x for x in _lines(cw) if x["phase"] == "intent"]
    assert _remote_writes(cw) <= len(intents) <= 5


# -- one apply per region ----------------------------------------------------------------------


def _lock(cw: CustomerWorld) -> Path:
    return cw.audit_dir / "us-audit.jsonl.lock"


def _hold(cw: CustomerWorld, pid: int, host: str) -> None:
    cw.audit_dir.mkdir(parents=True, exist_ok=True)
    holder = {"pid": pid, "host": host, "user": "ops", "region": "us", "started": "2026-12-07"}
    _lock(cw).write_text(json.dumps(holder), encoding="utf-8")


def test_a_second_apply_of_the_region_is_refused_naming_the_holder(cw: CustomerWorld) -> None:
    _hold(cw, os.getpid(), socket.gethostname())  # a live process of this host
    result = cw.run("customers", "apply", "--stack", "us")
    assert result.code == exitcodes.LOCKED
    assert f"process {os.getpid()} of ops on {socket.gethostname()}" in result.err
    assert _remote_writes(cw) == 0
    assert _lock(cw).exists()  # not ours: left alone


def test_a_lock_of_another_host_is_never_taken_over(cw: CustomerWorld) -> None:
    _hold(cw, 1, "another-runner")
    result = cw.run("customers", "apply", "--stack", "us")
    assert result.code == exitcodes.LOCKED
    assert "remove the file by hand" in result.err


def test_a_stale_lock_of_a_dead_process_is_taken_over_with_a_line(cw: CustomerWorld) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    _hold(cw, gone.pid, socket.gethostname())
    result = cw.run("customers", "apply", "--stack", "us")
    assert result.code == exitcodes.OK, result.err
    assert "taking over a stale lock" in result.err
    assert not _lock(cw).exists()  # released at the end


# -- a reviewed plan is bound to what was reviewed ---------------------------------------------


def _plan_file(cw: CustomerWorld, tmp_path: Path, stack: str = "us") -> Path:
    out = tmp_path / "plans"
    cw.run("customers", "plan", "--stack", stack, "--out-dir", str(out))
    return out / f"{stack}-plan.json"


def test_a_plan_carries_its_region_partner_tenant_inputs_and_time(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    document = json.loads(_plan_file(cw, tmp_path).read_text())
    assert document["region"] == "us"
    assert document["partnerTenantId"] == cw.world.regions["us"].tenant_id
    assert set(document["inputs"]) == {
        "appsYamlSha256",
        "stackOutputsSha256",
        "customersYamlSha256",  # the GDAP templates and customer states (issue 30)
    }
    assert document["generatedAt"]


def test_a_plan_of_another_region_relabelled_as_this_one_is_refused(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    path = _plan_file(cw, tmp_path, "eu")
    document = json.loads(path.read_text())
    document["region"] = "us"
    path.write_text(json.dumps(document))
    result = cw.run("customers", "apply", "--stack", "us", "--plan", str(path))
    assert result.code == exitcodes.PLAN_OTHER_REGION
    assert "is not the partner tenant of region 'us'" in result.err
    assert _remote_writes(cw) == 0


def test_a_plan_whose_inputs_changed_since_is_refused(cw: CustomerWorld, tmp_path: Path) -> None:
    path = _plan_file(cw, tmp_path)
    outputs = cw.world.outputs_dir / "us.json"
    document = json.loads(outputs.read_text())
    document["apps"]["partner-portal-web"]["clientId"] = "00000a99-0000-0000-0000-000000000001"
    outputs.write_text(json.dumps(document))
    result = cw.run("customers", "apply", "--stack", "us", "--plan", str(path))
    assert result.code == exitcodes.PLAN_CHANGED
    assert "the stack outputs of us changed since the plan was made" in result.err
    assert _remote_writes(cw) == 0


def test_a_plan_older_than_the_limit_is_refused_and_a_younger_one_applies(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    path = _plan_file(cw, tmp_path)
    cw.world.clock[0] = cw.world.clock[0] + __import__("datetime").timedelta(days=8)
    old = cw.run("customers", "apply", "--stack", "us", "--plan", str(path))
    assert old.code == exitcodes.PLAN_EXPIRED
    assert "older than --max-plan-age 7" in old.err
    assert _remote_writes(cw) == 0
    allowed = cw.run(
        "customers", "apply", "--stack", "us", "--plan", str(path), "--max-plan-age", "10"
    )
    assert allowed.code == exitcodes.OK, allowed.err


def test_a_plan_without_its_binding_is_refused(cw: CustomerWorld, tmp_path: Path) -> None:
    path = _plan_file(cw, tmp_path)
    document = json.loads(path.read_text())
    del document["inputs"]
    path.write_text(json.dumps(document))
    result = cw.run("customers", "apply", "--stack", "us", "--plan", str(path))
    assert result.code == exitcodes.CONFIG
    assert "inputs: missing" in result.err


# -- local files before any network call -------------------------------------------------------


def _network(cw: CustomerWorld, start: int) -> list[Any]:
    return list(cw.cloud.requests[start:])


def test_a_missing_plan_file_is_exit_3_before_the_vault_is_asked(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    start = len(cw.cloud.requests)
    result = cw.run("customers", "apply", "--stack", "us", "--plan", str(tmp_path / "none.json"))
    assert result.code == exitcodes.CONFIG
    assert "--plan" in result.err
    assert _network(cw, start) == []


@pytest.mark.parametrize("verb", ["plan", "apply", "verify"])
def test_a_malformed_selection_file_is_exit_3_before_the_vault_is_asked(
    cw: CustomerWorld, tmp_path: Path, verb: str
) -> None:
    project = _project(cw, tmp_path)
    (project / "customers").mkdir()
    (project / "customers" / "us.yaml").write_text("include: 000000c1-not-a-list\n")
    start = len(cw.cloud.requests)
    result = cw.run("customers", verb, "--stack", "us")
    assert result.code == exitcodes.CONFIG
    assert "customers/us.yaml: include: must be a list" in result.err
    assert _network(cw, start) == []


@pytest.mark.parametrize("kind", ["folder", "dangling-symlink"])
def test_a_selection_that_is_not_a_file_is_refused_not_taken_as_every_customer(
    cw: CustomerWorld, tmp_path: Path, kind: str
) -> None:
    project = _project(cw, tmp_path)
    (project / "customers").mkdir()
    target = project / "customers" / "us.yaml"
    if kind == "folder":
        target.mkdir()
    else:
        target.symlink_to(project / "customers" / "gone.yaml")
    result = cw.run("customers", "plan", "--stack", "us")
    assert result.code == exitcodes.CONFIG
    assert "customers/us.yaml" in result.err


def test_another_regions_broken_selection_does_not_stop_this_region(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    project = _project(cw, tmp_path)
    (project / "customers").mkdir()
    (project / "customers" / "eu.yaml").write_text("include: [unclosed\n")
    result = cw.run("customers", "plan", "--stack", "us")
    assert result.code == exitcodes.CHANGES, result.err
    assert "warning: region eu: customers/eu.yaml" in result.err
    broken = cw.run("customers", "plan", "--stack", "eu")
    assert broken.code == exitcodes.CONFIG  # its own region is refused


def test_route_says_unreachable_not_unknown_domain_when_the_network_is_down(
    cw: CustomerWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = tmp_path / "routing.json"
    table.write_text(json.dumps({"version": 1, "tenants": {}, "clientIds": {}}))
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("PARTNER_APPS_LOGIN_URL", f"https://127.0.0.1:{port}")
    result = cw.run("route", "anna@fabrikam.example", "--table", str(table))
    assert result.code == exitcodes.UNREACHABLE
    assert "could not be reached" in result.err
    assert "unknown" not in result.err.lower()


# -- regions isolated (issue 28, item 2): a broken or copied stack file fails its own region ---


def test_a_stack_file_copied_over_another_region_fails_that_region_only(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    import yaml

    project = _project(cw, tmp_path)
    us = yaml.safe_load((project / "Pulumi.us.yaml").read_text())
    eu_path = project / "Pulumi.eu.yaml"
    eu = yaml.safe_load(eu_path.read_text())
    # The EU file now names the US partner tenant (a copy edited by hand).
    eu["config"]["partner-apps:region"]["tenantId"] = us["config"]["partner-apps:region"][
        "tenantId"
    ]
    eu_path.write_text(yaml.safe_dump(eu, sort_keys=False))
    us_plan = cw.run("customers", "plan", "--stack", "us")
    assert us_plan.code == exitcodes.CHANGES, us_plan.err
    eu_plan = cw.run("customers", "plan", "--stack", "eu")
    assert eu_plan.code == exitcodes.CONFIG
    assert "Pulumi.eu.yaml" in eu_plan.err


def test_an_unreadable_stack_file_of_another_region_does_not_stop_this_one(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    project = _project(cw, tmp_path)
    (project / "Pulumi.eu.yaml").write_text("config: [unclosed\n")
    result = cw.run("customers", "plan", "--stack", "us")
    assert result.code == exitcodes.CHANGES, result.err
    assert cw.run("customers", "plan", "--stack", "eu").code == exitcodes.CONFIG


def test_a_plan_dated_in_the_future_is_refused(cw: CustomerWorld, tmp_path: Path) -> None:
    path = _plan_file(cw, tmp_path)
    document = json.loads(path.read_text())
    document["generatedAt"] = "2999-01-01T00:00:00+00:00"
    path.write_text(json.dumps(document))
    result = cw.run("customers", "apply", "--stack", "us", "--plan", str(path))
    assert result.code == exitcodes.CONFIG
    assert "is in the future" in result.err
    assert _remote_writes(cw) == 0


@pytest.mark.parametrize("kind", ["folder", "oversized"])
def test_a_plan_or_routing_part_that_is_not_a_sane_file_is_refused(
    cw: CustomerWorld, tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "thing.json"
    if kind == "folder":
        target.mkdir()
    else:
        with target.open("wb") as handle:  # sparse: no disk used
            handle.truncate(65 * 2**20)
    plan = cw.run("customers", "apply", "--stack", "us", "--plan", str(target))
    assert plan.code == exitcodes.CONFIG
    assert f"--plan {target}" in plan.err
    if kind == "oversized":
        part = cw.run("customers", "export-routing", "--parts", str(target))
        assert part.code == exitcodes.CONFIG
        assert "larger than 16 MiB" in part.err
