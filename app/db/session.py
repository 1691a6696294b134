"""The per-request session: one transaction, committed before the response is sent."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import recorder as audit
from app.db.engine import SQLITE_WRITE
from app.domain.conflicts import ConcurrentChange
from app.request_log import current_request_id

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IDEMPOTENCY_KEY_LENGTH = 255  # what the audit trail keeps of an Idempotency-Key header
log = logging.getLogger("portico")
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


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


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    writes = _writes(request)
    # A request that only reads opens no write transaction (app/db/engine.py, create_read_sessionmaker).
    sessionmaker = request.app.state.sessionmaker if writes else request.app.state.read_sessionmaker
    async with sessionmaker() as session:
        # On SQLite a transaction that reads first and writes later cannot wait for the lock: when
        # another writer committed in between, its first write fails at once ("database is
        # locked"). So a request that may write takes the lock when it begins.
        if writes:
            await session.connection(execution_options={SQLITE_WRITE: True})
            _audited(request, session)
        yield session
        if not writes:
            return  # nothing to commit: the session's end gives the connection back
        # scope="function" below: this runs when the endpoint returns, before the response is sent,
        # so a failed commit becomes an error response rather than a lost write behind a 2xx.
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


SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]
