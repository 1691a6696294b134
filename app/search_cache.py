"""Answers of the portal availability search (and its summary) kept in the process, served again
only while they are exactly what computing them again would give.

An entry is the serialised answer of one question (the portal's id and the whole normalised query),
with the portal's search generation it was computed under and the moment it stops holding:

- the generation (app/db/search_generations.py) grows in the transaction of every write that can
  change the answer; each request reads it (one indexed row) and an entry of another generation is
  dropped. So a write through any replica is seen by every replica's next search;
- `expires_at` is the earliest moment the answer changes with no write at all: a member's data going
  stale, a member leaving a `max_staleness_minutes` filter, the default days moving at midnight in a
  member's zone; and at the latest MAX_AGE after it was computed, a safety net.

Bounded by entries and by bytes (PORTICO_SEARCH_CACHE_ENTRIES, PORTICO_SEARCH_CACHE_BYTES), the
least recently used going first; 0 entries keeps nothing. Each replica keeps its own.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MAX_AGE = timedelta(seconds=30)
_OVERHEAD = 512  # bytes counted per entry beyond its body: its key, its record


@dataclass(frozen=True, slots=True)
class Entry:
    generation: int
    expires_at: datetime
    body: bytes
    next_cursor: str | None = None


def utc_now() -> datetime:
    return datetime.now(UTC)


class SearchCache:
    """A bounded LRU of answers by question; `now` is the clock the search itself runs on."""

    def __init__(self, max_entries: int, max_bytes: int, now: Callable[[], datetime] = utc_now) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.now = now
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._bytes = 0
        self.hits = self.misses = 0
        # The questions being computed, by key and generation (app/services/search_answers.py).
        self.computing: dict[tuple[Hashable, int], asyncio.Future[Entry]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes counted for the entries held."""
        return self._bytes

    def get(self, key: Hashable, generation: int, now: datetime) -> Entry | None:
        """The entry of `key` when it was computed under `generation` and still holds at `now`."""
        entry = self._entries.get(key)
        if entry is not None and (entry.generation != generation or entry.expires_at <= now):
            self._drop(key)
            entry = None
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return entry

    def put(self, key: Hashable, entry: Entry, now: datetime) -> None:
        """Keep `entry` until `entry.expires_at` (at most MAX_AGE from `now`), unless it cannot fit."""
        cost = len(entry.body) + _OVERHEAD
        if self.max_entries <= 0 or cost > self.max_bytes:
            return
        latest = now + MAX_AGE
        if entry.expires_at > latest:
            entry = Entry(entry.generation, latest, entry.body, entry.next_cursor)
        self._drop(key)
        while self._entries and (
            len(self._entries) >= self.max_entries or self._bytes + cost > self.max_bytes
        ):
            self._drop(next(iter(self._entries)))  # the least recently used
        self._entries[key] = entry
        self._bytes += cost

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.body) + _OVERHEAD
