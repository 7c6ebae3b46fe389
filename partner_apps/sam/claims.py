"""The claims a SAM token must carry before it is stored.

As Microsoft's Secure Application Model sample does, the sign-in asks for MFA (``amr_values=mfa``)
and the result is checked: ``tid`` must be the region's partner tenant, the token must be for the
SAM app (``aud`` of the ID token, ``appid``/``azp`` of the access token) and for Partner Center,
and the **access token for Partner Center** must show MFA: its ``amr`` claim (a v1.0 access-token
claim, "Access token claims reference") contains ``mfa``. That is what Partner Center itself checks
on every App+User call (MFA enforced from 2026-04-01; a token without it gets HTTP 401 with error
900421). The ID token is not evidence either way: MSAL asks for ``openid`` on every request, and a
v2.0 ID token has no ``amr`` claim ("ID token claims reference"), so its absence is normal.

Tokens arrive straight from the authority over TLS; this is a check of *what* was issued, not a
signature validation (MSAL does none either). Nothing here logs or returns token material.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from partner_apps import exitcodes

from .errors import SamError, mfa_fix
from .target import RegionTarget


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, or {} when ``token`` is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        value = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Checked:
    """What a token result that passed the check says: the signed-in user's names and the
    authentication methods of the Partner Center access token."""

    user: Mapping[str, str]
    amr: tuple[str, ...]

    @property
    def mfa_evidence(self) -> str:
        """For the vault's tags: where MFA was read from, and what it said (no token material)."""
        return f"partner-center-access-token-v1 amr={','.join(self.amr)}"


def _refuse(target: RegionTarget, why: str) -> SamError:
    return SamError(
        f"{target.where()}: the token was refused and not stored: {why}", exitcodes.TOKEN_REFUSED
    )


def amr_of(claims: Mapping[str, Any]) -> tuple[str, ...]:
    raw = claims.get("amr")
    return tuple(str(item) for item in raw) if isinstance(raw, list) else ()


def check(target: RegionTarget, result: Mapping[str, Any], *, sign_in: bool) -> Checked:
    """Refuse a token result whose Partner Center access token shows no MFA, or that is of another
    tenant or app; return the user's names and the access token's ``amr``."""
    access = jwt_claims(str(result.get("access_token", "")))
    identity: Mapping[str, Any] = result.get("id_token_claims") or {}
    if sign_in and not identity:
        raise _refuse(target, "no ID token came back from the sign-in")
    for name, claims in (("ID token", identity), ("access token", access)):
        if claims and claims.get("tid") != target.tenant_id:
            raise _refuse(
                target,
                f"the {name} was issued by tenant {claims.get('tid')}, not the region's partner "
                f"tenant {target.tenant_id}",
            )
    if identity and identity.get("aud") != target.client_id:
        raise _refuse(target, f"the ID token is for app {identity.get('aud')}, not the SAM app")
    if not access:
        raise _refuse(target, "the access token is not a JWT")
    app = access.get("appid") or access.get("azp")
    if app != target.client_id:
        raise _refuse(target, f"the access token was issued to app {app}, not the SAM app")
    resource = target.endpoints.partner_center_resource
    if str(access.get("aud", "")).rstrip("/") != resource:
        raise _refuse(target, f"the access token is for {access.get('aud')}, not Partner Center")
    amr = amr_of(access)
    if "mfa" not in amr:
        raise _refuse(
            target,
            f"the Partner Center access token shows no multi-factor authentication (amr "
            f"{sorted(amr)}), and Partner Center refuses App+User calls without it (error "
            f"900421): {mfa_fix(target.stack)}",
        )
    user = {**access, **identity}
    names = {
        key: str(user[key])
        for key in ("preferred_username", "upn", "oid", "name")
        if isinstance(user.get(key), str)
    }
    return Checked(names, amr)
