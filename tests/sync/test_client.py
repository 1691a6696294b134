"""GesdentClient against the real sandbox over HTTP: Digest with one round trip per request,
paging, retries and their limits, fail-fast on rejected credentials, protocol errors."""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from app.sync.client import GesdentClient, _peek_next_cursor
from app.sync.errors import CredentialsRejected, GesdentProtocolError, GesdentUnavailable
from app.sync.retries import RetryPolicy, parse_retry_after
from gesdent_sandbox import Credential
from tests.sync.conftest import TEST_CONFIG
from tests.sync.importing import READ_TIMEOUT, SLOW
from tests.sync.sandbox_server import SandboxServer
from tests.sync.test_sandbox import MakeSandbox

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=5.0)


def client(
    server: SandboxServer, credentials: Mapping[str, Any] | None = None, **options: Any
) -> GesdentClient:
    credentials = credentials or {
        family: tuple(credential) for family, credential in server.credentials.items()
    }
    options = {
        "retry": FAST,
        "timeout": httpx.Timeout(5.0, read=READ_TIMEOUT),
        "allow_private_networks": True,  # the sandbox listens on loopback
        **options,
    }
    return GesdentClient(server.url, credentials, **options)


async def collect(pages: Any) -> list[list[dict[str, Any]]]:
    return [page async for page in pages]


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
async def test_one_challenge_for_every_credential_then_one_round_trip_per_request(
    make_sandbox: MakeSandbox, algorithm: str
) -> None:
    server = make_sandbox(algorithm=algorithm, path_prefix="/gesdent/api/")
    first, second = server.resource_ids
    today = server.sandbox.dataset.today
    async with client(server, page_limit=50) as gesdent:
        pages = await collect(gesdent.users(None))
        resources = [await gesdent.resource(first), await gesdent.resource(second)]
        window = await gesdent.availability(first, today, today + timedelta(days=7))
        reservations = await collect(gesdent.reservations(second, None))
    assert [len(page) for page in pages] == [50] * 5
    assert [r["id"] for r in resources] == [first, second]
    assert window["resource_id"] == first
    assert window["slots"]
    stats = server.control.stats()
    # The users credential answers the first challenge; the others answer the same nonce, each
    # request with a count of its own (the sandbox refuses a count sent twice).
    assert stats["users"] == {**stats["users"], "requests": 6, "challenges": 1, "ok": 5}
    assert stats["resources"] == {**stats["resources"], "requests": 2, "challenges": 0, "ok": 2}
    assert stats["availability"] == {**stats["availability"], "requests": 1, "challenges": 0}
    assert stats["reservations"]["requests"] == len(reservations)
    assert stats["total"]["challenges"] == 1


async def test_a_server_tying_nonces_to_users_costs_a_refusal_per_credential(
    make_sandbox: MakeSandbox,
) -> None:
    server = make_sandbox(nonce_per_user=True)
    first, second = server.resource_ids
    async with client(server, page_limit=50) as gesdent:
        pages = await collect(gesdent.users(None))
        resources = [await gesdent.resource(first), await gesdent.resource(second)]
        reservations = await collect(gesdent.reservations(second, None))
        more = await collect(gesdent.users(pages[-1][-1]["updated_at"]))
    assert [r["id"] for r in resources] == [first, second]
    assert reservations
    assert more
    stats = server.control.stats()
    # Each credential's first answer (to another user's nonce) is refused with a fresh challenge,
    # as its first request was challenged before; the credential keeps its own nonce from then on.
    assert stats["resources"] == {**stats["resources"], "requests": 3, "challenges": 1, "ok": 2}
    assert stats["reservations"] == {**stats["reservations"], "challenges": 1}
    assert stats["reservations"]["requests"] == len(reservations) + 1
    assert stats["users"] == {**stats["users"], "challenges": 1, "ok": 5 + len(more)}


async def test_pages_walk_the_whole_stream_from_updated_since(sandbox: SandboxServer) -> None:
    async with client(sandbox, page_limit=100) as gesdent:
        everything = [item for page in await collect(gesdent.users(None)) for item in page]
        since = everything[200]["updated_at"]
        recent = [item for page in await collect(gesdent.users(since)) for item in page]
    assert len(everything) == TEST_CONFIG.patients == len({item["id"] for item in everything})
    assert recent == [item for item in everything if item["updated_at"] >= since]  # inclusive
    assert sandbox.control.stats()["users"]["items"] == len(everything) + len(recent)


async def test_wrong_password_fails_fast_naming_the_family(make_sandbox: MakeSandbox) -> None:
    server = make_sandbox(
        credential_overrides={"reservations": Credential("digest-reservations", "s3cret-new")}
    )
    old: dict[str, Any] = {family: tuple(c) for family, c in TEST_CONFIG.credentials.items()}
    async with client(server, credentials=old) as gesdent:
        await gesdent.resource(server.resource_ids[0])  # the other families still work
        with pytest.raises(CredentialsRejected) as raised:
            await collect(gesdent.reservations(server.resource_ids[0], None))
    message = str(raised.value)
    assert raised.value.endpoint == raised.value.family == "reservations"
    assert "reservations credentials (username 'digest-reservations')" in message
    assert "after the Digest answer" in message
    assert "reservations endpoint (GET /reservations, with the reservations credential)" in message
    assert server.credentials["reservations"].password not in message
    assert TEST_CONFIG.credentials["reservations"].password not in message  # the one the client sent
    assert server.control.stats()["reservations"]["requests"] == 2  # the challenge, one answer


async def test_credentials_revoked_mid_run_fail_without_retries(sandbox: SandboxServer) -> None:
    resource = sandbox.resource_ids[0]
    async with client(sandbox) as gesdent:
        await gesdent.resource(resource)  # the challenge is cached from here on
        sandbox.control.fault("wrong_credentials", endpoint="availability")
        with pytest.raises(CredentialsRejected) as raised:
            await gesdent.availability(resource, date_today(sandbox), date_today(sandbox))
    assert "availability credentials" in str(raised.value)
    assert "on the availability endpoint" in str(raised.value)
    # The cached answer, then one fresh answer to the new challenge: two requests, no retry loop.
    assert sandbox.control.stats()["availability"]["requests"] == 2


def date_today(server: SandboxServer) -> Any:
    return server.sandbox.dataset.today


@pytest.mark.parametrize(
    ("mode", "options"),
    [("5xx", {"status": 502}), ("429", {"retry_after": 0}), ("drop", {}), ("slow", {"delay": SLOW})],
)
async def test_transient_failures_are_retried(
    sandbox: SandboxServer, mode: str, options: dict[str, Any]
) -> None:
    sandbox.control.fault(mode, endpoint="users", times=2, **options)
    async with client(sandbox) as gesdent:
        pages = await collect(gesdent.users(None))
    assert sum(len(page) for page in pages) == TEST_CONFIG.patients
    stats = sandbox.control.stats()["users"]
    assert stats["faults"] == 2
    assert stats["ok"] == 1


@pytest.mark.parametrize(
    ("mode", "options", "last"),
    [
        ("5xx", {}, "last: HTTP 503"),
        ("429", {"retry_after": 0}, "last: HTTP 429 (Retry-After: 0)"),
        ("slow", {"delay": SLOW}, "last: ReadTimeout"),
        ("drop", {}, "last: RemoteProtocolError: peer closed connection"),
    ],
)
async def test_retries_run_out(sandbox: SandboxServer, mode: str, options: dict[str, Any], last: str) -> None:
    sandbox.control.fault(mode, endpoint="resources", times=3, **options)
    async with client(sandbox) as gesdent:
        with pytest.raises(GesdentUnavailable) as raised:
            await gesdent.resource(sandbox.resource_ids[0])
    assert str(raised.value).startswith(
        f"resources endpoint (GET /resources/{sandbox.resource_ids[0]}, with the availability credential, "
        "which GESDENT asks for on resources) failed 3 times"
    )
    assert last in str(raised.value)
    assert sandbox.control.stats()["resources"]["faults"] == 3


async def test_connect_errors_are_retried_then_reported() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gesdent = GesdentClient(
        f"http://127.0.0.1:{port}/", {"users": ("u", "p")}, retry=FAST, allow_private_networks=True
    )
    started = time.perf_counter()
    async with gesdent:
        with pytest.raises(GesdentUnavailable, match=r"failed 3 times .* last: ConnectError"):
            await collect(gesdent.users(None))
    assert time.perf_counter() - started < 2


async def test_retry_after_is_honoured_and_capped(sandbox: SandboxServer) -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=1.5)
    sandbox.control.fault("429", endpoint="users", retry_after=1)
    async with client(sandbox, retry=policy) as gesdent:
        started = time.perf_counter()
        await collect(gesdent.users(None))
        assert time.perf_counter() - started >= 1.0  # not the 10 ms backoff
        sandbox.control.fault("429", endpoint="users", retry_after=3600)
        started = time.perf_counter()
        await collect(gesdent.users(None))
        assert 1.5 <= time.perf_counter() - started < 3.0  # capped


def test_retry_after_parsing_and_backoff() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (parse_retry_after(later) or 0) <= 30
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, max_retry_after=60)
    assert all(0.5 <= policy.backoff(1) <= 1.0 for _ in range(50))
    assert all(4.0 <= policy.backoff(10) <= 8.0 for _ in range(50))  # capped, jittered
    assert policy.delay(1, 3600.0) == 60
    assert policy.delay(1, 2.0) == 2.0


async def test_malformed_json_is_a_protocol_error_not_retried(sandbox: SandboxServer) -> None:
    sandbox.control.fault("malformed", endpoint="users")
    async with client(sandbox) as gesdent:
        with pytest.raises(
            GesdentProtocolError,
            match=r"users endpoint \(GET /users, with the users credential\) answered malformed JSON",
        ) as raised:
            await collect(gesdent.users(None))
    assert "Luc" not in str(raised.value)  # the body (patient data) stays out of errors and logs
    assert sandbox.control.stats()["users"]["requests"] == 2  # the challenge, one answer: no retry


async def test_unknown_resource_is_a_protocol_error_naming_it(sandbox: SandboxServer) -> None:
    async with client(sandbox) as gesdent:
        with pytest.raises(GesdentProtocolError, match="GESDENT does not know resource ABCD-1234 \\(404\\)"):
            await gesdent.resource("ABCD-1234")
        with pytest.raises(GesdentProtocolError, match="does not know resource ABCD-1234"):
            await collect(gesdent.reservations("ABCD-1234", None))
    assert sandbox.control.stats()["resources"]["errors"] == 1


async def test_redirects_are_not_followed() -> None:
    # The sandbox never redirects; a mock transport stands in for a misconfigured server.
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": "https://elsewhere.example/users"})

    redirecting = GesdentClient(
        "https://gesdent.example/api/",
        {"users": ("u", "p")},
        retry=FAST,
        transport=httpx.MockTransport(handler),
    )
    async with redirecting:
        with pytest.raises(
            GesdentProtocolError, match=r"answered 302, redirecting to https://elsewhere\.example"
        ):
            await collect(redirecting.users(None))
    assert [request.url.host for request in seen] == ["gesdent.example"]


def _paging_client(pages: int, cursor_first: bool, events: list[str]) -> GesdentClient:
    """A client of a GESDENT stand-in serving `pages` pages of users, cursors `p2`, `p3`, …;
    `cursor_first` puts next_cursor before the items, where a page's end does not show it. The
    stand-in logs each request it gets in `events`."""

    def handler(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("cursor", "p1")[1:])
        events.append(f"request {number}")
        items = [{"id": f"P-{number}-{index}"} for index in range(3)]
        cursor = f"p{number + 1}" if number < pages else None
        body = (
            {"next_cursor": cursor, "items": items}
            if cursor_first
            else {"items": items, "next_cursor": cursor}
        )
        return httpx.Response(200, json=body)

    return GesdentClient(
        "https://gesdent.example/api/",
        {"users": ("u", "p")},
        retry=FAST,
        transport=httpx.MockTransport(handler),
    )


@pytest.mark.parametrize(
    ("cursor_first", "expected"),
    [
        # The cursor at the page's end (as GESDENT writes it): the next page is asked for before
        # this one is parsed and handed out; the last page asks for nothing more.
        (False, ["request 1", "request 2", "page 1", "request 3", "page 2", "page 3"]),
        # Elsewhere: the page is parsed first, then the next asked for; same pages, same requests.
        (True, ["request 1", "page 1", "request 2", "page 2", "request 3", "page 3"]),
    ],
)
async def test_the_next_page_is_asked_for_while_this_one_is_parsed(
    cursor_first: bool, expected: list[str]
) -> None:
    events: list[str] = []
    gesdent = _paging_client(3, cursor_first, events)
    async with gesdent:
        # The stand-in logs its requests in the same list as the pages arrive: the order is the point.
        async for page in gesdent.users(None):
            events.append(f"page {page[0]['id'].split('-')[1]}")  # noqa: PERF401
    assert events == expected


async def test_a_page_asked_for_ahead_is_dropped_when_the_reader_stops() -> None:
    events: list[str] = []
    gesdent = _paging_client(5, False, events)
    async with gesdent:
        pages = gesdent.users(None)
        first = await anext(pages)
        await pages.aclose()
        assert first[0]["id"] == "P-1-0"
        assert events == ["request 1", "request 2"]
        again = [page async for page in gesdent.users(None)]  # the client is still usable
    assert len(again) == 5


@pytest.mark.parametrize(
    ("body", "guess"),
    [
        (b'{"items": [], "next_cursor": "b2Zmc2V0PTUwMA"}', "b2Zmc2V0PTUwMA"),
        (b'{"items":[{"next_cursor":"no"}],"next_cursor" : "a\\"b"\n}\n', 'a"b'),
        (b'{"items": [], "next_cursor": null}', None),
        (b'{"next_cursor": "x", "items": []}', None),  # not at the end: no guess
        (b'{"items": [], "meta": {"next_cursor": "x"}}', None),  # nested, not the page's own
        (b'{"items": [], "next_cursor": ""}', None),
        (b'{"items": [], "next_cursor": "\\ud800"', None),  # cut short
    ],
)
def test_the_next_cursor_is_read_off_the_end_of_a_page(body: bytes, guess: str | None) -> None:
    assert _peek_next_cursor(body) == guess
