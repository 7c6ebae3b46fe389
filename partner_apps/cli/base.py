"""What the nouns of ``partner-apps`` share: how a noun joins the tree, how a command's help is
laid out, the parsed-value checks, and the runtime the sam and customers commands reach the world
through."""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeAlias, TypeVar

from partner_apps import exitcodes, project_dir

if TYPE_CHECKING:  # the Microsoft clients behind flows are imported when a command runs
    from partner_apps.sam import flows

# The verbs of a noun, or the nouns of partner-apps (argparse names its type only privately).
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
# Builds what the sam and customers commands reach the world through (tests and the sandbox pass
# their own).
RuntimeFactory: TypeAlias = "Callable[[argparse.Namespace, TextIO, TextIO], flows.Runtime]"

# --help is laid out the same on every terminal (and in the tests): descriptions wrapped here,
# the exit-code table kept as written.
HELP_WIDTH = 78
FORMATTER = argparse.RawDescriptionHelpFormatter


@dataclass(frozen=True)
class Context:
    """Where a command writes, and how it reaches the world."""

    out: TextIO
    err: TextIO
    runtime_factory: RuntimeFactory


@dataclass(frozen=True)
class Noun:
    """One subcommand of ``partner-apps``: ``add_to`` declares its arguments (and verbs) in the
    tree, ``run`` runs it with them parsed. Both import what the command needs only when called,
    so ``partner-apps route`` does not load the Pulumi SDK nor ``preview`` the Microsoft
    clients."""

    name: str
    summary: str
    add_to: Callable[[Commands], argparse.ArgumentParser]
    run: Callable[[argparse.Namespace, Context], int]


def describe(text: str) -> str:
    """``text`` wrapped paragraph by paragraph (paragraphs are separated by a blank line)."""
    paragraphs = [" ".join(part.split()) for part in text.split("\n\n")]
    return "\n\n".join(textwrap.fill(part, HELP_WIDTH) for part in paragraphs if part)


def add_command(
    commands: Commands,
    name: str,
    *,
    under: str = "",
    summary: str,
    description: str,
    parents: tuple[argparse.ArgumentParser, ...] = (),
) -> argparse.ArgumentParser:
    """A subcommand (or verb) ``name`` whose --help shows ``description`` and the exit codes of
    its own command path only (``under`` and ``name``: ``sam status``). With ``parents``, the
    arguments of a command module's own ``build_parser`` are declared in the tree as they are
    (its -h included)."""
    return commands.add_parser(
        name,
        help=summary,
        description=describe(description),
        epilog=exitcodes.epilog(f"{under} {name}".strip()),
        formatter_class=FORMATTER,
        parents=list(parents),
        add_help=not parents,
    )


def module_command(
    commands: Commands,
    name: str,
    summary: str,
    build_parser: Callable[[str], argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """The subcommand of a command module that has ``build_parser(prog)`` and ``run(namespace)``
    (preview, diff, audit, preview-json): its arguments, description and usage as the module
    declares them, its exit codes from the one table."""
    own = build_parser(f"partner-apps {name}")
    return add_command(
        commands, name, summary=summary, description=own.description or summary, parents=(own,)
    )


def project_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=project_dir(),
        help="the project: its stack files, apps.yaml, customers/ (default: the current "
        "directory if it holds Pulumi.yaml, else the checkout partner-apps runs from)",
    )


_Number = TypeVar("_Number", int, float)


def _checked(
    text: str, convert: Callable[[str], _Number], ok: Callable[[_Number], bool], rule: str
) -> _Number:
    """``text`` as a finite number that satisfies ``ok``; else argparse's usage error (exit 2),
    before any file is read or request made."""
    try:
        value = convert(text)
    except ValueError:
        kind = "whole number" if convert is int else "number"
        raise argparse.ArgumentTypeError(f"{text!r} is not a {kind}") from None
    if not (ok(value) and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text} {rule}")
    return value


def count(text: str) -> int:
    """Workers, attempts: at least 1 (0 attempts would verify nothing and say so nowhere)."""
    return _checked(text, int, lambda value: value >= 1, "must be at least 1")


def days(text: str) -> int:
    return _checked(text, int, lambda value: value >= 0, "must be 0 or more")


def age_days(text: str) -> float:
    """A plan's age limit in days: above 0 (0 would refuse every plan)."""
    return _checked(text, float, lambda value: value > 0, "must be a number of days above 0")


def seconds(text: str) -> float:
    """A request's timeout: above 0 (urllib3 refuses 0 and less with a ValueError)."""
    return _checked(text, float, lambda value: value > 0, "must be a number of seconds above 0")


def minutes(text: str) -> float:
    return _checked(text, float, lambda value: value >= 0, "must be a number of minutes, 0 or more")


def default_runtime(args: argparse.Namespace, out: TextIO, err: TextIO) -> flows.Runtime:
    """The real world: the stack outputs of the Pulumi CLI (or --outputs), Microsoft's cloud,
    prompts and progress only at a terminal."""
    from partner_apps.sam import flows  # noqa: PLC0415 - MSAL and Azure clients: when run
    from partner_apps.sam.target import (  # noqa: PLC0415 - the same
        Endpoints,
        file_outputs,
        pulumi_outputs,
    )

    project: Path = args.project_dir.resolve()
    outputs = file_outputs(args.outputs) if args.outputs else pulumi_outputs(project)
    interactive = sys.stdin.isatty() and err.isatty()

    def confirm(question: str) -> bool:
        print(f"{question} [y/N] ", end="", file=err, flush=True)
        return sys.stdin.readline().strip().lower() in ("y", "yes")

    runtime = flows.Runtime(
        project_dir=project,
        outputs=outputs,
        endpoints=Endpoints.from_env(),
        out=out,
        err=err,
        confirm=confirm if interactive else None,
        progress=err.isatty(),
    )
    if getattr(args, "no_browser", False):
        runtime.open_browser = lambda url: None
    return runtime
