"""The plan-vs-plan adapter: two sets of recorded plans (say the base branch's and the pull
request's) into the change model, stack by stack.

Plans are compared by URN (aliases followed); a replacement is inferred from the properties each
provider cannot update in place (``changes/properties.py``; a real preview's steps carry the
engine's own, ``changes/preview_steps.py``). Each side's plan is analysed once
(``analysis.views.analyze``), and ``changes/facts.py`` says what the differences mean.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from partner_apps.review.analysis.views import analyze
from partner_apps.review.changes.facts import id_names, meaning
from partner_apps.review.changes.model import (
    Code,
    PropertyChange,
    ResourceChange,
    StackDiff,
    Words,
)
from partner_apps.review.changes.policies import (
    config_order,
    identity_changes,
    policy_config_changes,
    silenced_findings,
)
from partner_apps.review.changes.properties import (
    alias_urns,
    effective,
    forces_replacement,
    is_ignored,
    property_changes,
    top_key,
)
from partner_apps.review.plan.document import (
    PASSWORD,
    SECRET,
    VAULT_SECRET,
    Catalog,
    Plan,
    PolicyInfo,
    PreviewFailure,
    Resource,
)


def diff_resources(base: Iterable[Resource], head: Iterable[Resource]) -> list[ResourceChange]:
    """Resource changes between two recorded plans of one stack, by URN (aliases followed)."""
    head = list(head)
    moved = alias_urns(head)
    old_by_urn = {moved.get(r.urn, r.urn): r for r in base}
    new_by_urn = {r.urn: r for r in head}
    changes: list[ResourceChange] = []
    for urn in sorted(set(old_by_urn) | set(new_by_urn)):
        old, new = old_by_urn.get(urn), new_by_urn.get(urn)
        if old is None and new is not None:
            changes.append(ResourceChange(urn, "create", None, new))
        elif new is None and old is not None:
            changes.append(ResourceChange(urn, "delete", old, None))
        elif old is not None and new is not None:
            change = _update(old, new)
            if change is not None:
                changes.append(change)
    return changes


def _update(old: Resource, new: Resource) -> ResourceChange | None:
    props = [
        PropertyChange(p.path, p.kind, p.old, p.new, forces_replacement(new.type, p.path))
        for p in property_changes(old.inputs, new.inputs)
        if not is_ignored(p.path, new.ignore_changes)
    ]
    if old.protect != new.protect:
        props.append(PropertyChange("(protect)", "update", old.protect, new.protect))
    if not props:
        return None
    reasons = tuple(sorted({top_key(p.path) for p in props if p.replace}))
    op = "replace" if reasons else "update"
    return ResourceChange(old.urn, op, old, new, tuple(props), reasons)


def renamed_keys(base: Plan | None, head: Plan | None) -> dict[str, str]:
    """Old app key -> new app key, for the head's apps whose previousKeys name a base app."""
    if base is None or head is None:
        return {}
    found = {}
    for key, block in sorted(head.apps.items()):
        for old in block.get("previousKeys") or ():
            if str(old) in base.apps and str(old) not in head.apps:
                found[str(old)] = key
    return found


def _empty_plan(stack: str, like: Plan) -> Plan:
    return Plan(
        project=like.project,
        stack=stack,
        region=like.region,
        apps={},
        resources=(),
        outputs={},
        violations=(),
    )


def _effective_head(base: Plan, head: Plan) -> Plan:
    old = base.by_urn()
    resources = tuple(effective(old[r.urn], r) if r.urn in old else r for r in head.resources)
    return dataclasses.replace(head, resources=resources)


def follow_replaced_passwords(
    changes: Sequence[ResourceChange], base: Plan, head: Plan
) -> list[ResourceChange]:
    """``changes`` plus the value update of each Key Vault secret that holds a replaced password.

    A plan records a secret's value as ``[secret]`` on both sides, so the secret itself shows no
    change; but its value is the password's output, so the engine updates it when the password
    is replaced. The secret is found through its recorded ``dependencies``.
    """
    replaced = {c.urn for c in changes if c.op == "replace" and c.type == PASSWORD}
    if not replaced:
        return list(changes)
    by_urn = {c.urn: c for c in changes}
    old = base.by_urn()
    value = PropertyChange("properties.value", "update", SECRET, SECRET)
    for resource in head.resources:
        if resource.type != VAULT_SECRET or not replaced & set(resource.dependencies):
            continue
        if is_ignored(value.path, resource.ignore_changes) or resource.urn not in old:
            continue
        existing = by_urn.get(resource.urn)
        if existing is None:
            by_urn[resource.urn] = ResourceChange(
                resource.urn, "update", old[resource.urn], resource, (value,)
            )
        elif existing.op in ("update", "replace") and all(
            p.path != value.path for p in existing.properties
        ):
            by_urn[resource.urn] = dataclasses.replace(
                existing, properties=(*existing.properties, value)
            )
    return [by_urn[urn] for urn in sorted(by_urn)]


def _listed_policies(plan: Plan | None) -> Mapping[str, PolicyInfo] | None:
    return {p.name: p for p in plan.policies} if plan and plan.policies is not None else None


def _moved_project(plan: Plan, project: str) -> Plan:
    """``plan`` with every URN in project ``project`` (a renamed Pulumi project)."""
    old = f"::{plan.project}::"
    new = f"::{project}::"

    def urn(value: str | None) -> str | None:
        return value.replace(old, new, 1) if value else value

    resources = tuple(
        dataclasses.replace(
            r,
            urn=urn(r.urn) or r.urn,
            parent=urn(r.parent),
            provider=urn(r.provider),
            dependencies=tuple(urn(d) or d for d in r.dependencies),
        )
        for r in plan.resources
    )
    violations = tuple(dataclasses.replace(v, urn=urn(v.urn) or v.urn) for v in plan.violations)
    return dataclasses.replace(plan, project=project, resources=resources, violations=violations)


def project_renamed(old: str, new: str) -> Words:
    """The note on a renamed Pulumi project (its name is part of every URN)."""
    return (
        "The Pulumi project name changes (",
        Code(old),
        " → ",
        Code(new),
        ", ",
        Code("name"),
        " in Pulumi.yaml): it is part of every URN, so on its own this change makes Pulumi look "
        "for another stack, and its resources would be created again. The changes below are "
        "compared as if the project had kept its name. To rename it safely, move each stack with ",
        Code(f"pulumi stack rename <org>/{new}/<stack>"),
        " (it rewrites the URNs in the state) before the next ",
        Code("pulumi up"),
        ".",
    )


def diff_stack(base: Plan | None, head: Plan | None, catalog: Catalog) -> StackDiff:
    """The diff of one stack between two recorded plans (either may be missing)."""
    like = head or base
    assert like is not None
    notes = []
    if base is not None and head is not None and base.project != head.project:
        notes.append(project_renamed(base.project, head.project))
        base = _moved_project(base, head.project)
    base_plan = base or _empty_plan(like.stack, like)
    head_plan = _effective_head(base_plan, head) if head else _empty_plan(like.stack, like)
    changes = diff_resources(base_plan.resources, head_plan.resources)
    changes = follow_replaced_passwords(changes, base_plan, head_plan)
    base_view = analyze(base_plan, catalog) if base else None
    head_view = analyze(head_plan, catalog) if head else None
    policy_changes = policy_config_changes(
        like.stack, _listed_policies(base), _listed_policies(head)
    )
    if base and head and base.pack and head.pack and base.pack != head.pack:
        policy_changes = sorted(
            policy_changes
            + silenced_findings(
                like.stack,
                base_plan.violations,
                head_plan.violations,
                {c.urn for c in changes},
            ),
            key=config_order,
        )
    return StackDiff(
        stack=like.stack,
        changes=changes,
        facts=meaning(base_view, head_view, changes, renamed_keys(base, head)),
        base_violations=base_plan.violations if base else (),
        head_violations=head_plan.violations if head else (),
        status="added" if base is None else "removed" if head is None else "changed",
        names=id_names([base_view, head_view]),
        base_policies=_listed_policies(base),
        head_policies=_listed_policies(head),
        notes=notes,
        identity=identity_changes(base.region if base else None, head.region) if head else [],
        policy_changes=policy_changes,
        base_pack=base.pack if base else None,
        head_pack=head.pack if head else None,
    )


def _failed_stack(stack: str, failure: PreviewFailure, base: PreviewFailure | None) -> StackDiff:
    """A stack whose head preview failed: nothing is compared (a missing plan is no deletion)."""
    return StackDiff(
        stack=stack,
        changes=[],
        facts=[],
        base_violations=(),
        head_violations=(),
        status="failed",
        failure=failure.error,
        base_failure=base.error if base else None,
    )


def diff_plans(
    base: Sequence[Plan],
    head: Sequence[Plan],
    catalog: Catalog,
    *,
    base_failures: Sequence[PreviewFailure] = (),
    head_failures: Sequence[PreviewFailure] = (),
) -> list[StackDiff]:
    """Stack by stack, in stack order.

    A stack whose head preview failed is reported as failed, never as deleted; one whose base
    preview failed is compared with nothing (every resource created), with a note saying why.
    """
    old = {p.stack: p for p in base}
    new = {p.stack: p for p in head}
    old_failed = {f.stack: f for f in base_failures}
    new_failed = {f.stack: f for f in head_failures}
    diffs = []
    for stack in sorted(set(old) | set(new) | set(old_failed) | set(new_failed)):
        if stack in new_failed:
            diffs.append(_failed_stack(stack, new_failed[stack], old_failed.get(stack)))
            continue
        if stack not in new and stack not in old:
            continue  # failed on the base side only, and gone on the head side
        stack_diff = diff_stack(old.get(stack), new.get(stack), catalog)
        if stack in old_failed:
            stack_diff.status = "base-failed"
            stack_diff.base_failure = old_failed[stack].error
        diffs.append(stack_diff)
    return diffs
