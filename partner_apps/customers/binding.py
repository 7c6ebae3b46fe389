"""A reviewed plan is bound to what was reviewed: its region, its inputs, its age.

``customers plan`` writes into the plan the region, the region's partner tenant, the SHA-256 of
``apps.yaml``, of the region's stack outputs (canonical JSON) and of ``customers/<region>.yaml``
(GDAP templates and customer states), and when it was made
(``generatedAt``). ``customers apply --plan`` refuses, each with its own exit code and before
any customer is read: a plan of another region (24: its ``region``, or its partner tenant), a
plan whose inputs changed since (25: the desired state it was computed from is not today's),
and a plan older than ``--max-plan-age`` days (26; default 7: GDAP relationships and customers
change, and a week-old review no longer shows what will happen). A plan without these fields
was not written by this version's ``plan`` (or was edited): exit 3.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from components.files import APPS_FILE
from partner_apps import exitcodes
from partner_apps.sam.errors import SamError

DEFAULT_MAX_AGE_DAYS = 7.0
# Clocks of two runners differ a little; a plan more than this ahead of now is refused.
FUTURE_TOLERANCE = timedelta(minutes=10)


def inputs(
    project_dir: Path, outputs: Mapping[str, Any] | None, region: str | None = None
) -> dict[str, str]:
    """The digests of what a plan is computed from: apps.yaml (its bytes), the stack outputs
    (canonical JSON: the same outputs always give the same digest) and, with ``region``, the
    region's ``customers/<region>.yaml`` (its bytes; an absent file digests as empty), which
    holds the GDAP templates and customer states since issue 30."""
    apps = hashlib.sha256((project_dir / APPS_FILE).read_bytes()).hexdigest()
    canonical = json.dumps(outputs or {}, sort_keys=True, separators=(",", ":"), default=str)
    digests = {
        "appsYamlSha256": apps,
        "stackOutputsSha256": hashlib.sha256(canonical.encode()).hexdigest(),
    }
    if region is not None:
        path = project_dir / "customers" / f"{region}.yaml"
        content = path.read_bytes() if path.is_file() else b""
        digests["customersYamlSha256"] = hashlib.sha256(content).hexdigest()
    return digests


def check(
    path: Path,
    document: Mapping[str, Any],
    *,
    region: str,
    partner_tenant: str,
    expected: Mapping[str, str],
    now: datetime,
    max_age: timedelta,
) -> None:
    """Refuse ``document`` (a reviewed plan read from ``path``) unless it is of ``region`` and
    its ``partner_tenant``, computed from ``expected`` inputs, and younger than ``max_age``."""
    where = f"--plan {path}"
    if document.get("region") != region:
        raise SamError(
            f"{where}: a plan of region {document.get('region')!r}, not {region!r}; plan this "
            "region and review that plan",
            exitcodes.PLAN_OTHER_REGION,
        )
    theirs = str(document.get("partnerTenantId", "")).lower()
    if theirs != partner_tenant.lower():
        # A plan relabelled with this region's name but made in another partner tenant.
        raise SamError(
            f"{where}: partnerTenantId {theirs or '(none)'} is not the partner tenant of region "
            f"{region!r} ({partner_tenant}): a plan of another region",
            exitcodes.PLAN_OTHER_REGION,
        )
    made = document.get("inputs")
    if not isinstance(made, dict) or not {"appsYamlSha256", "stackOutputsSha256"} <= set(made):
        raise SamError(
            f"{where}: inputs: missing (not a plan this version's `customers plan` wrote, or an "
            "edited one); plan again and review",
            exitcodes.CONFIG,
        )
    changed = [
        name
        for key, name in (
            ("appsYamlSha256", APPS_FILE),
            ("stackOutputsSha256", f"the stack outputs of {region}"),
            ("customersYamlSha256", f"customers/{region}.yaml"),
        )
        # A plan written before the customer file was bound (no such key) is checked on the
        # other two, as before.
        if key in made and key in expected and made.get(key) != expected[key]
    ]
    if changed:
        raise SamError(
            f"{where}: {' and '.join(changed)} changed since the plan was made (their digests "
            "differ); what it would apply is no longer what was reviewed: plan again and review",
            exitcodes.PLAN_CHANGED,
        )
    try:
        when = datetime.fromisoformat(str(document.get("generatedAt")))
    except ValueError:
        raise SamError(
            f"{where}: generatedAt: not a time (an edited plan?); plan again", exitcodes.CONFIG
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    age = now - when
    if age < -FUTURE_TOLERANCE:
        # Made "later" than now: an edited plan, or a clock far off; either way not a review of
        # today's state that the age limit could bound.
        raise SamError(
            f"{where}: generatedAt {when.isoformat()} is in the future (an edited plan, or this "
            "machine's clock is wrong); plan again",
            exitcodes.CONFIG,
        )
    if age > max_age:
        days = age.total_seconds() / 86400
        limit = max_age.total_seconds() / 86400
        raise SamError(
            f"{where}: made {days:.1f} days ago, older than --max-plan-age {limit:g}; plan "
            "again and review",
            exitcodes.PLAN_EXPIRED,
        )
