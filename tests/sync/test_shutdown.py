"""Stopping the sync service, on both databases: the hand-back statement obeys the fence, a handed
back run is claimable at once and never "abandoned" by hand-overs, and `SyncService.stop` lets the
work in hand end within the grace (a run, a tick) and hands back the runs it had to cut."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from app.db.engine import SQLITE_WRITE
from app.db.models import SyncRun
from app.sync import queue
from app.sync.scheduler import SyncService
from app.sync.worker import Worker
from tests.api.test_metrics import scrape
from tests.conftest import create_instance
from tests.sync.importing import FAST_RETRY, cursors, stored
from tests.sync.sandbox_server import SandboxServer
from tests.sync.test_end_to_end import rules_for

LONG_LEASE = timedelta(seconds=120)  # a run waiting for it to expire would fail every test here


@pytest.fixture
async def instance(app: FastAPI, api: httpx.AsyncClient, sandbox: SandboxServer) -> str:
    """An instance whose rules point at the sandbox, with one queued manual run (and no schedule)."""
    await create_instance(api, "tt_stopping")
    rules = {**rules_for(sandbox), "enabled": False}
    assert (await api.put("/v1/instances/tt_stopping/gesdent", json=rules)).status_code == 201
    assert (await api.post("/v1/instances/tt_stopping/sync-runs")).status_code == 202
    return (await _run(app)).instance_id


async def _run(app: FastAPI) -> SyncRun:
    async with app.state.sessionmaker() as session:
        runs: list[SyncRun] = list((await session.execute(sa.select(SyncRun))).scalars().all())
    assert len(runs) == 1, runs
    return runs[0]


def _worker(app: FastAPI, owner: str, **options: Any) -> Worker:
    return Worker(
        app.state.sessionmaker,
        app.state.secret_box,
        owner=owner,
        lease=LONG_LEASE,
        poll_seconds=0.1,
        allow_private_networks=True,
        **{"client_options": {"retry": FAST_RETRY}, **options},
    )


async def _until(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_stale_fence_hands_back_nothing(app: FastAPI, instance: str) -> None:
    first = await queue.claim(app.state.sessionmaker, "w1", timedelta(milliseconds=200))
    assert first is not None
    await asyncio.sleep(0.3)  # its lease runs out: another worker takes the run over
    second = await queue.claim(app.state.sessionmaker, "w2", LONG_LEASE)
    assert second is not None
    assert second.attempts == 2
    assert not await queue.hand_back(app.state.sessionmaker, first.fence)
    run = await _run(app)
    assert (run.status, run.lease_owner, run.attempts) == ("running", "w2", 2)
    assert await queue.hand_back(app.state.sessionmaker, second.fence)
    run = await _run(app)
    # Queued again with its attempt given back; it waits from the hand-back (the claim order).
    assert (run.status, run.lease_owner, run.attempts) == ("queued", None, 1)
    assert run.lease_expires_at is not None
    # Once given back, the same fence gives back nothing more, nor records an outcome.
    assert not await queue.hand_back(app.state.sessionmaker, second.fence)
    assert not await queue.finish(app.state.sessionmaker, second.fence, "failed", {}, "stale")


async def test_a_finished_run_is_not_handed_back(app: FastAPI, instance: str) -> None:
    claim = await queue.claim(app.state.sessionmaker, "w", LONG_LEASE)
    assert claim is not None
    assert await queue.finish(app.state.sessionmaker, claim.fence, "succeeded", {}, None)
    assert not await queue.hand_back(app.state.sessionmaker, claim.fence)
    assert (await _run(app)).status == "succeeded"


async def test_hand_overs_never_make_a_run_abandoned(app: FastAPI, instance: str) -> None:
    """A rolling deploy may stop the worker of a run several times: each claim after a hand-back
    comes at once (not after the 120 s lease), and the run is never failed as abandoned."""
    for round_ in range(queue.MAX_ATTEMPTS + 2):
        claim = await queue.claim(app.state.sessionmaker, f"deploy-{round_}", LONG_LEASE)
        assert claim is not None, f"not claimable at once after {round_} hand-backs"
        assert (claim.attempts, claim.taken_over) == (1, False)
        assert await queue.hand_back(app.state.sessionmaker, claim.fence)
    claim = await queue.claim(app.state.sessionmaker, "last", LONG_LEASE)
    assert claim is not None
    assert await queue.finish(app.state.sessionmaker, claim.fence, "succeeded", {}, None)
    run = await _run(app)
    assert (run.status, run.attempts, run.error) == ("succeeded", 1, None)


async def test_stop_hands_back_the_run_it_cut_and_another_worker_resumes_it(
    app: FastAPI, sandbox: SandboxServer, instance: str, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="portico.sync")
    before = await scrape(app)
    # Users commit first; the first reservations page then takes far longer than the grace.
    sandbox.control.fault("slow", endpoint="reservations", delay=20, times=1)
    service = SyncService(
        app.state.sessionmaker,
        app.state.secret_box,
        tick_seconds=3600,
        workers=1,
        lease_seconds=LONG_LEASE.total_seconds(),
        allow_private_networks=True,
        client_options={"retry": FAST_RETRY},
        metrics=app.state.metrics,
        shutdown_grace=0.5,
    )
    service.start()
    try:
        await _until(lambda: sandbox.control.stats()["reservations"]["faults"] >= 1, 30, "the slow page")
    finally:
        started = time.monotonic()
        await service.stop()
        stopped_in = time.monotonic() - started
    assert stopped_in < 0.5 + 3, stopped_in
    run = await _run(app)
    assert (run.status, run.lease_owner, run.attempts) == ("queued", None, 0)
    assert "users" in await cursors(app, instance)  # the streams it finished stay committed
    handed = [r.getMessage() for r in caplog.records if "handed back" in r.getMessage()]
    assert handed == [f"sync run {run.id}: handed back to the queue, to resume at once"]
    after = await scrape(app)
    name = "portico_sync_runs_handed_back_total"
    assert after.value(name) == before.value(name) + 1

    rescuer = _worker(app, "rescuer")
    asked = time.monotonic()
    assert await rescuer.run_once()
    assert time.monotonic() - asked < 60  # claimed at once, not after the 120 s lease
    run = await _run(app)
    assert (run.status, run.attempts, run.lease_owner) == ("succeeded", 1, "rescuer"), run.error
    tables = sandbox.sandbox.dataset.tables
    counts = json.loads(run.counts)  # the rescuer's: users resumed from their committed cursor
    assert counts["users"]["created"] == 0
    assert counts["reservations"]["created"] == len(tables.reservation_by_id)
    assert len(await stored(app, "users", instance)) == len(tables.user_by_id)
    assert len(await stored(app, "reservations", instance)) == len(tables.reservation_by_id)


async def test_a_run_ending_within_the_grace_is_recorded_by_its_worker(
    app: FastAPI, sandbox: SandboxServer, instance: str
) -> None:
    sandbox.control.fault("slow", endpoint="reservations", delay=1.5, times=1)
    service = SyncService(
        app.state.sessionmaker,
        app.state.secret_box,
        tick_seconds=3600,
        workers=2,
        lease_seconds=LONG_LEASE.total_seconds(),
        allow_private_networks=True,
        client_options={"retry": FAST_RETRY},
        shutdown_grace=30,
    )
    service.start()
    try:
        await _until(lambda: sandbox.control.stats()["reservations"]["faults"] >= 1, 30, "the slow page")
    finally:
        started = time.monotonic()
        await service.stop()
        stopped_in = time.monotonic() - started
    assert stopped_in < 15, stopped_in  # the run's end, not the whole grace
    run = await _run(app)
    owners = {worker.owner for worker in service.workers}
    assert (run.status, run.attempts) == ("succeeded", 1), run.error
    assert run.lease_owner in owners
    tables = sandbox.sandbox.dataset.tables
    assert len(await stored(app, "reservations", instance)) == len(tables.reservation_by_id)


class SlowTicks(SyncService):
    """A service whose tick takes `seconds`, noting when each ends (or that it was cancelled)."""

    def __init__(self, *args: Any, seconds: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seconds = seconds
        self.began = asyncio.Event()
        self.ended: list[str] = []

    async def tick(self) -> None:
        self.began.set()
        try:
            await asyncio.sleep(self.seconds)
            await super().tick()
        except asyncio.CancelledError:
            self.ended.append("cancelled")
            raise
        self.ended.append("done")


@pytest.mark.parametrize(("tick_seconds", "grace", "ended"), [(0.5, 10, "done"), (30, 0.3, "cancelled")])
async def test_stop_waits_for_a_tick_in_progress_within_the_grace(
    app: FastAPI, tick_seconds: float, grace: float, ended: str
) -> None:
    service = SlowTicks(
        app.state.sessionmaker, app.state.secret_box, workers=0, seconds=tick_seconds, shutdown_grace=grace
    )
    service.start()
    await asyncio.wait_for(service.began.wait(), 10)
    started = time.monotonic()
    await service.stop()
    assert time.monotonic() - started < min(tick_seconds, grace) + 2
    assert service.ended == [ended]


async def test_once_told_to_stop_taking_work_no_worker_claims(
    app: FastAPI, api: httpx.AsyncClient, sandbox: SandboxServer
) -> None:
    """What `portico serve` does on SIGTERM, while uvicorn still closes its connections."""
    await create_instance(api, "tt_late")
    rules = {**rules_for(sandbox), "enabled": False}
    assert (await api.put("/v1/instances/tt_late/gesdent", json=rules)).status_code == 201
    service = SyncService(app.state.sessionmaker, app.state.secret_box, tick_seconds=3600, workers=2)
    service.start()
    try:
        await asyncio.sleep(0.2)  # the workers poll the empty queue
        service.stop_taking_work()
        await asyncio.sleep(0.05)
        assert (await api.post("/v1/instances/tt_late/sync-runs")).status_code == 202
        await asyncio.sleep(2.5)  # more than two polls of every worker
        run = await _run(app)
        assert (run.status, run.attempts) == ("queued", 0)
    finally:
        await service.stop()
    assert (await _run(app)).status == "queued"


async def test_a_stream_cut_mid_transaction_loses_only_that_transaction(
    app: FastAPI, sandbox: SandboxServer, instance: str, backend: str
) -> None:
    """Pages of 100: the first resource's reservations come in several pages, written in one
    transaction (on PostgreSQL opened with the first page); the second page stalls past the grace."""
    small_pages = {"retry": FAST_RETRY, "page_limit": 100}
    sandbox.control.fault("slow", endpoint="reservations", delay=0, times=1)
    sandbox.control.fault("slow", endpoint="reservations", delay=20, times=1)
    service = SyncService(
        app.state.sessionmaker,
        app.state.secret_box,
        tick_seconds=3600,
        workers=1,
        lease_seconds=LONG_LEASE.total_seconds(),
        allow_private_networks=True,
        client_options=small_pages,
        shutdown_grace=0.5,
    )
    service.start()
    try:
        await _until(lambda: sandbox.control.stats()["reservations"]["faults"] >= 2, 30, "the second page")
        await asyncio.sleep(0.3)  # the first page written meanwhile, not committed
        if backend == "postgres":  # the premise: the stream's transaction is open, waiting for page 2
            assert await _open_transactions(app) >= 1
    finally:
        await service.stop()
    run = await _run(app)
    assert (run.status, run.attempts) == ("queued", 0)
    tables = sandbox.sandbox.dataset.tables
    assert len(await stored(app, "users", instance)) == len(tables.user_by_id)
    assert await stored(app, "reservations", instance) == {}
    assert not [name for name in await cursors(app, instance) if name.startswith("reservations")]

    rescuer = _worker(app, "rescuer", client_options=small_pages)
    assert await rescuer.run_once()
    run = await _run(app)
    assert (run.status, run.lease_owner) == ("succeeded", "rescuer"), run.error
    assert len(await stored(app, "reservations", instance)) == len(tables.reservation_by_id)


async def _open_transactions(app: FastAPI) -> int:
    async with app.state.engine.connect() as connection:
        stmt = sa.text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND state = 'idle in transaction'"
        )
        count: int = (await connection.execute(stmt)).scalar_one()
        return count


async def test_a_claim_that_lands_as_the_worker_stops_is_handed_back_untouched(
    app: FastAPI, sandbox: SandboxServer, instance: str, backend: str
) -> None:
    """The claim waits on a lock (another writer's) while the stop comes: once it lands, the run goes
    straight back to the queue instead of starting a run that the grace would cut."""
    worker = _worker(app, "late")
    stop = asyncio.Event()
    async with app.state.engine.connect() as opened:
        blocker = await opened.execution_options(**{SQLITE_WRITE: True})  # SQLite: BEGIN IMMEDIATE
        if backend == "postgres":
            await blocker.execute(sa.text("LOCK TABLE sync_runs IN EXCLUSIVE MODE"))
        else:
            await blocker.execute(sa.text("SELECT 1"))
        working = asyncio.create_task(worker.run_forever(stop))
        await asyncio.sleep(0.5)  # the worker's claim waits for the lock
        stop.set()
        await blocker.commit()
    await asyncio.wait_for(working, 20)
    run = await _run(app)
    assert (run.status, run.lease_owner, run.attempts) == ("queued", None, 0)
    assert sandbox.control.stats()["resources"]["requests"] == 0  # nothing of the run was started
