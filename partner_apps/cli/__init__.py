"""``partner-apps``: one command line, nouns then verbs, ``--help`` on every level.

One module per noun (``preview``, ``diff``, ``audit``, ``preview-json``, ``demo``, ``sam``,
``customers``, ``route``); each declares its arguments in the one argparse tree and runs with
them parsed. The review commands declare theirs in their own modules (``build_parser``), so
``python -m partner_apps.preview`` (``make preview``) runs the same command without this package.
Exit codes come from the one table, ``partner_apps.exitcodes``: each command's ``--help`` lists
its own.

argparse (the standard library) rather than click or typer: the command modules already use it,
and the command line adds no dependency to the hash-pinned set that the Pulumi program's
virtualenv shares.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Final, TextIO

from partner_apps import __version__, exitcodes

from . import audit, customers, demo, diff, preview, preview_json, route, sam
from .base import FORMATTER, Context, Noun, RuntimeFactory, default_runtime

NOUNS: Final[tuple[Noun, ...]] = (
    preview.NOUN,
    diff.NOUN,
    audit.NOUN,
    preview_json.NOUN,
    demo.NOUN,
    sam.NOUN,
    customers.NOUN,
    route.NOUN,
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The tree of every command. With ``command``, only that noun declares its arguments and
    verbs (the others are listed by name and summary, as the top-level --help shows them): a
    run loads the modules of the command it runs, not the Pulumi SDK for ``sam status``."""
    parser = argparse.ArgumentParser(
        prog="partner-apps",
        description="CSP partner-managed Entra ID apps, one region stack at a time.",
        epilog=exitcodes.epilog(),
        formatter_class=FORMATTER,
    )
    parser.add_argument("--version", action="version", version=f"partner-apps {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for noun in NOUNS:
        if command is None or noun.name == command:
            noun.add_to(commands)
        else:
            commands.add_parser(noun.name, help=noun.summary)
    return parser


def _command_named(arguments: Sequence[str]) -> str:
    """The noun the command line names (its first word that is not an option), or ``""`` for
    the top level alone (``--help``, ``--version``)."""
    return next((word for word in arguments if not word.startswith("-")), "")


def _innermost(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> argparse.ArgumentParser:
    """The parser of the command (and verb) ``args`` was parsed for."""
    for dest in ("command", "verb"):
        choices = next(
            (
                action.choices
                for action in parser._actions
                if isinstance(action, argparse._SubParsersAction) and action.dest == dest
            ),
            None,
        )
        if choices is None or getattr(args, dest, None) not in choices:
            break
        parser = choices[getattr(args, dest)]
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    runtime_factory: RuntimeFactory = default_runtime,
) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_named(arguments))
    try:
        args, unknown = parser.parse_known_args(arguments)
        if unknown:
            # Refused by the command they were given to, whose usage then heads the error.
            _innermost(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as stop:
        return int(stop.code or 0) if isinstance(stop.code, int) else exitcodes.USAGE
    context = Context(
        out=sys.stdout if out is None else out,
        err=sys.stderr if err is None else err,
        runtime_factory=runtime_factory,
    )
    (noun,) = [noun for noun in NOUNS if noun.name == args.command]
    return noun.run(args, context)
