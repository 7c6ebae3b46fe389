"""Route a user to the regional app before sign-in: sign-in name → tenant → region → client id.

Dependency-free (standard library only) so that an app can copy this one file:

1. the domain of ``user@domain`` → its tenant id, from the domain's OpenID configuration
   (``GET {login}/{domain}/v2.0/.well-known/openid-configuration``; the ``issuer`` is
   ``{login}/{tenant id}/v2.0``; an unknown domain answers 4xx, AADSTS90002);
2. the tenant id → its region, from the routing table that ``partner-apps customers
   export-routing`` writes from the regions' customer lists (a customer belongs to exactly one
   regional partner tenant);
3. the region → the app's client id, from the same table (the stacks' ``routing`` output).

``tenant_region_scope`` of the OpenID configuration (NA, EU, ...) is not a CSP region: it is
returned as a hint only and never decides the route.

The sign-in host is the cloud's (``login_url``: https://login.microsoftonline.com,
https://login.microsoftonline.us, https://login.chinacloudapi.cn). TLS is verified against the CA
bundle of ``REQUESTS_CA_BUNDLE`` (then ``CURL_CA_BUNDLE``), the one setting every ``partner-apps``
command honours, else the system's trust store.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_LOGIN_URL = "https://login.microsoftonline.com"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# url -> (status, parsed JSON body); replaceable for tests or a caching layer.
Fetch = Callable[[str], tuple[int, Any]]


class RoutingError(Exception):
    """The user cannot be routed; the message says why."""


class RoutingInputError(RoutingError):
    """A local input cannot be used (the routing table, the CA bundle): nothing was asked of
    the sign-in service; the caller answers it as a config error."""


class RoutingUnreachableError(RoutingError):
    """The sign-in service could not be reached (no network, DNS, TLS, timeout): not an answer
    about the domain, so the caller must not call the domain unknown."""


@dataclass(frozen=True)
class RoutingTable:
    tenants: Mapping[str, str]  # tenant id -> region
    client_ids: Mapping[str, Mapping[str, str]]  # region -> app key -> client id
    generated_at: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "generatedAt": self.generated_at,
            "tenants": dict(self.tenants),
            "clientIds": {region: dict(apps) for region, apps in self.client_ids.items()},
        }

    @classmethod
    def from_json(cls, document: Any) -> RoutingTable:
        """The table ``as_json`` wrote; a RoutingError for anything of another shape (a table
        edited by hand, cut short, or not one at all), never an AttributeError."""
        if not isinstance(document, dict) or document.get("version") != 1:
            raise RoutingInputError("the routing table is not version 1")
        tenants = document.get("tenants") or {}
        client_ids = document.get("clientIds") or {}
        if not isinstance(tenants, dict) or not isinstance(client_ids, dict):
            raise RoutingInputError(
                "the routing table's tenants and clientIds must be JSON objects"
            )
        if not all(isinstance(apps, dict) for apps in client_ids.values()):
            raise RoutingInputError(
                "the routing table's clientIds must map each region to an object"
            )
        return cls(
            tenants={str(k).lower(): str(v) for k, v in tenants.items()},
            client_ids={
                str(region): {str(k): str(v) for k, v in apps.items()}
                for region, apps in client_ids.items()
            },
            generated_at=str(document.get("generatedAt", "")),
        )

    @classmethod
    def load(cls, path: Path) -> RoutingTable:
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except RoutingInputError as error:
            raise RoutingInputError(f"routing table {path}: {error}") from None
        except (OSError, ValueError) as error:
            raise RoutingInputError(f"routing table {path}: not readable ({error})") from None


@dataclass(frozen=True)
class Route:
    user: str
    domain: str
    tenant_id: str
    region: str
    app: str
    client_id: str
    authority: str
    region_scope_hint: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "domain": self.domain,
            "tenantId": self.tenant_id,
            "region": self.region,
            "app": self.app,
            "clientId": self.client_id,
            "authority": self.authority,
            "tenantRegionScopeHint": self.region_scope_hint,
        }


def ca_bundle(environ: Mapping[str, str] | None = None) -> str | None:
    """The CA bundle (a file, or a folder of hashed certificates) that ``requests`` would verify
    with: ``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``; None: the system's trust store."""
    environ = os.environ if environ is None else environ
    return environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or None


def tls_context(cafile: str | None = None) -> ssl.SSLContext:
    """Certificates verified against ``cafile`` (default: ``ca_bundle()``), a file or a folder."""
    location = ca_bundle() if cafile is None else cafile
    if location and Path(location).is_dir():
        return ssl.create_default_context(capath=location)
    return ssl.create_default_context(cafile=location or None)


def https_fetch(timeout: float = 10.0, cafile: str | None = None) -> Fetch:
    """GET over HTTPS, certificates verified (``REQUESTS_CA_BUNDLE`` honoured: ``tls_context``)."""
    try:
        context = tls_context(cafile)
    except (OSError, ssl.SSLError) as error:
        where = cafile or ca_bundle()
        raise RoutingInputError(
            f"the CA bundle {where} cannot be used ({error}); set REQUESTS_CA_BUNDLE to a PEM "
            "file or unset it"
        ) from None

    def fetch(url: str) -> tuple[int, Any]:
        if not url.startswith("https://"):
            raise RoutingError(f"refusing a non-HTTPS URL: {url}")
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
                return int(answer.status), json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            try:
                body = json.loads(error.read() or b"{}")
            except ValueError:
                body = {}
            return int(error.code), body
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            # HTTPError (an answer) is handled above: what is left never reached the service.
            reason = getattr(error, "reason", error)
            raise RoutingUnreachableError(
                f"{url.split('/')[2]} could not be reached ({reason}); nothing is known about "
                "the domain"
            ) from None
        except ValueError as error:
            raise RoutingError(f"the OpenID configuration could not be read ({error})") from None

    return fetch


def domain_of(user: str) -> str:
    name = user.strip().lower()
    domain = name.rsplit("@", 1)[-1] if "@" in name else name
    if not _DOMAIN.match(domain):
        raise RoutingError(f"{user!r}: not a sign-in name user@domain")
    return domain


@dataclass
class Router:
    table: RoutingTable
    login_url: str = DEFAULT_LOGIN_URL
    fetch: Fetch = field(default_factory=https_fetch)

    def tenant_of(self, domain: str) -> tuple[str, str | None]:
        """(tenant id, tenant_region_scope hint) of ``domain``."""
        url = f"{self.login_url.rstrip('/')}/{domain}/v2.0/.well-known/openid-configuration"
        status, body = self.fetch(url)
        if status != 200 or not isinstance(body, dict):
            codes = body.get("error_codes") if isinstance(body, dict) else None
            code = f" (AADSTS{codes[0]})" if codes else ""
            raise RoutingError(f"{domain}: no Entra tenant has this domain{code}")
        parts = str(body.get("issuer", "")).rstrip("/").split("/")
        tenant = parts[-2].lower() if len(parts) >= 2 else ""
        if not _GUID.match(tenant):
            raise RoutingError(f"{domain}: the OpenID configuration names no tenant id")
        hint = body.get("tenant_region_scope")
        return tenant, str(hint) if hint else None

    def route(self, user: str, app: str) -> Route:
        domain = domain_of(user)
        tenant, hint = self.tenant_of(domain)
        region = self.table.tenants.get(tenant)
        if region is None:
            raise RoutingError(
                f"{domain}: tenant {tenant} is a customer of no region in the routing table "
                f"(generated {self.table.generated_at or 'at an unknown time'}); the region "
                f"scope hint {hint or '-'} does not decide the region"
            )
        client_id = (self.table.client_ids.get(region) or {}).get(app)
        if not client_id:
            raise RoutingError(f"app {app} has no client id in region {region}")
        return Route(
            user, domain, tenant, region, app, client_id, f"{self.login_url}/{tenant}", hint
        )
