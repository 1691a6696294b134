"""The PostgreSQL pool hands out live connections without a round trip per checkout: a connection the
server closed is replaced before use, and only a connection idle for long is pinged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import engine as engines
from app.db.engine import create_engine


@pytest.fixture
async def pooled(database_url: str) -> AsyncIterator[AsyncEngine]:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has no server to close connections")
    engine = create_engine(database_url, pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(database_url: str, pid: int) -> None:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


def count_pings(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    dialect = engine.sync_engine.dialect
    ping = dialect.do_ping

    def counted(connection: Any) -> bool:
        pings.append(1)
        return bool(ping(connection))

    monkeypatch.setattr(dialect, "do_ping", counted)
    return pings


async def test_a_connection_the_server_closed_is_replaced_before_use(
    pooled: AsyncEngine, database_url: str
) -> None:
    first = await backend_pid(pooled)
    await terminate(database_url, first)
    await asyncio.sleep(0.2)  # the server's end of the socket reaches the pooled connection
    assert await backend_pid(pooled) != first


async def test_a_connection_in_use_is_not_pinged(
    pooled: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = count_pings(pooled, monkeypatch)
    pid = await backend_pid(pooled)
    for _ in range(5):
        assert await backend_pid(pooled) == pid
    assert pings == []


async def test_a_long_idle_connection_is_pinged_and_replaced_when_dead(
    pooled: AsyncEngine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = count_pings(pooled, monkeypatch)
    monkeypatch.setattr(engines, "IDLE_PING_SECONDS", 0.0)
    pid = await backend_pid(pooled)
    assert await backend_pid(pooled) == pid
    assert len(pings) == 1  # the second checkout: idle for longer than 0 s
    # A connection that looks open but is dead (a firewall dropped it silently): the ping finds out.
    monkeypatch.setattr(engines, "_closed", lambda _connection: False)
    await terminate(database_url, pid)
    await asyncio.sleep(0.2)
    assert await backend_pid(pooled) != pid
    assert len(pings) == 2  # the dead one's; a new connection is not pinged


async def test_the_pool_keeps_what_load_opened_and_never_opens_more_than_its_size(database_url: str):
    """A process under load reuses its connections: a burst opens at most the pool's size, each once,
    and the next burst opens none. (An overflow closed on return made every burst beyond the kept
    size open and close connections again: a TLS handshake and a backend start per request.)"""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has no server to connect to")
    engine = create_engine(database_url, pool_size=4)
    opened: list[int] = []
    event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))

    async def busy() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_sleep(0.05)"))

    try:
        await asyncio.gather(*(busy() for _ in range(8)))  # twice the size: half of them wait their turn
        assert len(opened) == 4
        await asyncio.gather(*(busy() for _ in range(8)))
        assert len(opened) == 4
    finally:
        await engine.dispose()
