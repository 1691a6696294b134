"""The request id and the one log line of every request.

`RequestLog`, the outermost middleware, takes the `X-Request-ID` a caller sends when it is well
formed (1 to 128 of `A-Z a-z 0-9 . _ : -`), or makes one, and binds it for the request: every log
line written meanwhile carries it (app/logs.py), every problem body repeats it (app/problems.py)
and every answer echoes it in `X-Request-ID`, whoever answered (a route, a middleware, the 500 of
an unexpected error). When the answer is sent it writes one INFO line: method, route template (not
the path, which may carry names and ids of anything), status, duration, and the partner and key
ids of the caller the route authenticated (app/auth.py notes them; never the key itself). With
`metrics`, it counts and times the request there too, by the same route template (app/metrics.py)."""

from __future__ import annotations

import logging
import re
import secrets
import time
from contextvars import ContextVar
from dataclasses import dataclass, field

import structlog
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.metrics import Metrics

HEADER = "X-Request-ID"
WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,128}")
log = logging.getLogger("portico.requests")


@dataclass
class Caller:
    """What the request's log line says of who made it (filled in by app/auth.py)."""

    partner_id: str | None = None
    key_id: str | None = None
    master: bool = False


@dataclass
class _Request:
    id: str
    caller: Caller
    # Header fields that what ran during the request gave its answer (by name: a later value wins).
    fields: dict[bytes, bytes] = field(default_factory=dict)


_current: ContextVar[_Request | None] = ContextVar("portico_request", default=None)


def new_request_id() -> str:
    return secrets.token_hex(16)


def accepted_id(given: str | None) -> str:
    """The caller's id when it is well formed, a new one otherwise."""
    return given if given is not None and WELL_FORMED.fullmatch(given) else new_request_id()


def current_request_id() -> str:
    """The id of the request being served; a new one outside any (nothing to correlate it with)."""
    request = _current.get()
    return request.id if request is not None else new_request_id()


def answer_with(fields: list[tuple[str, str]]) -> None:
    """Give the request's answer these header fields, whatever sends it: the route, or a problem
    rendered from an error raised after this (the quota of app/quotas.py)."""
    request = _current.get()
    if request is not None:  # a mutable holder: seen by the middleware whatever context this runs in
        request.fields.update((name.lower().encode(), value.encode()) for name, value in fields)


def note_caller(partner_id: str | None, key_id: str | None) -> None:
    """Record who the request's caller is, for its log line (partner None: the master key)."""
    request = _current.get()
    if request is not None:  # a mutable holder: seen by the middleware whatever context this runs in
        request.caller.partner_id, request.caller.key_id = partner_id, key_id
        request.caller.master = partner_id is None


class RequestLog:
    """Give every request an id, echo it, and log one line per request (see the module's doc)."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute], metrics: Metrics | None = None) -> None:
        self.app = app
        self.routes = routes
        self.metrics = metrics
        self._templates: list[tuple[re.Pattern[str], str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for n, v in scope.get("headers") or () if n.lower() == b"x-request-id"), None)
        request = _Request(accepted_id(given.decode("latin-1") if given is not None else None), Caller())
        echoed = (b"x-request-id", request.id.encode())
        status: int | None = None

        async def stamped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(n, v) for n, v in message.get("headers") or () if n.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, *request.fields.items(), echoed]}
            await send(message)

        token = _current.set(request)
        bound = structlog.contextvars.bind_contextvars(request_id=request.id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, stamped)
        finally:
            self._log(scope, request.caller, status, time.perf_counter() - started)
            structlog.contextvars.reset_contextvars(**bound)
            _current.reset(token)

    def _log(self, scope: Scope, caller: Caller, status: int | None, seconds: float) -> None:
        route = self._template(scope)
        duration_ms = round(seconds * 1000, 1)
        client = scope.get("client")
        fields = {
            "method": scope["method"],
            "route": route,
            "status": status,
            "duration_ms": duration_ms,
            "partner_id": caller.partner_id,
            "key_id": caller.key_id,
            "client": client[0] if client else None,
        }
        if caller.master:
            fields["principal"] = "master"
        if self.metrics is not None:
            self.metrics.request(route, scope["method"], status, seconds)
        shown = route or "(no route)"
        log.info("%s %s %s %.1f ms", scope["method"], shown, status, duration_ms, extra=fields)

    def _template(self, scope: Scope) -> str | None:
        """The path template of the route that answered, or of the first whose path matches (a 405,
        or a 422 for the query string, is answered before routing); None when no route matches."""
        template = getattr(scope.get("route"), "path_format", None)
        if isinstance(template, str):
            return template
        if self._templates is None:  # the routes as included: FastAPI includes routers lazily
            self._templates = [
                (route.path_regex, route.path_format)
                for route in (context.route for context in iter_route_contexts(self.routes))
                if isinstance(route, Route)  # APIRoute too; not a mount
            ]
        path = _route_path(scope)
        return next((template for regex, template in self._templates if regex.match(path)), None)


def _route_path(scope: Scope) -> str:
    """The path the router matches: `path` without `root_path` (app/query_strings.py route_path)."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and (path == root or path[len(root)] == "/"):
        return path[len(root) :]
    return path
