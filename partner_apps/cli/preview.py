"""``partner-apps preview``: the offline preview of every region stack (``make preview`` runs
the same command as ``python -m partner_apps.preview``, without the rest of the command line)."""

from __future__ import annotations

import argparse

from .base import Commands, Context, Noun, module_command

NAME = "preview"


def add_to(commands: Commands) -> argparse.ArgumentParser:
    # The recorder loads the Pulumi SDK and the program: only when this command is asked for.
    from partner_apps.preview import command  # noqa: PLC0415

    return module_command(commands, NAME, NOUN.summary, command.build_parser)


def run(args: argparse.Namespace, context: Context) -> int:
    from partner_apps.preview import command  # noqa: PLC0415 - see add_to

    return command.run(args)


NOUN = Noun(
    name=NAME,
    summary="offline preview of every region stack (make preview)",
    add_to=add_to,
    run=run,
)
