"""The refresh token in the region's vault, through the Key Vault data plane.

Every write is a new version of ``<app>-sam-refresh-token`` with a content type, an expiry
(issue + 90 days: Entra's inactivity lifetime, so Key Vault's near-expiry event fires 30 days
ahead) and tags that say who consented, when, for which app and tenant, when it was last
refreshed, and the MFA evidence the token was stored on (``mfaEvidence``: the ``amr`` claim of the
v1.0 access token for Partner Center, e.g. ``partner-center-access-token-v1 amr=pwd,mfa``; a v2.0
ID token carries no ``amr``). Tags and content type never hold token material.

Older versions: after a refresh whose new token has proved itself, every version older than the
one it replaced is disabled (not deleted: purge protection keeps deleted secrets anyway, and a
delete would remove all versions). The version just replaced stays enabled until the next proven
refresh, so there is always one known-good fallback; a disabled version cannot be read, which
limits what a leaked old version of the vault's history could be used for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.keyvault.secrets import SecretClient
from pydantic import SecretStr

from partner_apps import exitcodes

from .errors import SamError
from .target import PLACEHOLDER, RegionTarget

TOKEN_LIFETIME = timedelta(days=90)
CONTENT_TYPE = "application/vnd.partner-apps.sam-refresh-token"
# Tags this tool writes (at most 15 per secret; 512 characters each).
TAG_APP, TAG_CLIENT, TAG_TENANT, TAG_REGION = "app", "clientId", "tenantId", "region"
TAG_CONSENTED_BY, TAG_CONSENTED_AT, TAG_FLOW = "consentedBy", "consentedAt", "consentFlow"
TAG_REFRESHED_AT, TAG_REFRESHED_BY = "refreshedAt", "refreshedBy"
TAG_WRITTEN_BY = "writtenBy"
# Where the MFA the token was checked for came from, and what it said (claims.Checked).
TAG_MFA = "mfaEvidence"
WRITER = "partner-apps sam"


@dataclass(frozen=True)
class StoredToken:
    version: str
    value: SecretStr
    enabled: bool
    created_on: datetime | None
    expires_on: datetime | None
    content_type: str | None
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_placeholder(self) -> bool:
        return self.value.get_secret_value() in ("", PLACEHOLDER)


def _is_disabled(error: HttpResponseError) -> bool:
    """Key Vault's answer to reading a disabled version: 403 with inner error SecretDisabled."""
    inner = getattr(error.error, "innererror", None) or {}
    return error.status_code == 403 and inner.get("code") == "SecretDisabled"


ClientFactory = Callable[[RegionTarget, TokenCredential], SecretClient]


def default_client(target: RegionTarget, credential: TokenCredential) -> SecretClient:
    return SecretClient(
        target.vault_url,
        credential,
        # The resource of the vault's 401 challenge (https://vault.azure.net,
        # https://vault.usgovcloudapi.net, https://vault.azure.cn) must match the vault's host: a
        # check kept on for every cloud's real vault hosts, off only for a vault reached through
        # a test override (the tests' loopback vault cannot match it).
        verify_challenge_resource=target.endpoints.verifies_vault_challenge(target.vault_name),
        retry_total=4,
    )


class TokenStore:
    """Reads and writes one region's SAM secrets; Key Vault errors become SamErrors (exit 9)."""

    def __init__(self, target: RegionTarget, client: SecretClient) -> None:
        self.target = target
        self.client = client

    @contextmanager
    def _vault(self, doing: str) -> Iterator[None]:
        where = self.target.where()
        try:
            yield
        except ResourceNotFoundError:
            raise
        except ClientAuthenticationError as error:
            raise SamError(
                f"{where}: {doing}: no token for Key Vault ({type(error).__name__}); sign in with "
                "an identity of the region's tenant (managed identity, workload identity or az "
                "login)",
                exitcodes.VAULT,
            ) from None
        except (ServiceRequestError, ServiceResponseError) as error:
            raise SamError(
                f"{where}: {doing}: the vault could not be reached ({type(error).__name__}); it "
                "refuses public traffic: run from an allowed IP range, the self-hosted runner or "
                "the vault's network",
                exitcodes.VAULT,
            ) from None
        except HttpResponseError as error:
            status = error.status_code
            if status == 409:
                hint = (
                    "the secret name is held by a soft-deleted secret: recover it "
                    f"(az keyvault secret recover --vault-name {self.target.vault_name} --name "
                    f"{self.target.token_secret}) and retry"
                )
            elif status == 403:
                hint = (
                    "forbidden: the identity needs Key Vault Secrets Officer on the vault, and the "
                    "vault must accept this network"
                )
            else:
                hint = f"HTTP {status}; retry later"
            raise SamError(f"{where}: {doing}: {hint}", exitcodes.VAULT) from None

    def current(self) -> StoredToken | None:
        """The newest version, or None when there is no such secret. A disabled newest version
        (Key Vault refuses to read it) comes back with ``enabled`` false and no value."""
        with self._vault("reading the refresh token"):
            try:
                secret = self.client.get_secret(self.target.token_secret)
            except ResourceNotFoundError:
                return None
            except HttpResponseError as error:
                if not _is_disabled(error):
                    raise
                return self._newest_properties()
        props = secret.properties
        return StoredToken(
            version=props.version or "",
            value=SecretStr(secret.value or ""),
            enabled=bool(props.enabled),
            created_on=props.created_on,
            expires_on=props.expires_on,
            content_type=props.content_type,
            tags=dict(props.tags or {}),
        )

    def _newest_properties(self) -> StoredToken | None:
        versions = [
            props
            for props in self.client.list_properties_of_secret_versions(self.target.token_secret)
            if props.created_on is not None
        ]
        if not versions:
            return None
        props = max(versions, key=lambda item: (item.created_on, item.version or ""))
        return StoredToken(
            version=props.version or "",
            value=SecretStr(""),
            enabled=bool(props.enabled),
            created_on=props.created_on,
            expires_on=props.expires_on,
            content_type=props.content_type,
            tags=dict(props.tags or {}),
        )

    def version(self, version: str) -> SecretStr:
        with self._vault(f"reading version {version} of the refresh token"):
            secret = self.client.get_secret(self.target.token_secret, version)
        return SecretStr(secret.value or "")

    def client_secret(self) -> SecretStr:
        with self._vault("reading the app's client secret"):
            try:
                secret = self.client.get_secret(self.target.client_secret)
            except ResourceNotFoundError:
                raise SamError(
                    f"{self.target.where()}: secret {self.target.client_secret} is missing: run "
                    f"pulumi up --stack {self.target.stack}",
                    exitcodes.VAULT,
                ) from None
        return SecretStr(secret.value or "")

    def write(self, token: SecretStr, issued: datetime, tags: Mapping[str, str]) -> str:
        """Store ``token`` as a new version; return its version id."""
        all_tags = {
            TAG_APP: self.target.app_key,
            TAG_CLIENT: self.target.client_id,
            TAG_TENANT: self.target.tenant_id,
            TAG_REGION: self.target.stack,
            TAG_WRITTEN_BY: WRITER,
            **tags,
        }
        with self._vault("storing the new refresh token"):
            props = self.client.set_secret(
                self.target.token_secret,
                token.get_secret_value(),
                content_type=CONTENT_TYPE,
                expires_on=issued + TOKEN_LIFETIME,
                tags={key: value[:512] for key, value in sorted(all_tags.items())},
            ).properties
        return props.version or ""

    def retire_older(self, keep: set[str]) -> list[str]:
        """Disable every enabled version not in ``keep``; return the ones disabled."""
        disabled: list[str] = []
        with self._vault("disabling older versions"):
            for props in self.client.list_properties_of_secret_versions(self.target.token_secret):
                if props.version is None or props.version in keep or not props.enabled:
                    continue
                self.client.update_secret_properties(
                    self.target.token_secret, props.version, enabled=False
                )
                disabled.append(props.version)
        return sorted(disabled)
