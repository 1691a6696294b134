"""A GESDENT server cannot exhaust the shared process: answers are read under a size limit per
endpoint family, every attempt has a total deadline, and a run's deadline bounds every request and
every wait before a retry (issue 9, findings 1 and 2)."""

from __future__ import annotations

import asyncio
import re
import time
import tracemalloc
from datetime import date
from typing import Any, Literal

import pytest

from app.sync.answers import AnswerLimits
from app.sync.client import GesdentClient
from app.sync.errors import AnswerTooLarge, GesdentUnavailable, RunDeadlineExceeded
from app.sync.retries import RetryPolicy
from tests.sync.hostile_peer import (
    Behaviour,
    Framing,
    HostilePeer,
    MiB,
    answer,
    gzip_bomb,
    huge_body,
    status,
    tarpit,
)

CREDENTIALS = dict.fromkeys(("users", "reservations", "availability"), ("u", "p"))
HUGE = 300 * MiB  # the body that took a shared process from 130 MB to 982 MB
GUARD = 20.0  # seconds after which a test gives up on the client (today's code would go on)
QUICK = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)


def client(peer: HostilePeer, **options: Any) -> GesdentClient:
    return GesdentClient(peer.url, CREDENTIALS, **{"allow_private_networks": True, "retry": QUICK, **options})


async def fetch(gesdent: GesdentClient, endpoint: str) -> Any:
    """One call of the endpoint family, given up after GUARD seconds."""
    if endpoint == "users":
        call: Any = anext(aiter(gesdent.users(None)))
    elif endpoint == "reservations":
        call = anext(aiter(gesdent.reservations("R-1", None)))
    elif endpoint == "availability":
        call = gesdent.availability("R-1", date(2026, 11, 21), date(2026, 12, 5))
    else:
        call = gesdent.resource("R-1")
    async with gesdent:
        return await asyncio.wait_for(call, GUARD)


@pytest.mark.parametrize("framing", ["content-length", "close", "chunked", "gzip"])
async def test_a_huge_answer_is_cut_off_at_the_limit(framing: Framing | Literal["gzip"]) -> None:
    behaviour = gzip_bomb(HUGE) if framing == "gzip" else huge_body(HUGE, framing)
    with HostilePeer(behaviour) as peer:
        gesdent = client(peer, limits=AnswerLimits(page_bytes=MiB))
        tracemalloc.start()
        started = time.perf_counter()
        try:
            with pytest.raises(AnswerTooLarge) as raised:
                await fetch(gesdent, "users")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        elapsed = time.perf_counter() - started
    message = str(raised.value)
    assert message.startswith("users endpoint (GET /api/users, with the users credential) ")
    assert "1048576 bytes (1 MiB), the limit for a page of users or reservations" in message
    assert message.endswith("raise PORTICO_GESDENT_MAX_PAGE_BYTES")
    if framing == "content-length":  # refused on the header, before the body
        assert "announced an answer of 314572800 bytes (Content-Length)" in message
    assert peak < 8 * MiB, peak  # the limit and a network chunk or two, not the 300 MB
    assert peer.sent < 64 * MiB, peer.sent  # it stopped reading: what the peer sent is in buffers
    assert peer.requests == 1  # not retried: the same answer would come again
    assert elapsed < 10


@pytest.mark.parametrize(
    ("endpoint", "limit", "setting"),
    [
        ("resources", MiB, "PORTICO_GESDENT_MAX_RESOURCE_BYTES"),
        ("users", 16 * MiB, "PORTICO_GESDENT_MAX_PAGE_BYTES"),
        ("reservations", 16 * MiB, "PORTICO_GESDENT_MAX_PAGE_BYTES"),
        ("availability", 32 * MiB, "PORTICO_GESDENT_MAX_AVAILABILITY_BYTES"),
    ],
)
async def test_every_endpoint_family_has_its_limit_by_default(
    endpoint: str, limit: int, setting: str
) -> None:
    with HostilePeer(huge_body(HUGE, "chunked")) as peer, pytest.raises(AnswerTooLarge) as raised:
        await fetch(client(peer), endpoint)
    assert f"answered more than {limit} bytes" in str(raised.value)
    assert str(raised.value).endswith(f"raise {setting}")
    assert peer.sent < limit + 64 * MiB, peer.sent


@pytest.mark.parametrize("framing", ["content-length", "chunked", "gzip", "deflate"])
async def test_the_limit_is_exact(framing: Literal["content-length", "chunked", "gzip", "deflate"]) -> None:
    """An answer of exactly the limit is read; one byte more is not."""
    page = b'{"items": [], "next_cursor": null}'
    for extra, refused in [(0, False), (1, True)]:
        content = page[:-1] + b" " * (MiB - len(page) + extra) + b"}"
        with HostilePeer(answer(content, framing)) as peer:
            gesdent = client(peer, limits=AnswerLimits(page_bytes=MiB))
            if refused:
                with pytest.raises(AnswerTooLarge, match="than 1048576 bytes"):
                    await fetch(gesdent, "users")
            else:
                assert await fetch(gesdent, "users") == []


@pytest.mark.parametrize("where", ["head", "body"])
async def test_a_tarpit_fails_after_the_request_deadline(where: Literal["head", "body"]) -> None:
    """One byte every 0.2 s never trips httpx's per-read timeout; the total deadline ends each
    attempt, and the retries run out."""
    with HostilePeer(tarpit(0.2, where)) as peer:
        started = time.perf_counter()
        with pytest.raises(GesdentUnavailable) as raised:
            await fetch(client(peer, request_seconds=1.0), "resources")
        elapsed = time.perf_counter() - started
    assert not isinstance(raised.value, RunDeadlineExceeded)
    message = str(raised.value)
    assert "failed 2 times" in message
    assert message.endswith("last: no complete answer within 1.0 s (PORTICO_GESDENT_REQUEST_SECONDS)")
    assert 2.0 <= elapsed < 4.0, elapsed  # two attempts of 1 s, not later
    assert peer.requests == 2


def throttled(*retry_after: str) -> Behaviour:
    """429 with these Retry-After values, one per request in turn."""

    async def behaviour(peer: HostilePeer, writer: asyncio.StreamWriter) -> None:
        asked = retry_after[min(peer.requests, len(retry_after)) - 1]
        await status("429 Too Many Requests", {"Retry-After": asked})(peer, writer)

    return behaviour


async def test_a_retry_after_longer_than_the_run_has_left_fails_at_once() -> None:
    """Retry-After: 1 is waited for; Retry-After: 120 with a few seconds left fails there and then."""
    with HostilePeer(throttled("1", "120")) as peer:
        started = time.perf_counter()
        gesdent = client(peer, retry=RetryPolicy(), deadline=time.monotonic() + 5)
        with pytest.raises(RunDeadlineExceeded) as raised:
            await fetch(gesdent, "users")
        elapsed = time.perf_counter() - started
    message = str(raised.value)
    assert message.startswith(
        "users endpoint (GET /api/users, with the users credential) answered HTTP 429 "
        "(Retry-After: 120): GESDENT asked to retry after 120 s; the run has "
    )
    assert re.search(r"the run has (3\.\d|4\.0) s left$", message), message
    assert 1.0 <= elapsed < 2.5
    assert peer.requests == 2


async def test_a_request_is_cut_short_at_the_run_deadline() -> None:
    with HostilePeer(tarpit(0.2, "body")) as peer:
        started = time.perf_counter()
        gesdent = client(peer, deadline=time.monotonic() + 1.5)  # request_seconds: 60 by default
        with pytest.raises(
            RunDeadlineExceeded, match=r"was cut short after 1\.\d s: the run reached its deadline"
        ):
            await fetch(gesdent, "availability")
        elapsed = time.perf_counter() - started
    assert 1.4 <= elapsed < 2.5
    assert peer.requests == 1


async def test_no_retry_waits_beyond_the_run_deadline() -> None:
    slow_backoff = RetryPolicy(max_attempts=5, base_delay=8.0, max_delay=8.0)
    with HostilePeer(status("502 Bad Gateway", {})) as peer:
        started = time.perf_counter()
        gesdent = client(peer, retry=slow_backoff, deadline=time.monotonic() + 3)
        with pytest.raises(
            RunDeadlineExceeded, match=r"failed \(HTTP 502\); the run has [\d.]+ s left, too little"
        ):
            await fetch(gesdent, "reservations")
        elapsed = time.perf_counter() - started
    assert elapsed < 1.5
    assert peer.requests == 1


async def test_nothing_is_sent_once_the_run_deadline_passed() -> None:
    with HostilePeer(status("200 OK", {})) as peer:
        gesdent = client(peer, deadline=time.monotonic() - 1)
        with pytest.raises(RunDeadlineExceeded, match="was not sent: the run reached its deadline"):
            await fetch(gesdent, "resources")
    assert peer.requests == 0
