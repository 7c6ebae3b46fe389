"""Test-only name resolution: a cloud's real host names reach the loopback fake, in this process.

A sovereign-cloud test must see the product compute the cloud's real endpoints (no
``PARTNER_APPS_*`` override masking them) and still run against the fake, whose servers listen
on loopback ports. ``resolving`` replaces ``socket.getaddrinfo`` (what urllib3, ``http.client``
and the standard library's ``urllib`` look names up with) for the duration of a ``with``: a host
of the chosen cloud resolves to the fake server of its service, any other name fails as an
unknown host would (so a request to another cloud's host is an error, not a leak to the
internet), loopback names resolve as usual. The fake's certificate names every cloud's real hosts
(``server.REAL_HOSTS``), so TLS is verified as against Microsoft, with the test CA.

The host names are the documented ones, written here on their own (not read from the product's
``components/regions.py``, which the tests check against them): Microsoft Graph "National cloud
deployments" (sign-in and Graph hosts), Key Vault "About keys, secrets and certificates" (DNS
suffixes of vaults), Partner Center "REST URLs" (its base URL per cloud).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from .server import FakeCloud

# cloud -> service of the fake -> the cloud's real host of that service
HOSTS: dict[str, dict[str, str]] = {
    "public": {
        "login": "login.microsoftonline.com",
        "graph": "graph.microsoft.com",
        "partnercenter": "api.partnercenter.microsoft.com",
        "vault": "vault.azure.net",
    },
    "usgovernment": {
        "login": "login.microsoftonline.us",
        "graph": "graph.microsoft.us",
        "partnercenter": "api.partnercenter.microsoft.com",
        "vault": "vault.usgovcloudapi.net",
    },
    "china": {
        "login": "login.chinacloudapi.cn",
        "graph": "microsoftgraph.chinacloudapi.cn",
        "partnercenter": "partner.partnercenterapi.microsoftonline.cn",
        "vault": "vault.azure.cn",
    },
}
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass
class Resolver:
    """Real host name -> the loopback port of the fake server that answers for it; and every
    name the process looked up meanwhile (loopback names aside)."""

    ports: dict[str, int]
    looked_up: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def port_of(self, name: str) -> int | None:
        return self.ports.get(name.lower().rstrip("."))


def cloud_hosts(fake: FakeCloud, cloud: str) -> Resolver:
    """The real host names of ``cloud`` on ``fake``'s servers: sign-in, Graph, Partner Center,
    and ``<vault>.<suffix>`` for each vault of the fake."""
    hosts = HOSTS[cloud]
    ports = {hosts[service]: fake.servers[service].server_port for service in ("login", "graph")}
    ports[hosts["partnercenter"]] = fake.servers["partnercenter"].server_port
    for name in fake.cloud.vaults:
        ports[f"{name}.{hosts['vault']}"] = fake.servers[f"vault:{name}"].server_port
    return Resolver(ports)


@contextmanager
def resolving(resolver: Resolver) -> Iterator[Resolver]:
    """``socket.getaddrinfo`` answering ``resolver``'s names with the fake's loopback ports."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in LOOPBACK:
            return real(host, port, *args, **kwargs)
        with resolver._lock:
            resolver.looked_up.append(name)
        target = resolver.port_of(name)
        if target is None or int(port or 443) != 443:
            raise socket.gaierror(
                socket.EAI_NONAME, f"test name resolution: {name}:{port} is not a host of the fake"
            )
        return real("127.0.0.1", target, *args, **kwargs)

    with mock.patch("socket.getaddrinfo", getaddrinfo):
        yield resolver
