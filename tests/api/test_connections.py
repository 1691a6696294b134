"""The API's pooled database connections: what a restarted PostgreSQL leaves behind, and reads that
open no transaction."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, make_url

from tests.conftest import create_instance


async def _end_other_sessions(database_url: str) -> int:
    """What a restart does to the pool: the server ends every session on the database but ours."""
    connection = await asyncpg.connect(
        make_url(database_url).set(drivername="postgresql").render_as_string(False)
    )
    try:
        ended = await connection.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    return len(ended)


async def test_connections_the_server_ended_while_idle_are_replaced_before_use(api, backend, database_url):
    if backend != "postgres":
        pytest.skip("a PostgreSQL server ending its sessions")
    await create_instance(api, "tt_connections_restart")
    # Several connections in the pool, then all of them ended while they rest there.
    answers = await asyncio.gather(*(api.get("/v1/instances/tt_connections_restart") for _ in range(8)))
    assert {answer.status_code for answer in answers} == {200}
    assert await _end_other_sessions(database_url) >= 1
    await asyncio.sleep(0.2)  # the end of each socket reaches the pooled connections
    for _ in range(12):  # more than the pool held: every dead one is found out and replaced
        answer = await api.get("/v1/instances/tt_connections_restart")
        assert answer.status_code == 200, answer.text
    written = await api.patch("/v1/instances/tt_connections_restart", json={"display_name": "Back"})
    assert written.status_code == 200, written.text


async def test_a_read_opens_no_transaction_and_a_write_does(app, api, backend):
    """On PostgreSQL a GET runs its statements in autocommit (no BEGIN, no COMMIT: two round trips of
    three for a one-query read); a write runs in one transaction."""
    if backend != "postgres":
        pytest.skip("SQLite reads keep their transaction: one snapshot, no round trip")
    await create_instance(api, "tt_connections_reads")
    seen: list[bool] = []

    def record(connection: Any, *_: Any) -> None:
        seen.append(connection.connection.dbapi_connection.autocommit)

    event.listen(app.state.engine.sync_engine, "before_cursor_execute", record)
    try:
        assert (await api.get("/v1/instances/tt_connections_reads")).status_code == 200
        read, seen[:] = list(seen), []
        changed = await api.patch("/v1/instances/tt_connections_reads", json={"display_name": "Written"})
        assert changed.status_code == 200, changed.text
    finally:
        event.remove(app.state.engine.sync_engine, "before_cursor_execute", record)
    assert read, "the read ran no statement"
    assert all(read), read
    assert seen, "the write ran no statement"
    assert not any(seen), seen
