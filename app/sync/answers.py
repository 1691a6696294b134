"""GESDENT answers read under a size limit, per endpoint family (finding: a 300 MB answer once took
a shared process from 130 MB to 982 MB).

A body is read as it streams in, and reading stops at the first byte past the limit: the
connection is then closed, so what the peer sends after that is never read. A `Content-Length`
above the limit is refused before the body is read. Compressed bodies are inflated here, in steps
that never produce more than what is left of the limit (httpx inflates each network chunk in full,
and 64 KiB of gzip can hold 64 MiB), so a compression bomb is held to the same limit.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import httpx

from app.domain.gesdent import Endpoint

MiB = 1024 * 1024
ERROR_BODY_BYTES = 4096  # read of an answer that is not a success: errors show 200 characters of it


@dataclass(frozen=True)
class AnswerLimits:
    """The largest answer, in bytes (decoded), of each endpoint family. A 1000-item page is about
    300-500 KB; availability is one resource's whole window, unpaged; a resource is one object."""

    page_bytes: int = 16 * MiB  # users and reservations
    availability_bytes: int = 32 * MiB
    resource_bytes: int = 1 * MiB

    def of(self, endpoint: Endpoint) -> Limit:
        if endpoint == "resources":
            return Limit(self.resource_bytes, "PORTICO_GESDENT_MAX_RESOURCE_BYTES", "a resource")
        if endpoint == "availability":
            return Limit(
                self.availability_bytes, "PORTICO_GESDENT_MAX_AVAILABILITY_BYTES", "a resource's availability"
            )
        return Limit(self.page_bytes, "PORTICO_GESDENT_MAX_PAGE_BYTES", "a page of users or reservations")


@dataclass(frozen=True)
class Limit:
    bytes: int
    setting: str  # the variable that raises it
    what: str  # what it bounds, for errors


@dataclass(frozen=True)
class Answer:
    """A GESDENT answer, its body read in full (or, when it is not a success, its first bytes)."""

    status: int
    headers: httpx.Headers
    content: bytes
    path: str  # the path asked for, base_url's included
    authorized: bool  # the request carried an Authorization header (the Digest answer)


class TooLarge(Exception):
    """The body passes the limit; `announced` when Content-Length said so before it was read."""

    def __init__(self, announced: int | None) -> None:
        super().__init__("too large")
        self.announced = announced


class Undecodable(Exception):
    """The body is in a content coding Portico does not read, or does not inflate."""


def announced_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


async def read_body(response: httpx.Response, limit: int, *, truncate: bool = False) -> bytes:
    """The decoded body of a streamed response: TooLarge past `limit` bytes, or with `truncate`
    its first `limit` bytes. Reading stops there; the caller closes the response."""
    announced = announced_length(response)
    if announced is not None and announced > limit and not truncate:
        raise TooLarge(announced)
    try:  # in memory already (httpx.MockTransport), decoded by httpx
        content = response.content
    except httpx.ResponseNotRead:
        pass
    else:
        if len(content) > limit and not truncate:
            raise TooLarge(None)
        return content[:limit]
    inflater = _inflater(response.headers.get("content-encoding", ""))
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        pending = chunk
        while pending:
            # At most one byte more than the room left: enough to tell that the body overflows.
            out, pending = _inflate(inflater, pending, limit - size + 1)
            if size + len(out) > limit:
                if truncate:
                    parts.append(out[: limit - size])
                    return b"".join(parts)
                raise TooLarge(None)
            parts.append(out)
            size += len(out)
    if inflater is not None:
        try:
            rest = inflater.flush()
        except zlib.error as exc:
            raise Undecodable(f"the body does not inflate: {exc}") from None
        if size + len(rest) > limit and not truncate:
            raise TooLarge(None)
        parts.append(rest[: limit - size])
    return b"".join(parts)


def _inflate(inflater: zlib._Decompress | None, data: bytes, room: int) -> tuple[bytes, bytes]:
    """What `data` decodes to, at most `room` bytes of it, and what is left of `data` to decode."""
    if inflater is None:
        return data, b""
    try:
        out = inflater.decompress(data, room)
    except zlib.error as exc:
        raise Undecodable(f"the body does not inflate: {exc}") from None
    return out, inflater.unconsumed_tail


def _inflater(coding: str) -> zlib._Decompress | None:
    coding = coding.strip().lower()
    if coding in ("", "identity"):
        return None
    if coding in ("gzip", "x-gzip"):
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    if coding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS | 32)  # zlib-wrapped (or gzip), as servers send it
    raise Undecodable(f"the body is in content coding {coding!r}; Portico reads gzip and deflate")
