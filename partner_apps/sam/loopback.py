"""The loopback redirect of the consent sign-in: ``http://localhost:<free port>``.

``apps.yaml`` registers exactly ``http://localhost/`` on the SAM app; Entra ignores the port of a
localhost redirect, so a free port chosen now works. The listener binds 127.0.0.1 only, answers
one answer that carries ``code`` or ``error``, and gives up after ``timeout`` seconds. The
sign-in asks for ``response_mode=form_post`` (RFC 9700 4.3.1): the browser POSTs the code to the
listener instead of putting it in a URL that lands in its history; a query-string redirect is
accepted too.
"""

from __future__ import annotations

import http.server
import threading
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAGE = (
    b"<!doctype html><title>partner-apps</title><p>Sign-in received. You can close this tab and "
    b"return to the terminal.</p>"
)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer(urlsplit(self.path).query)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._answer(self.rfile.read(length).decode("ascii", "replace") if length else "")

    def _answer(self, form: str) -> None:
        query = {key: values[0] for key, values in parse_qs(form).items()}
        if "code" not in query and "error" not in query:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)
        self.server.result = query
        self.server.received.set()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request line carries the authorization code."""


class _Server(http.server.HTTPServer):
    result: dict[str, str] | None
    received: threading.Event


class LoopbackRedirect:
    """Context manager: ``redirect_uri`` while open, ``wait()`` for the browser's redirect."""

    def __init__(self, timeout: float = 300.0) -> None:
        self.timeout = timeout
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.result = None
        self._server.received = threading.Event()
        self._server.timeout = 0.5
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        return f"http://localhost:{self.port}/"

    def __enter__(self) -> LoopbackRedirect:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait(self) -> dict[str, str] | None:
        """The redirect's query parameters, or None after the timeout."""
        self._server.received.wait(self.timeout)
        return self._server.result
