"""The bound on a request's body (PORTICO_MAX_BODY_BYTES), enforced before any route reads it."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.domain.errors import PayloadTooLarge
from app.problems import error_response


class BodyLimit:
    """Refuse request bodies over `max_bytes` (over `larger[path]` on the paths it names) with a 413
    before a route reads them. A body without a Content-Length is read up to the limit first, so an
    oversized stream gets the same 413."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        limit = self.larger.get(scope["path"], self.max_bytes)
        if declared is not None and declared.isdigit():
            if int(declared) > limit:
                await self._too_large(limit, scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        if b"transfer-encoding" not in headers:
            # Neither a length nor chunks: over HTTP/1.1 (uvicorn) a request without a body (RFC 9112
            # §6.3), so nothing to count or buffer: every GET.
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            received += len(message.get("body", b""))
            if received > limit:
                await self._too_large(limit, scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        buffered = iter(messages)

        async def replay() -> Message:
            return next(buffered, None) or await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(PayloadTooLarge(f"The request body exceeds {limit} bytes."))
        await response(scope, receive, send)
