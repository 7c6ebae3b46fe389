"""``partner-apps route``: the region and client id for a sign-in name, before sign-in."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import cast

from components.regions import CLOUDS, Cloud
from partner_apps import exitcodes

from .base import Commands, Context, Noun, add_command, project_argument

NAME = "route"


def add_to(commands: Commands) -> argparse.ArgumentParser:
    route = add_command(
        commands,
        NAME,
        summary=NOUN.summary,
        description=(
            "domain -> tenant id (OpenID configuration), tenant -> region (the routing table of "
            "`partner-apps customers export-routing`), region -> the app's client id. "
            "tenant_region_scope is shown as a hint only."
        ),
    )
    route.add_argument("user", help="user@customer.example")
    route.add_argument("--table", type=Path, required=True, help="the routing table JSON")
    route.add_argument("--app", default="partner-portal-web", help="app key (partner-portal-web)")
    route.add_argument("--output", choices=("text", "json"), default="text")
    clouds = route.add_mutually_exclusive_group()
    clouds.add_argument(
        "--cloud",
        choices=tuple(CLOUDS),
        help="the cloud whose sign-in host is asked for the domain's tenant (default: public)",
    )
    clouds.add_argument("--stack", help="take the cloud from this region stack's file")
    project_argument(route)
    return route


def run(args: argparse.Namespace, context: Context) -> int:
    # The routing table and sign-in lookups: loaded when the command runs.
    from partner_apps import routing  # noqa: PLC0415
    from partner_apps.sam.errors import SamError  # noqa: PLC0415 - the same
    from partner_apps.sam.target import Endpoints, cloud_of, region_of  # noqa: PLC0415

    err = context.err
    try:
        if args.stack:
            cloud = cloud_of(args.stack, region_of(args.project_dir.resolve(), args.stack))
        else:
            cloud = cast(Cloud, args.cloud or "public")
        login = Endpoints.from_env(cloud=cloud).login_url
    except SamError as error:
        print(f"partner-apps route: {error.message}", file=err)
        return error.exit_code
    try:
        router = routing.Router(routing.RoutingTable.load(args.table), login_url=login)
        found = router.route(args.user, args.app)
    except routing.RoutingInputError as error:
        # A local file (the table, the CA bundle): read before any request, a config error.
        print(f"partner-apps route: {error}; nothing was asked of the sign-in service", file=err)
        return exitcodes.CONFIG
    except routing.RoutingUnreachableError as error:
        print(f"partner-apps route: {error}", file=err)
        return exitcodes.UNREACHABLE
    except routing.RoutingError as error:
        print(f"partner-apps route: {error}", file=err)
        return exitcodes.UNROUTABLE
    if args.output == "json":
        print(json.dumps(found.as_json(), indent=2, sort_keys=True), file=context.out)
    else:
        print(
            f"{found.user}: tenant {found.tenant_id}, region {found.region}, app {found.app}, "
            f"client id {found.client_id}, authority {found.authority}",
            file=context.out,
        )
    return exitcodes.OK


NOUN = Noun(
    name=NAME,
    summary="the region and client id for a sign-in name, before sign-in",
    add_to=add_to,
    run=run,
)
