"""Methods as clients expect them: a 405 whose `Allow` lists every method of the path, `OPTIONS`
answered on every path that exists, and `HEAD` wherever a `GET` only reads.

Starlette's router stops at the first route whose path matches and answers its 405 with that route's
methods alone: `PUT /v1/instances/tt_x` said `Allow: GET`, although the path also takes `PATCH` and
`DELETE` (another route of the same path). `OPTIONS` was a 405 too, and FastAPI's routes refused
`HEAD`. `AllowedMethods` is a pure ASGI middleware that knows every route, as `StrictQueryStrings`
does, and decides before the router:

- the router would find a route for the method and the path (one regex match, per method, of the
  routes' paths as alternatives in the router's order): the request goes on untouched;
- `HEAD` where that `GET` route only reads: the request goes on as a `GET` and its body is dropped,
  so the headers, `Content-Length` and `ETag` included, are those of the `GET` (RFC 9110 §9.3.2). A
  `GET` that writes (the old importer's URL starts a run) takes no `HEAD`;
- the path matches routes, none for the method: `OPTIONS` is a 204, anything else a 405 problem (a page
  for a browser on the pages' paths), both with `Allow` listing every method of every route of the path,
  `HEAD` with a `GET` that only reads, and `OPTIONS`;
- no route matches the path: the router answers (a 404, or a redirect of a trailing slash).

A path is the resource of its most concrete routes, those with the fewest parameters, as OpenAPI
matches concrete paths before templated ones: `/v1/instances/tt_x/services/export` is the export
(`GET`), never the service `{code}` = `export`, although the router would serve `PATCH` there as one.

A mount (static assets) takes any method here and answers its own 405.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi.routing import iter_route_contexts
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import is_page_route
from app.db.session import writes_on_get
from app.domain.errors import MethodNotAllowed
from app.negotiation import vary_on, wants_html
from app.pages.render import problem_page
from app.problems import error_response
from app.query_strings import route_path

_NAMED_GROUP = re.compile(r"\(\?P<\w+>")  # path parameters: names repeat across routes


@dataclass(frozen=True, slots=True)
class _Route:
    regex: re.Pattern[str]
    methods: frozenset[str] | None  # None: a mount, or a route that takes any method
    page: bool  # a page for people: a browser gets its errors as a page
    reads_only: bool  # a GET that writes nothing, so HEAD may run it
    parameters: int  # how many path parameters: the fewer, the more concrete


def _routes(router: Router) -> list[_Route]:
    found = []
    for context in iter_route_contexts(router.routes):  # the routes as included, in the router's order
        if isinstance(getattr(context, "original_route", context), WebSocketRoute):
            continue
        regex = getattr(context, "path_regex", None)
        methods = getattr(context, "methods", None)
        pattern = ".*" if regex is None else _NAMED_GROUP.sub("(?:", regex.pattern)
        parameters = 0 if regex is None else len(_NAMED_GROUP.findall(regex.pattern))
        found.append(
            _Route(
                regex=re.compile(pattern),
                methods=frozenset(methods) if methods and regex is not None else None,
                page=is_page_route(context),
                reads_only=not writes_on_get(getattr(context, "endpoint", None)),
                parameters=parameters,
            )
        )
    return found


class _Alternatives:
    """The first of `routes` whose path matches, as the router tries them, in one regex match."""

    def __init__(self, routes: list[_Route]) -> None:
        self.regex = re.compile("|".join(f"(?P<r{i}>{r.regex.pattern})" for i, r in enumerate(routes)))
        self.routes = {f"r{i}": route for i, route in enumerate(routes)}

    def first(self, path: str) -> _Route | None:
        found = self.regex.match(path) if self.routes else None
        return None if found is None or found.lastgroup is None else self.routes[found.lastgroup]


class _RouteTable:
    def __init__(self, routes: list[_Route]) -> None:
        self.routes = routes
        every = {method for route in routes for method in route.methods or ()}
        self.by_method = {
            method: _Alternatives([r for r in routes if r.methods is None or method in r.methods])
            for method in every
        }
        self.any_method = _Alternatives([r for r in routes if r.methods is None])
        self.most_concrete = _Alternatives(sorted(routes, key=lambda route: route.parameters))

    def route(self, method: str, path: str) -> _Route | None:
        """The route the router would pick for `method` and `path`, unless a more concrete route
        (another resource) has the path."""
        route = self.by_method.get(method, self.any_method).first(path)
        concrete = self.most_concrete.first(path)
        if route is None or concrete is None or route.parameters > concrete.parameters:
            return None
        return route

    def serves(self, method: str, path: str) -> bool:
        return self.route(method, path) is not None

    def head_as_get(self, path: str) -> bool:
        """HEAD runs the GET route the router would pick, if that route only reads."""
        route = self.route("GET", path)
        return route is not None and route.methods is not None and route.reads_only

    def allowed(self, path: str) -> tuple[list[str], bool] | None:
        """Every method of the most concrete routes of `path`, and whether one is a page; None: no
        route has it."""
        matching = [route for route in self.routes if route.regex.fullmatch(path)]
        if not matching:
            return None
        fewest = min(route.parameters for route in matching)
        matching = [route for route in matching if route.parameters == fewest]
        methods = {method for route in matching for method in route.methods or ()}
        if "GET" in methods and self.head_as_get(path):
            methods.add("HEAD")
        methods.add("OPTIONS")
        return sorted(methods), any(route.page for route in matching)


class AllowedMethods:
    """405 with the path's every method, OPTIONS, and HEAD as a GET without its body."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router
        self._table: _RouteTable | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._table is None:  # the routes are all added before the first request
            self._table = _RouteTable(_routes(self.router))
        method, path = scope["method"], route_path(scope)
        if self._table.serves(method, path):
            await self.app(scope, receive, send)
        elif method == "HEAD" and self._table.head_as_get(path):
            await self.app({**scope, "method": "GET"}, receive, _without_body(send))
        elif (allowed := self._table.allowed(path)) is None:
            await self.app(scope, receive, send)  # no such path: the router's 404 (or redirect)
        else:
            methods, page = allowed
            response = _refusal(Request(scope), methods, page)
            await response(scope, receive, send)


def _refusal(request: Request, methods: Iterable[str], page: bool) -> Response:
    allow = {"Allow": ", ".join(methods)}
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=allow)
    detail = f"{request.method} is not a method of this path; it takes {allow['Allow']}."
    if page and wants_html(request):
        return problem_page(
            request, MethodNotAllowed.status, MethodNotAllowed.title, detail, headers=allow, extensions={}
        )
    error = MethodNotAllowed(detail)
    error.headers = list(allow.items())
    response = error_response(error)
    if page:  # the same request from a browser gets a page: the answer depends on Accept
        vary_on(response.headers, "Accept")
    return response


def _without_body(send: Send) -> Send:
    """Send a response's start as it is and its body as nothing: the answer to a HEAD."""

    async def headers_only(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b""}
        await send(message)

    return headers_only
