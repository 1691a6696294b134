"""One slow GESDENT server does not stall the other tenants: runs are claimed in the order they
have waited, a run stops at its deadline, and one process runs several at once — proven by a
bounded load test on loopback (a tarpit and healthy sandboxes served by one process)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from app.config import Settings
from app.db.engine import SQLITE_WRITE
from app.db.models import SyncRun, utcnow
from app.main import create_app
from app.sync import queue
from tests.conftest import MASTER_KEY, SECRET_KEY, create_instance
from tests.sync import importing
from tests.sync.sandbox_server import SandboxServer
from tests.sync.test_end_to_end import rules_for

RULES = {
    "base_url": "http://127.0.0.1:9/",
    "resource_ids": ["AAAA1111-BBBB2222"],
    "credentials": {"users": "u:pw", "reservations": "r:pw", "availability": "a:pw"},
    "enabled": False,
}


async def _queue_run(app: FastAPI, api: httpx.AsyncClient, name: str, waiting: timedelta) -> str:
    """A manual run of a new instance `name`, requested `waiting` ago."""
    await create_instance(api, name)
    assert (await api.put(f"/v1/instances/{name}/gesdent", json=RULES)).status_code == 201
    run_id: str = (await api.post(f"/v1/instances/{name}/sync-runs")).json()["id"]
    async with app.state.sessionmaker() as session:
        run = await session.get(SyncRun, run_id)
        assert run is not None
        run.requested_at = utcnow() - waiting
        await session.commit()
    return run_id


async def test_runs_are_claimed_in_the_order_they_have_waited(app: FastAPI, api: httpx.AsyncClient) -> None:
    """A run taken over after its worker died waits from when its lease ran out, not from its
    first request: it does not jump ahead of the runs that were waiting before that."""
    crashed = await _queue_run(app, api, "tt_crashed", timedelta(minutes=10))
    claim = await queue.claim(app.state.sessionmaker, "died", timedelta(milliseconds=300))
    assert claim is not None
    assert claim.run_id == crashed
    waiting = await _queue_run(app, api, "tt_waiting", timedelta(minutes=5))
    await asyncio.sleep(0.4)  # the lease of the crashed worker ran out
    later = await _queue_run(app, api, "tt_later", timedelta(0))
    order = [await queue.claim(app.state.sessionmaker, f"w{i}", timedelta(seconds=30)) for i in range(4)]
    assert [c.run_id if c else None for c in order] == [waiting, crashed, later, None]
    assert order[1] is not None
    assert order[1].attempts == 2


# --- The load test ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def tarpit() -> AsyncIterator[tuple[str, list[int]]]:
    """A GESDENT 'server' on loopback that accepts, then sends one byte of its answer every 0.5 s,
    forever: never idle long enough for a read timeout. Yields its base URL and a list that counts
    the connections it took."""
    connections: list[int] = []
    handlers: set[asyncio.Task[Any]] = set()

    async def dribble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # a coroutine run by asyncio.start_server's handler task
        handlers.add(task)
        connections.append(1)
        try:
            await reader.read(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" * 1000:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.5)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(dribble, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/", connections
    finally:
        server.close()
        for handler in list(handlers):
            handler.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


async def _runs(app: FastAPI) -> dict[str, list[SyncRun]]:
    """Instance name → its runs, oldest first."""
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            sa.text(
                "SELECT i.name, r.id FROM sync_runs r JOIN instances i ON i.id = r.instance_id "
                "ORDER BY r.requested_at"
            )
        )
        by_name: dict[str, list[SyncRun]] = {}
        for name, run_id in rows.all():
            run = await session.get(SyncRun, run_id)
            assert run is not None
            by_name.setdefault(name, []).append(run)
        return by_name


async def _until(check: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


DONE = ("succeeded", "partial", "failed")
RUN_SECONDS = 10


async def test_a_tarpit_holds_one_worker_until_its_deadline_and_the_others_keep_their_schedule(
    app: FastAPI, api: httpx.AsyncClient, sandbox: SandboxServer, database_url: str
) -> None:
    healthy = [f"tt_healthy{i}" for i in range(3)]
    async with tarpit() as (tarpit_url, connections):
        await create_instance(api, "tt_tarpit")
        rules = {**rules_for(sandbox), "base_url": tarpit_url, "enabled": False}
        assert (await api.put("/v1/instances/tt_tarpit/gesdent", json=rules)).status_code == 201
        # The tarpit's run is the oldest in the queue: it is claimed first.
        assert (await api.post("/v1/instances/tt_tarpit/sync-runs")).status_code == 202
        for name in healthy:
            await create_instance(api, name)
            rules = {**rules_for(sandbox), "interval_minutes": 1}
            assert (await api.put(f"/v1/instances/{name}/gesdent", json=rules)).status_code == 201

        # One process as `portico serve` runs it: its ticker and its default number of workers.
        settings = Settings(
            database_url=database_url,
            master_key=MASTER_KEY,
            secret_keys=SECRET_KEY,
            gesdent_allow_private_networks=True,
            auto_migrate=False,
            scheduler_tick_seconds=0.5,
            sync_lease_seconds=5,
            sync_run_seconds=RUN_SECONDS,
        )
        served = create_app(settings)
        async with served.router.lifespan_context(served):
            started = time.monotonic()

            async def scheduled_done() -> bool:
                runs = await _runs(app)
                return all(
                    any(r.trigger == "schedule" and r.status in DONE for r in runs.get(name, []))
                    for name in healthy
                )

            await _until(scheduled_done, RUN_SECONDS - 2, "the healthy instances' scheduled runs")
            manual = [(await api.post(f"/v1/instances/{name}/sync-runs")).json()["id"] for name in healthy]

            async def manual_done() -> bool:
                runs = {run.id: run for found in (await _runs(app)).values() for run in found}
                return all(runs[run_id].status in DONE for run_id in manual)

            await _until(manual_done, RUN_SECONDS - 1 - (time.monotonic() - started), "the manual runs")
            runs = await _runs(app)
            (stuck,) = runs["tt_tarpit"]
            assert stuck.status == "running", "the tarpit's run ended before the healthy ones were done"
            for name in healthy:  # (a new minute may have queued another scheduled run meanwhile)
                ended_runs = [run for run in runs[name] if run.status in DONE]
                assert ended_runs, [(run.trigger, run.status, run.error) for run in runs[name]]
                assert all(run.status == "succeeded" for run in ended_runs), [
                    (run.trigger, run.status, run.error) for run in runs[name]
                ]

            async def tarpit_done() -> SyncRun | None:
                (run,) = (await _runs(app))["tt_tarpit"]
                return run if run.status in DONE else None

            ended = await _until(tarpit_done, RUN_SECONDS + 5, "the tarpit's run to end")
            took = time.monotonic() - started
    assert ended.status == "failed", ended.error
    assert f"the run took longer than {RUN_SECONDS} s" in ended.error, ended.error
    assert "PORTICO_SYNC_RUN_SECONDS" in ended.error
    assert ended.finished_at is not None
    assert ended.started_at is not None
    assert (ended.finished_at - ended.started_at).total_seconds() < RUN_SECONDS + 2
    assert took < RUN_SECONDS + 3
    assert connections, "the tarpit was never asked"


async def test_a_run_stops_at_its_deadline_wherever_it_waits(
    app: FastAPI, sandbox: SandboxServer, backend: str
) -> None:
    """Not only GESDENT: a stream stuck on the database stops at the deadline too, and what the run
    committed before stays (`partial`)."""
    instance_id = await importing.create_instance(app)
    sandbox.control.fault("slow", endpoint="users", delay=1, times=1)
    locked, release = asyncio.Event(), asyncio.Event()

    async def block_patients() -> None:
        """Once resources are stored, keep the users stream from writing (on SQLite every writer
        waits for this transaction; on PostgreSQL, every reader and writer of the table)."""
        await _until(lambda: importing.stored(app, "resources", instance_id), 5, "the resources")
        async with app.state.engine.connect() as plain:
            connection = await plain.execution_options(**{SQLITE_WRITE: True})
            if connection.dialect.name == "postgresql":
                await connection.execute(sa.text("LOCK TABLE gesdent_patients IN ACCESS EXCLUSIVE MODE"))
            else:
                await connection.execute(sa.text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock
            locked.set()
            await release.wait()
            await connection.rollback()

    blocker = asyncio.create_task(block_patients())
    started = time.monotonic()
    importing_run = asyncio.create_task(importing.run(app, instance_id, sandbox, run_seconds=3))
    try:
        await asyncio.wait_for(locked.wait(), 5)
        done, _ = await asyncio.wait({importing_run}, timeout=3.5 - (time.monotonic() - started))
        # SQLite's driver thread waits for the lock whatever asyncio cancels (busy_timeout bounds
        # it): the stopped transaction rolls back, and the run returns, once the lock is free.
        assert done or backend == "sqlite", "the run did not stop at its deadline"
        release.set()
        result = await asyncio.wait_for(importing_run, 1)
        stopped = time.monotonic() - started
    finally:
        release.set()
        await blocker
        await importing.delete_instance(app, instance_id)
    assert 3 <= stopped < 4.5
    assert (result.status, result.failed_stream) == ("partial", "users"), result.error
    assert result.error is not None
    assert "the run took longer than 3 s" in result.error
    assert "PORTICO_SYNC_RUN_SECONDS" in result.error
