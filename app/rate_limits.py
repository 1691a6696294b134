"""Per-key rate limits and the throttle of failed authentications.

Each API key has a bucket of N requests per window (`PORTICO_RATE_LIMIT`, or its partner's
`rate_limit`); each request spent comes back one window after it was spent: a moving window,
exact (never more than N in any window, unlike a fixed window that allows 2N across a boundary),
with a reset time that is the moment the oldest request in the window leaves it. Failed
authentications are counted the same way per client address (`PORTICO_AUTH_FAILURE_LIMIT`).

The counts live in this process (app/local_windows.py), or in Redis (`PORTICO_REDIS_URL`) so that
replicas share them, counted there by the `limits` library's moving window. When
Redis fails (down, unreachable, too slow), the limiter fails open to this process's own counts for
`FALLBACK_SECONDS`, then tries Redis again: requests keep being served, each replica enforcing the
limit alone meanwhile; a warning says so once per outage.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from dataclasses import dataclass

import limits
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool

from app.domain.rate_limits import Rate, parse_rate
from app.local_windows import LocalWindows
from app.rate_limit_settings import RateLimitSettings

log = logging.getLogger("portico.rate_limits")

FALLBACK_SECONDS = 5.0  # after a Redis failure, count in this process this long before trying again
REDIS_TIMEOUT_SECONDS = 0.25  # a request never waits longer than this on Redis


@dataclass(frozen=True)
class Quota:
    """Where a caller stands against its limit after a request, as the RateLimit headers say it."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until a request spent comes back (Retry-After when not allowed)
    window_seconds: int

    def headers(self) -> list[tuple[str, str]]:
        """The fields of draft-ietf-httpapi-ratelimit-headers-06."""
        return [
            ("RateLimit-Limit", str(self.limit)),
            ("RateLimit-Remaining", str(self.remaining)),
            ("RateLimit-Reset", str(self.reset_seconds)),
            ("RateLimit-Policy", f"{self.limit};w={self.window_seconds}"),
        ]


@functools.lru_cache(maxsize=256)
def _item(rate: str) -> tuple[Rate, limits.RateLimitItem]:
    parsed = parse_rate(rate)
    return parsed, limits.parse(f"{parsed.amount}/{parsed.multiples} {parsed.unit}")


class RateLimiter:
    """Counts requests per key and failed authentications per address (see the module's doc)."""

    def __init__(self, settings: RateLimitSettings) -> None:
        self.default_rate = settings.rate_limit
        self.failure_rate = settings.auth_failure_limit
        self.redis_url = settings.redis_url
        self._local = LocalWindows()
        self._pool: ConnectionPool | None = None
        self._shared: MovingWindowRateLimiter | None = None
        self._errors: tuple[type[Exception], ...] = ()
        if settings.redis_url:
            self._pool = ConnectionPool.from_url(
                settings.redis_url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            storage = RedisStorage(
                "async+" + _as_redis_scheme(settings.redis_url),
                implementation="redispy",
                key_prefix=settings.rate_limit_prefix,
                connection_pool=self._pool,  # type: ignore[arg-type]  # passed on to redis-py
            )
            self._errors = _storage_errors(storage)
            self._shared = MovingWindowRateLimiter(storage)
        self._fallback_until = 0.0

    async def spend(self, key_id: str, rate: str | None) -> Quota:
        """Spend one request of the key's bucket (`rate`: its partner's override, or the default)."""
        return await self._hit(rate or self.default_rate, "key", key_id)

    async def failed_authentication(self, address: str) -> Quota:
        """Count a failed authentication from `address`; not allowed once it is over its budget."""
        return await self._hit(self.failure_rate, "auth-failure", address)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    async def _hit(self, rate: str, *identifiers: str) -> Quota:
        parsed, item = _item(rate)
        if self._shared is not None and time.monotonic() >= self._fallback_until:
            try:
                allowed = await self._shared.hit(item, *identifiers)
                stats = await self._shared.get_window_stats(item, *identifiers)
            except self._errors as exc:
                self._fall_back(exc)
            else:
                if self._fallback_until:
                    self._fallback_until = 0.0
                    log.warning("rate limits: Redis answers again; counting there, with the other replicas")
                return _quota(parsed, allowed, stats.remaining, stats.reset_time)
        hit = self._local.hit(identifiers, parsed.amount, parsed.window_seconds)
        return _quota(parsed, hit.allowed, hit.remaining, hit.reset_at)

    def _fall_back(self, exc: Exception) -> None:
        if not self._fallback_until:  # once per outage, not once per request
            log.warning(
                "rate limits: Redis failed (%s: %s); counting in this process alone until it answers "
                "(failing open: every request is still served within this replica's own limit)",
                type(exc).__name__,
                exc,
            )
        self._fallback_until = time.monotonic() + FALLBACK_SECONDS


def _quota(rate: Rate, allowed: bool, remaining: int, reset_at: float) -> Quota:
    reset = max(0, math.ceil(reset_at - time.time()))
    return Quota(allowed, rate.amount, max(0, remaining), reset, rate.window_seconds)


def _as_redis_scheme(url: str) -> str:
    """limits takes unix sockets as redis+unix://."""
    return "redis+unix://" + url.removeprefix("unix://") if url.startswith("unix://") else url


def _storage_errors(storage: Storage) -> tuple[type[Exception], ...]:
    errors = storage.base_exceptions
    return (*(errors if isinstance(errors, tuple) else (errors,)), OSError, TimeoutError)
