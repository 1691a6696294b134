"""Conditional GETs and `Vary: Accept`, for every route at once.

`ConditionalGet` is a pure ASGI middleware inside the router's caller, so it reads the route the router
picked (`scope["route"]`) when the answer starts:

- a `GET` answered 200 with an `ETag` (instances, settings, communications, portals, services,
  mappings, GESDENT connection rules: the routes set it from the resource's state) to a request whose
  `If-None-Match` matches it (weak comparison, `*`, lists: RFC 9110 §13.1.2) becomes `304 Not
  Modified`, without a body, keeping `ETag`, `Cache-Control`, `Vary` and the other fields a 304 must
  repeat (§15.4.5). The route still runs (it computes the tag from what it reads), but the body is
  not sent. Other methods are untouched: `If-Match` on writes stays the routes' (412);
- the endpoints in `tagged_by_bytes` (the summary report, a document computed from many rows
  with no version of its own) get a strong `ETag` of their bytes on a 200 `GET`: their body is
  gathered, hashed, then sent or replaced by the 304. No other route's body is hashed;
- every answer of a page for people (the report, the old importer's URL) carries `Vary: Accept`:
  they answer JSON, CSV or HTML, problems included, by `Accept`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import is_page_route
from app.etags import etag_of_bytes, none_match
from app.negotiation import vary_on

# What a 304 repeats of the 200 it stands for (RFC 9110 §15.4.5), and what nothing else may take out.
_KEPT_BY_304 = frozenset({b"etag", b"cache-control", b"vary", b"content-location", b"date", b"expires"})


class ConditionalGet:
    """304 for a matching If-None-Match, ETags of the bytes of `tagged_by_bytes`, Vary: Accept on pages."""

    def __init__(self, app: ASGIApp, tagged_by_bytes: Iterable[Callable[..., Any]] = ()) -> None:
        self.app = app
        self.tagged_by_bytes = frozenset(tagged_by_bytes)  # endpoints
        self._pages: dict[int, bool] = {}  # id(route) → a page for people; routes live as long as the app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_get = scope["method"] == "GET"
        if_none_match = Headers(scope=scope).get("if-none-match") if is_get else None
        start: Message | None = None  # held while the body is gathered to be hashed
        body: list[bytes] = []
        swallowing = False  # a 304 was sent: the rest of the body goes nowhere

        async def conditional(message: Message) -> None:
            nonlocal start, swallowing
            if message["type"] == "http.response.start":
                route = scope.get("route")
                headers = MutableHeaders(scope=message)
                if self._is_page(route):
                    vary_on(headers, "Accept")
                if is_get and message["status"] == HTTPStatus.OK:
                    if "etag" not in headers and _endpoint(route) in self.tagged_by_bytes:
                        start = message
                        return
                    etag = headers.get("etag")
                    if if_none_match is not None and etag and none_match(if_none_match, etag):
                        swallowing = True
                        await _not_modified(message, send)
                        return
                await send(message)
            elif message["type"] == "http.response.body" and swallowing:
                return
            elif message["type"] == "http.response.body" and start is not None:
                body.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                whole = b"".join(body)
                headers = MutableHeaders(scope=start)
                headers["ETag"] = etag_of_bytes(whole)
                if if_none_match is not None and none_match(if_none_match, headers["etag"]):
                    await _not_modified(start, send)
                    return
                await send(start)
                await send({"type": "http.response.body", "body": whole})
            else:
                await send(message)

        await self.app(scope, receive, conditional)

    def _is_page(self, route: object) -> bool:
        if route is None:
            return False
        known = self._pages.get(id(route))
        if known is None:
            known = self._pages[id(route)] = is_page_route(route)
        return known


def _endpoint(route: object) -> object:
    """The function a route serves, through the wrappers that keep its signature (app/routers/lookups.py)."""
    endpoint = getattr(route, "endpoint", None)
    return inspect.unwrap(endpoint) if callable(endpoint) else None


async def _not_modified(start: Message, send: Send) -> None:
    kept = [(name, value) for name, value in start.get("headers", []) if name.lower() in _KEPT_BY_304]
    await send({"type": "http.response.start", "status": 304, "headers": kept})
    await send({"type": "http.response.body", "body": b""})
