"""Answers of the portal search and summary from the process's cache (app/search_cache.py) while
they hold, computed (and kept) otherwise."""

from __future__ import annotations

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
) -> Entry:
    """The kept answer of `key` when the portal's `generation` (read by the portal's lookup, before
    anything else) and the clock still allow it, else the one `compute` gives (kept for the next)."""
    kept = cache.get(key, generation, now)
    if kept is not None:
        return kept
    computed = await compute()
    latest = now + MAX_AGE
    until = latest if computed.valid_until is None else min(computed.valid_until, latest)
    entry = Entry(generation, until, computed.body, computed.next_cursor)
    cache.put(key, entry, now)
    return entry
