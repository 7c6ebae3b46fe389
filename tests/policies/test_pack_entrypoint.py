"""The pack starts the way the CLI starts it, and tells the CLI what the catalog says.

The CLI runs ``python -m pulumi.policy <engine> .`` inside ``policies/``, which executes
``__main__.py`` with that directory on ``sys.path``. Here the same happens in a subprocess, with
the real ``PolicyPack`` (it starts its gRPC server); the server's wait loop is interrupted so the
process ends instead of serving forever.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from pulumi.runtime import proto
from pulumi_policy import Policy
from pulumi_policy.policy import _PolicyAnalyzerServicer

from policies.partner_policies import (
    ALL_POLICIES,
    PACK_ENFORCEMENT_LEVEL,
    PACK_NAME,
    POLICY_SPECS,
)
from tests.policies.fixtures import ROOT

_RUN_PACK = """
import json, runpy, sys
import pulumi_policy.policy as sdk

def interrupt(_seconds):
    raise KeyboardInterrupt  # ends PolicyPack's serve-forever loop; it stops the server

sdk.time.sleep = interrupt
built = {}
original = sdk.PolicyPack.__init__

def record(self, name, policies, *args, **kwargs):
    built.update(name=name, policies=[p.name for p in policies])
    original(self, name, policies, *args, **kwargs)

sdk.PolicyPack.__init__ = record
runpy.run_path(".", run_name="__main__")
print(json.dumps(built))
"""


def test_pack_starts_from_its_own_directory_like_the_cli_runs_it() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _RUN_PACK],
        cwd=ROOT / "policies",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    port, built_json = result.stdout.strip().splitlines()[-2:]
    assert port.isdigit()  # the analyzer server announced its port, as the CLI expects
    built = json.loads(built_json)
    assert built == {"name": PACK_NAME, "policies": [p.name for p in ALL_POLICIES]}


def test_analyzer_info_carries_the_catalog_metadata() -> None:
    policies: list[Policy] = list(ALL_POLICIES)
    servicer: Any = _PolicyAnalyzerServicer(PACK_NAME, "0.0.1", policies, PACK_ENFORCEMENT_LEVEL)
    info = servicer.GetAnalyzerInfo(None, None)
    assert info.name == PACK_NAME
    assert info.supportsConfig
    by_name = {p.name: p for p in info.policies}
    assert set(by_name) == set(POLICY_SPECS)
    levels = {"mandatory": proto.MANDATORY, "advisory": proto.ADVISORY}
    for name, spec in POLICY_SPECS.items():
        sent = by_name[name]
        assert sent.description == spec.description
        assert sent.enforcementLevel == levels[spec.enforcement.value]
        assert sent.remediation_steps == spec.remediation
        assert sent.url == spec.url
        assert sent.severity != proto.POLICY_SEVERITY_UNSPECIFIED
        assert set(sent.configSchema.properties) == {prop.name for prop in spec.config}
        assert set(sent.configSchema.required) == {p.name for p in spec.config if p.required}
