"""The per-request session: one transaction, committed before the response is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import SQLITE_WRITE

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        if request.method not in _SAFE_METHODS:
            await session.connection(execution_options={SQLITE_WRITE: True})
        yield session
        # scope="function" below: this runs when the endpoint returns, before the response is sent,
        # so a failed commit becomes an error response rather than a lost write behind a 2xx.
        await session.commit()


SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]
