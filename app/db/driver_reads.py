"""One-row reads that PostgreSQL's driver runs itself, for the lookups every request of a hot route makes.

SQLAlchemy's execution of a statement (the session's and the connection's bookkeeping, an
execution context, the result's processing, the ORM's loading) costs some 250 Python calls; asyncpg's
own `fetchrow`, on the same pooled connection, about 30. For the lookup of `GET /v1/instances/{name}`
that was a quarter of the request. `FirstRow` compiles its statement once per dialect, and runs it by
the driver when:

- the database is PostgreSQL through asyncpg, and
- the session is a read's, in autocommit (app/db/engine.py, `create_read_sessionmaker`): there is no
  transaction of SQLAlchemy's to begin or to respect, and
- nothing listens to the engine's statements at the cursor: the tracer (app/tracing.py) makes its
  spans from those events, so a traced read goes through SQLAlchemy.

Anywhere else (SQLite, a write's transaction, tracing on) the same statement runs through SQLAlchemy
Core. Either way the answer is a row of plain column values, in the statement's order; so the
statement must select columns that asyncpg returns as SQLAlchemy would (text, integers, booleans,
timestamps with a time zone), and tests read the same rows both ways.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


class FirstRow:
    """The first row of `statement` (bound parameters by name), or None."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._compiled: tuple[Dialect, str, tuple[str, ...], dict[str, Any]] | None = None

    async def __call__(self, session: AsyncSession, **parameters: Any) -> Sequence[Any] | None:
        connection = await session.connection()
        driver = _driver_connection(connection)
        if driver is None:
            found: Sequence[Any] | None = (await connection.execute(self.statement, parameters)).first()
            return found
        sql, names, values = self._sql(connection.dialect)
        given = values | parameters
        row = await driver.fetchrow(sql, *[given[name] for name in names])
        return None if row is None else tuple(row)

    def _sql(self, dialect: Dialect) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        """The statement's SQL for `dialect`, its parameters' names in order, and the values the
        statement holds itself (literals become bound parameters too)."""
        if self._compiled is None or self._compiled[0] is not dialect:
            compiled = self.statement.compile(dialect=dialect)
            self._compiled = (dialect, compiled.string, tuple(compiled.positiontup or ()), compiled.params)
        return self._compiled[1:]


def _driver_connection(connection: AsyncConnection) -> Any | None:
    """The asyncpg connection under `connection`, when a read may go to it directly; else None."""
    sync = connection.sync_connection
    if sync is None or connection.dialect.driver != "asyncpg":
        return None
    if sync.dispatch.before_cursor_execute or sync.dispatch.after_cursor_execute:
        return None  # watched (traced): SQLAlchemy's execution tells the watchers
    pooled = sync.connection  # checked out already: session.connection() did
    if not getattr(pooled.dbapi_connection, "autocommit", False):  # SQLAlchemy's adapter of asyncpg's
        return None  # a transaction SQLAlchemy manages: its statements go through it
    return pooled.driver_connection
