"""The scheduled customers workflow: its matrix is the stack files', and it runs plan → apply →
verify per region, posting the plan and the verify matrix to the job summary."""

from __future__ import annotations

from tests.conftest import ROOT, load_yaml
from tests.test_workflows import _matrix_script

WORKFLOW = ROOT / ".github" / "workflows" / "customers.yml"
PULL_REQUEST = ROOT / ".github" / "workflows" / "pull-request.yml"


def test_the_matrix_is_derived_from_the_stack_files_like_the_pull_request_workflow() -> None:
    assert _matrix_script(WORKFLOW) == _matrix_script(PULL_REQUEST)
    job = load_yaml(WORKFLOW)["jobs"]["customers"]
    assert job["strategy"]["matrix"] == "${{ fromJSON(needs.stacks.outputs.matrix) }}"
    assert job["concurrency"] == "customers-${{ matrix.stack }}"


def test_plan_then_apply_then_verify_posting_the_plan_and_the_matrix() -> None:
    steps = load_yaml(WORKFLOW)["jobs"]["customers"]["steps"]
    runs = [str(step.get("run", "")) for step in steps]
    order = [
        next(i for i, run in enumerate(runs) if f"partner-apps customers {verb}" in run)
        for verb in ("plan", "apply", "verify")
    ]
    assert order == sorted(order)
    plan, apply, verify = (runs[i] for i in order)
    assert '"$REPORTS/$STACK-plan.md" >> "$GITHUB_STEP_SUMMARY"' in plan
    assert '--plan "$REPORTS/$STACK-plan.json"' in apply
    assert '"$REPORTS/$STACK.md" >> "$GITHUB_STEP_SUMMARY"' in verify
    assert all("--audit-log" in run for run in (apply, verify))


def test_each_region_writes_its_routing_part_and_one_job_merges_the_parts() -> None:
    jobs = load_yaml(WORKFLOW)["jobs"]
    region_runs = " ".join(str(step.get("run", "")) for step in jobs["customers"]["steps"])
    # Written in the region's own job, with its own identity (no other region's vault).
    assert 'partner-apps customers routing-part --stack "$STACK"' in region_runs
    assert "export-routing" not in region_runs
    merge = jobs["routing"]
    assert merge["needs"] == "customers"
    assert "id-token" not in merge.get("permissions", {})  # files only: no identity at all
    steps = merge["steps"]
    runs = " ".join(str(step.get("run", "")) for step in steps)
    assert "partner-apps customers export-routing --parts routing-parts" in runs
    uses = [str(step.get("uses", "")) for step in steps]
    assert any(u.startswith("actions/download-artifact@") for u in uses)
    published = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert published
    assert published[-1]["with"]["name"] == "routing-table"
