"""Async engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import URL, event, make_url, text
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from app.config import ConfigError
from app.db import search_generations

# Execution option asking SQLite to take the write lock when the transaction begins. A deferred
# transaction that reads and then writes fails with SQLITE_BUSY when another writer got in between;
# taking the lock up front makes concurrent writers wait their turn (busy_timeout) instead.
SQLITE_WRITE = "portico_sqlite_write"
# How long the start-up check waits for the database to answer.
CHECK_SECONDS = 10
# A pooled PostgreSQL connection idle longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 30.0
_IDLE_SINCE = "portico_idle_since"


def create_engine(url: str, *, pool_size: int = 30, null_pool: bool = False) -> AsyncEngine:
    """The engine of `url`. On PostgreSQL a pool of at most `pool_size` connections, each opened when
    load first needs it and kept: an overflow closed on return (SQLAlchemy's default beyond the kept
    size) made every request past that size pay a new connection, a backend's start and a TLS
    handshake, several times what its query costs. A pooled connection is checked as it is handed
    out, without a round trip unless it rested long (see _check_on_checkout)."""
    kwargs: dict[str, Any] = {}
    postgres = url.startswith("postgresql")
    if null_pool:
        kwargs["poolclass"] = NullPool
    elif postgres:
        kwargs.update(pool_size=pool_size, max_overflow=0)
    engine = create_async_engine(url, **kwargs)
    search_generations.watch(engine)  # every write that changes a portal's search says so
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    elif not null_pool:
        _check_on_checkout(engine)
    return engine


def _check_on_checkout(engine: AsyncEngine) -> None:
    """Hand out only live connections, without a round trip each time. SQLAlchemy's `pool_pre_ping`
    pings on every checkout: with asyncpg that is three round trips (BEGIN, a statement, ROLLBACK),
    about as many as a sync run's own statements. Instead: a connection the server closed (a restart,
    an administrator's pg_terminate_backend) has already been seen closed by asyncpg, which read
    the end of its socket, and costs nothing to check; only a connection idle for a long time, which
    a firewall may have cut without a word, is pinged. Either way a dead one is replaced at once."""
    pool, dialect = engine.sync_engine.pool, engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if _closed(dbapi_connection):
            raise DisconnectionError("the server closed the connection")
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:  # what SQLAlchemy's own pre-ping catches
            if dialect.is_disconnect(exc, dbapi_connection, None):
                raise DisconnectionError(str(exc)) from exc
            raise


def _closed(dbapi_connection: Any) -> bool:
    """Whether asyncpg saw the connection closed (it reads the socket's end as it comes)."""
    return bool(dbapi_connection.driver_connection.is_closed())


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(SQLITE_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that only read. On PostgreSQL they run in autocommit: no BEGIN and
    no COMMIT, two round trips of the three a one-query read made. Each statement still sees what
    was committed when it started, which is all that READ COMMITTED gave each statement of the
    transaction. On SQLite a read keeps its deferred transaction, one snapshot for all its queries,
    at no round trip's cost."""
    if engine.dialect.name == "postgresql":
        return create_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))
    return create_sessionmaker(engine)


async def ping(engine: AsyncEngine) -> None:
    """Ask the database the simplest question; whatever stops it answering is raised."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def check_database(url: str) -> None:
    """Connect once (on SQLite, also take the write lock), so that a database which cannot work is a
    ConfigError naming PORTICO_DATABASE_URL and the fix before anything starts on it. Errors that are
    not about the configuration propagate unchanged."""
    engine = create_engine(url, null_pool=True)
    try:
        async with asyncio.timeout(CHECK_SECONDS), engine.connect() as opened:
            connection = await opened.execution_options(**{SQLITE_WRITE: True})
            await connection.execute(text("SELECT 1"))
            await connection.rollback()
    except (OSError, DBAPIError) as exc:  # TimeoutError is an OSError
        parsed = make_url(url)
        problem = _sqlite_problem(parsed, exc) if parsed.get_backend_name() == "sqlite" else None
        problem = problem or _postgres_problem(parsed, exc)
        if problem is None:
            raise
        raise ConfigError(f"PORTICO_DATABASE_URL: {problem}") from exc
    finally:
        await engine.dispose()


def _sqlite_problem(url: URL, exc: Exception) -> str | None:
    if not isinstance(exc, DBAPIError):
        return None
    reason = str(exc.orig)
    path = f"the SQLite file {Path(url.database or '').absolute()}"
    if reason == "unable to open database file":
        return f"cannot open {path} ({reason}); choose a path in a writable folder"
    if reason == "attempt to write a readonly database":
        return f"{path} is read-only; make it and its folder writable by this user, or choose another path"
    if reason == "file is not a database":
        return f"{path} is not a SQLite database; name a Portico database or a new file"
    return None


# One return per cause PostgreSQL may give, each with its own fix: a table would hide the messages.
def _postgres_problem(url: URL, exc: Exception) -> str | None:  # noqa: PLR0911
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    for cause in _causes(exc):
        if isinstance(cause, asyncpg.InvalidPasswordError):
            return f"{cause} on {where}; fix the password in the URL"
        if isinstance(cause, asyncpg.InvalidAuthorizationSpecificationError):
            if "does not exist" in str(cause):
                create = f"createuser {url.username}"
                return f"{cause} on {where}; create it ({create}) or use another user in the URL"
            return f"{cause}; use another user in the URL or let this one in (pg_hba.conf on {where})"
        if isinstance(cause, asyncpg.InvalidCatalogNameError):
            owner = f"-O {url.username} " if url.username else ""
            return (
                f"{cause} on {where}; create it (createdb {owner}{url.database}) "
                "or name another database in the URL"
            )
        if isinstance(cause, socket.gaierror):
            return f'cannot resolve the host "{url.host}" ({cause.strerror}); fix the host in the URL'
        if isinstance(cause, ConnectionRefusedError):
            return (
                f"nothing listens on {where} (connection refused); start PostgreSQL there "
                "or fix the host and port in the URL"
            )
        if isinstance(cause, TimeoutError):
            return f"no answer from {where} within {CHECK_SECONDS} s; check the host and port in the URL"
        if isinstance(cause, OSError):
            return (
                f"cannot connect to {where} ({cause.strerror or cause}); check the host and port in the URL"
            )
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and the exceptions it was raised from (SQLAlchemy wraps the driver's)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
