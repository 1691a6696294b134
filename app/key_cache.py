"""A short-lived, in-process cache of what a presented API key stands for.

Every request of a partner presents its key, and the key's row rarely changes: looking it up each
time was a query (and its statement) per request. The cache keeps the answer for `ttl` seconds,
keyed by the key's hash (never the key itself). Staleness is bounded by the TTL: a key revoked by
another process is refused here at the latest `ttl` seconds after the revocation committed; the
process that revokes forgets the key at once (`forget`). Unknown and revoked keys are never cached,
so a key created a moment ago works at once everywhere, and keys made up by a stranger cannot fill
the cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")

# One second: a revocation reaches every process well within the two seconds promised (docs/security.md).
DEFAULT_TTL_SECONDS = 1.0
MAX_ENTRIES = 10_000


class KeyCache(Generic[V]):
    """Values by key hash, each for `ttl` seconds after it was read from the database."""

    def __init__(
        self,
        ttl: float = DEFAULT_TTL_SECONDS,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, V]] = {}

    def get(self, key_hash: str) -> V | None:
        """The value cached for `key_hash`, unless it is older than the TTL."""
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self._entries.pop(key_hash, None)
            return None
        return entry[1]

    def put(self, key_hash: str, value: V) -> None:
        if len(self._entries) >= self.max_entries:
            self._make_room()
        self._entries[key_hash] = (self._clock() + self.ttl, value)

    def forget(self, which: Callable[[V], bool]) -> None:
        """Drop the entries whose value `which` selects (a key revoked in this process)."""
        for key_hash in [key for key, (_, value) in self._entries.items() if which(value)]:
            del self._entries[key_hash]

    def _make_room(self) -> None:
        now = self._clock()
        for key_hash in [key for key, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key_hash]
        while len(self._entries) >= self.max_entries:  # all fresh: the oldest go first
            del self._entries[next(iter(self._entries))]
