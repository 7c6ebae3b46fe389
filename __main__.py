"""Pulumi entry point: one region stack (`pulumi stack select us`, `pulumi up`)."""

from components.program import run

run()
