"""Offline preview of every region stack: what `make preview` runs.

For each ``Pulumi.<stack>.yaml`` it runs the real program in-process under Pulumi mocks (no CLI,
no cloud), records every provider and resource it registers, evaluates the CrossGuard policy pack
on the recording with the region's policy config (``policies/config/<stack>.json``), and writes
``build/preview/<stack>.json`` (the plan) and ``build/preview/<stack>.md`` (for reviewers).

The plan also lists every policy with the enforcement the region's policy config gives it (a
policy the region disables is listed as ``disabled``).

When a stack's config or policy config is invalid, nothing is registered for it: its old
``<stack>.json`` and ``<stack>.md`` are deleted and ``<stack>.error.json``
(``{"project", "stack", "error"}``) is written instead, so the diff and the audit
report "preview failed: <message>" for that stack rather than a stale plan or a deleted stack.
A successful preview deletes the stack's old ``<stack>.error.json``.

Regions are isolated: a broken stack file fails its own stack, and the others are still
previewed (``components/stackfiles.py`` says which of two files sharing a tenant is refused).
A stack named on the command line that has no ``Pulumi.<stack>.yaml`` is refused before
anything is written (exit 3, naming the stack files present). Each run leaves the output folder
with the stacks present only: a plan or failure left there by a stack that has no stack file
(another branch's region, a removed region) is deleted, with a line saying so, since
the diff and the audit read every plan in the folder and would show it as a region.

Exit status (the constants of ``partner_apps/exitcodes.py``): 0 when every stack is valid and
no mandatory policy is violated; 40 (``POLICY_VIOLATED``) when a mandatory policy is violated
(named in the output); 3 (``CONFIG``) when a stack's config is invalid (nothing is registered for
that stack; 2 stays argparse's "bad command line") or a stack named has no stack file (nothing
previewed or written); 124 (``STALLED``, as GNU ``timeout``) when a stack's program registered
nothing new for ``--stall-timeout`` seconds and the watchdog stopped it (the message names the
last resource registered and the pending ones). The other stacks are still previewed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, TextIO

from components.config import (
    ConfigError,
    Problem,
)
from components.stackfiles import RegionFiles, stack_files, stack_name
from partner_apps import exitcodes, project_dir
from partner_apps.preview.build import build_plan, effective_policies, run_stack
from partner_apps.preview.recorder import (
    DEFAULT_STALL_TIMEOUT,
    ProgramStalledError,
    collector_tuned,
    project_name,
)
from partner_apps.review import audit
from partner_apps.review.analysis.views import StackView, analyze, group_by_message
from partner_apps.review.plan.document import (
    ERROR_SUFFIX,
    PlanError,
    PreviewFailure,
    dumps,
    error_document,
    failure_from_document,
    is_error_document,
    is_plan_document,
    load_catalog,
    plan_from_document,
    read_json,
)
from partner_apps.review.plan.pack import current_pack
from partner_apps.review.plan.vocabulary import is_provider, short_name
from partner_apps.review.reports import stack as render
from partner_apps.review.reports.model import to_html, to_markdown
from policies.partner_policies import PolicyConfigError, evaluate, reconciled, today

EXIT_OK, EXIT_POLICY, EXIT_CONFIG, EXIT_STALLED = (
    exitcodes.OK,
    exitcodes.POLICY_VIOLATED,
    exitcodes.CONFIG,
    exitcodes.STALLED,
)


def policy_config(project_dir: Path, stack: str) -> dict[str, Any]:
    """The region's policy config file, as `--policy-pack-config` would pass it to the pack."""
    relative = f"policies/config/{stack}.json"
    path = project_dir / relative
    if not path.is_file():
        raise ConfigError(
            [Problem(relative, "(file)", "missing: every region stack needs its policy config")]
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConfigError(
            [Problem(relative, f"line {error.lineno}", f"not valid JSON: {error.msg}")]
        ) from None
    if not isinstance(document, dict):
        raise ConfigError([Problem(relative, "(file)", "must be a JSON object")])
    return document


def preview_stack(
    project_dir: Path,
    stack: str,
    out_dir: Path,
    stream: TextIO,
    run_options: Mapping[str, Any] | None = None,
    *,
    failures: list[PreviewFailure] | None = None,
) -> tuple[int, StackView | None]:
    """Preview one stack; write its plan, Markdown and HTML. Returns (exit status, the analysed
    plan, or None when the preview failed).

    ``run_options`` go to the recording harness (tests plant canary secrets through them). A
    failed preview's record (``<stack>.error.json``) joins ``failures`` when given, so the audit
    gets it without reading the file back.
    """
    started = time.perf_counter()
    failed = failures if failures is not None else []
    try:
        pack_config = policy_config(project_dir, stack)
        # The stack file is read as the CLI reads it; the program validates it (once, the only
        # validation) and refuses bad config before it registers anything.
        run = run_stack(project_dir, stack, **dict(run_options or {}))
    except ConfigError as error:
        failed.append(
            _config_failure(project_dir, stack, out_dir, str(error), registered=0, stream=stream)
        )
        return EXIT_CONFIG, None
    except ProgramStalledError as error:
        print(f"✗ {stack}: {error}", file=stream)
        failed.append(record_failure(project_dir, stack, out_dir, str(error), stream))
        return EXIT_STALLED, None
    if run.error is not None or run.settings is None:
        message = run.error or "the program returned no settings"
        registered = len(run.resources)
        failed.append(
            _config_failure(
                project_dir, stack, out_dir, message, registered=registered, stream=stream
            )
        )
        return EXIT_CONFIG, None
    settings = run.settings
    try:
        # Reconciled once: the same settings judge the resources and are recorded in the plan.
        reconciled_settings = reconciled(pack_config)
        # One date for the evaluation and the plan's record of it: the audit judges again
        # on the recorded date and must find the same violations.
        evaluation_date = today()
        violations = evaluate(
            run.resources,
            pack_config,
            settings=reconciled_settings,
            evaluation_date=evaluation_date,
        )
        policies = effective_policies(reconciled_settings)
    except PolicyConfigError as error:
        message = f"policies/config/{stack}.json: {error}"
        print(f"✗ {stack}: {message}", file=stream)
        failed.append(record_failure(project_dir, stack, out_dir, message, stream))
        return EXIT_CONFIG, None
    document = build_plan(
        run,
        settings,
        violations,
        policies,
        pack=current_pack(),
        evaluation_date=evaluation_date,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{stack}.json"
    written = dumps(document).encode("utf-8")
    target.write_bytes(written)
    # Read once, as every reader of the file would (secrets scrubbed), and analysed once: the
    # stack report and the audit both take this view (with the digest of the bytes written).
    plan = plan_from_document(
        document, source=str(target), sha256=hashlib.sha256(written).hexdigest()
    )
    view = analyze(plan, load_catalog())
    report = render.stack_report(view)  # one report model, two renderings
    (out_dir / f"{stack}.md").write_text(to_markdown(report), encoding="utf-8")
    (out_dir / f"{stack}.html").write_text(to_html(report), encoding="utf-8")
    error_path(out_dir, stack).unlink(missing_ok=True)

    elapsed = time.perf_counter() - started
    _summary(document, elapsed, out_dir, stream)
    mandatory = [v for v in document["violations"] if v["enforcementLevel"] == "mandatory"]
    return (EXIT_POLICY if mandatory else EXIT_OK), view


def _config_failure(
    project_dir: Path, stack: str, out_dir: Path, message: str, *, registered: int, stream: TextIO
) -> PreviewFailure:
    """Report a stack whose config was refused; its plan is replaced by the error."""
    print(f"✗ {stack}: {message}", file=stream)
    what = f"{registered} resources registered" if registered else "nothing registered"
    print(f"  {stack}: {what}", file=stream)
    return record_failure(project_dir, stack, out_dir, message, stream)


def error_path(out_dir: Path, stack: str) -> Path:
    """Where a failed preview of ``stack`` is recorded."""
    return out_dir / f"{stack}{ERROR_SUFFIX}"


def record_failure(
    project_dir: Path, stack: str, out_dir: Path, message: str, stream: TextIO
) -> PreviewFailure:
    """Replace the stack's plan and Markdown by ``<stack>.error.json`` naming the problem;
    returns the failure as recorded.

    A stale plan left behind would be read as the stack's plan (a local diff or audit), and no
    file at all would read as a deleted stack (every resource "deleted" in a pull request diff).
    The message is the config error the terminal shows: keys and rules, never a secret value.
    """
    try:
        project = project_name(project_dir)
    except (ConfigError, OSError, KeyError, TypeError):
        project = ""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (out_dir / f"{stack}.{ext}" for ext in ("json", "md", "html")):
        stale.unlink(missing_ok=True)
    target = error_path(out_dir, stack)
    document = error_document(project, stack, message)
    target.write_text(dumps(document), encoding="utf-8")
    print(f"    wrote {target} (no plan for {stack})", file=stream)
    return failure_from_document(document, source=str(target))


def remove_stale(out_dir: Path, present: Collection[str], stream: TextIO) -> list[Path]:
    """Delete from ``out_dir`` every plan and failure that is not a present stack's own.

    The diff and the audit read every plan in the folder: a ``uk.json`` left by
    another branch's region, or by a region since removed, would show up as a whole region of
    this one. Only documents a preview writes are touched (a plan, or a ``.error.json``), each
    with the Markdown and HTML beside it; a stack's own ``<stack>.json`` and
    ``<stack>.error.json`` stay for its own preview to replace. Returns what was deleted.
    """
    if not out_dir.is_dir():
        return []
    removed: list[Path] = []
    for path in sorted(out_dir.glob("*.json")):
        try:
            document = read_json(path)
        except PlanError:
            continue  # not a preview's output: not ours to delete
        if is_plan_document(document):
            base = path.name.removesuffix(".json")
        elif is_error_document(document):
            base = path.name.removesuffix(ERROR_SUFFIX)
        else:
            continue
        stack = document.get("stack")
        if stack == base and stack in present:
            continue
        siblings = [path, *(out_dir / f"{base}.{ext}" for ext in ("md", "html"))]
        gone = [sibling for sibling in siblings if sibling.is_file()]
        for sibling in gone:
            sibling.unlink()
        removed.extend(gone)
        reason = (
            f"stack {stack!r} has no Pulumi.{stack}.yaml here (another branch's or a removed "
            "region)"
            if stack not in present
            else f"the preview of stack {stack!r} is {stack}.json, not {path.name}"
        )
        names = ", ".join([str(path), *(sibling.name for sibling in gone[1:])])
        print(f"removed {names}: {reason}", file=stream)
    return removed


def _summary(plan: dict[str, Any], elapsed: float, out_dir: Path, stream: TextIO) -> None:
    stack = plan["stack"]
    region = plan["region"]
    resources = plan["resources"]
    providers = [r for r in resources if is_provider(str(r["type"]))]
    managed = [r for r in resources if r["custom"] and r not in providers]
    levels = Counter(str(v["enforcementLevel"]) for v in plan["violations"])
    mark = "✗" if levels.get("mandatory") else "✓"
    print(
        f"{mark} {stack}: tenant {region['tenantId']}, {region['location']} — "
        f"{len(providers)} providers, {len(managed)} resources, "
        f"{len(plan['apps'])} apps ({elapsed:.1f}s)",
        file=stream,
    )
    for provider in providers:
        inputs = provider["inputs"]
        target = ", ".join(
            f"{key}={inputs[key]}"
            for key in ("tenantId", "subscriptionId", "location")
            if key in inputs
        )
        print(f"    provider {provider['name']} ({provider['type']}): {target}", file=stream)
    by_type = Counter(str(r["type"]) for r in managed)
    for typ in sorted(by_type):
        print(f"    {by_type[typ]:3d} × {typ}", file=stream)
    # The same finding on several resources is printed once, with its resources.
    findings = (
        (
            (str(v["enforcementLevel"]), str(v["policy"])),
            short_name(str(v["urn"])),
            str(v["message"]),
        )
        for v in plan["violations"]
        if v["enforcementLevel"] in ("mandatory", "advisory")
    )
    for (level, policy), message, names in group_by_message(findings):
        print(f"    {level}: {policy} — {', '.join(names)}: {message}", file=stream)
    print(f"    wrote {out_dir / (stack + '.json')}, {stack}.md and {stack}.html", file=stream)


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command line; ``prog``: how the caller names it in usage lines
    (``partner-apps <command>``)."""
    parser = argparse.ArgumentParser(
        prog=prog or "partner-apps preview",
        description=(
            "Run every region stack's program offline (Pulumi SDK mocks), evaluate the policy "
            "pack, and write build/preview/<stack>.json and .md."
        ),
    )
    parser.add_argument(
        "stacks", nargs="*", help="stacks to preview (default: every Pulumi.<stack>.yaml)"
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=None,
        help="the project (default: the current directory if it holds Pulumi.yaml, else this "
        "checkout)",
    )
    parser.add_argument(
        "--out", type=Path, help="output directory (default: <project>/build/preview)"
    )
    parser.add_argument(
        "--audit-dir",
        type=Path,
        help="where the cross-region audit report goes (default: <project>/build/audit)",
    )
    parser.add_argument(
        "--stall-timeout",
        type=_seconds,
        default=DEFAULT_STALL_TIMEOUT,
        metavar="SECONDS",
        help="stop a stack's program that registers nothing new for this long, exit 124 "
        f"(default: {DEFAULT_STALL_TIMEOUT:g})",
    )
    return parser


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """The command; ``prog``: how the caller names it in usage lines."""
    return run(build_parser(prog).parse_args(argv))


def run(options: argparse.Namespace) -> int:
    """The command with its arguments parsed (``build_parser``)."""
    project: Path = (options.project_dir or project_dir()).resolve()
    out: Path = options.out or project / "build" / "preview"
    audit_dir: Path = options.audit_dir or project / "build" / "audit"
    present = [stack_name(path) for path in stack_files(project)]
    stacks = list(dict.fromkeys(options.stacks)) or present
    if not stacks:
        print(f"no Pulumi.<stack>.yaml in {project}", file=sys.stderr)
        return EXIT_CONFIG
    unknown = [stack for stack in stacks if stack not in present]
    if unknown:
        # Checked before anything is written: the policy config is read first per stack, and
        # an unknown stack used to be blamed on it and leave a <stack>.error.json behind.
        files = ", ".join(f"Pulumi.{stack}.yaml" for stack in present) or "none"
        for stack in unknown:
            print(
                f"Pulumi.{stack}.yaml: (file): no such stack file, so no stack {stack!r} to "
                f"preview; the stack files present: {files} (in {project})",
                file=sys.stderr,
            )
        print("nothing previewed, nothing written", file=sys.stderr)
        return EXIT_CONFIG
    remove_stale(out, present, sys.stdout)
    # What other stack files' problems mean for each stack: printed apart, never its failure.
    region_files = RegionFiles.read(project)
    status = EXIT_OK
    views: list[StackView] = []
    failures: list[PreviewFailure] = []
    # The policies, plans and reports allocate as many short-lived objects per resource as the
    # program run does: the same collector setting for them (docs/benchmark.md).
    with collector_tuned():
        for stack in stacks:
            print(f"… previewing stack {stack}", file=sys.stderr, flush=True)
            code, view = preview_stack(
                project,
                stack,
                out,
                sys.stdout,
                run_options={"stall_timeout": options.stall_timeout},
                failures=failures,
            )
            for note in region_files.view(stack).elsewhere:
                print(f"    {stack}: note: {note}", file=sys.stdout)
            status = max(status, code)
            if view is not None:
                views.append(view)
        if views or failures:
            # One report across every region for auditors, from the plans (and failures) just
            # recorded: handed over in memory, not read back from the files.
            audit.audit(views, failures, out_dir=audit_dir)
    if status == EXIT_STALLED:
        print("a stack's program stalled and was stopped: see above", file=sys.stderr)
    elif status == EXIT_POLICY:
        print("mandatory policy violations: see above", file=sys.stderr)
    elif status == EXIT_CONFIG:
        print("invalid configuration: see above", file=sys.stderr)
    return status


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds above 0")
    return value


def exit_now(status: int) -> None:
    """Exit with ``status`` without tearing the heap down (about a third of a warm preview).

    Every file the preview writes is written and closed by ``Path.write_text`` before this runs;
    only the standard streams are still open, and they are flushed first. Nothing else is left to
    finalise: the SDK's mock monitor holds no open files or connections.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
