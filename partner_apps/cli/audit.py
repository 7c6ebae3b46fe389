"""``partner-apps audit``: one audit report across every region stack."""

from __future__ import annotations

import argparse

from .base import Commands, Context, Noun, module_command

NAME = "audit"


def add_to(commands: Commands) -> argparse.ArgumentParser:
    # The audit and its reports load only when this command is asked for.
    from partner_apps.review import audit  # noqa: PLC0415

    return module_command(commands, NAME, NOUN.summary, audit.build_parser)


def run(args: argparse.Namespace, context: Context) -> int:
    from partner_apps.review import audit  # noqa: PLC0415 - see add_to

    return audit.run(args)


NOUN = Noun(name=NAME, summary="one audit report across all region stacks", add_to=add_to, run=run)
