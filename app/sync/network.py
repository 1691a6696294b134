"""Where a GESDENT client may connect: by default only to public addresses (SSRF).

The rules are checked when they are saved (app/services/gesdent.py), but a host name can resolve
elsewhere later, even between a check and the connection that follows it (DNS rebinding). So the
check lives in the connection itself: `PublicOnlyBackend` resolves the host, refuses it when any of
its addresses is not public unicast (app/domain/addresses.py), and connects to the very addresses it
checked. TLS is unaffected: httpcore verifies the certificate against the URL's host name, not the
address connected to.

A refusal names the address only when the URL wrote it out: what a host name resolves to stays out
of answers and run errors, or they would tell a partner about the network Portico runs in (the
log, which the operator reads, has it).
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterable

import anyio
import httpcore
import httpx

from app.domain.addresses import forbidden_address, parse_address

ALLOW_SETTING = "PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS"
logger = logging.getLogger("portico.sync.gesdent")


class AddressRefused(Exception):
    """The host resolves to an address a GESDENT server may not have. The message completes
    "base_url …"."""


async def public_addresses(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, all of them public; AddressRefused if one is not, OSError
    (socket.gaierror) if the host does not resolve."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = _unique(str(info[4][0]) for info in infos)
    for address in addresses:
        reason = forbidden_address(address)
        if not reason:
            continue
        if parse_address(host) is not None:  # written out by whoever wrote the URL
            raise AddressRefused(f"points at {reason} ({host}); set {ALLOW_SETTING}=true to allow it")
        logger.warning("GESDENT host %s resolves to %s, %s: refused", host, address, reason)
        raise AddressRefused(
            f"host {host} resolves to a non-public address; set {ALLOW_SETTING}=true to allow it"
        )
    return addresses


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio network backend, with every TCP connection going to a checked address."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()  # httpcore's own, under asyncio

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await public_addresses(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:  # does not resolve (now): a connect error, retried like one
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # getaddrinfo yields at least one address or raises
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109  # httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("is a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PublicOnlyTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that uses PublicOnlyBackend. httpx takes no network
    backend, so the pool it builds is replaced by the same pool with one (tests/sync/test_network.py
    fails if that stops working)."""

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context)
        limits = httpx.Limits()  # httpx's defaults, as AsyncHTTPTransport() applies them
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PublicOnlyBackend(),
        )


def _unique(addresses: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(addresses))
