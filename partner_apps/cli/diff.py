"""``partner-apps diff``: two sets of recorded plans compared by region, for reviewers."""

from __future__ import annotations

import argparse

from .base import Commands, Context, Noun, module_command

NAME = "diff"


def add_to(commands: Commands) -> argparse.ArgumentParser:
    # The diff and its reports load only when this command is asked for.
    from partner_apps.review.commands import diff  # noqa: PLC0415

    return module_command(commands, NAME, NOUN.summary, diff.build_parser)


def run(args: argparse.Namespace, context: Context) -> int:
    from partner_apps.review.commands import diff  # noqa: PLC0415 - see add_to

    return diff.run(args)


NOUN = Noun(name=NAME, summary="compare two sets of plans by region", add_to=add_to, run=run)
