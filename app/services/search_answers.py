"""Answers of the portal search and summary from the process's cache (app/search_cache.py) while
they hold, computed (and kept) otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime

from app.search_cache import MAX_AGE, Entry, SearchCache


@dataclass(frozen=True)
class Computed:
    """An answer as computed: its body, its next page's cursor, and when it may change unwritten."""

    body: bytes
    next_cursor: str | None
    valid_until: datetime | None


async def answer(
    cache: SearchCache,
    generation: int,
    key: Hashable,
    now: datetime,
    compute: Callable[[], Awaitable[Computed]],
    *,
    release: Callable[[], Awaitable[None]],
) -> Entry:
    """The kept answer of `key` when the portal's `generation` (read by the portal's lookup, before
    anything else) and the clock still allow it, else the one `compute` gives (kept for the next).

    Requests that miss the same question under the same generation while it is being computed wait
    for that one computation: when an answer ends, the 32 requests in flight of a busy front end
    would otherwise each compute it (~0.1 s of CPU each). Should it fail, each computes its own.
    A waiter first gives back its database connection (`release`): the computation may need one more
    from the pool (the kept order of the pages), which waiters holding theirs could have emptied."""
    kept = cache.get(key, generation, now)
    if kept is not None:
        return kept
    if cache.max_entries <= 0:  # a cache that keeps nothing: every search computed, shared with none
        return await _computed(cache, generation, key, now, compute)
    flight = (key, generation)
    pending = cache.computing.get(flight)
    if pending is not None:
        await release()
        await asyncio.wait([pending])  # neither cancels it nor raises what it raised
        if not pending.cancelled() and pending.exception() is None and pending.result().expires_at > now:
            return pending.result()
        return await _computed(cache, generation, key, now, compute)
    future: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
    future.add_done_callback(_retrieved)
    cache.computing[flight] = future
    try:
        entry = await _computed(cache, generation, key, now, compute)
    except asyncio.CancelledError:
        future.cancel()
        raise
    except BaseException as exc:
        future.set_exception(exc)
        raise
    finally:
        cache.computing.pop(flight, None)
    future.set_result(entry)
    return entry


async def _computed(
    cache: SearchCache,
    generation: int,
    key: Hashable,
    now: datetime,
    compute: Callable[[], Awaitable[Computed]],
) -> Entry:
    computed = await compute()
    latest = now + MAX_AGE
    until = latest if computed.valid_until is None else min(computed.valid_until, latest)
    entry = Entry(generation, until, computed.body, computed.next_cursor)
    cache.put(key, entry, now)
    return entry


def _retrieved(future: asyncio.Future[Entry]) -> None:
    """A failure nobody waited for is the computing request's own (logged there), not asyncio's."""
    if not future.cancelled():
        future.exception()
