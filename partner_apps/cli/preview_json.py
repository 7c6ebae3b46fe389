"""``partner-apps preview-json``: ``pulumi preview --json`` rendered for reviewers."""

from __future__ import annotations

import argparse

from .base import Commands, Context, Noun, module_command

NAME = "preview-json"


def add_to(commands: Commands) -> argparse.ArgumentParser:
    # The change model and its reports load only when this command is asked for.
    from partner_apps.review.commands import preview_json  # noqa: PLC0415

    return module_command(commands, NAME, NOUN.summary, preview_json.build_parser)


def run(args: argparse.Namespace, context: Context) -> int:
    from partner_apps.review.commands import preview_json  # noqa: PLC0415 - see add_to

    return preview_json.run(args)


NOUN = Noun(
    name=NAME,
    summary="render `pulumi preview --json` for reviewers",
    add_to=add_to,
    run=run,
)
