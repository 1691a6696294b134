"""What an authenticated request spends of its key's quota, and a failed authentication of its
address's (app/rate_limits.py counts; app/rate_limit_headers.py shows the quota in the answer)."""

from __future__ import annotations

from fastapi import Request

from app.domain.errors import RateLimited
from app.rate_limit_headers import note_quota
from app.rate_limits import Quota, RateLimiter


async def spend(request: Request, key_id: str, rate_limit: str | None) -> None:
    """Count one request of the key `key_id` (its partner's `rate_limit`, or the default): a 429 once
    the key is over it."""
    limiter: RateLimiter = request.app.state.rate_limiter
    quota = await limiter.spend(key_id, rate_limit)
    note_quota(quota)
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
