"""Golden files of the customers reports (issue 26 item 4): plan, apply and verify, each as
Markdown, HTML and the command's own JSON document, from one deterministic customer world.

The world: region us with three customers on the loopback cloud, the clock pinned, a GDAP file
whose ``admin`` template grants Global Administrator (shown ⚠) to the first customer, the default
``consent`` template for the third, and the second customer offboarded; then ``plan``, ``apply``
and ``verify`` with ``--out-dir``. The ids the fake and the commands make up (object, request
and intent ids: ``uuid.uuid4``) are numbered in order, the world being built after that; the
temporary folder and the inputs' hashes are normalised in the JSON, and the Markdown and HTML are
rendered from that normalised JSON. A separate check shows the command's own files are the
renders of its own JSON. Regenerate with ``UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests`` and
review the diff (tests/golden.py).
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from partner_apps import exitcodes
from partner_apps.review import audit
from partner_apps.review.plan import verify_results
from partner_apps.review.reports.customers import apply_report, plan_report, verify_report
from partner_apps.review.reports.model import Report, to_html, to_markdown
from partner_apps.sandbox.customer_world import CustomerWorld, open_customer_world
from tests import golden
from tests.review.test_audit import _html_outline, _markdown_outline

from .test_customers_gdap_plan import CONSENT_ROLES, GROUP, allow_gdap_writes, template, use_file

CLOCK = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
# The files each command writes with --out-dir, and the golden name of each.
FILES = {"plan": "us-plan", "apply": "us-apply", "verify": "us"}
RENDER: dict[str, Callable[[Mapping[str, Any]], Report]] = {
    "plan": plan_report,
    "apply": apply_report,
    "verify": verify_report,
}
# The plan's inputs (binding.py) hash the stack outputs, which name the loopback cloud's port, and
# the project's apps.yaml, which changes with the product and not with the report.
HASHED = "<sha256>"


@pytest.fixture
def cw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CustomerWorld]:
    """The customer world with ``uuid.uuid4`` numbering its ids: one request at a time
    (``--workers 1``) makes them in the same order on every run."""
    counter = itertools.count(1)
    lock = threading.Lock()

    def numbered() -> uuid.UUID:
        with lock:
            return uuid.UUID(int=next(counter), version=4)

    monkeypatch.setattr(uuid, "uuid4", numbered)
    with open_customer_world(tmp_path / "world") as opened:
        yield opened


def _run_world(cw: CustomerWorld, tmp_path: Path) -> Path:
    """plan, apply and verify of region us in the golden world; the --out-dir folder."""
    cw.world.clock[0] = CLOCK
    allow_gdap_writes(cw)
    tenant, leaving = cw.customers["us"][:2]
    admin = template(
        groups={GROUP: [*CONSENT_ROLES, "Global Administrator"]},
        autoExtendDuration="PT0S",
        allowGlobalAdministrator=True,
        globalAdministratorReason="tenant migration project, until 2027-03",
    )
    use_file(
        cw,
        tmp_path,
        {
            "gdap": {"templates": {"consent": template(), "admin": admin}, "default": "consent"},
            "customers": {tenant: {"template": "admin"}, leaving: {"state": "offboard"}},
        },
    )
    out = tmp_path / "reports"
    expected = {"plan": exitcodes.CHANGES, "apply": exitcodes.OK, "verify": exitcodes.OK}
    for verb, code in expected.items():
        result = cw.run("customers", verb, "--stack", "us", "--workers", "1", "--out-dir", str(out))
        assert result.code == code, f"customers {verb}: {result.err}"
    return out


def _normalised(value: Any, tmp: str) -> Any:
    if isinstance(value, Mapping):
        return {
            k: HASHED if k.endswith("Sha256") else _normalised(v, tmp) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_normalised(item, tmp) for item in value]
    if isinstance(value, str):
        return value.replace(tmp, "<tmp>")
    return value


def _documents(out: Path, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """The three JSON documents, the temporary folder as ``<tmp>`` and the inputs' hashes as
    ``<sha256>``."""
    raw = {
        verb: json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
        for verb, name in FILES.items()
    }
    return {verb: _normalised(document, str(tmp_path)) for verb, document in raw.items()}


def test_the_customers_reports_match_their_golden_files(cw: CustomerWorld, tmp_path: Path) -> None:
    documents = _documents(_run_world(cw, tmp_path), tmp_path)
    for verb, document in documents.items():
        report = RENDER[verb](document)
        golden.check(
            f"customers/{verb}.json", json.dumps(document, indent=2, sort_keys=True) + "\n"
        )
        golden.check(f"customers/{verb}.md", to_markdown(report))
        golden.check(f"customers/{verb}.html", to_html(report))
    plan = to_markdown(plan_report(documents["plan"]))
    assert "⚠ Global Administrator" in plan, "plan.md: the GDAP part marks Global Administrator"
    assert "## Offboarding" in plan, "plan.md: the offboarded customer has its section"
    assert "## GDAP approval links" in to_markdown(apply_report(documents["apply"]))
    assert "offboarded" in to_markdown(verify_report(documents["verify"]))


def test_the_commands_write_the_markdown_and_html_of_their_own_json(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    """Same basename, three files: the JSON, and the Markdown and HTML rendered from it, which
    carry the same headings, table cells and text."""
    out = _run_world(cw, tmp_path)
    for verb, name in FILES.items():
        document = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
        markdown = (out / f"{name}.md").read_text(encoding="utf-8")
        page = (out / f"{name}.html").read_text(encoding="utf-8")
        assert markdown == to_markdown(RENDER[verb](document)), f"{name}.md"
        assert page == to_html(RENDER[verb](document)), f"{name}.html"
        outline, html_outline = _markdown_outline(markdown), _html_outline(page)
        for part in ("headings", "rows", "text"):
            assert outline[part] == html_outline[part], f"{name}.md and {name}.html: {part}"


def test_the_audit_reads_the_verify_file_the_command_wrote(
    cw: CustomerWorld, tmp_path: Path
) -> None:
    out = _run_world(cw, tmp_path)
    written = json.loads((out / "us.json").read_text(encoding="utf-8"))
    assert written[verify_results.VERSION_KEY] == verify_results.VERSION, "us.json"
    consent = audit.load_consent_results(out)
    assert consent["problems"] == [], consent["problems"]
    states = {(r["customer"], r["app"]): r["state"] for r in consent["results"]}
    assert states[("Customer US 0001", "partner-portal-api")] == "verified"
    leaving = cw.customers["us"][1]
    assert {state for (customer, _), state in states.items() if customer == leaving} == {
        "offboarded"
    }, states
    # The plan and apply files of that folder are not verify results: they are skipped.
    assert {r["stack"] for r in consent["results"]} == {"us"}
