"""A run executes once, on both databases: the lease survives a brief database outage, a worker
that cannot renew in time stops its run, and a worker whose run was taken over can never commit
(the fence: run, lease owner and attempt, checked in every transaction of the run)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError
from sqlmodel import col

from app.db.engine import create_engine, create_sessionmaker
from app.db.models import SyncRun
from app.sync import queue
from app.sync.importer import run_import
from app.sync.worker import Worker
from tests.conftest import create_instance
from tests.sync.importing import FAST_RETRY, FaultAfter, cursors, rules_for, stored
from tests.sync.sandbox_server import SandboxServer
from tests.sync.test_end_to_end import rules_for as api_rules_for


@pytest.fixture
async def instance(app: FastAPI, api: httpx.AsyncClient, sandbox: SandboxServer) -> str:
    """An instance whose connection rules point at the sandbox, with one queued manual run."""
    await create_instance(api, "tt_fenced")
    rules = {**api_rules_for(sandbox), "enabled": False}  # no scheduled runs: only ours
    assert (await api.put("/v1/instances/tt_fenced/gesdent", json=rules)).status_code == 201
    run_id = (await api.post("/v1/instances/tt_fenced/sync-runs")).json()["id"]
    async with app.state.sessionmaker() as session:
        run: SyncRun | None = await session.get(SyncRun, run_id)
        assert run is not None
        return run.instance_id


async def _run(app: FastAPI, instance_id: str) -> SyncRun:
    async with app.state.sessionmaker() as session:
        stmt = sa.select(SyncRun).where(col(SyncRun.instance_id) == instance_id)
        run: SyncRun = (await session.execute(stmt)).scalars().one()
        return run


async def _until(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _worker(app: FastAPI, owner: str, lease: float, **options: Any) -> Worker:
    return Worker(
        app.state.sessionmaker,
        app.state.secret_box,
        owner=owner,
        lease=timedelta(seconds=lease),
        poll_seconds=0.1,
        client_options={"retry": FAST_RETRY},
        allow_private_networks=True,
        **options,
    )


def _flaky_renew(failures: int | None) -> tuple[Any, list[float]]:
    """queue.renew failing its first `failures` calls (every call when None), as when the database
    is briefly unreachable; and the moments it was called."""
    original = queue.renew
    calls: list[float] = []

    async def renew(*args: Any, **kwargs: Any) -> bool:
        calls.append(time.monotonic())
        if failures is None or len(calls) <= failures:
            raise OperationalError("UPDATE sync_runs …", None, ConnectionRefusedError("database down"))
        return await original(*args, **kwargs)

    return renew, calls


async def test_the_lease_survives_a_brief_outage_and_the_run_executes_once(
    app: FastAPI, sandbox: SandboxServer, instance: str, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="portico.sync")
    renew, calls = _flaky_renew(failures=2)
    monkeypatch.setattr(queue, "renew", renew)
    # The run lasts well beyond the lease: the first reservations page takes 4 s.
    sandbox.control.fault("slow", endpoint="reservations", delay=4, times=1)
    first, other = _worker(app, "first", lease=3), _worker(app, "other", lease=30)
    running = asyncio.create_task(first.run_once())
    while (await _run(app, instance)).lease_owner != "first":
        assert not running.done()
    taken: list[bool] = []
    while not running.done():  # another worker polls all along, as another replica would
        taken.append(await other.run_once())
        await asyncio.sleep(0.1)
    assert await running is True
    run = await _run(app, instance)
    assert (run.status, run.attempts, run.lease_owner) == ("succeeded", 1, "first"), run.error
    assert not any(taken), "another worker claimed the run while its worker was alive"
    assert len(calls) >= 3  # two failures, then renewals that succeeded
    logged = [r.getMessage() for r in caplog.records]
    assert sum("renewing the lease failed" in line for line in logged) == 2, logged
    patients = await stored(app, "users", instance)
    assert len(patients) == len(sandbox.sandbox.dataset.tables.user_by_id)


async def test_a_worker_that_cannot_renew_in_time_stops_its_run(
    app: FastAPI, instance: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    renew, _ = _flaky_renew(failures=None)
    monkeypatch.setattr(queue, "renew", renew)
    importing: dict[str, Any] = {}

    async def slow_importer(*args: Any, **kwargs: Any) -> Any:
        importing["started"] = time.monotonic()
        try:
            await asyncio.sleep(8)
        except asyncio.CancelledError:
            importing["cancelled"] = time.monotonic()
            raise
        raise AssertionError("the import outlived its lease")

    worker = _worker(app, "cut-off", lease=1.5, importer=slow_importer)
    assert await asyncio.wait_for(worker.run_once(), timeout=5) is True
    assert "cancelled" in importing
    assert importing["cancelled"] - importing["started"] < 2.5  # about one lease
    run = await _run(app, instance)
    # Nothing recorded: the run waits for its lease to run out, then for another worker.
    assert (run.status, run.attempts, run.lease_owner, run.finished_at) == ("running", 1, "cut-off", None)
    monkeypatch.undo()
    await asyncio.sleep(1.6 - (time.monotonic() - importing["started"]))
    rescuer = _worker(app, "rescuer", lease=30)
    assert await rescuer.run_once() is True
    run = await _run(app, instance)
    assert (run.status, run.attempts, run.lease_owner) == ("succeeded", 2, "rescuer"), run.error


async def test_a_worker_whose_run_was_taken_over_cannot_commit(
    app: FastAPI, sandbox: SandboxServer, instance: str
) -> None:
    """The race the heartbeat alone cannot close: the lease ran out (a stalled process, a clock),
    another worker claimed the run, and the first one, unaware, is about to commit a stream."""
    stale = await queue.claim(app.state.sessionmaker, "stale", timedelta(seconds=1))
    assert stale is not None
    # The stale worker's import: resources commit while the lease holds; the users page takes 2 s.
    sandbox.control.fault("slow", endpoint="users", delay=2, times=1)
    options = {"retry": FAST_RETRY, "allow_private_networks": True}
    rules = rules_for(sandbox)
    today = sandbox.sandbox.dataset.today
    importing = asyncio.create_task(
        run_import(
            app.state.sessionmaker, instance, rules, today=today, client_options=options, fence=stale.fence
        )
    )
    await _until(lambda: sandbox.control.stats()["users"]["requests"] >= 1, 10, "the users request")
    await asyncio.sleep(1.1)  # the lease runs out while the users page is on its way
    rescuer = await queue.claim(app.state.sessionmaker, "rescuer", timedelta(seconds=30))
    assert rescuer is not None
    assert rescuer.attempts == 2
    with pytest.raises(queue.LeaseLost):
        await importing
    assert await stored(app, "users", instance) == {}  # the users transaction rolled back
    assert "users" not in await cursors(app, instance)
    assert not await queue.finish(app.state.sessionmaker, stale.fence, "succeeded", {}, None)

    result = await run_import(
        app.state.sessionmaker, instance, rules, today=today, client_options=options, fence=rescuer.fence
    )
    assert result.status == "succeeded", result.error
    assert await queue.finish(app.state.sessionmaker, rescuer.fence, result.status, result.as_counts(), None)
    run = await _run(app, instance)
    assert (run.status, run.attempts, run.lease_owner) == ("succeeded", 2, "rescuer")
    assert len(await stored(app, "users", instance)) == len(sandbox.sandbox.dataset.tables.user_by_id)


async def test_the_same_worker_s_earlier_attempt_is_fenced_off_too(app: FastAPI, instance: str) -> None:
    """The attempt number, not only the owner: a worker that claims the run again (its lease ran out
    in between) holds a new fence, and what its first attempt tries to record is refused."""
    first = await queue.claim(app.state.sessionmaker, "w", timedelta(milliseconds=200))
    assert first is not None
    await asyncio.sleep(0.3)
    second = await queue.claim(app.state.sessionmaker, "w", timedelta(seconds=30))
    assert second is not None
    assert (second.attempts, first.attempts) == (2, 1)
    assert not await queue.renew(app.state.sessionmaker, first.fence)
    assert not await queue.finish(app.state.sessionmaker, first.fence, "failed", {}, "stale")
    assert await queue.finish(app.state.sessionmaker, second.fence, "succeeded", {}, None)
    run = await _run(app, instance)
    assert (run.status, run.error) == ("succeeded", None)


async def test_a_stream_holding_sqlite_s_lock_past_the_lease_keeps_it(
    app: FastAPI, sandbox: SandboxServer, instance: str, database_url: str, backend: str
) -> None:
    """On SQLite a stream writes under the database's write lock while it fetches its later pages,
    so its own worker's renewals wait ("database is locked") — and so does every claim: the run
    is not lost, not stopped, and not taken over."""
    if backend != "sqlite":
        pytest.skip("on PostgreSQL renewals do not wait for the run's own transactions")
    engine = create_engine(database_url)

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _impatient(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=300")  # renewals give up within 0.3 s

    # The users stream takes its lock with the first page, then waits 3 s for the second: twice
    # the lease. Then the first reservations page takes 1 s, the lock free: a claim could get in.
    transport = FaultAfter(sandbox, "users", after=1, mode="slow", delay=3)
    sandbox.control.fault("slow", endpoint="reservations", delay=1, times=1)
    first = Worker(
        create_sessionmaker(engine),
        app.state.secret_box,
        owner="first",
        lease=timedelta(seconds=1.5),
        client_options={"retry": FAST_RETRY, "page_limit": 100, "transport": transport},
        allow_private_networks=True,
    )
    other = _worker(app, "other", lease=30)
    try:
        running = asyncio.create_task(first.run_once())
        while (await _run(app, instance)).lease_owner != "first":
            assert not running.done()
        taken: list[bool] = []
        while not running.done():
            taken.append(await other.run_once())
            await asyncio.sleep(0.1)
        assert await running is True
    finally:
        await engine.dispose()
    run = await _run(app, instance)
    assert (run.status, run.attempts, run.lease_owner) == ("succeeded", 1, "first"), run.error
    assert not any(taken)
