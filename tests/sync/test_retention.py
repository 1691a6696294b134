"""Retention on both databases: what the pruning pass deletes and keeps, its batches, pruners at
once, the ticker's pass and `portico prune`."""

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, update

from app.config import Settings
from app.crypto import SecretBox
from app.db.engine import SQLITE_WRITE
from app.db.models import Instance, SyncRejection, SyncRun, WebhookDelivery, new_id
from app.db.models.base import table_of
from app.sync.retention import RetentionPolicy, prune
from app.sync.scheduler import SyncService
from tests.conftest import SECRET_KEY, create_instance
from tests.processes import clean_env, portico_command

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=40)
RECENT = NOW - timedelta(days=2)
runs, rejections, deliveries = table_of(SyncRun), table_of(SyncRejection), table_of(WebhookDelivery)
instances = table_of(Instance)


async def _instance(app, api, name):
    await create_instance(api, name)
    async with app.state.engine.connect() as connection:
        return (await connection.execute(select(instances.c.id).where(instances.c.name == name))).scalar_one()


async def _add_runs(
    app, instance_id, count, *, start, status="succeeded", rejected=0, step=timedelta(minutes=15)
):
    """`count` runs of the instance, `step` apart from `start`; ids in the order of their age."""
    ids = []
    async with app.state.engine.begin() as connection:
        for i in range(count):
            at = start + i * step
            run_id = new_id()
            finished = None if status in ("queued", "running") else at + timedelta(minutes=1)
            values = {"id": run_id, "instance_id": instance_id, "trigger": "schedule", "status": status}
            await connection.execute(insert(runs).values(**values, requested_at=at, finished_at=finished))
            for position in range(rejected):
                await connection.execute(
                    insert(rejections).values(run_id=run_id, stream="users", position=position, reason="bad")
                )
            ids.append(run_id)
    return ids


async def _add_deliveries(app, instance_id, count, at):
    async with app.state.engine.begin() as connection:
        for i in range(count):
            await connection.execute(
                insert(deliveries).values(
                    id=f"msg_{at.timestamp()}_{i}", instance_id=instance_id, received_at=at
                )
            )


async def _ids(app, table, column="id"):
    async with app.state.engine.connect() as connection:
        return set((await connection.execute(select(table.c[column]))).scalars())


async def _count(app, table):
    async with app.state.engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(table))).scalar_one()


async def test_old_finished_runs_go_and_each_instance_keeps_its_latest(app, api):
    busy = await _instance(app, api, "tt_busy")
    quiet = await _instance(app, api, "tt_quiet")
    active = await _instance(app, api, "tt_active")
    old = await _add_runs(app, busy, 12, start=OLD, rejected=2)
    failed = await _add_runs(app, busy, 2, start=OLD - timedelta(days=1), status="failed")
    recent = await _add_runs(app, busy, 3, start=RECENT)
    queued = await _add_runs(app, busy, 1, start=OLD - timedelta(days=5), status="queued")
    stopped = await _add_runs(app, quiet, 4, start=OLD)  # its schedule stopped 40 days ago
    running = await _add_runs(app, active, 1, start=OLD - timedelta(days=5), status="running")
    policy = RetentionPolicy(run_days=30, runs_kept=10, batch=1000)

    pruned = await prune(app.state.sessionmaker, policy, NOW)

    # busy's latest ten finished: the three recent and the seven newest old ones.
    kept = set(recent) | set(old[5:]) | set(queued) | set(stopped) | set(running)
    assert await _ids(app, runs) == kept
    assert (pruned.runs, pruned.rejections) == (7, 5 * 2)
    assert await _ids(app, rejections, "run_id") == set(old[5:])
    assert not set(failed) & await _ids(app, runs)
    assert await prune(app.state.sessionmaker, policy, NOW) == type(pruned)()  # nothing left to do


async def test_runs_within_the_retention_stay_however_many(app, api):
    instance = await _instance(app, api, "tt_many")
    ids = await _add_runs(app, instance, 40, start=NOW - timedelta(days=29), step=timedelta(minutes=1))
    pruned = await prune(app.state.sessionmaker, RetentionPolicy(runs_kept=1), NOW)
    assert pruned.runs == 0
    assert await _ids(app, runs) == set(ids)


async def test_webhook_delivery_records_go_after_their_window(app, api):
    instance = await _instance(app, api, "tt_hooks")
    await _add_deliveries(app, instance, 3, NOW - timedelta(hours=2))
    await _add_deliveries(app, instance, 2, NOW - timedelta(minutes=10))
    pruned = await prune(app.state.sessionmaker, RetentionPolicy(delivery_minutes=60), NOW)
    assert pruned.deliveries == 3
    assert await _count(app, deliveries) == 2


async def test_pruning_goes_in_batches_of_at_most_the_batch_size(app, api):
    instance = await _instance(app, api, "tt_batches")
    await _add_runs(app, instance, 30, start=OLD, rejected=3)  # 4 rows a run
    await _add_runs(app, instance, 20, start=OLD - timedelta(days=3))  # 1 row a run
    await _add_deliveries(app, instance, 23, NOW - timedelta(days=1))
    pruned = await prune(app.state.sessionmaker, RetentionPolicy(runs_kept=1, batch=10), NOW)
    assert (pruned.runs, pruned.rejections, pruned.deliveries) == (49, 29 * 3, 23)
    # 20 plain runs in 2 batches; 29 runs of 4 rows, two a batch, in 15; 23 deliveries in 3.
    assert pruned.batches == 2 + 15 + 3
    assert await _count(app, runs) == 1
    assert await _count(app, rejections) == 3


async def test_a_run_with_more_rejections_than_a_batch_goes_whole(app, api):
    instance = await _instance(app, api, "tt_rejecting")
    await _add_runs(app, instance, 3, start=OLD, rejected=12)
    pruned = await prune(app.state.sessionmaker, RetentionPolicy(runs_kept=1, batch=5), NOW)
    assert (pruned.runs, pruned.rejections, pruned.batches) == (2, 24, 2)
    assert await _count(app, rejections) == 12


async def test_pruners_at_once_delete_each_row_once(app, api):
    instances = [await _instance(app, api, f"tt_fleet{i}") for i in range(4)]
    for instance in instances:
        await _add_runs(app, instance, 40, start=OLD, rejected=1)
        await _add_deliveries(app, instance, 15, NOW - timedelta(days=1))
    policy = RetentionPolicy(runs_kept=5, batch=7)
    results = await asyncio.gather(*(prune(app.state.sessionmaker, policy, NOW) for _ in range(4)))
    assert sum(r.runs for r in results) == 4 * 35
    assert sum(r.rejections for r in results) == 4 * 35
    assert sum(r.deliveries for r in results) == 4 * 15
    assert await _count(app, runs) == 4 * 5
    assert await _count(app, rejections) == 4 * 5
    assert await _count(app, deliveries) == 0


async def test_the_ticker_prunes_with_the_configured_policy(app, api):
    instance = await _instance(app, api, "tt_ticked")
    await _add_runs(app, instance, 3, start=datetime.now(UTC) - timedelta(days=40))
    service = SyncService(
        app.state.sessionmaker, SecretBox([SECRET_KEY]), workers=0, retention=RetentionPolicy(runs_kept=2)
    )
    await service.prune()
    assert await _count(app, runs) == 2


def test_the_replay_window_bounds_the_delivery_retention():
    with pytest.raises(ValueError, match="webhook_delivery_retention_minutes"):
        Settings(webhook_delivery_retention_minutes=9)
    assert Settings().webhook_delivery_retention_minutes == 60


async def test_portico_prune_on_the_database(app, api, database_url):
    instance = await _instance(app, api, "tt_cli")
    await _add_runs(app, instance, 5, start=datetime.now(UTC) - timedelta(days=10), rejected=1)
    await _add_deliveries(app, instance, 2, datetime.now(UTC) - timedelta(hours=3))
    env = clean_env(database_url=database_url, sync_run_retention_days="7", sync_runs_kept_per_instance="2")
    done = await asyncio.to_thread(
        subprocess.run, portico_command("prune"), env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "pruned 3 sync run(s) with 3 rejection(s), 2 webhook delivery record(s)" in done.stdout
    assert await _count(app, runs) == 2
    assert await _count(app, deliveries) == 0


async def test_a_writer_beside_the_pruner_waits_for_one_batch_at_most(app, api):
    """On SQLite a waiting writer sleeps in the busy handler; without the pause between batches it
    would miss the gaps and wait for the whole pass (a pass of a large backlog: many seconds)."""
    instance = await _instance(app, api, "tt_backlog")
    beside = (await _add_runs(app, await _instance(app, api, "tt_beside"), 1, start=NOW, status="running"))[0]
    async with app.state.engine.begin() as connection:
        at = [OLD + timedelta(seconds=i) for i in range(900)]
        rows = [
            {"id": new_id(), "instance_id": instance, "trigger": "schedule", "status": "failed"} for _ in at
        ]
        await connection.execute(
            insert(runs), [{**row, "requested_at": t} for row, t in zip(rows, at, strict=True)]
        )
    waits: list[float] = []
    done = asyncio.Event()

    async def renew():  # as a worker renews its lease
        while not done.is_set():
            started = asyncio.get_running_loop().time()
            async with app.state.sessionmaker() as session:
                await session.connection(execution_options={SQLITE_WRITE: True})
                await session.execute(update(runs).where(runs.c.id == beside).values(lease_expires_at=NOW))
                await session.commit()
            waits.append(asyncio.get_running_loop().time() - started)
            await asyncio.sleep(0.005)

    async with asyncio.TaskGroup() as group:
        group.create_task(renew())
        pruned = await prune(app.state.sessionmaker, RetentionPolicy(runs_kept=1, batch=30), NOW)
        done.set()
    assert (pruned.runs, pruned.batches) == (899, 30)
    assert len(waits) >= pruned.batches // 3, waits  # in between the batches
    assert max(waits) < 0.5, max(waits)


async def test_a_started_service_prunes_on_its_interval(app, api):
    instance = await _instance(app, api, "tt_interval")
    await _add_runs(app, instance, 3, start=datetime.now(UTC) - timedelta(days=40))
    service = SyncService(
        app.state.sessionmaker,
        SecretBox([SECRET_KEY]),
        workers=0,
        tick_seconds=3600,
        retention=RetentionPolicy(runs_kept=1),
        prune_seconds=0.2,
    )
    service.start()
    try:
        for _ in range(200):  # the first pass comes after prune_seconds (at most a minute)
            if await _count(app, runs) == 1:
                break
            await asyncio.sleep(0.05)
    finally:
        await service.stop()
    assert await _count(app, runs) == 1
