"""The claims a SAM token must carry before it is stored.

As Microsoft's Secure Application Model sample does, the sign-in asks for MFA (``amr_values=mfa``)
and the result is checked: the ``amr`` claim must contain ``mfa``, ``tid`` must be the region's
partner tenant, and the token must be for the SAM app (``aud`` of the ID token, ``appid``/``azp``
of the access token) and for Partner Center. Tokens arrive straight from the authority over TLS;
this is a check of *what* was issued, not a signature validation (MSAL does none either).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from partner_apps import exitcodes

from .errors import SamError
from .target import PARTNER_CENTER_RESOURCE, RegionTarget


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


def _refuse(target: RegionTarget, why: str) -> SamError:
    return SamError(
        f"{target.where()}: the token was refused and not stored: {why}", exitcodes.TOKEN_REFUSED
    )


def check(target: RegionTarget, result: Mapping[str, Any], *, sign_in: bool) -> dict[str, Any]:
    """Refuse a token result without MFA, or of another tenant or app; return the user claims."""
    access = jwt_claims(str(result.get("access_token", "")))
    identity: Mapping[str, Any] = result.get("id_token_claims") or {}
    if sign_in and not identity:
        raise _refuse(target, "no ID token came back from the sign-in")
    for name, claims in (("ID token", identity), ("access token", access)):
        if not claims:
            continue
        if claims.get("tid") != target.tenant_id:
            raise _refuse(
                target,
                f"the {name} was issued by tenant {claims.get('tid')}, not the region's partner "
                f"tenant {target.tenant_id}",
            )
        amr = claims.get("amr") or []
        if "mfa" not in amr:
            raise _refuse(
                target,
                f"the {name} shows no multi-factor authentication (amr {sorted(amr)}): sign in "
                "with MFA",
            )
    if identity and identity.get("aud") != target.client_id:
        raise _refuse(target, f"the ID token is for app {identity.get('aud')}, not the SAM app")
    if not access:
        raise _refuse(target, "the access token is not a JWT")
    app = access.get("appid") or access.get("azp")
    if app != target.client_id:
        raise _refuse(target, f"the access token was issued to app {app}, not the SAM app")
    if str(access.get("aud", "")).rstrip("/") != PARTNER_CENTER_RESOURCE:
        raise _refuse(target, f"the access token is for {access.get('aud')}, not Partner Center")
    user = {**access, **identity}
    return {
        key: user[key]
        for key in ("preferred_username", "upn", "oid", "name")
        if isinstance(user.get(key), str)
    }
