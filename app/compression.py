"""gzip for answers of 1 KiB and more, to the clients that accept it.

Starlette's GZipMiddleware does the compressing, rather than code of Portico's: it compresses a whole
answer at once, or a streamed one chunk by chunk (each flushed, so a stream still arrives as it is
written); leaves alone answers that already have a `Content-Encoding`, a 206, small answers and media
that are compressed already; compresses large bodies in a worker thread; and adds `Vary:
Accept-Encoding` to every answer it could have compressed. Around it, `Compression`:

- reads `Accept-Encoding` as RFC 9110 §12.5.3 does: `gzip;q=0` refuses gzip (Starlette looks for the
  word `gzip` only), and `*` accepts it;
- makes the `ETag` of a compressed answer weak (`W/"…"`), as nginx does. Its bytes differ from the
  uncompressed answer's, so a strong tag would have to differ too (RFC 9110 §8.8.3); a weak one says
  "the same content", which it is. `If-None-Match` compares weakly, so either form of the tag gets a
  304 whatever the encoding, and `If-Match` accepts the tag with or without `W/` (app/etags.py).
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.negotiation import accepts_coding

MINIMUM_SIZE = 1024  # smaller answers gain little, and fit in one packet anyway
COMPRESS_LEVEL = 6  # zlib's default: most of level 9's gain, at a fraction of its time


class Compression:
    """gzip through Starlette's GZipMiddleware, with Accept-Encoding's q-values and weak ETags."""

    def __init__(self, app: ASGIApp, minimum_size: int = MINIMUM_SIZE) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=COMPRESS_LEVEL)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.gzip(_as_starlette_reads(scope), receive, _weak_etag_when_compressed(send))


def _as_starlette_reads(scope: Scope) -> Scope:
    """The scope with an `Accept-Encoding` that says `gzip` exactly when the client accepts gzip."""
    given = Headers(scope=scope).get("accept-encoding", "")
    accepted = accepts_coding(given, "gzip")
    if accepted == ("gzip" in given):
        return scope
    headers = [(name, value) for name, value in scope["headers"] if name.lower() != b"accept-encoding"]
    return {**scope, "headers": [*headers, (b"accept-encoding", b"gzip")] if accepted else headers}


def _weak_etag_when_compressed(send: Send) -> Send:
    async def weakened(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            etag = headers.get("etag")
            if etag and not etag.startswith("W/") and headers.get("content-encoding") == "gzip":
                headers["ETag"] = f"W/{etag}"
        await send(message)

    return weakened
