"""The responses half of the spec, derived from what the routes do rather than written by hand.

- **Problems.** A `Problem` schema (what every problem has) and one schema per problem type of
  `app/domain/errors.py`, with its `type` as a constant and its extension members typed. An operation
  answers a problem type when its endpoint or one of its dependencies is marked with `raises(...)`
  (the principal → 401, a scope → 403, a path lookup → 404, ...), or by what it takes: a body (400,
  413, 415, 422), a query (422 for an unknown or repeated parameter), `If-Match` (412), a `cursor`
  (422 for a bad one). Every operation may meet a busy SQLite database (503) or a bug (500). Several
  types under one status are a `oneOf` with a discriminator on `type`.
- **Headers.** `ETag`, `Location` (on a 201) and `Link` (on a page of a list) where the route sends
  them: `sends("ETag", ...)` marks the endpoint, a `cursor` parameter implies `Link`. A `GET` that sends
  an `ETag` takes `If-None-Match` and declares its `304`. A `503` or a `429` says when to retry
  (`Retry-After`). An operation whose caller's quota is counted (`counts_quota`) may send the
  RateLimit fields on any answer but a 401 (app/quotas.py).
  Every answer, of every status, has the request's id in `X-Request-ID` (app/request_log.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, TypeVar

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from app import openapi_idempotency
from app.domain.conflicts import ConcurrentChange
from app.domain.errors import (
    DatabaseBusy,
    InternalError,
    InvalidCursor,
    PayloadTooLarge,
    PorticoError,
    PreconditionFailed,
    RateLimited,
    RepeatedQueryParameter,
    RequestHeaderFieldsTooLarge,
    UnknownQueryParameter,
    UnsupportedMediaType,
    ValidationFailed,
)
from app.openapi_rate_limits import RATE_LIMIT_HEADERS
from app.problem_examples import REQUEST_ID
from app.problem_schemas import REF, problem_schemas, schema_name, type_uri
from app.request_log import WELL_FORMED
from app.schemas.common import not_null

PROBLEM_JSON = "application/problem+json"
HTML = "text/html"
PROBLEMS_ATTRIBUTE = "__problems__"
HEADERS_ATTRIBUTE = "__sends__"
PAGE_ATTRIBUTE = "__for_people__"
QUOTA_ATTRIBUTE = "__counts_quota__"
F = TypeVar("F", bound=Callable[..., Any])


def raises(*kinds: type[PorticoError]) -> Callable[[F], F]:
    """Mark an endpoint or a dependency as answering these problem types (for the spec)."""

    def mark(function: F) -> F:
        setattr(function, PROBLEMS_ATTRIBUTE, (*getattr(function, PROBLEMS_ATTRIBUTE, ()), *kinds))
        return function

    return mark


Header = Literal["ETag", "Location"]


def counts_quota(function: F) -> F:
    """Mark the dependency that counts the caller's requests (app/auth.py): the route's answers may
    carry the RateLimit fields, and it may answer 429."""
    setattr(function, QUOTA_ATTRIBUTE, True)
    return function


def for_people(function: F) -> F:
    """Mark the dependency that makes a route a page for people too: its problems come as pages to a
    browser (`text/html`), as JSON to anything else."""
    setattr(function, PAGE_ATTRIBUTE, True)
    return function


def sends(*headers: Header, when_created: Iterable[Header] = ()) -> Callable[[F], F]:
    """Mark an endpoint as sending `headers` on every successful answer, and `when_created` on its 201."""

    def mark(function: F) -> F:
        setattr(function, HEADERS_ATTRIBUTE, ({*headers}, {*when_created}))
        return function

    return mark


# The problems an operation can answer whatever it is.
EVERYWHERE: tuple[type[PorticoError], ...] = (RequestHeaderFieldsTooLarge, InternalError, DatabaseBusy)
BODY: tuple[type[PorticoError], ...] = (PorticoError, PayloadTooLarge, UnsupportedMediaType, ValidationFailed)
STATUS_DESCRIPTIONS = {
    400: "The request cannot be parsed",
    401: "Missing or invalid credentials",
    403: "The credentials may not do this",
    404: "Unknown, or owned by another partner",
    409: "An invariant of the procedure would be broken",
    412: "If-Match does not match the current ETag",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid input; `errors` lists every invalid field",
    429: "Too many requests; retry after `Retry-After` seconds",
    431: "Request header fields too large",
    500: "Unexpected error; give the operator its `request_id`",
    503: "The database is busy; retry after `Retry-After` seconds",
}
HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "required": True,
        "description": "The representation's entity tag: send it in `If-Match` to change the resource "
        "only if nobody else did, or in `If-None-Match` to get a 304 when nothing changed.",
        "schema": {"type": "string", "examples": ['"5d41402abc4b2a76b9719d911017c592"']},
    },
    "Location": {
        "required": True,
        "description": "The URL of the resource created.",
        "schema": {
            "type": "string",
            "format": "uri-reference",
            "examples": ["/v1/instances/tt_clinic_north"],
        },
    },
    "Link": {
        "description": 'The next page (`rel="next"`), when there is one (RFC 8288).',
        "schema": {"type": "string", "examples": ['</v1/instances?cursor=eyJrIjoi...>; rel="next"']},
    },
    "Retry-After": {
        "required": True,
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 0, "examples": [2]},
    },
    **RATE_LIMIT_HEADERS,
    "X-Request-ID": {
        "required": True,
        "description": "The request's id: the `X-Request-ID` the request sent when it is 1 to 128 of "
        "`A-Z a-z 0-9 . _ : -`, a new one otherwise. Every log line of the request carries it, and a "
        "problem repeats it as `request_id`.",
        "schema": {"type": "string", "pattern": f"^{WELL_FORMED.pattern}$", "examples": [REQUEST_ID]},
    },
}
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "ETags of the copies the client holds: 304 Not Modified, without a body, "
    "when one is current.",
    "schema": {"type": "string", "examples": ['"5d41402abc4b2a76b9719d911017c592"']},
}


def _calls(route: APIRoute) -> Iterator[Any]:
    """The endpoint of `route` and every dependency it has, however deep."""
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        yield dependant.call
        pending.extend(dependant.dependencies)


def _problems_of(route: APIRoute) -> Iterator[type[PorticoError]]:
    for call in _calls(route):
        yield from getattr(call, PROBLEMS_ATTRIBUTE, ())


def _answered(route: APIRoute, method: str, operation: dict[str, Any]) -> list[type[PorticoError]]:
    parameters = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
    kinds = [*_problems_of(route), UnknownQueryParameter, *EVERYWHERE]
    if method != "get":  # a write a constraint refuses at commit, when a concurrent one came first
        kinds.append(ConcurrentChange)
    if openapi_idempotency.honours(route):
        kinds += openapi_idempotency.PROBLEMS
    if "requestBody" in operation:
        kinds += BODY
    if any(where == "query" for where, _ in parameters):
        kinds.append(RepeatedQueryParameter)
    if parameters or "requestBody" in operation:
        kinds.append(ValidationFailed)
    if ("header", "If-Match") in parameters:
        kinds.append(PreconditionFailed)
    if ("query", "cursor") in parameters:
        kinds.append(InvalidCursor)
    return list(dict.fromkeys(kinds))


def _problem_response(status: int, kinds: Iterable[type[PorticoError]], *, page: bool) -> dict[str, Any]:
    refs = {type_uri(kind): REF.format(model=schema_name(kind)) for kind in kinds}
    schema: dict[str, Any]
    if len(refs) == 1:
        schema = {"$ref": next(iter(refs.values()))}
    else:
        schema = {
            "oneOf": [{"$ref": ref} for ref in refs.values()],
            "discriminator": {"propertyName": "type", "mapping": refs},
        }
    content: dict[str, Any] = {PROBLEM_JSON: {"schema": schema}}
    if page:
        content[HTML] = {"schema": {"type": "string"}}
    response: dict[str, Any] = {
        "description": STATUS_DESCRIPTIONS[status],
        "content": content,
    }
    if status in (DatabaseBusy.status, RateLimited.status):
        response["headers"] = {"Retry-After": _header("Retry-After")}
    return response


def _header(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def _declare(route: APIRoute, method: str, operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        # `str | None = None` makes FastAPI write a null branch, but a path, query or header value is
        # never JSON null: absent is how a parameter says nothing.
        not_null(parameter["schema"])
    idempotent = openapi_idempotency.honours(route)
    if idempotent:
        openapi_idempotency.declare(operation)
    by_status: dict[int, list[type[PorticoError]]] = {}
    for kind in _answered(route, method, operation):
        by_status.setdefault(kind.status, []).append(kind)
    responses = operation["responses"]
    page = any(getattr(call, PAGE_ATTRIBUTE, False) for call in _calls(route))
    for status, kinds in sorted(by_status.items()):
        # What the route declares itself stands, but FastAPI's own 422 body, which Portico never sends.
        if str(status) not in responses or status == ValidationFailed.status:
            responses[str(status)] = _problem_response(status, kinds, page=page)
    _declare_headers(route, method, operation, idempotent=idempotent)


def _declare_headers(route: APIRoute, method: str, operation: dict[str, Any], *, idempotent: bool) -> None:
    """The headers of the operation's answers (and the conditional GET they allow)."""
    responses = operation["responses"]
    always, created = getattr(route.endpoint, HEADERS_ATTRIBUTE, (set(), set()))
    sent: set[str] = set(always)
    if any(p["name"] == "cursor" and p["in"] == "query" for p in operation.get("parameters", [])):
        sent.add("Link")
    for status, response in responses.items():
        if status.startswith("2"):
            for header in sorted(sent | (created if status == "201" else set())):
                response.setdefault("headers", {})[header] = _header(header)
    if method == "get" and "ETag" in sent:
        operation.setdefault("parameters", []).append(IF_NONE_MATCH)
        responses["304"] = {
            "description": "Not Modified: the copy whose ETag the client sent in `If-None-Match` is current.",
            "headers": {"ETag": _header("ETag")},
        }
    if idempotent:
        openapi_idempotency.declare_answers(responses)
    counted = any(getattr(call, QUOTA_ATTRIBUTE, False) for call in _calls(route))
    for status, response in responses.items():
        if counted and status != "401":
            response.setdefault("headers", {}).update({name: _header(name) for name in RATE_LIMIT_HEADERS})
        response.setdefault("headers", {})["X-Request-ID"] = _header("X-Request-ID")
    operation["responses"] = dict(sorted(responses.items()))


def complete(app: FastAPI, spec: dict[str, Any]) -> None:
    """Add the problem schemas to `spec` and every operation's problems and headers."""
    for context in iter_route_contexts(app.routes):  # the routes as included
        route = context.route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        item = spec["paths"][route.path_format]
        for method in route.methods or ():
            operation = item.get(method.lower())
            if operation is not None:
                _declare(route, method.lower(), operation)
    for item in spec.get("webhooks", {}).values():  # what Portico POSTs to partners (app/routers/events.py)
        for operation in item.values():
            operation["security"] = []  # no key: the receiver checks the Standard Webhooks signature
            operation["responses"] = {
                "2XX": {"description": "Received; the body of the answer is ignored."},
                "410": {"description": "Gone: the endpoint is disabled, and sent nothing more."},
                "default": {"description": "Anything else: retried on the schedule."},
            }
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    # FastAPI's own 422 body, replaced by ValidationErrorProblem everywhere.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.update(problem_schemas())
    spec["components"]["headers"] = HEADERS
    spec["components"]["schemas"] = dict(sorted(schemas.items()))
