"""A GESDENT client that may not reach private networks checks every address as it connects: no
request leaves for a loopback, private or link-local address, whatever the URL says or DNS answers."""

from __future__ import annotations

import httpcore
import pytest

from app.sync.client import GesdentClient
from app.sync.errors import AddressForbidden, GesdentError
from app.sync.network import AddressRefused, public_addresses
from app.sync.retries import RetryPolicy
from tests.sync.sandbox_server import SandboxServer

FAST = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)


def guarded(url: str, server: SandboxServer) -> GesdentClient:
    credentials: dict[str, tuple[str, str]] = {
        family: (credential.username, credential.password)
        for family, credential in server.credentials.items()
    }
    return GesdentClient(url, credentials, retry=FAST)


async def test_a_loopback_server_is_not_reached(sandbox: SandboxServer) -> None:
    async with guarded(sandbox.url, sandbox) as gesdent:
        with pytest.raises(AddressForbidden) as raised:
            await gesdent.resource(sandbox.resource_ids[0])
    message = str(raised.value)
    assert message.startswith("resources: base_url points at a loopback address (127.0.0.1)")
    assert message.endswith("set PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS=true to allow it")
    assert sandbox.control.stats()["total"]["requests"] == 0  # not one request, and no retries


async def test_a_host_name_is_refused_without_telling_where_it_resolves(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """What a partner's host name resolves to is the operator's business: the refusal names the
    host, never the address (the log has it)."""
    async with guarded(sandbox.url.replace("127.0.0.1", "localhost"), sandbox) as gesdent:
        with pytest.raises(AddressForbidden) as raised:
            await gesdent.resource(sandbox.resource_ids[0])
    message = str(raised.value)
    assert message == (
        "resources: base_url host localhost resolves to a non-public address; "
        "set PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS=true to allow it"
    )
    assert "127.0.0.1" not in message
    assert "::1" not in message
    assert "loopback" not in message
    assert "localhost resolves to" in caplog.text
    assert "a loopback address" in caplog.text
    assert sandbox.control.stats()["total"]["requests"] == 0


async def test_the_same_server_is_reached_when_private_networks_are_allowed(sandbox: SandboxServer) -> None:
    credentials: dict[str, tuple[str, str]] = {
        family: (credential.username, credential.password)
        for family, credential in sandbox.credentials.items()
    }
    async with GesdentClient(sandbox.url, credentials, retry=FAST, allow_private_networks=True) as gesdent:
        assert (await gesdent.resource(sandbox.resource_ids[0]))["id"] == sandbox.resource_ids[0]


async def test_a_public_address_is_connected_to(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not refused: the connection is opened, to the very address that was checked. It is recorded
    instead of opened (tests reach loopback only)."""
    opened: list[tuple[str, int]] = []

    async def connect_tcp(self: httpcore.AnyIOBackend, host: str, port: int, *args: object) -> None:
        opened.append((host, port))
        raise httpcore.ConnectError("not in tests")

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", connect_tcp)
    gesdent = GesdentClient("http://1.1.1.1:9/", {"availability": ("u", "p")}, retry=FAST)
    async with gesdent:
        with pytest.raises(GesdentError) as raised:
            await gesdent.resource("R-1")
    assert not isinstance(raised.value, AddressForbidden), raised.value
    assert opened
    assert set(opened) == {("1.1.1.1", 9)}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://100.100.100.200/api/", "points at a carrier-grade NAT address (100.100.100.200)"),
        ("https://192.0.0.192/", "points at an IETF protocol assignment address (192.0.0.192)"),
        (
            "http://[2002:a9fe:a9fe::]:8080/",
            "points at a 6to4 address embedding a link-local address (2002:a9fe:a9fe::)",
        ),
    ],
)
async def test_the_reported_addresses_are_not_connected_to(
    url: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9's addresses, refused at connect; a connection that got through would be recorded
    here instead of opened (tests reach loopback only)."""
    opened: list[str] = []

    async def connect_tcp(self: httpcore.AnyIOBackend, host: str, port: int, *args: object) -> None:
        opened.append(host)
        raise httpcore.ConnectError("not in tests")

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", connect_tcp)
    async with GesdentClient(url, {"availability": ("u", "p")}, retry=FAST) as gesdent:
        with pytest.raises(AddressForbidden) as raised:
            await gesdent.resource("R-1")
    assert str(raised.value) == (
        f"resources: base_url {message}; set PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS=true to allow it"
    )
    assert opened == []


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.2", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "an IPv4-mapped address embedding a loopback address"),
        ("10.1.2.3", "a private address"),
        ("192.168.1.20", "a private address"),
        ("169.254.169.254", "a link-local address"),  # cloud metadata
        ("fe80::1", "a link-local address"),
        ("0.0.0.0", "a 'this network' address"),
        # Reported in issue 9 (accepted until then):
        ("100.100.100.200", "a carrier-grade NAT address"),  # Alibaba Cloud's metadata service
        ("192.0.0.192", "an IETF protocol assignment address"),
        ("2002:a9fe:a9fe::", "a 6to4 address embedding a link-local address"),
    ],
)
async def test_forbidden_addresses(host: str, reason: str) -> None:
    with pytest.raises(AddressRefused) as raised:
        await public_addresses(host, 443)
    assert str(raised.value).startswith(f"points at {reason} ({host}); ")


async def test_public_addresses_pass() -> None:
    assert await public_addresses("1.1.1.1", 443) == ["1.1.1.1"]
    assert await public_addresses("2606:4700:4700::1111", 443) == ["2606:4700:4700::1111"]
