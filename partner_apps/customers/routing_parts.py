"""Routing parts: each region's own piece of the routing table, merged from files.

One identity per region cannot read another region's vault (its service principal lives only in
its own partner tenant, and each vault's network is closed to the others), so nothing may need
every region at once. Each region's job writes its part with its own identity (``customers
routing-part``: the region's customers with an active GDAP relationship, and its apps' client
ids from its stack outputs); ``customers export-routing`` merges the parts, files only, no
network, into the table ``partner_apps.routing`` reads. A tenant two parts claim is refused (a
customer belongs to exactly one regional partner tenant), so is a region with two parts, and a
region stack of the project without a part (its customers would silently route nowhere).

This module is the one reader and writer of the part format (``kind: routing-part``,
``version: 1``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partner_apps import exitcodes
from partner_apps.routing import RoutingTable
from partner_apps.sam.errors import SamError

KIND = "routing-part"
MAX_PART_BYTES = 16 * 2**20
VERSION = 1
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_APP_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class RoutingPart:
    region: str
    tenants: tuple[str, ...]  # the region's customers' tenant ids, sorted
    client_ids: Mapping[str, str]  # app key -> client id in this region
    generated_at: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "version": VERSION,
            "region": self.region,
            "generatedAt": self.generated_at,
            "tenants": list(self.tenants),
            "clientIds": dict(sorted(self.client_ids.items())),
        }


def _refuse(path: Path, key: str, rule: str) -> SamError:
    return SamError(f"routing part {path}: {key}: {rule}; nothing was written", exitcodes.CONFIG)


def read_part(path: Path) -> RoutingPart:
    """The part in ``path``; exit 3 naming the file, the key and the rule for anything else."""
    try:
        # A regular file of a sane size: a part of 10,000 customers is some 500 KB.
        if not path.is_file():
            raise _refuse(path, "(file)", "not a regular file")
        if path.stat().st_size > MAX_PART_BYTES:
            raise _refuse(path, "(file)", f"larger than {MAX_PART_BYTES // 2**20} MiB")
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise _refuse(path, "(file)", f"not readable ({error.strerror or error})") from None
    except ValueError as error:
        raise _refuse(path, "(file)", f"not JSON ({error})") from None
    if not isinstance(document, dict):
        raise _refuse(path, "(document)", "must be a JSON object")
    if document.get("kind") != KIND or document.get("version") != VERSION:
        raise _refuse(path, "kind/version", f"must be {KIND!r} version {VERSION}")
    region = document.get("region")
    if not isinstance(region, str) or not re.fullmatch(r"[a-z][a-z0-9-]{0,31}", region):
        raise _refuse(path, "region", "must be a region stack name")
    tenants = document.get("tenants")
    if not isinstance(tenants, list) or not all(
        isinstance(t, str) and _GUID.match(t.lower()) for t in tenants
    ):
        raise _refuse(path, "tenants", "must be a list of tenant ids (GUIDs)")
    lowered = [t.lower() for t in tenants]
    if len(set(lowered)) != len(lowered):
        raise _refuse(path, "tenants", "lists a tenant twice")
    client_ids = document.get("clientIds")
    if not isinstance(client_ids, dict) or not all(
        isinstance(k, str) and _APP_KEY.match(k) and isinstance(v, str) and _GUID.match(v.lower())
        for k, v in client_ids.items()
    ):
        raise _refuse(path, "clientIds", "must map app keys to client ids (GUIDs)")
    generated = document.get("generatedAt", "")
    return RoutingPart(
        region=region,
        tenants=tuple(sorted(lowered)),
        client_ids={k: v.lower() for k, v in client_ids.items()},
        generated_at=str(generated),
    )


def part_files(paths: Iterable[Path]) -> list[Path]:
    """The part files named: a file as is, a folder's ``*.json`` files (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.glob("*.json") if p.is_file())
        else:
            found.append(path)
    return found


def merge(parts: Sequence[tuple[Path, RoutingPart]], regions: Sequence[str]) -> RoutingTable:
    """One table from the parts of exactly ``regions``; exit 3 for a tenant two regions claim, a
    region with two parts, a part of no known region, or a region without a part. The table's
    ``generatedAt`` is its newest part's: the same parts always make the same table."""
    by_region: dict[str, Path] = {}
    owners: dict[str, tuple[str, Path]] = {}
    for path, part in parts:
        if part.region not in regions:
            raise _refuse(path, "region", f"{part.region!r} is not a region stack of this project "
                          f"({', '.join(regions) or 'none'})")  # fmt: skip
        if part.region in by_region:
            raise _refuse(
                path, "region", f"{part.region!r} also has the part {by_region[part.region]}"
            )
        by_region[part.region] = path
        for tenant in part.tenants:
            if tenant in owners:
                other, other_path = owners[tenant]
                raise SamError(
                    f"tenant {tenant} is a customer of regions {other} ({other_path}) and "
                    f"{part.region} ({path}): a customer belongs to one regional partner tenant; "
                    "nothing was written",
                    exitcodes.CONFIG,
                )
            owners[tenant] = (part.region, path)
    missing = sorted(set(regions) - set(by_region))
    if missing:
        raise SamError(
            f"no routing part for region(s) {', '.join(missing)}: their customers would route "
            "nowhere; run `partner-apps customers routing-part --stack <region>` in each region's "
            "job first; nothing was written",
            exitcodes.CONFIG,
        )
    return RoutingTable(
        tenants={tenant: region for tenant, (region, _) in sorted(owners.items())},
        client_ids={
            part.region: dict(part.client_ids)
            for _, part in sorted(parts, key=lambda p: p[1].region)
        },
        generated_at=max((part.generated_at for _, part in parts), default=""),
    )
