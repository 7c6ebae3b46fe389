"""Issue 27 item 3: the audit judges each plan again; a hand-edited plan is flagged, not believed.

Attacks edit copies of the recorded plans (``tests/fixtures/plans``) the way a contributor could
in a pull request, then run ``partner-apps audit`` on them: each ends in exit 47
(``PLAN_UNVERIFIED``) and a "⚠ Plans that do not verify" section at the top naming the file and
what disagrees. The honest plans (the committed fixtures, and a fresh preview) verify.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from partner_apps import exitcodes
from partner_apps.review import audit
from partner_apps.review.judge import check_plan
from partner_apps.review.plan import document as pf
from tests.conftest import preview_args

from .conftest import (
    DIRECTORY_READ_WRITE_ALL_ROLE,
    PLANS,
    ROOT,
    graph_application_access,
    plan_document,
    rejudged,
    resources,
    stacks,
    write_plans,
)

ROLE_MANAGEMENT_READ_WRITE = "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8"  # application permission


def _audit(
    tmp_path: Path, documents: dict[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str, dict[str, Any]]:
    """Run the audit command on ``documents``: (status, stderr, Markdown, JSON document)."""
    plans = write_plans(tmp_path / "plans", documents)
    out = tmp_path / "audit"
    status = audit.main([str(plans), "--out-dir", str(out), "--fail-on-mandatory"])
    error = capsys.readouterr().err
    markdown = (out / "audit.md").read_text(encoding="utf-8")
    data = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    return status, error, markdown, data


def _top(markdown: str) -> str:
    """What an auditor reads first: up to the evidence header."""
    return markdown.split("## About this audit", maxsplit=1)[0]


def test_the_committed_plans_verify_when_judged_again() -> None:
    plans, _ = pf.load_results([PLANS])
    assert plans
    for plan in plans:
        check = check_plan(plan, ROOT)
        assert check.problems == (), f"{plan.source}: {check.problems}"
        assert check.verified
        assert check.violations == plan.violations  # exactly the preview's own, secrets scrubbed


def test_honest_plans_are_audited_without_a_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    documents = {s: plan_document(s) for s in stacks()}
    status, error, markdown, data = _audit(tmp_path, documents, capsys)
    assert status == exitcodes.OK, error
    assert "⚠ Plans that do not verify" not in markdown
    assert all(p["verified"] and p["sha256"] for p in data["plans"])
    # Each plan's SHA-256 is of the file's bytes as read.
    for entry in data["plans"]:
        file = tmp_path / "plans" / entry["file"]
        assert entry["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
        assert entry["origin"] == pf.OFFLINE_ORIGIN
        assert entry["sha256"] in markdown


def test_a_hand_edited_grant_is_judged_not_believed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    documents = {s: plan_document(s) for s in stacks()}
    stack = stacks()[0]
    _, resource = graph_application_access(documents[stack])
    resource["inputs"]["roleIds"] = [*resource["inputs"]["roleIds"], ROLE_MANAGEMENT_READ_WRITE]
    status, error, markdown, data = _audit(tmp_path, documents, capsys)
    assert status == exitcodes.PLAN_UNVERIFIED == 47
    assert f"plans/{stack}.json" in error
    assert "RoleManagement.ReadWrite.Directory" in error
    top = _top(markdown)
    assert "⚠ Plans that do not verify" in top
    assert "RoleManagement.ReadWrite.Directory" in top
    # Never "0 mandatory violations": the pack's own findings are what the audit counts.
    verdict = markdown.splitlines()[2]
    assert verdict.startswith("**Verdict: action needed**"), verdict
    assert "1 mandatory policy violation" in verdict
    mandatory = [v for v in data["violations"] if v["enforcementLevel"] == "mandatory"]
    assert any("RoleManagement.ReadWrite.Directory" in v["message"] for v in mandatory)
    (entry,) = [p for p in data["plans"] if p["stack"] == stack]
    assert not entry["verified"]


def test_a_high_privilege_grant_with_its_findings_removed_is_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same attack, with the violation list left as it was: every finding is missing."""
    documents = {s: plan_document(s) for s in stacks()}
    stack = stacks()[-1]
    _, resource = graph_application_access(documents[stack])
    resource["inputs"]["roleIds"] = [*resource["inputs"]["roleIds"], DIRECTORY_READ_WRITE_ALL_ROLE]
    status, error, _, _ = _audit(tmp_path, documents, capsys)
    assert status == exitcodes.PLAN_UNVERIFIED
    assert "Directory.ReadWrite.All" in error
    assert "that the plan does not list" in error


def test_a_violation_removed_from_the_list_is_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    documents = {s: plan_document(s) for s in stacks()}
    stack = stacks()[0]
    removed = documents[stack]["violations"].pop()
    status, error, markdown, _ = _audit(tmp_path, documents, capsys)
    assert status == exitcodes.PLAN_UNVERIFIED
    assert removed["policy"] in error
    assert f"{stack}.json" in error
    assert removed["policy"] in _top(markdown)


def test_a_violation_added_or_lowered_in_the_list_is_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    documents = {s: plan_document(s) for s in stacks()}
    mandatory = {
        **documents[stacks()[0]]["violations"][0],
        "enforcementLevel": "mandatory",
    }
    documents[stacks()[0]]["violations"].append(mandatory)
    documents[stacks()[-1]]["violations"][0]["enforcementLevel"] = "disabled"
    status, error, _, data = _audit(tmp_path, documents, capsys)
    assert status == exitcodes.PLAN_UNVERIFIED
    assert {p["stack"] for p in data["plans"] if not p["verified"]} == set(stacks())
    assert "the plan lists a mandatory violation" in error


def test_a_lowered_policy_in_the_plans_policy_list_is_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    documents = {s: plan_document(s) for s in stacks()}
    entry = next(
        p for p in documents[stacks()[0]]["policies"] if p["enforcementLevel"] == "mandatory"
    )
    entry["enforcementLevel"] = "advisory"
    status, error, _, _ = _audit(tmp_path, documents, capsys)
    assert status == exitcodes.PLAN_UNVERIFIED
    assert f"policy {entry['name']}: the plan records enforcement advisory" in error


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda d: d["policyPack"].update(digest="sha256:" + "0" * 64), "recorded by policy pack"),
        (lambda d: d.update(evaluationDate="someday"), "is not a date"),
        (lambda d: [d.pop("policyPack"), d.update(planVersion=1)], "cannot be judged"),
    ],
    ids=["pack-digest", "evaluation-date", "format-1"],
)
def test_a_plan_that_cannot_be_verified_is_not_reported_as_compliant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Any, says: str
) -> None:
    documents = {s: plan_document(s) for s in stacks()}
    edit(documents[stacks()[0]])
    status, error, markdown, _ = _audit(tmp_path, documents, capsys)
    assert status == exitcodes.PLAN_UNVERIFIED
    assert says in error
    assert f"{stacks()[0]}.json" in error
    assert "⚠ Plans that do not verify" in _top(markdown)
    assert "Verdict: action needed" in markdown


def test_an_unknown_plan_version_is_refused_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    documents = {s: plan_document(s) for s in stacks()}
    documents[stacks()[0]]["planVersion"] = 99
    plans = write_plans(tmp_path / "plans", documents)
    assert audit.main([str(plans), "--stdout"]) == exitcodes.CONFIG
    error = capsys.readouterr().err
    assert f"{stacks()[0]}.json: planVersion 99" in error


def test_an_honest_resource_change_recorded_with_its_findings_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The honest variant of the grant attack: the preview's own findings in the list."""
    documents = {s: plan_document(s) for s in stacks()}
    document = documents[stacks()[0]]
    _, resource = graph_application_access(document)
    resource["inputs"]["roleIds"] = [*resource["inputs"]["roleIds"], ROLE_MANAGEMENT_READ_WRITE]
    document["violations"] = rejudged(document)
    status, error, markdown, _ = _audit(tmp_path, documents, capsys)
    assert "⚠ Plans that do not verify" not in markdown
    # Not tampering: a mandatory violation, reported as such.
    assert status == exitcodes.POLICY_VIOLATED, error


def test_a_fresh_preview_verifies_when_audited_again(
    tmp_path: Path, project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `make preview` writes today (today's evaluation date) is judged to itself."""
    from partner_apps.preview import command as preview

    out = tmp_path / "out"
    assert preview.main(preview_args(project_copy, out)) == exitcodes.OK
    capsys.readouterr()
    audited = tmp_path / "audited"
    status = audit.main(
        [str(out / "preview"), "--out-dir", str(audited), "--checkout", str(project_copy)]
    )
    assert status == exitcodes.OK, capsys.readouterr().err
    data = json.loads((audited / "audit.json").read_text(encoding="utf-8"))
    assert [p["verified"] for p in data["plans"]] == [True] * len(stacks())
    # The preview's own audit (in memory, the plans it just wrote) lists the same digests.
    own = json.loads((out / "audit" / "audit.json").read_text(encoding="utf-8"))
    assert [p["sha256"] for p in own["plans"]] == [p["sha256"] for p in data["plans"]]


def test_a_tampered_plan_with_raw_secrets_leaks_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Raw values where "[secret]" belongs, and a grant added: flagged, and nothing printed."""
    canary = "CANARY-judge-secret-51d0"
    documents = {s: plan_document(s) for s in stacks()}
    for document in documents.values():
        for secret in resources(document, pf.VAULT_SECRET):
            secret["inputs"]["properties"]["value"] = canary
        for password in resources(document, pf.PASSWORD):
            password["outputs"]["value"] = canary
        _, access = graph_application_access(document)
        access["inputs"]["roleIds"] = [*access["inputs"]["roleIds"], ROLE_MANAGEMENT_READ_WRITE]
    plans = write_plans(tmp_path / "plans", documents)
    out = tmp_path / "audit"
    assert audit.main([str(plans), "--out-dir", str(out)]) == exitcodes.PLAN_UNVERIFIED
    captured = capsys.readouterr()
    assert canary not in captured.err + captured.out
    for name in ("audit.md", "audit.json", "audit.html"):
        assert canary not in (out / name).read_text(encoding="utf-8"), name
