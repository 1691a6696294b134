"""The RateLimit header fields on every answer to a request whose caller's quota was counted.

The quota is known once the caller is (app/auth.py), deep in a route's dependencies; the answer may
be the route's, or a problem rendered from an error raised anywhere after that (a 404, a 409, the
429 itself). `RateLimitHeaders`, a middleware outside the routes and their error handlers, gives
each request a holder that app/auth.py fills (`note_quota`), and adds the fields to whatever answer
goes out. A request whose caller is not counted (no key, a bad one, the master key) gets none.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.rate_limits import Quota


@dataclass
class _Holder:
    quota: Quota | None = None


_current: ContextVar[_Holder | None] = ContextVar("portico_rate_limit", default=None)


def note_quota(quota: Quota) -> None:
    """Record where the request's caller stands, for the answer's RateLimit fields."""
    holder = _current.get()
    if holder is not None:  # a mutable holder: seen by the middleware whatever context this runs in
        holder.quota = quota


class RateLimitHeaders:
    """Add the RateLimit fields of the quota noted during the request to its answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        holder = _Holder()

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start" and holder.quota is not None:
                fields = [(n.lower().encode(), v.encode()) for n, v in holder.quota.headers()]
                message = {**message, "headers": [*message.get("headers", ()), *fields]}
            await send(message)

        token = _current.set(holder)
        try:
            await self.app(scope, receive, stamped)
        finally:
            _current.reset(token)
