"""Real worker processes (`portico worker`) against one PostgreSQL database: every due run runs
exactly once, and a run whose worker is killed mid-way is taken over and ends complete."""

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlmodel import col

from app.db.models import GesdentReservation, SyncRun
from tests.conftest import SECRET_KEY, create_instance
from tests.processes import LoggedProcess, portico_command, start, stop
from tests.sync.test_end_to_end import rules_for

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _postgres_only(backend):
    if backend != "postgres":
        pytest.skip("SKIP LOCKED and leases across processes are a PostgreSQL matter")


def _worker(database_url: str, log: Path, *, lease: float = 5, tick: float = 0.5) -> LoggedProcess:
    env = {
        **os.environ,
        "PORTICO_DATABASE_URL": database_url,
        "PORTICO_SECRET_KEYS": SECRET_KEY,
        "PORTICO_SCHEDULER_TICK_SECONDS": str(tick),
        "PORTICO_SYNC_LEASE_SECONDS": str(lease),
        "PORTICO_SYNC_WORKERS": "2",
        "PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS": "true",  # the sandbox listens on loopback
    }
    return start("portico worker", portico_command("worker"), log, env=env)


async def _wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = await predicate()
        if result:
            return result
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(workers: list[LoggedProcess]) -> list[str]:
    """Stop the workers together; what each wrote."""
    stop(*workers, seconds=20)
    return [worker.output() for worker in workers]


async def test_three_workers_run_every_due_run_exactly_once(app, api, sandbox, database_url, tmp_path):
    names = [f"tt_w{i:02d}" for i in range(20)]
    for name in names:
        await create_instance(api, name)
        rules = {**rules_for(sandbox), "interval_minutes": 1440}
        assert (await api.put(f"/v1/instances/{name}/gesdent", json=rules)).status_code == 201

    async def finished() -> bool:
        async with app.state.sessionmaker() as session:
            done = select(func.count()).where(col(SyncRun.status).in_(("succeeded", "partial", "failed")))
            count: int = (await session.execute(done)).scalar_one()
            return count >= len(names)

    workers = [_worker(database_url, tmp_path / f"worker-{i}.log") for i in range(3)]
    try:
        await _wait_for(finished, 240, "20 scheduled runs")
    finally:
        logs = _stop(workers)
    async with app.state.engine.connect() as connection:
        runs = (
            await connection.execute(
                text(
                    "SELECT i.name, r.slot, r.status, r.attempts, r.trigger, r.lease_owner FROM sync_runs r "
                    "JOIN instances i ON i.id = r.instance_id ORDER BY i.name, r.requested_at"
                )
            )
        ).all()
        reservations = (
            (await connection.execute(text("SELECT count(*) FROM gesdent_reservations GROUP BY instance_id")))
            .scalars()
            .all()
        )
    first_runs: dict[tuple[str, str | None], list[tuple[str, int, str, str | None]]] = {}
    for name, slot, status, attempts, trigger, owner in runs:
        first_runs.setdefault((name, slot), []).append((status, attempts, trigger, owner))
    assert sorted({name for name, _ in first_runs}) == names, logs
    for (name, slot), entries in first_runs.items():
        assert len(entries) == 1, (name, slot, entries)  # one run per instance and slot
        status, attempts, trigger, _ = entries[0]
        assert (status, attempts, trigger) == ("succeeded", 1, "schedule"), (name, entries, logs)
    owners = {owner.rsplit(":", 1)[0] for *_, owner in runs}
    assert len(owners) >= 2, f"one process did all the work: {owners}"
    expected = len(sandbox.sandbox.dataset.tables.reservation_by_id)
    assert list(reservations) == [expected] * len(names)


async def test_a_killed_worker_s_run_is_taken_over_and_completes(app, api, sandbox, database_url, tmp_path):
    await create_instance(api, "tt_kill")
    rules = {**rules_for(sandbox), "enabled": False}  # no scheduled runs: only ours
    assert (await api.put("/v1/instances/tt_kill/gesdent", json=rules)).status_code == 201
    # The first reservations page takes 6 s: long enough to kill the worker in the middle of the run.
    sandbox.control.fault("slow", endpoint="reservations", delay=6, times=1)
    run_id = (await api.post("/v1/instances/tt_kill/sync-runs")).json()["id"]
    doomed = _worker(database_url, tmp_path / "doomed.log", lease=2)
    workers = [doomed]

    async def in_the_middle() -> bool:
        requests: int = sandbox.control.stats()["reservations"]["requests"]
        return requests >= 1

    try:
        await _wait_for(in_the_middle, 60, "the worker to reach the slow reservations page")
        async with app.state.sessionmaker() as session:
            run = await session.get(SyncRun, run_id)
            assert run.status == "running"
            assert run.attempts == 1
            first_owner = run.lease_owner
        doomed.popen.send_signal(signal.SIGKILL)
        doomed.popen.wait(timeout=10)
        workers.append(_worker(database_url, tmp_path / "rescuer.log", lease=2))

        async def done():
            async with app.state.sessionmaker() as session:
                found = await session.get(SyncRun, run_id)
                await session.refresh(found)
                return found if found.status not in ("queued", "running") else None

        finished = await _wait_for(done, 120, "the run to be taken over and finished")
    finally:
        logs = _stop(workers)
    assert finished.status == "succeeded", (finished.error, logs)
    assert finished.attempts == 2
    assert first_owner is not None
    assert finished.lease_owner != first_owner
    async with app.state.sessionmaker() as session:
        stored = (await session.execute(select(func.count()).select_from(GesdentReservation))).scalar_one()
    assert stored == len(sandbox.sandbox.dataset.tables.reservation_by_id)
