"""The audit judges each plan again; it does not copy its verdict (issue 27 item 3).

A plan is a file: anyone can edit it. The audit therefore re-evaluates the policy pack
in-process on the resources the plan records, as the offline preview did (``evaluate`` with the
region's ``policies/config/<stack>.json`` of the project and the plan's own ``evaluationDate``),
and compares:

* the violations found with the plan's ``violations`` list (a violation removed from the list,
  or a resource edited to grant more than the list says, disagrees);
* the policies' effective enforcement and properties with the plan's ``policies`` list;
* the pack's source digest with the plan's ``policyPack`` (a plan another pack made).

The plan records its resources after secret scrubbing (``"[secret]"``), and the preview's own
evaluation ran on those same records (``preview.command``: the recorder scrubs before the pack
sees them), so an honest plan is judged to exactly its own violations.

A plan that cannot be judged (format 1: no pack or evaluation date recorded; a policy config
that is missing or invalid) is flagged as well: nothing is reported as compliant that was not
judged. The judged violations replace the plan's own in the audit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partner_apps.review.plan.document import (
    PackRecord,
    Plan,
    Violation,
    as_str,
    canonical,
    resource_from_state,
    scrub_document,
    urn_name,
)
from partner_apps.review.plan.pack import current_pack


@dataclass(frozen=True)
class PlanCheck:
    """What the audit found when it judged one plan again."""

    stack: str
    source: str  # the plan file as given
    sha256: str  # of its bytes as read ("" when made in memory)
    origin: str  # "offline plan of the declared config", live state, or "" (not recorded)
    pack: PackRecord | None  # the pack the plan says judged it
    evaluation_date: str
    judged: bool  # the pack ran on the plan's resources
    problems: tuple[str, ...] = ()  # each disagreement, naming the file
    # The violations the pack found (None: not judged): what the audit reports.
    violations: tuple[Violation, ...] | None = None

    @property
    def verified(self) -> bool:
        return self.judged and not self.problems


def _key(entry: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (
        as_str(entry.get("policy")),
        as_str(entry.get("enforcementLevel")),
        as_str(entry.get("urn")),
        as_str(entry.get("message")).strip(),
    )


def _policy_config(project: Path, stack: str) -> tuple[dict[str, Any] | None, str]:
    relative = f"policies/config/{stack}.json"
    try:
        document = json.loads((project / relative).read_text(encoding="utf-8"))
    except OSError as error:
        return None, f"{relative}: cannot read ({error.strerror or error})"
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"{relative}: not valid JSON ({error})"
    if not isinstance(document, dict):
        return None, f"{relative}: not a JSON object"
    return document, ""


def _policy_problems(plan: Plan, settings: Mapping[str, Any], config_name: str) -> list[str]:
    """The plan's recorded policy list against the one the region's config gives."""
    if plan.policies is None:
        return ["records no policy list, so its policies' enforcement cannot be checked"]
    recorded = {p.name: p for p in plan.policies}
    problems = []
    for name in sorted(set(recorded) | set(settings)):
        mine, theirs = recorded.get(name), settings.get(name)
        if mine is None:
            problems.append(f"policy {name} of the pack is not in the plan's policy list")
        elif theirs is None:
            problems.append(f"policy {name} in the plan's policy list is not in the pack")
        elif mine.enforcement_level != theirs.enforcement.value:
            problems.append(
                f"policy {name}: the plan records enforcement {mine.enforcement_level}, "
                f"{config_name} and the pack give {theirs.enforcement.value}"
            )
        elif canonical(dict(mine.properties)) != canonical(dict(theirs.properties)):
            problems.append(
                f"policy {name}: the plan's recorded properties are not those {config_name} gives"
            )
    return problems


def _violation_problems(recorded: Sequence[Mapping[str, Any]], found: Sequence[Any]) -> list[str]:
    listed = Counter(_key(v) for v in recorded)
    judged = Counter(_key(v) for v in found)
    problems = [
        f"the pack finds a {level} violation of {policy} on {urn_name(urn)} ({urn}) that the "
        f"plan does not list: {message}"
        for (policy, level, urn, message) in sorted((judged - listed).elements())
    ]
    # The plan's own words are not repeated: a hand-edited message is not the pack's.
    problems += [
        f"the plan lists a {level} violation of {policy} on {urn_name(urn)} ({urn}) that the "
        "pack does not find"
        for (policy, level, urn, _message) in sorted((listed - judged).elements())
    ]
    return problems


def check_plan(plan: Plan, project: Path, pack: PackRecord | None = None) -> PlanCheck:
    """Judge ``plan`` again with the pack of this process and ``project``'s policy config."""
    from policies.partner_policies import (  # noqa: PLC0415 - the pack loads on use
        PolicyConfigError,
        evaluate,
        reconciled,
    )

    pack = pack or current_pack()
    base = PlanCheck(
        stack=plan.stack,
        source=plan.source,
        sha256=plan.sha256,
        origin=plan.origin,
        pack=plan.pack,
        evaluation_date=plan.evaluation_date,
        judged=False,
    )
    if plan.pack is None or not plan.evaluation_date or plan.recorded is None:
        return dataclasses.replace(
            base,
            problems=(
                "records no policy pack or evaluation date (plan format 1): it cannot be judged "
                "again; record it with this checkout's `make preview`",
            ),
        )
    problems: list[str] = []
    if plan.pack.digest != pack.digest or plan.pack.name != pack.name:
        problems.append(
            f"recorded by policy pack {plan.pack.short}, but this checkout's pack is "
            f"{pack.short}: judged with this checkout's"
        )
    try:
        when = dt.date.fromisoformat(plan.evaluation_date)
    except ValueError:
        return dataclasses.replace(
            base, problems=(f"evaluationDate {plan.evaluation_date!r} is not a date",)
        )
    config, error = _policy_config(project, plan.stack)
    if config is None:
        return dataclasses.replace(base, problems=(error,))
    config_name = f"policies/config/{plan.stack}.json"
    try:
        settings = reconciled(config)
        found = evaluate(plan.recorded.resources, config, settings=settings, evaluation_date=when)
    except PolicyConfigError as failure:
        return dataclasses.replace(base, problems=(f"{config_name}: {failure}",))
    problems += _policy_problems(plan, settings, config_name)
    problems += _violation_problems(plan.recorded.violations, found)
    # A hand-edited plan may hold a raw secret where "[secret]" belongs; the pack's messages on
    # such a resource must not print it: the same second line of defence as the plan reader's.
    secrets: set[str] = set()
    for entry in plan.recorded.resources:
        resource_from_state(entry, secrets)
    problems = [scrub_document(problem, secrets) for problem in problems]
    violations = tuple(
        sorted(
            (
                Violation(
                    policy=as_str(v.get("policy")),
                    severity=as_str(v.get("severity")) or "unspecified",
                    enforcement_level=as_str(v.get("enforcementLevel")) or "advisory",
                    urn=as_str(v.get("urn")),
                    message=scrub_document(as_str(v.get("message")).strip(), secrets),
                )
                for v in found
            ),
            key=Violation.sort_key,
        )
    )
    return dataclasses.replace(base, judged=True, problems=tuple(problems), violations=violations)


def judged_plan(plan: Plan, check: PlanCheck) -> Plan:
    """``plan`` with the violations the pack found in place of its own list, when it was
    judged and they disagree (the audit reports what was judged, never the plan's word)."""
    if check.violations is None or not check.problems:
        return plan
    return dataclasses.replace(plan, violations=check.violations)


def recorded_by_preview(plan: Plan) -> PlanCheck:
    """The check of a plan the offline preview has just recorded in this process: its
    violations are the pack's own (the preview evaluated them a moment ago), so judging them
    again would only repeat the preview's work."""
    return PlanCheck(
        stack=plan.stack,
        source=plan.source,
        sha256=plan.sha256,
        origin=plan.origin,
        pack=plan.pack,
        evaluation_date=plan.evaluation_date,
        judged=True,
        violations=plan.violations,
    )
