"""A GESDENT client that may not reach private networks checks every address as it connects: no
request leaves for a loopback, private or link-local address, whatever the URL says or DNS answers."""

from __future__ import annotations

import httpx
import pytest

from app.sync.client import AddressForbidden, GesdentClient, GesdentError, RetryPolicy
from app.sync.network import AddressRefused, public_addresses
from tests.sync.sandbox_server import SandboxServer

FAST = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)


def guarded(url: str, server: SandboxServer) -> GesdentClient:
    credentials = {family: tuple(credential) for family, credential in server.credentials.items()}
    return GesdentClient(url, credentials, retry=FAST)  # type: ignore[arg-type]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_loopback_server_is_not_reached(sandbox: SandboxServer, host: str) -> None:
    url = sandbox.url.replace("127.0.0.1", host)
    async with guarded(url, sandbox) as gesdent:
        with pytest.raises(AddressForbidden) as raised:
            await gesdent.resource(sandbox.resource_ids[0])
    message = str(raised.value)
    assert message.startswith("resources: base_url points at a loopback address (")
    assert message.endswith("set PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS=true to allow it")
    assert sandbox.control.stats()["total"]["requests"] == 0  # not one request, and no retries


async def test_the_same_server_is_reached_when_private_networks_are_allowed(sandbox: SandboxServer) -> None:
    credentials = {family: tuple(credential) for family, credential in sandbox.credentials.items()}
    async with GesdentClient(sandbox.url, credentials, retry=FAST, allow_private_networks=True) as gesdent:  # type: ignore[arg-type]
        assert (await gesdent.resource(sandbox.resource_ids[0]))["id"] == sandbox.resource_ids[0]


async def test_a_public_address_is_connected_to() -> None:
    """Not refused: the request goes out. What answers depends on the network the tests run on
    (nothing, offline; here a proxy answered 404), so only the refusal is ruled out."""
    gesdent = GesdentClient(
        "http://1.1.1.1:9/", {"availability": ("u", "p")}, retry=FAST, timeout=httpx.Timeout(1.0, connect=0.5)
    )
    async with gesdent:
        with pytest.raises(GesdentError) as raised:
            await gesdent.resource("R-1")
    assert not isinstance(raised.value, AddressForbidden), raised.value


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.2", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("10.1.2.3", "a private or reserved address"),
        ("192.168.1.20", "a private or reserved address"),
        ("169.254.169.254", "a link-local address"),  # cloud metadata
        ("fe80::1", "a link-local address"),
        ("0.0.0.0", "a private or reserved address"),
    ],
)
async def test_forbidden_addresses(host: str, reason: str) -> None:
    with pytest.raises(AddressRefused, match=f"points at {reason}"):
        await public_addresses(host, 443)


async def test_public_addresses_pass() -> None:
    assert await public_addresses("1.1.1.1", 443) == ["1.1.1.1"]
    assert await public_addresses("2606:4700:4700::1111", 443) == ["2606:4700:4700::1111"]
