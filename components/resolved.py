"""Values resolved once, at the config edge, for one region: what the components receive.

``apps.yaml`` is shared by every region and may hold templates (``{region}`` in a URI), symbolic
values (``identifierUri: verified-domain``) and dates from which others follow (a secret's end is
its ``rotationDate`` plus ``lifetimeDays``). ``config.validate`` resolves each of them here, once,
for the stack it validates; the config checks judge the resolved values and the components use
them as they are, so what was checked is exactly what is registered.

Standard library only, and the config models are imported for type checking alone:
``config`` imports this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .certificates import (
        LoadedCertificate,
    )
from .models import (
    AppDefinition,
    RegionConfig,
)

REGION_PLACEHOLDER = "{region}"


@dataclass(frozen=True)
class ResolvedApp:
    """One app as it is in one region: no template, no symbolic value left."""

    key: str
    # The key that names what Pulumi, Entra and Key Vault see: the oldest previous key of a
    # renamed app, else its key. A rename in apps.yaml then changes none of them.
    identity_key: str
    redirect_uris: tuple[str, ...]
    homepage_url: str | None
    # The identifier URIs set on the Application itself. Empty for `identifierUri: api`: that
    # one, api://<client id>, needs the client id Entra assigns, so it is a resource of its own.
    identifier_uris: tuple[str, ...]
    client_id_identifier_uri: bool  # identifierUri: api -> api://<client id>, after the create
    credential_end_date: date  # from the configured dates, never from today
    authority: str  # the partner tenant's authority (admin consent, agents' home)


def render(template: str, region: RegionConfig) -> str:
    """A URI of ``apps.yaml`` as it is in ``region`` (``{region}`` -> the region id)."""
    return template.replace(REGION_PLACEHOLDER, region.id)


def identifier_uris(key: str, app: AppDefinition, region: RegionConfig) -> tuple[str, ...]:
    """The inline identifier URIs of the app's registration in ``region``."""
    if not app.expose_api or app.identifier_uri == "api":
        return ()
    if app.identifier_uri in (None, "verified-domain"):
        return (f"https://{region.verified_domains[0]}/{key}",)
    return (render(app.identifier_uri, region),)


def credential_end_date(app: AppDefinition, certificate: LoadedCertificate | None) -> date:
    """Last day of the app's credential: ``rotationDate + lifetimeDays``, or the certificate's."""
    credential = app.credential
    if credential.type == "password":
        return credential.rotation_date + timedelta(days=credential.lifetime_days)
    if certificate is None:
        raise ValueError("a certificate credential needs its loaded certificate")
    return certificate.end_date


def resolve_app(
    key: str, app: AppDefinition, region: RegionConfig, certificate: LoadedCertificate | None
) -> ResolvedApp:
    identity = app.previous_keys[0] if app.previous_keys else key
    return ResolvedApp(
        key=key,
        identity_key=identity,
        redirect_uris=tuple(render(uri, region) for uri in app.redirect_uris),
        homepage_url=render(app.homepage_url, region) if app.homepage_url else None,
        identifier_uris=identifier_uris(identity, app, region),
        client_id_identifier_uri=bool(app.expose_api and app.identifier_uri == "api"),
        credential_end_date=credential_end_date(app, certificate),
        authority=region.authority,
    )


def build_order(apps: Mapping[str, AppDefinition]) -> tuple[str, ...]:
    """App keys in an order where every known client exists before the app that lists it.

    Config validation has already refused cycles; ties are broken by depth, then by key, so the
    order (and so the registration order) is the same on every run.
    """
    depth: dict[str, int] = {}

    def depth_of(key: str) -> int:
        if key not in depth:
            clients = apps[key].known_clients
            depth[key] = 1 + max((depth_of(client) for client in clients), default=-1)
        return depth[key]

    return tuple(sorted(apps, key=lambda key: (depth_of(key), key)))


def app_component_name(stack: str, key: str) -> str:
    """The name of an app's ``PartnerManagedApp`` component (its resources' names start with it);
    ``key`` is the app's identity key (its oldest key, see ``previousKeys``)."""
    return f"{stack}-{key}"
