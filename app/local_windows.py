"""Moving windows counted in this process: for each identifier, the times of the requests it spent
within its window, oldest first. A request is allowed while fewer than the limit are in the window;
each one spent comes back one window after it was spent. The same rule as `limits`' moving window,
which counts them in Redis when replicas share them (app/rate_limits.py).

Why not `limits`' own in-process storage: its asyncio flavour schedules, on every hit, a task that
visits every identifier it holds, each through a worker thread (a thread hop per identifier per
request: a tenth of a cheap request's CPU with one key, far more with thousands); its threaded
flavour walks them all every 10 ms. Here a hit costs a few deque operations, and identifiers left
idle are dropped by a sweep at most once a minute."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

SWEEP_SECONDS = 60.0


@dataclass(frozen=True)
class Hit:
    allowed: bool
    remaining: int  # requests left in the window after this one
    reset_at: float  # when the oldest request in the window leaves it (time.time()); now if none


class _Window:
    __slots__ = ("limit", "seconds", "spent")

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.spent: deque[float] = deque()

    def expire(self, now: float) -> None:
        cutoff = now - self.seconds
        spent = self.spent
        while spent and spent[0] <= cutoff:
            spent.popleft()


class LocalWindows:
    """The windows of the identifiers seen lately (see the module's doc)."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, ...], _Window] = {}
        self._next_sweep = time.time() + SWEEP_SECONDS

    def hit(self, identifier: tuple[str, ...], limit: int, seconds: float, now: float | None = None) -> Hit:
        """Spend one request of `identifier`'s `limit` per `seconds` if one is left."""
        now = time.time() if now is None else now
        if now >= self._next_sweep:
            self._sweep(now)
        window = self._windows.get(identifier)
        if window is None or (window.limit, window.seconds) != (limit, seconds):
            # New, or its rate changed (a partner's override): counted afresh, as in Redis, where
            # `limits` names a window by its rate.
            window = self._windows[identifier] = _Window(limit, seconds)
        window.expire(now)
        spent = window.spent
        allowed = len(spent) < limit
        if allowed:
            spent.append(now)
        return Hit(allowed, max(0, limit - len(spent)), spent[0] + seconds if spent else now)

    def __len__(self) -> int:
        """How many identifiers have a window held (idle ones until the next sweep)."""
        return len(self._windows)

    def _sweep(self, now: float) -> None:
        for identifier, window in list(self._windows.items()):
            window.expire(now)
            if not window.spent:
                del self._windows[identifier]
        self._next_sweep = now + SWEEP_SECONDS
