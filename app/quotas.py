"""What an authenticated request spends of its key's quota, and a failed authentication of its
address's (app/rate_limits.py counts). Where the caller's key stands goes into the RateLimit fields of
the request's answer, whatever sends it: the route's, or a problem rendered from an error raised
after the count (a 404, a 409, the 429 itself); a request whose caller is not counted (no key, a bad
one, the master key) gets none."""

from __future__ import annotations

from fastapi import Request

from app.domain.errors import RateLimited
from app.rate_limits import Quota, RateLimiter
from app.request_log import answer_with


async def spend(request: Request, key_id: str, rate_limit: str | None) -> None:
    """Count one request of the key `key_id` (its partner's `rate_limit`, or the default): a 429 once
    the key is over it."""
    limiter: RateLimiter = request.app.state.rate_limiter
    quota = await limiter.spend(key_id, rate_limit)
    answer_with(quota.headers())
    if not quota.allowed:
        raise _rate_limited(f"This API key may make {quota.limit} requests every {_window(quota)}.", quota)


async def count_failure(request: Request) -> None:
    """Count a failed authentication of the client's address: a 429 once it is over its budget."""
    limiter: RateLimiter = request.app.state.rate_limiter
    quota = await limiter.failed_authentication(request.client.host if request.client else "unknown")
    if not quota.allowed:
        detail = f"Too many failed authentications from your address: {quota.limit} every {_window(quota)}."
        raise _rate_limited(detail, quota)


def _rate_limited(detail: str, quota: Quota) -> RateLimited:
    error = RateLimited(detail + f" Retry in {max(1, quota.reset_seconds)} s.")
    error.headers = [("Retry-After", str(max(1, quota.reset_seconds)))]
    return error


def _window(quota: Quota) -> str:
    return "second" if quota.window_seconds == 1 else f"{quota.window_seconds} seconds"
