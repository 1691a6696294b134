"""The per-request session: one transaction, committed before the response is sent.

A route's dependencies and endpoint share one session (`SessionDep`), opened when the first of them
asks for it. `SessionRoute`, the class of every route that may open one, ends it: when the endpoint has
answered, a request that may write commits, so that a failed commit becomes an error response rather
than a lost write behind a 2xx; then, whatever happened (a 401, a 422, an error in the endpoint), the
session is closed and its connection goes back to the pool. A generator dependency (`yield`) would
say the same, but FastAPI wraps each in an exit stack, a cancel scope and two context managers,
some 10 % of the cost of a request that reads one row; the route does it with a `try`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import recorder as audit
from app.db.engine import SQLITE_WRITE
from app.domain.conflicts import ConcurrentChange
from app.request_log import current_request_id

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IDEMPOTENCY_KEY_LENGTH = 255  # what the audit trail keeps of an Idempotency-Key header
log = logging.getLogger("portico")
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
_OPENED = "portico.session"  # the request's `_Opened`, in its scope


def writes(endpoint: Endpoint) -> Endpoint:
    """Mark the endpoint of a GET that writes (the old importer's URL starts a run), so that its
    transaction takes SQLite's write lock up front like any POST's."""
    endpoint.__dict__["portico_writes"] = True
    return endpoint


def writes_on_get(endpoint: object) -> bool:
    """Whether an endpoint is a GET that writes (marked by `writes`)."""
    return bool(getattr(endpoint, "portico_writes", False))


def _writes(request: Request) -> bool:
    if request.method not in _SAFE_METHODS:
        return True
    return writes_on_get(getattr(request.scope.get("route"), "endpoint", None))


@dataclass(slots=True)
class _Opened:
    """The request's session once a dependency asked for it, and whether the request may write."""

    session: AsyncSession | None = None
    writes: bool = False


class SessionRoute(APIRoute):
    """A route whose request's session is committed when the endpoint has answered (if the request
    may write) and closed in every case."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            opened = request.scope[_OPENED] = _Opened()
            try:
                response = await handler(request)
                if opened.session is not None and opened.writes:
                    await _commit(request, opened.session)
                return response
            finally:
                if opened.session is not None:
                    await opened.session.close()  # a transaction not committed is rolled back

        return handle


async def request_session(request: Request) -> AsyncSession:
    opened: _Opened | None = request.scope.get(_OPENED)
    if opened is None:
        route = getattr(request.scope.get("route"), "path", request.url.path)
        raise RuntimeError(f"{route}: a route that takes a session must be a SessionRoute")
    if opened.session is not None:
        return opened.session
    opened.writes = _writes(request)
    # A request that only reads opens no write transaction (app/db/engine.py, create_read_sessionmaker).
    state = request.app.state
    sessionmaker: async_sessionmaker[AsyncSession] = (
        state.sessionmaker if opened.writes else state.read_sessionmaker
    )
    opened.session = session = sessionmaker()
    # On SQLite a transaction that reads first and writes later cannot wait for the lock: when
    # another writer committed in between, its first write fails at once ("database is locked").
    # So a request that may write takes the lock when it begins.
    if opened.writes:
        await session.connection(execution_options={SQLITE_WRITE: True})
        _audited(request, session)
    return session


async def _commit(request: Request, session: AsyncSession) -> None:
    try:
        await session.commit()
    except IntegrityError as exc:
        # Constraints checked at commit (the deferred foreign keys of mappings) catch what a
        # concurrent request changed after this one read: its writes are rolled back whole, and
        # the caller is told to retry, not shown a 500. The services lock what they can so that
        # this stays rare; the log keeps the constraint, should it ever be a bug instead.
        log.warning("%s %s: refused at commit: %s", request.method, request.url.path, exc.orig)
        raise ConcurrentChange(
            "Another request changed the same data at the same moment; nothing of this request "
            "was written. Retry it: it will be answered against the current state."
        ) from None


def _audited(request: Request, session: AsyncSession) -> None:
    """Record the configuration changes of this write in the audit trail (app/audit), under the
    route's operationId; the principal, once authenticated, names the actor (app/auth.py)."""
    route = request.scope.get("route")
    operation = getattr(route, "operation_id", None) or f"{request.method} {request.url.path}"
    key = request.headers.get("idempotency-key")
    audit.begin(
        session,
        operation=operation,
        request_id=current_request_id(),
        idempotency_key=key[:IDEMPOTENCY_KEY_LENGTH] if key else None,
    )


SessionDep = Annotated[AsyncSession, Depends(request_session)]
