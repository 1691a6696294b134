"""Strict query strings: an unknown query parameter, or a single-valued one given twice, is a 422.

A typo used to be ignored: `POST …/services/import?dry-run=true` wrote, because `dry_run` kept its
default. `StrictQueryStrings` refuses it with a problem that names the parameter, suggests the
closest valid name and lists the valid ones.

It is a pure ASGI middleware rather than an app-wide dependency because:
- it covers every route the router serves, including plain Starlette routes (`/openapi.json`, which
  takes no parameters); a dependency runs inside APIRoutes only;
- it answers before anything reads the body: FastAPI reads and parses a route's body before solving
  its dependencies, and `BodyLimit` reads a body sent without Content-Length;
- it costs nothing on a request without a query string; otherwise one split of the query string and
  one regex match that finds the route the router will pick (about 3 µs in all, against some 230 µs
  for the cheapest request). Each route's parameters are read from FastAPI's dependant tree
  (sub-dependencies and aliases included) once, on the first request with a query string; a
  dependency would be solved on every request;
- FastAPI puts the router's own APIRoute in `scope["route"]`, not the route as included (with the
  include's dependencies), so a dependency reading it could miss parameters; this reads the included
  routes, as the router matches them.

It answers before authentication, so a caller without a key gets the 422 too: the names it lists are
those of the public `/openapi.json`, and checking the key first would cost a database lookup for a
request that is wrong anyway. A key put in the query string (`?api_key=…`) is thus an unknown
parameter, never a credential; values are never echoed. Paths that match no route, and mounts (static
assets, whose URLs carry `?v=`), are left to the router: 404, 405 or a redirect as before.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from fastapi._compat import field_annotation_is_sequence
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo
from rapidfuzz import fuzz, process
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, Router, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth import is_page_route
from app.domain.errors import RepeatedQueryParameter, UnknownQueryParameter, ValidationFailed
from app.negotiation import vary_on, wants_html
from app.pages.render import problem_page
from app.problems import error_response

# Names a client might put an API key under; the message then says where keys go.
_CREDENTIAL_NAMES = {"apikey", "key", "accesstoken", "token", "auth", "authorization", "bearer"}
_MIN_SIMILARITY = 75  # rapidfuzz ratio (0-100) below which no name is suggested


def _names(query_string: bytes) -> list[str]:
    """The names in a query string, decoded as Starlette decodes `request.query_params` (its
    `parse_qsl(…, keep_blank_values=True)`), without the values. Twice as fast."""
    names = []
    for pair in query_string.decode("latin-1").split("&"):
        if pair:
            name = pair.partition("=")[0]
            names.append(unquote_plus(name) if "%" in name or "+" in name else name)
    return names


def _normal(name: str) -> str:
    """Case and `-`/`_` differences do not count: `DRY-RUN`, `dryRun` and `dry_run` are one name."""
    return name.casefold().replace("-", "").replace("_", "")


@dataclass(frozen=True, slots=True)
class QueryParameters:
    """The query parameters one route reads: their accepted names, in declaration order."""

    names: tuple[str, ...]
    repeatable: frozenset[str] = frozenset()
    for_people: bool = False  # a page for people: a browser gets its errors as a page

    def check(self, query_string: bytes) -> ValidationFailed | None:
        """The problem with this query string, if any. Reads names only, never values."""
        given = _names(query_string)
        if len(set(given)) == len(given) and all(name in self.names for name in given):
            return None
        counts = Counter(given)
        unknown = [name for name in counts if name not in self.names]
        repeated = [n for n in self.names if counts[n] > 1 and n not in self.repeatable]
        if not unknown and not repeated:
            return None
        errors = [{"field": f"query.{name}", "message": self._unknown(name)} for name in unknown]
        errors += [
            {"field": f"query.{n}", "message": f"'{n}' is given {counts[n]} times; it takes one value"}
            for n in repeated
        ]
        if len(errors) == 1:
            detail = errors[0]["message"][0].upper() + errors[0]["message"][1:]
        else:
            detail = f"{len(errors)} invalid query parameters: " + ", ".join(unknown + repeated)
        problem = UnknownQueryParameter if unknown else RepeatedQueryParameter
        return problem(detail, errors)

    def _unknown(self, name: str) -> str:
        message = f"unknown query parameter '{name}'"
        if _normal(name) in _CREDENTIAL_NAMES:
            message += " (an API key is read only from the header `Authorization: Bearer <key>`)"
        if not self.names:
            return message + "; this route takes no query parameters."
        suggestion = self._closest(name)
        message += f"; did you mean '{suggestion}'?" if suggestion else "."
        return message + " This route takes: " + ", ".join(f"'{n}'" for n in self.names) + "."

    def _closest(self, name: str) -> str | None:
        key = _normal(name)
        normal = [_normal(n) for n in self.names]
        if key in normal:
            return self.names[normal.index(key)]
        best = process.extractOne(key, normal, scorer=fuzz.ratio, score_cutoff=_MIN_SIMILARITY)
        return None if best is None else self.names[best[2]]


def route_parameters(dependant: Dependant) -> QueryParameters | None:
    """The query parameters FastAPI reads for a route, sub-dependencies included; None when the
    route takes any name (a parameter model that allows extra fields)."""
    names: dict[str, None] = {}
    repeatable: set[str] = set()
    for param in _query_params(dependant):
        model = _parameter_model(param.field_info)
        if model is None:
            fields = [(param.field_info, param.alias)]
        elif model.model_config.get("extra") == "allow":
            return None
        else:
            fields = [(info, info.alias or name) for name, info in model.model_fields.items()]
        for info, alias in fields:
            accepted = _accepted_names(info, alias)
            names.update(dict.fromkeys(accepted))
            if field_annotation_is_sequence(info.annotation):
                repeatable.update(accepted)
    return QueryParameters(tuple(names), frozenset(repeatable))


def _query_params(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_params(sub)


def _parameter_model(info: FieldInfo) -> type[BaseModel] | None:
    """The model of `Annotated[Model, Query()]`, whose fields are the parameters."""
    annotation = info.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _accepted_names(info: FieldInfo, alias: str) -> list[str]:
    choice = info.validation_alias
    if isinstance(choice, str):
        return [choice]
    if isinstance(choice, AliasChoices):
        return [c for c in choice.choices if isinstance(c, str)]
    return [alias]


class _RouteTable:
    """Which route the router picks for a method and a path, in one regex match per request.

    For each method, the regexes of the routes taking it are alternatives of one regex, in the
    router's order, so the first alternative that matches is the route the router picks (each is
    anchored: a full match). `lastgroup` names it. Four times faster than trying them one by one."""

    def __init__(self, routes: Iterable[Any]) -> None:
        entries: list[tuple[frozenset[str] | None, str, QueryParameters | None]] = []
        for context in routes:  # a route, or FastAPI's view of it as included
            route = getattr(context, "original_route", context)
            if isinstance(route, WebSocketRoute):
                continue
            methods = getattr(context, "methods", None)
            if isinstance(route, APIRoute):
                parameters = route_parameters(context.dependant)
                if parameters is not None and is_page_route(context):
                    parameters = dataclasses.replace(parameters, for_people=True)
            elif isinstance(route, Route):
                parameters = QueryParameters(())  # e.g. /openapi.json
            else:  # a mount, or another kind of route: it answers whatever it is asked
                parameters, methods = None, None
            regex = getattr(context, "path_regex", None)
            # A route matched otherwise than by its path (a host) may take anything from here on.
            pattern = ".*" if regex is None else _NAMED_GROUP.sub("(?:", regex.pattern)
            entries.append((frozenset(methods) if methods else None, pattern, parameters))
        every_method: set[str] = set()
        for methods, _, _ in entries:
            every_method |= methods or set()
        self.by_method = {
            method: _Alternatives([(p, q) for ms, p, q in entries if ms is None or method in ms])
            for method in every_method
        }
        self.any_method = _Alternatives([(p, q) for ms, p, q in entries if ms is None])

    def parameters(self, scope: Scope) -> QueryParameters | None:
        """The parameters of the route the router will pick; None when it is unchecked or none matches."""
        return self.by_method.get(scope["method"], self.any_method).match(route_path(scope))


_NAMED_GROUP = re.compile(r"\(\?P<\w+>")  # path parameters: names repeat across routes


class _Alternatives:
    def __init__(self, routes: list[tuple[str, QueryParameters | None]]) -> None:
        self.regex = re.compile("|".join(f"(?P<r{i}>{pattern})" for i, (pattern, _) in enumerate(routes)))
        self.parameters = {f"r{i}": parameters for i, (_, parameters) in enumerate(routes)}

    def match(self, path: str) -> QueryParameters | None:
        found = self.regex.match(path)
        return None if found is None or found.lastgroup is None else self.parameters[found.lastgroup]


def route_path(scope: Scope) -> str:
    """The path the router matches: `path` without `root_path` (as starlette's `get_route_path`)."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and (path == root or path[len(root)] == "/"):
        return path[len(root) :]
    return path


def _flat_routes(routes: Sequence[BaseRoute]) -> Iterable[Any]:
    """The routes as included: FastAPI includes routers lazily."""
    return iter_route_contexts(routes)


class StrictQueryStrings:
    """Refuse unknown and repeated query parameters with a 422, before the route runs."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router
        self._table: _RouteTable | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query_string = scope.get("query_string") if scope["type"] == "http" else None
        if query_string:
            if self._table is None:  # the routes are all added before the first request
                self._table = _RouteTable(_flat_routes(self.router.routes))
            parameters = self._table.parameters(scope)
            problem = parameters.check(query_string) if parameters is not None else None
            if problem is not None:
                response: Response
                request = Request(scope)
                if parameters is not None and parameters.for_people and wants_html(request):
                    response = problem_page(
                        request,
                        problem.status,
                        problem.title,
                        problem.detail,
                        headers=None,
                        extensions=problem.extensions,
                    )
                else:
                    response = error_response(problem)
                    if parameters is not None and parameters.for_people:  # a browser gets a page
                        vary_on(response.headers, "Accept")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
