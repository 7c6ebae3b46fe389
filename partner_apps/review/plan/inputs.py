"""The plan files a command was given: read once, with the errors a command prints."""

from __future__ import annotations

import sys
from pathlib import Path

from partner_apps import project_dir
from partner_apps.review.plan.document import Plan, PlanError, PreviewFailure, load_results


def default_plans() -> Path:
    """Where ``make preview`` writes the plans of the project a command works on (an installed
    wheel has no checkout around it: ``partner_apps.project_dir``)."""
    return project_dir() / "build" / "preview"


def results_for_cli(
    arguments: list[Path] | None,
) -> tuple[list[Plan], list[PreviewFailure]] | None:
    """The plans and failed previews a command was given (default: build/preview).

    None after printing an error (unreadable input, or neither a plan nor a failed preview).
    """
    default = default_plans()
    paths: list[Path] = arguments or [default]
    try:
        plans, failures = load_results(paths) if arguments or default.is_dir() else ([], [])
    except PlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    if not plans and not failures:
        print(
            f"error: no plan found in {', '.join(display_path(p) for p in paths)} "
            "(run `make preview` first)",
            file=sys.stderr,
        )
        return None
    return plans, failures


def plans_for_cli(arguments: list[Path] | None) -> list[Plan] | None:
    """The plans a command was given (default: build/preview); None after printing an error."""
    results = results_for_cli(arguments)
    if results is None:
        return None
    plans, failures = results
    for failure in failures:
        print(f"{failure.stack}: {failure.summary}", file=sys.stderr)
    if not plans:
        print("error: no plan to read: every stack's preview failed", file=sys.stderr)
        return None
    return plans


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
