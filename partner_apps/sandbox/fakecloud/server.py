"""The wire side of the loopback Microsoft cloud: TLS servers on 127.0.0.1, one per service.

Entra (login), Partner Center, Graph, and one server per Key Vault (a vault's URL is its host,
and the Key Vault SDK parses secret ids as ``https://<host>/secrets/<name>/<version>``). Each
speaks the documented REST shape the real clients expect (MSAL, azure-identity,
azure-keyvault-secrets, requests), with the test CA from trustme. The servers run on daemon
threads, stop when the context manager exits, and stop by themselves after ``lifetime`` seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import http.server
import json
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import trustme
from azure.keyvault.secrets._shared import http_challenge_cache

from .gdap import Call, Relationships
from .state import (
    CONSENT_ROLES,
    GRAPH_APP_ID,
    GRAPH_APP_ROLE_ROLES,
    PARTNER_CENTER,
    VAULT_RESOURCE,
    App,
    Cloud,
    Directory,
    Grant,
    PartnerTenant,
    Request,
    SecretVersion,
    Vault,
    _b64,
    read_jwt,
)

Response = tuple[int, dict[str, str], bytes]
# Every cloud's real host names the servers may be reached under (names.py): sign-in, Graph,
# Partner Center, and the vaults' DNS suffixes (a wildcard name each).
REAL_HOSTS = (
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.chinacloudapi.cn",
    "graph.microsoft.com",
    "graph.microsoft.us",
    "microsoftgraph.chinacloudapi.cn",
    "api.partnercenter.microsoft.com",
    "partner.partnercenterapi.microsoftonline.cn",
    "*.vault.azure.net",
    "*.vault.usgovcloudapi.net",
    "*.vault.azure.cn",
)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


def aad_error(status: int, error: str, code: int, text: str) -> Response:
    trace = str(uuid.uuid4())
    return _json(
        status,
        {
            "error": error,
            "error_description": f"AADSTS{code}: {text} Trace ID: {trace}",
            "error_codes": [code],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": trace,
            "correlation_id": str(uuid.uuid4()),
        },
    )


def _redirect_allowed(registered: tuple[str, ...], redirect: str) -> bool:
    if redirect in registered:
        return True
    parts = urlsplit(redirect)
    # Entra ignores the port of a localhost redirect URI; the path must still match.
    if parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1"):
        return f"http://{parts.hostname}{parts.path}" in registered
    return False


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read ``Cloud.requests`` instead."""

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        cloud = self.server.cloud
        service = self.server.service
        path = self.path
        fault = cloud.take_fault(service, method, urlsplit(path).path, body)
        if fault is not None and fault.action == "lose":
            # The request is served, its answer lost: the client cannot know it was done.
            with cloud.lock:
                self.server.route(method, path, dict(self.headers.items()), body)
        if fault is not None and fault.action in ("drop", "lose"):
            cloud.requests.append(Request(service, method, path, 0))
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and fault.action == "stall":
            self.server.stopping.wait(fault.stall_seconds)
            fault = None
        if fault is not None:
            status, headers, payload = _json(
                fault.status, fault.body or {"error": {"code": "Injected"}}, fault.headers
            )
        else:
            try:
                with cloud.lock:
                    status, headers, payload = self.server.route(
                        method, path, dict(self.headers.items()), body
                    )
            except Exception as error:  # a bug in the fake: answer 500 and say so
                status, headers, payload = _json(500, {"error": f"fake: {error!r}"})
        cloud.requests.append(Request(service, method, path, status))
        if cloud.answer_latency > 0:
            self._hold(cloud, cloud.answer_latency)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _hold(self, cloud: Cloud, seconds: float) -> None:
        """Hold this answer ``seconds`` (``Cloud.answer_latency``: a network round trip, not a
        documented Microsoft behaviour), outside the cloud's lock and on this connection's own
        thread, so that every other connection is served meanwhile. A shutdown ends the wait."""
        with cloud.lock:
            cloud.answers_held += 1
            cloud.answers_held_peak = max(cloud.answers_held_peak, cloud.answers_held)
        try:
            self.server.stopping.wait(seconds)
        finally:
            with cloud.lock:
                cloud.answers_held -= 1

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")


Route = Callable[[str, str, dict[str, str], bytes], Response]


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: parallel clients on a loaded machine could
    # then see refused connections (and retries the tests did not ask for). Entra's is larger.
    request_queue_size = 128

    def __init__(self, cloud: Cloud, service: str, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.cloud = cloud
        self.service = service
        self.stopping = threading.Event()
        self.route: Route = lambda *_: _json(404, {})

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.cloud.lock:
            connections = self.cloud.connections
            connections[self.service] = connections.get(self.service, 0) + 1
        super().process_request(request, client_address)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}"


def _shut_down(servers: list[_Server]) -> None:
    """``shutdown()`` every server at once, without waiting out their loops' poll interval.

    socketserver's loop looks at a shutdown request only when its ``select`` returns: on a
    quiet server, after up to ``poll_interval``, which was most of a world's teardown. A TCP
    connection to the listening socket makes it return now; the loop sees the request and stops
    before it accepts the connection (if it comes first, the loop's TLS accept fails on the
    closed connection, which the loop ignores, and the next one wakes it).
    """
    stoppers = [threading.Thread(target=server.shutdown, daemon=True) for server in servers]
    for stopper in stoppers:
        stopper.start()
    for server, stopper in zip(servers, stoppers, strict=True):
        while stopper.is_alive():
            # OSError: not listening any more, the loop has stopped.
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", server.server_port), timeout=1).close()
            stopper.join(0.002)


def _host(headers: dict[str, str]) -> str:
    """The host name a request was sent to (its Host header, without a port)."""
    value = next((v for k, v in headers.items() if k.lower() == "host"), "")
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


# A cloud's real host names (``names.py`` resolves them to these servers): what a
# server reached under one of them answers as that cloud ("National cloud deployments", Key Vault
# DNS suffixes; components/regions.py holds the product's table, this is the fake's own).
_VAULT_SUFFIXES = {
    "vault.azure.net": "login.microsoftonline.com",
    "vault.usgovcloudapi.net": "login.microsoftonline.us",
    "vault.azure.cn": "login.chinacloudapi.cn",
}
_GRAPH_HOSTS = ("graph.microsoft.com", "graph.microsoft.us", "microsoftgraph.chinacloudapi.cn")


def _bearer(headers: dict[str, str]) -> dict[str, Any] | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if not value.startswith("Bearer "):
        return None
    return read_jwt(value.removeprefix("Bearer "))


class Login:
    """Entra: discovery, authorize, token and device-code endpoints."""

    def __init__(self, cloud: Cloud, base: str) -> None:
        self.cloud = cloud
        self.base = base

    def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        # Reached under a cloud's real sign-in host, the endpoints it names are on that host.
        host = _host(headers)
        base = self.base if host in ("127.0.0.1", "localhost", "") else f"https://{host}"
        parts = urlsplit(path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        segments = [segment for segment in parts.path.split("/") if segment]
        if segments[:3] == ["common", "discovery", "instance"]:
            tenant = urlsplit(query.get("authorization_endpoint", "")).path.split("/")[1]
            return _json(
                200,
                {
                    "tenant_discovery_endpoint": (
                        f"{base}/{tenant}/v2.0/.well-known/openid-configuration"
                    ),
                    "api-version": "1.1",
                    "metadata": [],
                },
            )
        if not segments:
            return _json(404, {})
        tenant_id, rest = self.cloud.domains.get(segments[0], segments[0]), segments[1:]
        directory = self.cloud.directories.get(tenant_id)
        if directory is None:
            return aad_error(400, "invalid_tenant", 90002, f"Tenant '{tenant_id}' not found.")
        if rest == ["v2.0", ".well-known", "openid-configuration"]:
            root = f"{base}/{tenant_id}"
            return _json(
                200,
                {
                    "issuer": f"{root}/v2.0",
                    "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{root}/oauth2/v2.0/token",
                    "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
                    "jwks_uri": f"{root}/discovery/v2.0/keys",
                    "response_types_supported": ["code", "id_token", "code id_token"],
                    "tenant_region_scope": self.cloud.region_scope.get(tenant_id, "NA"),
                },
            )
        form = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        if rest == ["oauth2", "v2.0", "authorize"] and method == "GET":
            return self.authorize(directory, query)
        if rest == ["oauth2", "v2.0", "devicecode"] and method == "POST":
            return self.devicecode(directory, form)
        if rest == ["oauth2", "v2.0", "token"] and method == "POST":
            return self.token(directory, form)
        return _json(404, {})

    def _amr(self, upn_user: Any, asked: bool) -> tuple[str, ...]:
        return ("pwd", "mfa") if asked and upn_user.performs_mfa else ("pwd",)

    def authorize(self, directory: Directory, query: dict[str, str]) -> Response:
        app = directory.apps.get(query.get("client_id", ""))
        redirect = query.get("redirect_uri", "")
        if app is None:
            return aad_error(400, "unauthorized_client", 700016, "Application not found.")
        if not _redirect_allowed(app.redirect_uris, redirect):
            return aad_error(400, "invalid_request", 50011, "Redirect URI mismatch.")
        signed_in = self.cloud.signed_in
        if signed_in is None or signed_in[0] != directory.tenant_id:
            # As Entra: the browser comes back with an error and a description (no error_codes).
            params = {
                "error": "access_denied",
                "error_description": "AADSTS50020: User account does not exist in tenant.",
                "state": query["state"],
            }
            return 302, {"Location": f"{redirect}?{urlencode(params)}"}, b""
        user = directory.users[signed_in[1]]
        asked = query.get("amr_values") == "mfa" or "mfa" in query.get("claims", "")
        code = self.cloud.secret("auth-code")
        self.cloud.codes[code] = {
            "grant": Grant(directory.tenant_id, app.client_id, user, self._amr(user, asked)),
            "redirect_uri": redirect,
            "challenge": query.get("code_challenge"),
            "nonce": query.get("nonce"),
            "scope": query.get("scope", ""),
        }
        params = {"code": code, "state": query.get("state", ""), "session_state": "fake"}
        if query.get("response_mode") == "form_post":
            fields = "".join(
                f'<input type="hidden" name="{key}" value="{html.escape(value)}">'
                for key, value in params.items()
            )
            page = (
                f'<html><body onload="document.forms[0].submit()"><form method="post" '
                f'action="{html.escape(redirect)}">{fields}</form></body></html>'
            )
            return 200, {"Content-Type": "text/html"}, page.encode()
        return 302, {"Location": f"{redirect}?{urlencode(params)}"}, b""

    def devicecode(self, directory: Directory, form: dict[str, str]) -> Response:
        app = directory.apps.get(form.get("client_id", ""))
        if app is None:
            return aad_error(400, "unauthorized_client", 700016, "Application not found.")
        device = self.cloud.secret("device-code")
        signed_in = self.cloud.signed_in
        user = directory.users.get(signed_in[1]) if signed_in else None
        asked = "mfa" in form.get("claims", "")
        self.cloud.device_codes[device] = {
            "client_id": app.client_id,
            "grant": Grant(directory.tenant_id, app.client_id, user, self._amr(user, asked))
            if user
            else None,
            "scope": form.get("scope", ""),
        }
        return _json(
            200,
            {
                "device_code": device,
                "user_code": "FAKE-CODE",
                "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": 900,
                "interval": 0,
                "message": "To sign in, open https://microsoft.com/devicelogin and enter the "
                "code FAKE-CODE to authenticate.",
            },
        )

    def _client(self, directory: Directory, form: dict[str, str]) -> App | Response:
        """The app a token request authenticates as (client id and secret in the form); a
        multi-tenant app of another tenant authenticates too (what it may get is checked later)."""
        client_id = form.get("client_id", "")
        app = directory.apps.get(client_id) or self.cloud.find_app(client_id)
        if app is None:
            return aad_error(400, "unauthorized_client", 700016, "Application not found.")
        if form.get("client_secret") != app.secret:
            return aad_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        if app.secret_expired:
            return aad_error(401, "invalid_client", 7000222, "The client secret has expired.")
        return app

    def token(self, directory: Directory, form: dict[str, str]) -> Response:
        cloud = self.cloud
        app = self._client(directory, form)
        if not isinstance(app, App):
            return app
        grant_type = form.get("grant_type", "")
        if grant_type == "client_credentials":
            return self._client_credentials(directory, app, form)
        if app.client_id in cloud.blocked_by_ca:
            return aad_error(400, "invalid_grant", 53003, "Blocked by Conditional Access.")
        redeem = {
            "authorization_code": self._code_grant,
            "urn:ietf:params:oauth:grant-type:device_code": self._device_grant,
            "refresh_token": self._refresh_grant,
        }.get(grant_type)
        if redeem is None:
            return aad_error(400, "unsupported_grant_type", 70003, "Unsupported grant type.")
        granted = redeem(directory, app, form)
        if not isinstance(granted, _Granted):
            return granted
        if app.client_id in cloud.mfa_required_again:
            return aad_error(400, "interaction_required", 50076, "MFA required.")
        if not app.consented:
            return aad_error(400, "invalid_grant", 65001, "No consent.")
        scope = form.get("scope") or granted.scope
        issued = cloud.issue(granted.grant, scope, nonce=granted.nonce, tenant_id=granted.tenant_id)
        return _json(200, issued)

    def _client_credentials(self, directory: Directory, app: App, form: dict[str, str]) -> Response:
        """App-only token: in its home tenant always; in another tenant only once the app has a
        service principal there (consent), carrying the app roles assigned to it."""
        cloud = self.cloud
        tenant = directory.tenant_id
        scope = form.get("scope", "")
        if app.client_id in directory.apps:
            return _json(200, cloud.app_token(tenant, app, scope))
        if cloud.late_tokens.get(tenant, 0) > 0:
            cloud.late_tokens[tenant] -= 1
            return aad_error(
                400,
                "unauthorized_client",
                7000229,
                "The client application is missing service principal in the tenant.",
            )
        roles = cloud.roles_of(tenant, app.client_id)
        if roles is None:
            return aad_error(
                400,
                "unauthorized_client",
                7000229,
                "The client application is missing service principal in the tenant.",
            )
        return _json(200, cloud.app_token(tenant, app, scope, roles))

    def _code_grant(self, directory: Directory, app: App, form: dict[str, str]) -> Granted:
        entry = self.cloud.codes.pop(form.get("code", ""), None)
        if entry is None:
            return aad_error(400, "invalid_grant", 54005, "Code already redeemed.")
        if entry["redirect_uri"] != form.get("redirect_uri"):
            return aad_error(400, "invalid_grant", 50148, "Redirect URI differs.")
        verifier = form.get("code_verifier", "")
        if entry["challenge"] != _b64(hashlib.sha256(verifier.encode()).digest()):
            return aad_error(400, "invalid_grant", 501481, "Code verifier mismatch.")
        return _Granted(entry["grant"], entry["nonce"], entry["scope"])

    def _device_grant(self, directory: Directory, app: App, form: dict[str, str]) -> Granted:
        cloud = self.cloud
        entry = cloud.device_codes.get(form.get("device_code", ""))
        if entry is None:
            return aad_error(400, "expired_token", 70019, "Device code expired.")
        if cloud.device_pending_polls > 0 or entry["grant"] is None:
            cloud.device_pending_polls = max(0, cloud.device_pending_polls - 1)
            return aad_error(400, "authorization_pending", 70016, "Pending.")
        cloud.device_codes.pop(form["device_code"])
        return _Granted(entry["grant"], None, entry["scope"])

    def _refresh_grant(self, directory: Directory, app: App, form: dict[str, str]) -> Granted:
        found = self.cloud.grants.get(form.get("refresh_token", ""))
        if found is None:
            return aad_error(400, "invalid_grant", 9002313, "Invalid request.")
        # A partner admin reaches a customer tenant through GDAP (the customer's partner).
        foreign = found.tenant_id != directory.tenant_id
        through_gdap = foreign and self.cloud.partner_of(directory.tenant_id) == found.tenant_id
        refused = (
            (found.revoked, 50173, "The grant was revoked."),
            (found.expired, 700082, "Expired due to inactivity."),
            (found.client_id != app.client_id, 70000, "Grant is for another client."),
            (foreign and not through_gdap, 50020, "User not in tenant."),
        )
        for applies, code, text in refused:
            if applies:
                return aad_error(400, "invalid_grant", code, text)
        # In a customer tenant the client app needs a service principal there (its consent)
        # before a partner admin's token can be issued for it: AADSTS90099 (Entra error-code
        # reference: "Applications must be authorized to access the customer tenant before
        # partner delegated administrators can use them"). ``Cloud.unconsented_admin_code``
        # lets the tests answer 65001, 7000229 or 700016 instead, which the product treats alike.
        if through_gdap and self.cloud.principal_of(directory.tenant_id, app.client_id) is None:
            code = self.cloud.unconsented_admin_code
            return aad_error(400, "invalid_grant", code, _UNCONSENTED.get(code, "No consent."))
        return _Granted(found, None, "", directory.tenant_id if through_gdap else None)


# The error descriptions of the "not consented yet" answers (Entra error-code reference).
_UNCONSENTED = {
    90099: "The application has not been authorized in the tenant. Applications must be "
    "authorized to access the customer tenant before partner delegated administrators can use "
    "them. Provide pre-consent or execute the appropriate Partner Center API to authorize the "
    "application.",
    65001: "The user or administrator has not consented to use the application.",
    7000229: "Missing service principal in the tenant.",
    700016: "Application not found in the directory.",
}


@dataclass(frozen=True)
class _Granted:
    """A grant an authorization code, device code or refresh token stands for."""

    grant: Grant
    nonce: str | None
    scope: str
    tenant_id: str | None = None  # a customer tenant reached through GDAP


Granted = _Granted | Response


class KeyVault:
    """One vault's secrets REST API (the subset the SDK's SecretClient calls)."""

    def __init__(self, cloud: Cloud, vault: Vault) -> None:
        self.cloud = cloud
        self.vault = vault

    def _bundle(self, name: str, item: SecretVersion, *, value: bool) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "enabled": item.enabled,
            "created": item.created,
            "updated": item.updated,
            "recoveryLevel": "Recoverable",
            "recoverableDays": 90,
        }
        if item.exp is not None:
            attributes["exp"] = item.exp
        if item.nbf is not None:
            attributes["nbf"] = item.nbf
        bundle: dict[str, Any] = {
            "id": f"{self.vault.url}/secrets/{name}/{item.version}",
            "attributes": attributes,
            "tags": dict(item.tags),
        }
        if item.content_type is not None:
            bundle["contentType"] = item.content_type
        if value:
            bundle["value"] = item.value
        return bundle

    @staticmethod
    def _error(status: int, code: str, message: str, inner: str | None = None) -> Response:
        error: dict[str, Any] = {"code": code, "message": message}
        if inner:
            error["innererror"] = {"code": inner}
        return _json(status, {"error": error})

    def _authorize(self, headers: dict[str, str]) -> Response | None:
        """None for a caller with a vault token of the vault's tenant and a data-plane role."""
        vault = self.vault
        claims = _bearer(headers)
        # A vault names its cloud's sign-in host and resource (https://vault.azure.net,
        # https://vault.usgovcloudapi.net, https://vault.azure.cn): the host's DNS suffix decides.
        host = _host(headers)
        suffix = next((x for x in _VAULT_SUFFIXES if host.endswith(f".{x}")), "vault.azure.net")
        resource = VAULT_RESOURCE if suffix == "vault.azure.net" else f"https://{suffix}"
        if claims is None or claims.get("aud") != resource:
            challenge = (
                f'Bearer authorization="https://{_VAULT_SUFFIXES[suffix]}/{vault.tenant_id}", '
                f'resource="{resource}"'
            )
            return _json(
                401,
                {
                    "error": {
                        "code": "Unauthorized",
                        "message": "AKV10000: Request is missing a Bearer or PoP token.",
                    }
                },
                {"WWW-Authenticate": challenge},
            )
        if claims.get("tid") != vault.tenant_id:
            return self._error(401, "Unauthorized", "AKV10032: Invalid issuer.")
        if claims.get("oid") not in vault.officers:
            return self._error(403, "Forbidden", "Caller is not authorized.", "ForbiddenByRbac")
        return None

    def _not_found(self, name: str) -> Response:
        return self._error(
            404,
            "SecretNotFound",
            f"A secret with (name/id) {name} was not found in this key vault.",
        )

    def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        refused = self._authorize(headers)
        if refused is not None:
            return refused
        segments = [segment for segment in urlsplit(path).path.split("/") if segment]
        if not segments or segments[0] != "secrets":
            return self._error(404, "NotFound", "No such API.")
        if len(segments) == 1:
            return self._list() if method == "GET" else self._error(405, "NotAllowed", method)
        return self._secret(method, segments, body)

    def _secret(self, method: str, segments: list[str], body: bytes) -> Response:
        """``/secrets/{name}``, ``/secrets/{name}/versions`` and ``/secrets/{name}/{version}``."""
        name = segments[1]
        if len(segments) == 2 and method == "PUT":
            return self._put(name, body)
        if len(segments) == 2 and method == "DELETE":
            return self._delete(name)
        versions = self.vault.secrets.get(name) or []
        if not versions:
            return self._not_found(name)
        if segments[2:] == ["versions"] and method == "GET":
            items = [self._bundle(name, item, value=False) for item in versions]
            return _json(200, {"value": items, "nextLink": None})
        version = segments[2] if len(segments) == 3 else ""
        found = next((item for item in versions if item.version == version), None)
        if not version:
            found = versions[-1]
        if found is None:
            return self._error(404, "SecretNotFound", f"Version {version} of {name} not found.")
        if method == "GET":
            return self._get(name, found)
        if method == "PATCH":
            return self._patch(name, found, body)
        return self._error(405, "MethodNotAllowed", method)

    def _list(self) -> Response:
        listed = [
            self._bundle(name, versions[-1], value=False)
            for name, versions in sorted(self.vault.secrets.items())
        ]
        for entry in listed:
            entry["id"] = entry["id"].rsplit("/", 1)[0]
        return _json(200, {"value": listed, "nextLink": None})

    def _put(self, name: str, body: bytes) -> Response:
        if name in self.vault.soft_deleted:
            return self._error(
                409,
                "Conflict",
                f"Secret {name} is currently in a deleted but recoverable state, and its name "
                "cannot be reused; in this state, the secret can only be recovered or purged.",
                "ObjectIsDeletedButRecoverable",
            )
        document = json.loads(body or b"{}")
        attributes = document.get("attributes") or {}
        item = self.cloud.put_secret(
            self.vault,
            name,
            str(document.get("value", "")),
            content_type=document.get("contentType"),
            enabled=attributes.get("enabled", True),
            exp=attributes.get("exp"),
            nbf=attributes.get("nbf"),
            tags=document.get("tags"),
        )
        return _json(200, self._bundle(name, item, value=True))

    def _delete(self, name: str) -> Response:
        versions = self.vault.secrets.pop(name, None)
        if not versions:
            return self._not_found(name)
        self.vault.soft_deleted.add(name)
        return _json(200, self._bundle(name, versions[-1], value=False))

    def _get(self, name: str, found: SecretVersion) -> Response:
        if not found.enabled:
            return self._error(
                403,
                "Forbidden",
                "Operation get is not allowed on a disabled secret.",
                "SecretDisabled",
            )
        return _json(200, self._bundle(name, found, value=True))

    def _patch(self, name: str, found: SecretVersion, body: bytes) -> Response:
        document = json.loads(body or b"{}")
        attributes = document.get("attributes") or {}
        if "enabled" in attributes:
            found.enabled = bool(attributes["enabled"])
        if "exp" in attributes:
            found.exp = attributes["exp"]
        if document.get("tags") is not None:
            found.tags = dict(document["tags"])
        if document.get("contentType") is not None:
            found.content_type = document["contentType"]
        found.updated = int(time.time())
        return _json(200, self._bundle(name, found, value=False))


# The throttle window a 429 opens (its Retry-After), and how long after the 429 a request of the
# same client can still arrive that was sent before the client read it (requests in flight).
THROTTLE_SECONDS = 1.0
IN_FLIGHT = 0.1


class PartnerCenter:
    """Partner Center: the partner's profile, customers (paged) and application consents.

    A consent creates the app's service principal in the customer tenant and the tenant-wide
    delegated grants of its scopes (what the resource app defines as delegated scopes); app role
    assignments only with ``Cloud.consent_assigns_app_roles``. With ``Cloud.consent_rate_limit``
    the consents of one applicationId are limited per second (429 with Retry-After)."""

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        claims = _bearer(headers)
        if claims is None or str(claims.get("aud", "")).rstrip("/") != PARTNER_CENTER:
            return _json(401, {"code": 401, "description": "Unauthorized", "errorName": "Auth"})
        if "mfa" not in (claims.get("amr") or []):
            return self._mfa_required()
        partner = self.cloud.partners.get(str(claims.get("tid")))
        if partner is None:
            return _json(403, {"code": 403, "description": "Not a partner tenant"})
        if self._inside_throttle_window(str(claims.get("appid") or claims.get("azp") or "")):
            return _json(
                429, {"code": 429, "description": "Too many requests"}, {"Retry-After": "1"}
            )
        parts = urlsplit(path)
        segments = [segment for segment in parts.path.split("/") if segment]
        if segments == ["v1", "profiles", "organization"] and method == "GET":
            return _json(
                200,
                {
                    "id": partner.tenant_id,
                    "companyName": partner.company_name,
                    "attributes": {"objectType": "OrganizationProfile"},
                },
            )
        if segments == ["v1", "customers"] and method == "GET":
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            return self._customers(partner, query, headers)
        if segments[:2] == ["v1", "customers"] and segments[3:4] == ["applicationconsents"]:
            return self._consents(partner, method, segments, headers, body, claims=claims)
        return _json(404, {"code": 404, "description": "Not found"})

    def _mfa_required(self) -> Response:
        """An App+User token without ``mfa`` in its ``amr`` (enforced from 2026-04-01, Partner
        Center authentication): HTTP 401 with error 900421. The body is not documented: in
        Partner Center's REST error shape (``Cloud.mfa_error_form`` "json"), or with the number
        only in a ``WWW-Authenticate`` header and the description ("header")."""
        text = "Multi-factor authentication is required for App+User calls"
        if self.cloud.mfa_error_form == "header":
            challenge = f'Bearer error="invalid_token", error_description="{text} (error 900421)"'
            return _json(401, {"description": f"{text}."}, {"WWW-Authenticate": challenge})
        return _json(
            401,
            {
                "code": 900421,
                "description": f"{text}.",
                "errorName": "MfaRequired",
                "data": [],
                "source": "PartnerFD",
            },
        )

    @staticmethod
    def _customers(
        partner: PartnerTenant, query: dict[str, str], headers: dict[str, str]
    ) -> Response:
        """``GET /v1/customers?size=N``; the next page ``seekOperation=Next`` with the
        continuation token in the ``MS-ContinuationToken`` header."""
        size = int(query.get("size", "0") or 0) or len(partner.customers) or 1
        start = 0
        if query.get("seekOperation") == "Next":
            token = next((v for k, v in headers.items() if k.lower() == "ms-continuationtoken"), "")
            if not token.startswith("ct-"):
                return _json(400, {"code": 400, "description": "Bad continuation token"})
            start = int(token.removeprefix("ct-"))
        page = partner.customers[start : start + size]
        document: dict[str, Any] = {
            "totalCount": len(page),
            "items": page,
            "attributes": {"objectType": "Collection"},
        }
        if start + size < len(partner.customers):
            document["continuationToken"] = f"ct-{start + size}"
            document["links"] = {"next": {"uri": f"/customers?size={size}&seekOperation=Next"}}
        return _json(200, document)

    def _inside_throttle_window(self, caller: str) -> bool:
        """Whether ``caller`` sent this inside its throttle window (any Partner Center request:
        "limits any further requests from that client"); such a request is counted, since a
        client that honours ``Retry-After`` for all its requests sends none."""
        cloud = self.cloud
        with cloud.lock:
            now = time.monotonic() * cloud.clock_scale
            until = cloud.throttled_until.get(caller, float("-inf"))
            if now < until:
                # A request arriving within IN_FLIGHT of the 429 left the client before it could
                # have read that answer (loopback): refused all the same, not counted.
                if now >= until - THROTTLE_SECONDS + IN_FLIGHT:
                    cloud.requests_in_throttle_window += 1
                cloud.throttled += 1
                return True
        return False

    def _throttled(self, key: str, caller: str) -> bool:
        """Whether this consent is refused with 429: ``key`` (the consented or the calling app,
        ``Cloud.consent_limit_key``) has had its ``consent_rate_limit`` in the last second; that
        opens the client's throttle window (``Retry-After: 1``)."""
        cloud = self.cloud
        if cloud.consent_rate_limit is None:
            return False
        with cloud.lock:
            now = time.monotonic() * cloud.clock_scale
            window = [t for t in cloud.consent_windows.get(key, []) if t > now - 1.0]
            if len(window) >= cloud.consent_rate_limit:
                cloud.consent_windows[key] = window
                cloud.throttled += 1
                cloud.throttled_until[caller] = now + THROTTLE_SECONDS  # Retry-After: 1
                return True
            window.append(now)
            cloud.consent_windows[key] = window
            return False

    def _consents(
        self,
        partner: PartnerTenant,
        method: str,
        segments: list[str],
        headers: dict[str, str],
        body: bytes,
        *,
        claims: dict[str, Any],
    ) -> Response:
        """``/v1/customers/{customer}/applicationconsents[/{client id}]``."""
        consents = partner.application_consents.setdefault(segments[2], [])
        if method == "GET":
            return _json(200, {"totalCount": len(consents), "items": consents})
        if method == "POST":
            document = json.loads(body or b"{}")
            application_id = str(document.get("applicationId", ""))
            caller = str(claims.get("appid") or claims.get("azp") or "")
            key = caller if self.cloud.consent_limit_key == "caller" else application_id
            if self._throttled(key, caller):
                return _json(
                    429, {"code": 429, "description": "Too many requests"}, {"Retry-After": "1"}
                )
            # The CPV consent through GDAP needs Global Administrator, Privileged Role
            # Administrator or Cloud Application Administrator in the customer (Partner Center
            # "Control panel vendor APIs"; Application Administrator is a superset of the last).
            if not (self.cloud.gdap_roles(segments[2]) & CONSENT_ROLES):
                return _json(
                    403,
                    {
                        "code": 403,
                        "description": "The partner user does not have the required role in the "
                        "customer tenant (GDAP).",
                    },
                )
            request_id = next((v for k, v in headers.items() if k.lower() == "ms-requestid"), "")
            self.cloud.consent_posts.append((segments[2], application_id, request_id))
            # The request headers the docs list (Accept required; MS-RequestId, MS-CorrelationId
            # optional), kept for the tests to check what the product sends.
            self.cloud.consent_headers.append(
                {k.lower(): v for k, v in headers.items() if k.lower() != "authorization"}
            )
            if any(c["applicationId"] == application_id for c in consents):
                # What CIPP sees for an existing consent [unverified from Microsoft].
                return _json(409, {"code": 409, "description": "Permission entry already exists"})
            consents.append(document)
            self._grant(segments[2], document)
            return _json(201, document)
        if method == "DELETE" and len(segments) == 5:
            partner.application_consents[segments[2]] = [
                c for c in consents if c.get("applicationId") != segments[4]
            ]
            return 204, {}, b""
        return _json(404, {"code": 404, "description": "Not found"})

    def _grant(self, customer: str, document: dict[str, Any]) -> None:
        """What the consent creates in the customer tenant."""
        cloud = self.cloud
        state = cloud.partners.setdefault(customer, PartnerTenant(customer, "customer"))
        principals = state.service_principals.setdefault(customer, [])
        client_id = str(document.get("applicationId", ""))
        own = next((p for p in principals if p.get("appId") == client_id), None)
        if own is None:
            own = {"id": str(uuid.uuid4()), "appId": client_id, "appRoles": []}
            principals.append(own)
        for item in document.get("applicationGrants") or []:
            resource = next(
                (p for p in principals if p.get("appId") == item.get("enterpriseApplicationId")),
                None,
            )
            if resource is None:
                continue
            asked = {value.strip() for value in str(item.get("scope", "")).split(",")}
            scopes = sorted(
                s["value"]
                for s in resource.get("oauth2PermissionScopes", [])
                if s["value"] in asked
            )
            if scopes:
                state.grants.setdefault(customer, []).append(
                    {
                        "id": str(uuid.uuid4()),
                        "clientId": own["id"],
                        "consentType": "AllPrincipals",
                        "principalId": None,
                        "resourceId": resource["id"],
                        "scope": " ".join(scopes),
                    }
                )
            if cloud.consent_assigns_app_roles:
                for role in resource.get("appRoles", []):
                    if role["value"] in asked:
                        state.app_role_assignments.setdefault(resource["id"], []).append(
                            {
                                "id": str(uuid.uuid4()),
                                "principalId": own["id"],
                                "resourceId": resource["id"],
                                "appRoleId": role["id"],
                            }
                        )


# What a delegated token's `scp` must hold for a Graph call: any one of these (the least
# privileged and the broader ones of the Graph reference for each operation).
_READ_APPS = {
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
}
# (collection, write) -> the scopes of which a delegated token needs one.
_GRAPH_SCOPES: dict[tuple[str, bool], set[str]] = {
    ("delegatedAdminRelationships", False): {
        "DelegatedAdminRelationship.Read.All",
        "DelegatedAdminRelationship.ReadWrite.All",
    },
    # Every GDAP write (create, update, requests, access assignments): Graph's pages list
    # DelegatedAdminRelationship.ReadWrite.All only.
    ("delegatedAdminRelationships", True): {"DelegatedAdminRelationship.ReadWrite.All"},
    ("servicePrincipals", False): _READ_APPS,
    ("servicePrincipals", True): {"Application.ReadWrite.All", "Directory.ReadWrite.All"},
    ("appRoleAssignedTo", False): _READ_APPS,
    ("appRoleAssignedTo", True): {"AppRoleAssignment.ReadWrite.All"},
    ("oauth2PermissionGrants", False): _READ_APPS | {"DelegatedPermissionGrant.ReadWrite.All"},
    ("oauth2PermissionGrants", True): {
        "DelegatedPermissionGrant.ReadWrite.All",
        "Directory.ReadWrite.All",
    },
}


_GRAPH_COLLECTIONS = frozenset(collection for collection, _ in _GRAPH_SCOPES)


def _scope_allows(claims: dict[str, Any], method: str, segments: list[str]) -> bool:
    """Whether the delegated token's scopes cover the call. The collection is the last one the
    path names (a service principal's grants are grants; its appRoleAssignments are read as
    service principals); a path naming none, such as /organization, needs no scope here."""
    named = [part for part in segments if part in _GRAPH_COLLECTIONS]
    collection = named[-1] if named else ""
    needed = _GRAPH_SCOPES.get((collection, method != "GET"))
    held = set(str(claims.get("scp", "")).split())
    return needed is None or bool(held & needed)


class Graph:
    """Graph in a customer (or partner) tenant: organization, service principals, delegated
    grants, app role assignments, GDAP relationships (paged)."""

    def __init__(self, cloud: Cloud, base: str = "") -> None:
        self.cloud = cloud
        self.base = base
        self.gdap = Relationships(cloud, base)

    def __call__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        claims = _bearer(headers)
        # A token for the cloud's own Graph root (Graph "National cloud deployments": a scope must
        # use the domain of the cloud's Graph); on loopback, the public cloud's.
        host = _host(headers)
        audience = f"https://{host}" if host in _GRAPH_HOSTS else "https://graph.microsoft.com"
        if claims is None or claims.get("aud") != audience:
            return _json(401, {"error": {"code": "InvalidAuthenticationToken"}})
        tenant = str(claims.get("tid"))
        if tenant in self.cloud.graph_refused:
            return _json(
                403,
                {
                    "error": {
                        "code": "Authorization_RequestDenied",
                        "message": "Insufficient privileges",
                    }
                },
            )
        partner = self.cloud.partners.setdefault(tenant, PartnerTenant(tenant, "customer"))
        parts = urlsplit(path)
        segments = [segment for segment in parts.path.split("/") if segment]
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        document = json.loads(body or b"{}") if body else {}
        refused = self._refusal(claims, method, segments, partner, tenant)
        if refused is not None:
            return refused
        if segments == ["v1.0", "organization"]:
            if claims.get("idtyp") == "app" and not claims.get("roles"):
                return _json(403, {"error": {"code": "Authorization_RequestDenied"}})
            return _json(200, {"value": [{"id": tenant}]})
        if segments[:3] == ["v1.0", "tenantRelationships", "delegatedAdminRelationships"]:
            return self.gdap(Call(partner, method, segments[3:], query, document, headers))
        if segments[:2] == ["v1.0", "servicePrincipals"]:
            return self._service_principals(partner, method, segments, query, document)
        if segments[:2] == ["v1.0", "oauth2PermissionGrants"]:
            return self._grants(partner, method, segments, query, document)
        return _json(404, {"error": {"code": "Request_ResourceNotFound"}})

    def _refusal(
        self,
        claims: dict[str, Any],
        method: str,
        segments: list[str],
        partner: PartnerTenant,
        tenant: str,
    ) -> Response | None:
        """403 for a delegated token whose scopes do not cover the call, or for a partner admin's
        write in a customer tenant that the GDAP roles do not allow; else None."""
        denied = _json(
            403,
            {
                "error": {
                    "code": "Authorization_RequestDenied",
                    "message": "Insufficient privileges to complete the operation.",
                }
            },
        )
        if claims.get("idtyp") == "app":
            return None
        if not _scope_allows(claims, method, segments):
            return denied
        if (
            method != "GET"
            and self.cloud.partner_of(tenant) is not None
            and not self._gdap_allows(partner, tenant, segments)
        ):
            return denied
        return None

    def _gdap_allows(self, partner: PartnerTenant, tenant: str, segments: list[str]) -> bool:
        """A partner admin's write in a customer tenant (through GDAP, with the roles of
        ``Cloud.gdap_roles``): Microsoft Graph app role assignments need Privileged Role
        Administrator or Global Administrator; other writes (service principals, delegated
        grants, other APIs' app roles) Cloud Application Administrator or higher ("Grant
        tenant-wide admin consent to an application": those roles may consent "for any
        permission, for any API, except Microsoft Graph app roles")."""
        held = self.cloud.gdap_roles(tenant)
        if segments[1:2] == ["servicePrincipals"] and segments[3:4] == ["appRoleAssignedTo"]:
            principals = partner.service_principals.get(tenant, [])
            resource = next((p for p in principals if p["id"] == segments[2]), None)
            if resource is not None and resource.get("appId") == GRAPH_APP_ID:
                return bool(held & GRAPH_APP_ROLE_ROLES)
        return bool(held & CONSENT_ROLES)

    @staticmethod
    def _create_principal(principals: list[dict[str, Any]], document: dict[str, Any]) -> Response:
        """``POST /servicePrincipals {appId}``. A second service principal of an app: 409
        ``Request_MultipleObjectsWithSameKeyValue`` (Graph's answer as the azuread provider and
        CIPP report it)."""
        if any(p["appId"] == document.get("appId") for p in principals):
            return _json(
                409,
                {
                    "error": {
                        "code": "Request_MultipleObjectsWithSameKeyValue",
                        "message": "The service principal cannot be created, updated, or "
                        "restored because the service principal name is already in use.",
                    }
                },
            )
        principal = {"id": str(uuid.uuid4()), "appId": document.get("appId")}
        principals.append(principal)
        return _json(201, principal)

    @staticmethod
    def _delete_principal(
        partner: PartnerTenant, principals: list[dict[str, Any]], object_id: str
    ) -> Response:
        """Graph "Delete servicePrincipal": 204; 404 for an unknown id. What becomes of the
        principal's delegated grants and app role assignments is [silent]: they go with it here
        (the product removes them itself first, so it depends on neither reading)."""
        found = next((p for p in principals if p["id"] == object_id), None)
        if found is None:
            return _json(404, {"error": {"code": "Request_ResourceNotFound"}})
        principals.remove(found)
        tenant = partner.tenant_id
        partner.grants[tenant] = [
            g for g in partner.grants.get(tenant, []) if g.get("clientId") != object_id
        ]
        for resource, items in partner.app_role_assignments.items():
            partner.app_role_assignments[resource] = [
                a for a in items if a.get("principalId") != object_id
            ]
        return 204, {}, b""

    @staticmethod
    def _service_principals(
        partner: PartnerTenant,
        method: str,
        segments: list[str],
        query: dict[str, str],
        document: dict[str, Any],
    ) -> Response:
        principals = partner.service_principals.setdefault(partner.tenant_id, [])
        if len(segments) == 2 and method == "GET":
            # `appId eq 'x'`, `appId in ('x','y')`, or the same on `id`: the quoted values
            # (Graph "Use the $filter query parameter": eq and in on directory objects, at most
            # 15 values in one `in`).
            text = query.get("$filter", "")
            wanted = text.split("'")[1::2]
            if len(wanted) > 15:
                return _json(400, {"error": {"code": "Request_UnsupportedQuery"}})
            field = "id" if text.strip().startswith("id ") else "appId"
            found = [p for p in principals if not wanted or p[field] in wanted]
            return _json(200, {"value": found})
        if len(segments) == 2 and method == "POST":
            return Graph._create_principal(principals, document)
        if len(segments) < 4:
            deleting = len(segments) == 3 and method == "DELETE"
            return (
                Graph._delete_principal(partner, principals, segments[2])
                if deleting
                else _json(404, {"error": {"code": "Request_ResourceNotFound"}})
            )
        owner, relation = segments[2], segments[3]
        if relation == "appRoleAssignedTo":
            assignments = partner.app_role_assignments.setdefault(owner, [])
            if method == "POST" and len(segments) == 4:
                assignment = {"id": str(uuid.uuid4()), "resourceId": owner, **document}
                assignments.append(assignment)
                return _json(201, assignment)
            if method == "DELETE" and len(segments) == 5:
                partner.app_role_assignments[owner] = [
                    a for a in assignments if a["id"] != segments[4]
                ]
                return 204, {}, b""
        if relation == "appRoleAssignments" and method == "GET":
            found = [
                {"resourceId": resource, **a}
                for resource, items in sorted(partner.app_role_assignments.items())
                for a in items
                if a.get("principalId") == owner
            ]
            return _json(200, {"value": found})
        if relation == "oauth2PermissionGrants" and method == "GET":
            grants = partner.grants.get(partner.tenant_id, [])
            return _json(200, {"value": [g for g in grants if g.get("clientId") == owner]})
        return _json(404, {"error": {"code": "Request_ResourceNotFound"}})

    @staticmethod
    def _grants(
        partner: PartnerTenant,
        method: str,
        segments: list[str],
        query: dict[str, str],
        document: dict[str, Any],
    ) -> Response:
        grants = partner.grants.setdefault(partner.tenant_id, [])
        if len(segments) == 2 and method == "POST":
            grant = {"id": str(uuid.uuid4()), **document}
            grants.append(grant)
            return _json(201, grant)
        if len(segments) == 2:
            wanted = query.get("$filter", "").split("'")[1:2]
            found = [g for g in grants if not wanted or g.get("clientId") == wanted[0]]
            return _json(200, {"value": found})
        found_grant = [g for g in grants if g["id"] == segments[2]]
        if not found_grant:
            return _json(404, {"error": {"code": "Request_ResourceNotFound"}})
        grant = found_grant[0]
        if method == "PATCH":
            grant.update({k: v for k, v in document.items() if k == "scope"})
            return 204, {}, b""
        if method == "DELETE":
            grants.remove(grant)
            return 204, {}, b""
        return _json(405, {"error": {"code": "MethodNotAllowed"}})


class FakeCloud:
    """Context manager: the servers, their test CA, and the environment pointing clients at them."""

    def __init__(self, cloud: Cloud, ca_dir: Path, *, lifetime: float = 300.0) -> None:
        self.cloud = cloud
        self.ca = trustme.CA()
        self.ca_file = ca_dir / "fake-cloud-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        # The loopback names, and every cloud's real host names (``names.py`` can
        # resolve those to these servers in-process).
        self.ca.issue_cert("127.0.0.1", "localhost", *REAL_HOSTS).configure_cert(context)
        self.servers: dict[str, _Server] = {}
        for service in ("login", "partnercenter", "graph"):
            self.servers[service] = _Server(cloud, service, context)
        self.servers["login"].route = Login(cloud, self.servers["login"].url)
        self.servers["partnercenter"].route = PartnerCenter(cloud)
        self.servers["graph"].route = Graph(cloud, self.servers["graph"].url)
        for name, vault in sorted(cloud.vaults.items()):
            server = _Server(cloud, f"vault:{name}", context)
            vault.url = server.url
            server.route = KeyVault(cloud, vault)
            self.servers[f"vault:{name}"] = server
        self._threads = [
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
            )
            for server in self.servers.values()
        ]
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True
        self._stopped = False

    def url(self, service: str) -> str:
        return self.servers[service].url

    def env(self) -> dict[str, str]:
        vaults = {name: vault.url for name, vault in self.cloud.vaults.items()}
        return {
            # The one CA-bundle setting every command honours (docs/running-for-real.md).
            "REQUESTS_CA_BUNDLE": str(self.ca_file),
            "NO_PROXY": "127.0.0.1,localhost",
            "PARTNER_APPS_LOGIN_URL": self.url("login"),
            "PARTNER_APPS_PARTNER_CENTER_URL": self.url("partnercenter"),
            "PARTNER_APPS_GRAPH_URL": self.url("graph"),
            "PARTNER_APPS_VAULT_URLS": json.dumps(vaults, sort_keys=True),
        }

    def __enter__(self) -> FakeCloud:
        # azure-keyvault-secrets caches each vault's challenge (its tenant) per process, keyed
        # by host:port. The OS reuses the ports of an earlier fake, so a US vault's cached
        # challenge could answer for an EU vault now on that port: start each cloud with none.
        http_challenge_cache.clear()
        for thread in self._threads:
            thread.start()
        self._timer.start()
        return self

    def pause(self) -> None:
        """Stop serving in this process but keep the listening sockets (``serve`` resumes): the
        benchmark forks the servers into a process of their own this way."""
        self._timer.cancel()
        _shut_down(list(self.servers.values()))

    def serve(self) -> None:
        for server in self.servers.values():
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
            ).start()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        http_challenge_cache.clear()
        for server in self.servers.values():
            server.stopping.set()
        _shut_down(list(self.servers.values()))
        for server in self.servers.values():
            server.server_close()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        self.stop()
