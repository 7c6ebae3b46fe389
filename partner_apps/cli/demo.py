"""``partner-apps demo`` (``make demo``): the customer side against a sandbox of Microsoft's
cloud."""

from __future__ import annotations

import argparse

from partner_apps.sandbox import demo

from .base import Commands, Context, Noun, add_command

NAME = "demo"


def add_to(commands: Commands) -> argparse.ArgumentParser:
    parser = add_command(commands, NAME, summary=NOUN.summary, description=demo.DESCRIPTION)
    demo.add_arguments(parser)
    return parser


def run(args: argparse.Namespace, context: Context) -> int:
    return demo.run_command(args)


NOUN = Noun(
    name=NAME,
    summary="try the customer side against a sandbox of Microsoft's cloud (make demo)",
    add_to=add_to,
    run=run,
)
