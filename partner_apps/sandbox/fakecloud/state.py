"""In-memory state of the loopback Microsoft cloud: tenants, apps, users, grants, vaults.

One backend per service, as moto does: Entra (``Directory``), Key Vault (``Vault``), Partner
Center and Graph (``PartnerTenant``). The HTTP layer (``server.py``) only translates requests.
Every secret value the fake mints (client secrets, codes, refresh and access tokens) is recorded
in ``Cloud.minted`` so tests can scan everything the product wrote for any of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

SIGNING_KEY = secrets.token_bytes(32)
PARTNER_CENTER = "https://api.partnercenter.microsoft.com"
VAULT_RESOURCE = "https://vault.azure.net"
GRAPH = "https://graph.microsoft.com"
# Resource URL -> the resource app's id (its service principal in each tenant). Graph's resource
# is its root in each cloud (Graph "National cloud deployments": a scope uses the cloud's host).
RESOURCE_APP_IDS = {
    GRAPH: "00000003-0000-0000-c000-000000000000",
    "https://graph.microsoft.us": "00000003-0000-0000-c000-000000000000",
    "https://microsoftgraph.chinacloudapi.cn": "00000003-0000-0000-c000-000000000000",
    PARTNER_CENTER: "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd",
    "https://partner.partnercenterapi.microsoftonline.cn": "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd",
    "https://management.azure.com": "797f4846-ba00-4fd7-ba43-dac1f8f63013",
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_jwt(claims: dict[str, Any]) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "fake"}).encode())
    body = _b64(json.dumps(claims, sort_keys=True).encode())
    signature = hmac.new(SIGNING_KEY, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def read_jwt(token: str) -> dict[str, Any] | None:
    """The claims of a token this fake signed and that has not expired, else None."""
    try:
        header, body, signature = token.split(".")
    except ValueError:
        return None
    expected = hmac.new(SIGNING_KEY, f"{header}.{body}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(_b64(expected), signature):
        return None
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if claims.get("exp", 0) < time.time():
        return None
    return claims


@dataclass
class App:
    """An app registration (or a service principal with a secret, such as the job identity)."""

    client_id: str
    secret: str
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    redirect_uris: tuple[str, ...] = ()
    # Admin consent for Partner Center user_impersonation in the partner tenant.
    consented: bool = True
    secret_expired: bool = False
    # The delegated scopes the app's admin consent granted in its home tenant, per resource URL
    # (https://graph.microsoft.com -> {"Application.ReadWrite.All", ...}): the `scp` of its
    # delegated tokens there. Empty: "user_impersonation" (what the SAM tests need).
    delegated: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class User:
    upn: str
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # False: the user "signs in" without performing MFA even when asked (a misconfigured tenant).
    performs_mfa: bool = True


@dataclass
class Grant:
    """What a refresh token stands for: a user's sign-in to a client."""

    tenant_id: str
    client_id: str
    user: User
    amr: tuple[str, ...]
    revoked: bool = False
    expired: bool = False


@dataclass
class Directory:
    """One Entra tenant."""

    tenant_id: str
    apps: dict[str, App] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)


@dataclass
class SecretVersion:
    version: str
    value: str
    content_type: str | None
    enabled: bool
    created: int
    updated: int
    exp: int | None
    nbf: int | None
    tags: dict[str, str]


@dataclass
class Vault:
    """One Key Vault: RBAC by principal object id, versions per secret, soft-deleted names."""

    name: str
    tenant_id: str
    officers: set[str] = field(default_factory=set)
    secrets: dict[str, list[SecretVersion]] = field(default_factory=dict)
    soft_deleted: set[str] = field(default_factory=set)
    url: str = ""


@dataclass
class Fault:
    """A fault the next matching requests get: status (with headers), ``drop`` or ``stall``."""

    service: str  # login, vault (any vault) or vault:<name>, partnercenter, graph
    method: str | None = None
    path_contains: str = ""
    body_contains: str = ""  # e.g. grant_type=refresh_token
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    # status, drop (close without answer), lose (serve, then close without answer), stall
    # (answer late)
    action: str = "status"
    times: int = 1
    stall_seconds: float = 2.0

    def matches(self, service: str, method: str, path: str, body: bytes = b"") -> bool:
        return (
            self.body_contains.encode() in body
            and self.times > 0
            and (service == self.service or service.startswith(f"{self.service}:"))
            and (self.method is None or self.method == method)
            and self.path_contains in path
        )


@dataclass
class PartnerTenant:
    """Partner Center and Graph view of one partner tenant: its profile and its customers."""

    tenant_id: str
    company_name: str
    customers: list[dict[str, Any]] = field(default_factory=list)
    application_consents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    service_principals: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    grants: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    app_role_assignments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    relationships: list[dict[str, Any]] = field(default_factory=list)
    # GDAP relationship id -> its access assignments (Graph ``delegatedAdminAccessAssignment``:
    # ``accessContainer`` the partner's security group, ``accessDetails.unifiedRoles``, ``status``).
    access_assignments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


# Entra built-in role template ids ("Microsoft Entra built-in roles").
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
APPLICATION_ADMINISTRATOR = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
CLOUD_APPLICATION_ADMINISTRATOR = "158c047a-c907-4556-b7ef-446551a6b5f7"
DIRECTORY_READERS = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
# The role set docs/customer-consent.md asks of every customer's GDAP relationship.
README_ROLES = (CLOUD_APPLICATION_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR)
# Who may do what ("Grant tenant-wide admin consent to an application"; Graph "Grant an
# appRoleAssignment for a service principal"; Partner Center CPV consent through GDAP): consents,
# service principals and delegated grants need one of CONSENT_ROLES; Microsoft Graph app roles one
# of GRAPH_APP_ROLE_ROLES.
CONSENT_ROLES = frozenset(
    {
        CLOUD_APPLICATION_ADMINISTRATOR,
        APPLICATION_ADMINISTRATOR,
        PRIVILEGED_ROLE_ADMINISTRATOR,
        GLOBAL_ADMINISTRATOR,
    }
)
GRAPH_APP_ROLE_ROLES = frozenset({PRIVILEGED_ROLE_ADMINISTRATOR, GLOBAL_ADMINISTRATOR})
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


@dataclass
class Request:
    service: str
    method: str
    path: str
    status: int


class Cloud:
    """All state, guarded by one lock (the servers are threaded)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.directories: dict[str, Directory] = {}
        self.vaults: dict[str, Vault] = {}
        self.partners: dict[str, PartnerTenant] = {}
        self.grants: dict[str, Grant] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.device_codes: dict[str, dict[str, Any]] = {}
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.minted: set[str] = set()
        # Who signs in at the authorize endpoint and the device-code page.
        self.signed_in: tuple[str, str] | None = None  # (tenant id, upn)
        # Conditional Access blocks every token request of these client ids; MFA demanded anew.
        self.blocked_by_ca: set[str] = set()
        self.mfa_required_again: set[str] = set()
        self.device_pending_polls = 0
        self._versions = itertools.count(1)
        self._partner_of: dict[str, str] = {}  # customer tenant -> its partner (add_customer)
        self._apps: dict[str, App] = {}  # client id -> app (add_app)
        # -- customer tenants (issue 12) --
        # Resource apps every customer tenant has a service principal of (Microsoft Graph):
        # app id -> {"displayName", "appRoles": [{id, value}], "scopes": [{id, value}]}.
        self.resources: dict[str, dict[str, Any]] = {}
        # Domain -> tenant id, for the OpenID configuration of a domain (routing).
        self.domains: dict[str, str] = {}
        self.region_scope: dict[str, str] = {}
        # Propagation: the next N client-credentials requests in this tenant answer AADSTS7000229
        # (the service principal is not visible yet), as after a new GDAP relationship.
        self.late_tokens: dict[str, int] = {}
        # Graph refuses every call in these tenants (403 Authorization_RequestDenied).
        self.graph_refused: set[str] = set()
        # Partner Center's limit of requests per second per applicationId (None: no limit); the
        # window is measured on time.monotonic() * clock_scale (the benchmark may scale it).
        self.consent_rate_limit: float | None = None
        self.clock_scale: float = 1.0
        self.consent_windows: dict[str, list[float]] = {}
        self.throttled = 0
        # Seconds every answer is held before it is sent (0: none): what a real network round
        # trip to Partner Center, Graph and Entra adds, as the benchmark's assumption. Microsoft
        # documents no such latency; the figure only models the distance between client and
        # service. The wait runs on the answering connection's own thread (the servers start one
        # per connection), so the other connections are served meanwhile.
        self.answer_latency: float = 0.0
        # Answers held in that wait right now, and the most ever held at once: how many requests
        # the client really keeps in flight (the benchmark prints it; a test checks that a held
        # answer does not hold up the other connections).
        self.answers_held = 0
        self.answers_held_peak = 0
        # Connections each service accepted (login, partnercenter, graph, vault:<name>): a client
        # that keeps its connections alive opens few.
        self.connections: dict[str, int] = {}
        # Whether a Partner Center consent also assigns the app roles (application permissions).
        # [unverified]: the product re-reads after the consent, so either answer works.
        self.consent_assigns_app_roles = False
        # (customer, applicationId, MS-RequestId) of every consent POST that reached the backend.
        self.consent_posts: list[tuple[str, str, str]] = []
        self.consent_headers: list[dict[str, str]] = []  # each consent POST's headers, no token
        # A Graph that ignores `$filter=status eq 'active'` on the GDAP relationships (a
        # robustness test: the product checks each relationship's status itself).
        self.ignore_relationship_filter = False
        # What Entra answers a partner admin's token for an app not consented in the customer
        # tenant: AADSTS90099 (Entra error-code reference); tests also run 65001, 7000229 and
        # 700016, which the product treats alike.
        self.unconsented_admin_code = 90099
        # What Partner Center's 50 requests/s "for each applicationId (Application ID of the CPV
        # partner)" is keyed on: the consented app (the body's applicationId: "consented") or the
        # app that calls (the token's appid: "caller"). The docs do not say; tests run both.
        self.consent_limit_key = "consented"
        # Per-client throttling (Partner Center "API throttling guidance": past a threshold it
        # "limits any further requests from that client for a period of time"): client app id ->
        # the monotonic time its throttle ends. Requests of a client inside its window are
        # answered 429 again and counted here.
        self.throttled_until: dict[str, float] = {}
        self.requests_in_throttle_window = 0
        # How Partner Center words its 401 for an App+User token without MFA (error 900421; the
        # body is not documented): "json" (its REST error shape, {"code": 900421, ...}) or
        # "header" (no code in the body; a WWW-Authenticate header and description naming it).
        self.mfa_error_form = "json"
        # -- GDAP writes (gdap.py) --
        # The fake's clock for GDAP dates (activation, end, expiry); the customer world sets its
        # own clock here so that expiries follow the tests' time.
        self.gdap_clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.gdap_etags = 0
        self.gdap_operations: dict[str, dict[str, Any]] = {}
        # What reached the backend: relationship display names created and terminated, and
        # (relationship id, group) of every access assignment created; tests count duplicates.
        self.gdap_creates: list[str] = []
        self.gdap_terminations: list[str] = []
        self.gdap_assignment_creates: list[tuple[str, str]] = []
        # Whether PATCH of only autoExtendDuration is accepted on an active relationship
        # (Partner Center "Manage GDAP Autoextend": yes; the Graph update page: created only).
        self.gdap_auto_extend_active = True

    # -- setup ---------------------------------------------------------------------------------

    def secret(self, label: str) -> str:
        value = f"CANARY-{label}-{secrets.token_hex(12)}"
        self.minted.add(value)
        return value

    def tenant(self, tenant_id: str, company: str = "Contoso") -> Directory:
        with self.lock:
            directory = self.directories.setdefault(tenant_id, Directory(tenant_id))
            self.partners.setdefault(tenant_id, PartnerTenant(tenant_id, company))
            return directory

    def add_app(
        self, tenant_id: str, *, client_id: str | None = None, redirect_uris: tuple[str, ...] = ()
    ) -> App:
        app = App(client_id or str(uuid.uuid4()), self.secret("client-secret"))
        app.redirect_uris = redirect_uris
        self.tenant(tenant_id).apps[app.client_id] = app
        self._apps[app.client_id] = app
        return app

    def add_user(self, tenant_id: str, upn: str) -> User:
        user = User(upn)
        self.tenant(tenant_id).users[upn] = user
        return user

    def add_vault(self, name: str, tenant_id: str, officers: set[str]) -> Vault:
        vault = Vault(name, tenant_id, set(officers))
        self.vaults[name] = vault
        return vault

    def find_app(self, client_id: str) -> App | None:
        """A (multi-tenant) app registration by client id, in whichever tenant it lives."""
        if client_id in self._apps:
            return self._apps[client_id]
        for directory in self.directories.values():
            if client_id in directory.apps:
                return directory.apps[client_id]
        return None

    def partner_of(self, tenant_id: str) -> str | None:
        """The partner tenant that has ``tenant_id`` as an active customer (GDAP). The index
        ``add_customer`` keeps spares the benchmark's 1,000 customers a scan per token."""
        known = self._partner_of.get(tenant_id)
        if known is not None:
            return known
        for partner in self.partners.values():
            if any(_customer_id(item) == tenant_id for item in partner.customers):
                return partner.tenant_id
        return None

    def add_resource(
        self, app_id: str, name: str, roles: dict[str, str], scopes: dict[str, str]
    ) -> None:
        """A resource app (value -> id of its app roles and delegated scopes)."""
        self.resources[app_id] = {
            "displayName": name,
            "appRoles": [{"id": i, "value": v} for v, i in sorted(roles.items())],
            "scopes": [{"id": i, "value": v} for v, i in sorted(scopes.items())],
        }

    def add_customer(
        self,
        partner_tenant: str,
        tenant_id: str,
        name: str,
        domain: str,
        *,
        activated: str = "2026-01-01T00:00:00Z",
        roles: tuple[str, ...] = README_ROLES,
        assigned: tuple[str, ...] | None = None,
    ) -> None:
        """A customer of ``partner_tenant``: its directory with the resource service principals,
        its Partner Center record, an active GDAP relationship approving ``roles`` with one
        active access assignment (the consenting admins' security group) holding ``assigned``
        (default: all of ``roles``), and its domain."""
        with self.lock:
            self.tenant(tenant_id, company=name)
            partner = self.partners[partner_tenant]
            partner.customers.append(
                {
                    "id": tenant_id,
                    "companyProfile": {
                        "tenantId": tenant_id,
                        "companyName": name,
                        "domain": domain,
                    },
                    "relationshipToPartner": "reseller",
                    "attributes": {"objectType": "Customer"},
                }
            )
            relationship_id = str(uuid.uuid4())
            partner.relationships.append(
                {
                    "id": relationship_id,
                    "displayName": f"gdap-{name}",
                    "status": "active",
                    "customer": {"tenantId": tenant_id, "displayName": name},
                    "activatedDateTime": activated,
                    "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in roles]},
                    "duration": "P730D",
                    "autoExtendDuration": "PT0S",
                    "endDateTime": (
                        datetime.fromisoformat(activated.replace("Z", "+00:00"))
                        + timedelta(days=730)
                    )
                    .isoformat()
                    .replace("+00:00", "Z"),
                    "@odata.etag": f'W/"seed-{relationship_id}"',
                }
            )
            held = roles if assigned is None else assigned
            partner.access_assignments[relationship_id] = [
                {
                    "id": str(uuid.uuid4()),
                    "status": "active",
                    "accessContainer": {
                        "accessContainerId": f"group-{partner_tenant[:8]}-admins",
                        "accessContainerType": "securityGroup",
                    },
                    "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in held]},
                    "@odata.etag": f'W/"seed-{relationship_id}-0"',
                }
            ]
            self.domains[domain] = tenant_id
            self._partner_of[tenant_id] = partner_tenant
            principals = self.partners[tenant_id].service_principals.setdefault(tenant_id, [])
            for app_id, resource in sorted(self.resources.items()):
                principals.append(
                    {
                        "id": str(uuid.uuid4()),
                        "appId": app_id,
                        "displayName": resource["displayName"],
                        "appRoles": resource["appRoles"],
                        "oauth2PermissionScopes": resource["scopes"],
                    }
                )

    def gdap_now(self) -> datetime:
        return self.gdap_clock()

    def gdap_roles(self, customer_tenant: str) -> frozenset[str]:
        """The roles the customer's partner's admins hold there: those of the active access
        assignments of its active GDAP relationships that the relationship approved."""
        with self.lock:
            partner = self.partners.get(self._partner_of.get(customer_tenant, ""))
            if partner is None:
                return frozenset()
            held: set[str] = set()
            for relationship in partner.relationships:
                customer = (relationship.get("customer") or {}).get("tenantId")
                if customer != customer_tenant or relationship.get("status") != "active":
                    continue
                approved = {
                    r["roleDefinitionId"]
                    for r in (relationship.get("accessDetails") or {}).get("unifiedRoles", [])
                }
                for assignment in partner.access_assignments.get(relationship["id"], []):
                    if assignment.get("status") != "active":
                        continue
                    for role in assignment["accessDetails"]["unifiedRoles"]:
                        if role["roleDefinitionId"] in approved:
                            held.add(role["roleDefinitionId"])
            return frozenset(held)

    def roles_of(self, tenant_id: str, client_id: str) -> list[str] | None:
        """The app role values assigned to ``client_id``'s service principal in ``tenant_id``,
        or None when it has no service principal there."""
        state = self.partners.get(tenant_id)
        if state is None:
            return None
        principals = state.service_principals.get(tenant_id, [])
        own = next((p for p in principals if p.get("appId") == client_id), None)
        if own is None:
            return None
        by_id = {p["id"]: p for p in principals}
        roles: list[str] = []
        for resource_id, assignments in state.app_role_assignments.items():
            resource = by_id.get(resource_id, {})
            values = {r["id"]: r["value"] for r in resource.get("appRoles", [])}
            roles += [
                values[a["appRoleId"]]
                for a in assignments
                if a.get("principalId") == own["id"] and a.get("appRoleId") in values
            ]
        return sorted(roles)

    def principal_of(self, tenant_id: str, app_id: str) -> dict[str, Any] | None:
        """The service principal of ``app_id`` in ``tenant_id``, if it has one."""
        state = self.partners.get(tenant_id)
        principals = state.service_principals.get(tenant_id, []) if state else []
        return next((p for p in principals if p.get("appId") == app_id), None)

    def scopes_of(self, tenant_id: str, client_id: str, resource: str) -> list[str] | None:
        """The delegated scopes ``client_id`` holds on ``resource`` (a URL) in ``tenant_id``: in
        its home tenant what its admin consent granted, elsewhere its tenant-wide grant there.
        None: no declared scopes known (the token says user_impersonation)."""
        app = self.find_app(client_id)
        if app is not None and client_id in self.tenant(tenant_id).apps:
            found = app.delegated.get(resource)
            return sorted(found) if found is not None else None
        own = self.principal_of(tenant_id, client_id)
        target = self.principal_of(tenant_id, RESOURCE_APP_IDS.get(resource, ""))
        if own is None or target is None:
            return []
        grants = self.partners[tenant_id].grants.get(tenant_id, [])
        return sorted(
            {
                scope
                for grant in grants
                if grant.get("clientId") == own["id"] and grant.get("resourceId") == target["id"]
                for scope in str(grant.get("scope", "")).split()
            }
        )

    def sign_in_as(self, tenant_id: str, upn: str) -> None:
        self.signed_in = (tenant_id, upn)

    def inject(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, service: str, method: str, path: str, body: bytes = b"") -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(service, method, path, body):
                    fault.times -= 1
                    return fault
        return None

    def put_secret(
        self,
        vault: Vault,
        name: str,
        value: str,
        *,
        content_type: str | None = None,
        enabled: bool = True,
        exp: int | None = None,
        nbf: int | None = None,
        tags: dict[str, str] | None = None,
    ) -> SecretVersion:
        with self.lock:
            now = int(time.time())
            version = SecretVersion(
                version=f"{next(self._versions):08d}{secrets.token_hex(12)}",
                value=value,
                content_type=content_type,
                enabled=enabled,
                created=now,
                updated=now,
                exp=exp,
                nbf=nbf,
                tags=dict(tags or {}),
            )
            vault.secrets.setdefault(name, []).append(version)
            return version

    def latest(self, vault_name: str, name: str) -> SecretVersion | None:
        versions = self.vaults[vault_name].secrets.get(name) or []
        return versions[-1] if versions else None

    # -- tokens --------------------------------------------------------------------------------

    def issue(
        self,
        grant: Grant,
        scope: str,
        *,
        nonce: str | None = None,
        with_refresh: bool = True,
        tenant_id: str | None = None,
    ) -> dict[str, Any]:
        """A token response for ``grant``: access token for the scope's resource, ID token and a
        new refresh token (the old one stays valid, as in Entra).

        As Entra issues them: the access token is a v1.0 token (Partner Center's and Graph's
        tokens are; ``amr`` is a v1.0 access-token claim, "Access token claims reference": the
        methods of the sign-in, ``["pwd", "mfa"]`` after MFA); the ID token is a v2.0 token, which
        has no ``amr`` ("ID token claims reference")."""
        resources = [item for item in scope.split() if "://" in item]
        resource = resources[0].rsplit("/", 1)[0] if resources else GRAPH
        now = int(time.time())
        tid = tenant_id or grant.tenant_id
        held = self.scopes_of(tid, grant.client_id, resource)
        common = {"tid": tid, "iat": now, "nbf": now, "exp": now + 3600}
        user = grant.user
        access = mint_jwt(
            {
                **common,
                "aud": resource,
                "iss": f"https://sts.windows.net/{tid}/",
                "ver": "1.0",
                "appid": grant.client_id,
                "azp": grant.client_id,
                "oid": user.object_id,
                "upn": user.upn,
                "amr": list(grant.amr),
                "scp": "user_impersonation" if held is None else " ".join(held),
                "jti": secrets.token_hex(8),
            }
        )
        identity = mint_jwt(
            {
                **common,
                "aud": grant.client_id,
                "iss": f"https://login.fake/{grant.tenant_id}/v2.0",
                "sub": user.object_id,
                "oid": user.object_id,
                "preferred_username": user.upn,
                "name": user.upn.split("@")[0],
                "ver": "2.0",
                **({"nonce": nonce} if nonce else {}),
            }
        )
        self.minted.add(access)
        result: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": 3600,
            "ext_expires_in": 3600,
            "access_token": access,
            "id_token": identity,
            "client_info": _b64(
                json.dumps({"uid": user.object_id, "utid": grant.tenant_id}).encode()
            ),
        }
        if with_refresh:
            refresh = self.secret("refresh-token")
            self.grants[refresh] = grant
            result["refresh_token"] = refresh
        return result

    def app_token(
        self, tenant_id: str, app: App, scope: str, roles: list[str] | None = None
    ) -> dict[str, Any]:
        resource = scope.removesuffix("/.default")
        now = int(time.time())
        access = mint_jwt(
            {
                **({"roles": roles} if roles else {}),
                "aud": resource,
                "tid": tenant_id,
                "iss": f"https://sts.windows.net/{tenant_id}/",
                "appid": app.client_id,
                "azp": app.client_id,
                "oid": app.object_id,
                "idtyp": "app",
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
            }
        )
        self.minted.add(access)
        return {
            "token_type": "Bearer",
            "expires_in": 3600,
            "ext_expires_in": 3600,
            "access_token": access,
        }


def _customer_id(item: dict[str, Any]) -> str:
    profile = item.get("companyProfile") or {}
    return str(profile.get("tenantId") or item.get("id") or "")
