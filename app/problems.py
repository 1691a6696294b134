"""RFC 9457 problem details: the one place errors become HTTP responses."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import is_page_route
from app.domain.errors import (
    DatabaseBusy,
    HttpError,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PorticoError,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from app.negotiation import wants_html
from app.openapi_contract import PROBLEM_JSON, complete
from app.openapi_meta import mark_public
from app.openapi_security import declare_security
from app.pages.render import problem_page
from app.request_log import current_request_id

log = logging.getLogger("portico")


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str | None,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    **ext: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": f"/problems/{slug}", "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    body.update({k: v for k, v in ext.items() if v is not None})
    body["request_id"] = current_request_id()
    response = JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)
    for name, value in headers.items() if isinstance(headers, Mapping) else headers or ():
        response.headers.append(name, value)
    return response


def error_response(error: PorticoError) -> JSONResponse:
    """The problem a Portico error describes, as a JSON response."""
    return problem_response(
        error.status, error.slug, error.title, error.detail, error.headers, **error.extensions
    )


# The errors the framework raises as HTTPException, by status; any other status is an HttpError.
_HTTP_ERRORS: dict[int, type[PorticoError]] = {
    error.status: error
    for error in (
        PorticoError,
        Unauthorized,
        NotFound,
        MethodNotAllowed,
        PayloadTooLarge,
        UnsupportedMediaType,
    )
}


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _error(error: Any) -> dict[str, Any]:
    if error["type"] == "json_invalid":  # its loc ends in a character offset, not a field
        position = error["loc"][-1] if len(error["loc"]) > 1 else "?"
        return {"field": "body", "message": f"invalid JSON at character {position}: {error['ctx']['error']}"}
    if error["type"] == "value_error":  # our own validators' messages, without pydantic's "Value error, "
        return {"field": _field(error["loc"]), "message": str(error["ctx"]["error"])}
    return {"field": _field(error["loc"]), "message": error["msg"]}


def describe_errors(raw: Sequence[Any], prefix: tuple[str, ...] = ()) -> tuple[str, list[dict[str, Any]]]:
    """A validation problem's `detail` and `errors` from pydantic's errors (`prefix` goes before
    each location, e.g. ("body",) for a model validated by hand)."""
    errors = [_error({**e, "loc": (*prefix, *e["loc"])}) for e in raw]
    if len(errors) == 1:
        return f"{errors[0]['field']}: {errors[0]['message']}", errors
    return f"{len(errors)} invalid fields: " + ", ".join(e["field"] for e in errors), errors


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _for_people(request: Request) -> bool:
    """The error of a page for people, asked for by a browser: answered as a page too."""
    return is_page_route(request.scope.get("route")) and wants_html(request)


def _answer(
    request: Request,
    status: int,
    slug: str,
    title: str,
    detail: str | None,
    *,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    **ext: Any,
) -> Response:
    if _for_people(request):
        return problem_page(request, status, title, detail, headers=headers, extensions=ext)
    return problem_response(status, slug, title, detail, headers, **ext)


def _answer_error(request: Request, error: PorticoError) -> Response:
    return _answer(
        request,
        error.status,
        error.slug,
        error.title,
        error.detail,
        headers=error.headers,
        **error.extensions,
    )


def install(app: FastAPI) -> None:
    _complete_spec(app)

    @app.exception_handler(PorticoError)
    async def _portico(request: Request, exc: PorticoError) -> Response:
        return _answer_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        has_body = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
        body_errors = any(e["loc"][:1] == ("body",) for e in exc.errors())
        takes_json = not is_page_route(request.scope.get("route"))  # the pages' forms are not JSON
        if body_errors and has_body and takes_json and not _is_json(media_type):
            return error_response(
                UnsupportedMediaType(
                    "This route takes a JSON body: send Content-Type: application/json "
                    f"(not {media_type or 'none'})."
                )
            )
        return _answer_error(request, ValidationFailed(*describe_errors(exc.errors())))

    @app.exception_handler(OperationalError)
    async def _busy(request: Request, exc: OperationalError) -> Response:
        if not str(getattr(exc.orig, "sqlite_errorname", "")).startswith("SQLITE_BUSY"):
            raise exc  # anything else is unexpected: UnexpectedErrors answers the 500
        # SQLite serves one writer at a time; another held the database longer than busy_timeout.
        log.warning(
            "%s %s: the SQLite database stayed locked by another writer", request.method, request.url.path
        )
        busy = DatabaseBusy(
            "Another write held the database longer than this request could wait; nothing of this "
            "request was written. Retry it shortly."
        )
        busy.headers = [("Retry-After", "2")]
        return _answer_error(request, busy)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        kind = _HTTP_ERRORS.get(exc.status_code, HttpError)
        detail = exc.detail if isinstance(exc.detail, str) else None
        return _answer(
            request, exc.status_code, kind.slug, kind.title, detail, headers=dict(exc.headers or {})
        )


class UnexpectedErrors:
    """Answer an unexpected exception with a 500 problem, on a connection that stays usable.

    A handler of `Exception` would run in Starlette's ServerErrorMiddleware, which sends its answer
    and raises again; uvicorn then drops the keep-alive connection, without `Connection: close`, and
    the client's next request on it fails. This middleware (outermost but for CORS and the request
    log) answers instead, and logs the error once with the request's id, which the problem repeats. A
    response already started cannot become a 500: the error goes on to uvicorn, which logs it and
    closes the connection, the only honest end of a half-sent response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            if started:
                raise
            # The request's own id (app/request_log.py): the problem repeats it, the line carries it.
            log.exception("unhandled error %s on %s %s", current_request_id(), scope["method"], scope["path"])
            response = error_response(InternalError("An unexpected error occurred."))
            await response(scope, receive, send)


def _complete_spec(app: FastAPI) -> None:
    """Complete the spec FastAPI generates with the problems and headers of every operation
    (app/openapi_contract.py) and the public operations' `security: []`."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()
            declare_security([context.route for context in iter_route_contexts(app.routes)], spec)
            complete(app, spec)
            mark_public(spec)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
