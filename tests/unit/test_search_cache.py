"""The bounds and rules of the portal search's answer cache (app/search_cache.py), on plain values."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from app.search_cache import MAX_AGE, Entry, SearchCache
from app.services import search_answers
from app.services.search_answers import Computed

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(seconds=10)


async def _nothing() -> None:
    return None


def _entry(body: bytes = b"{}", generation: int = 1, until: datetime = LATER) -> Entry:
    return Entry(generation, until, body, None)


def test_an_entry_holds_for_its_generation_until_it_expires():
    cache = SearchCache(10, 10_000)
    cache.put("q", _entry(b"answer"), NOW)
    assert cache.get("q", 1, NOW) == _entry(b"answer")
    assert cache.get("q", 2, NOW) is None  # a write since: dropped
    assert cache.get("q", 1, NOW) is None
    cache.put("q", _entry(), NOW)
    assert cache.get("q", 1, LATER) is None  # its moment came
    assert (cache.hits, cache.misses) == (1, 3)
    assert (len(cache), cache.size) == (0, 0)


def test_no_entry_outlives_the_safety_net():
    cache = SearchCache(10, 10_000)
    cache.put("q", _entry(until=NOW + timedelta(days=1)), NOW)
    assert cache.get("q", 1, NOW + MAX_AGE - timedelta(seconds=1)) is not None
    assert cache.get("q", 1, NOW + MAX_AGE) is None


def test_the_least_recently_used_go_first_by_entries_and_by_bytes():
    cache = SearchCache(2, 10_000)
    cache.put("a", _entry(), NOW)
    cache.put("b", _entry(), NOW)
    assert cache.get("a", 1, NOW)  # b is now the least recently used
    cache.put("c", _entry(), NOW)
    assert [key for key in "abc" if cache.get(key, 1, NOW)] == ["a", "c"]
    weighed = SearchCache(100, 3 * (512 + 100))  # room for three bodies of 100 bytes
    for key in "abcd":
        weighed.put(key, _entry(b"x" * 100), NOW)
    assert [key for key in "abcd" if weighed.get(key, 1, NOW)] == ["b", "c", "d"]
    assert weighed.size == 3 * (512 + 100)
    weighed.put("b", _entry(b"y" * 10), NOW)  # replaced: counted once
    assert weighed.size == 2 * (512 + 100) + 512 + 10


def test_too_big_or_no_room_keeps_nothing():
    cache = SearchCache(10, 1000)
    cache.put("big", _entry(b"x" * 1000), NOW)
    assert cache.get("big", 1, NOW) is None
    off = SearchCache(0, 10_000)
    off.put("q", _entry(), NOW)
    assert off.get("q", 1, NOW) is None
    assert len(off) == 0


async def test_requests_missing_the_same_question_wait_for_one_computation():
    cache, started, release, calls = SearchCache(10, 10_000), asyncio.Event(), asyncio.Event(), []

    async def compute() -> Computed:
        calls.append(1)
        started.set()
        await release.wait()
        return Computed(b"answer", None, None)

    first = asyncio.create_task(search_answers.answer(cache, 1, "q", NOW, compute, release=_nothing))
    await started.wait()
    others = [
        asyncio.create_task(search_answers.answer(cache, 1, "q", NOW, compute, release=_nothing))
        for _ in range(5)
    ]
    newer = asyncio.create_task(
        search_answers.answer(cache, 2, "q", NOW, compute, release=_nothing)
    )  # after a write
    await asyncio.sleep(0)
    release.set()
    entries = await asyncio.gather(first, *others, newer)
    assert {entry.body for entry in entries} == {b"answer"}
    assert len(calls) == 2  # one for generation 1, one for generation 2
    assert not cache.computing


async def test_a_failed_computation_leaves_each_waiter_to_compute_its_own():
    cache, started, release = SearchCache(10, 10_000), asyncio.Event(), asyncio.Event()

    async def failing() -> Computed:
        started.set()
        await release.wait()
        raise RuntimeError("the database went away")

    async def compute() -> Computed:
        return Computed(b"answer", None, None)

    first = asyncio.create_task(search_answers.answer(cache, 1, "q", NOW, failing, release=_nothing))
    await started.wait()
    waiter = asyncio.create_task(search_answers.answer(cache, 1, "q", NOW, compute, release=_nothing))
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(RuntimeError):
        await first
    assert (await waiter).body == b"answer"


async def test_a_cancelled_computation_leaves_its_waiters_to_compute():
    cache, started = SearchCache(10, 10_000), asyncio.Event()

    async def hanging() -> Computed:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("never")

    async def compute() -> Computed:
        return Computed(b"answer", None, None)

    first = asyncio.create_task(search_answers.answer(cache, 1, "q", NOW, hanging, release=_nothing))
    await started.wait()
    waiter = asyncio.create_task(search_answers.answer(cache, 1, "q", NOW, compute, release=_nothing))
    await asyncio.sleep(0)
    first.cancel()  # the client went away
    assert (await waiter).body == b"answer"
    assert first.cancelled()


async def test_a_cache_that_keeps_nothing_computes_every_request():
    cache, calls = SearchCache(0, 10_000), []

    async def compute() -> Computed:
        calls.append(1)
        await asyncio.sleep(0)
        return Computed(b"answer", None, None)

    answers = [search_answers.answer(cache, 1, "q", NOW, compute, release=_nothing) for _ in range(3)]
    await asyncio.gather(*answers)
    assert len(calls) == 3
