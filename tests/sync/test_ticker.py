"""The ticker on both databases: one scheduled run per instance and slot, however many replicas tick
at once, from a constant number of statements whatever the number of instances."""

import asyncio
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from subprocess import PIPE

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from app.db.models import GesdentConnection, Instance, SyncRun
from app.domain.gesdent import schedule_phase
from app.sync import queue, ticker
from tests.conftest import create_instance
from tests.sync.fleet import add_fleet
from tests.sync.test_queue import RULES

NOW = datetime(2026, 11, 21, 10, 7, 30, tzinfo=UTC)  # in the 10:00 to 10:15 slot of a 15-minute rule


async def _scheduled(app) -> list[SyncRun]:
    async with app.state.sessionmaker() as session:
        stmt = select(SyncRun).where(col(SyncRun.trigger) == "schedule")
        return list((await session.execute(stmt)).scalars())


async def _finish_all(app) -> None:
    """Every queued or running run ends, as the workers would have done."""
    async with app.state.engine.begin() as connection:
        await connection.execute(
            sa.update(SyncRun)
            .where(col(SyncRun.status).in_(("queued", "running")))
            .values(status="succeeded", lease_expires_at=None)
        )


def _one_per_slot(runs: list[SyncRun]) -> Counter[tuple[str, str | None]]:
    per_slot = Counter((run.instance_id, run.slot) for run in runs)
    assert set(per_slot.values()) == {1}, [key for key, n in per_slot.items() if n > 1]
    return per_slot


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    interval=st.integers(1, 1440) | st.integers(1, 10**7),
    now=st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
    phase=st.integers(0, 2**31 - 1),
)
async def test_the_database_computes_the_slot_and_the_next_one_as_slot_of(app, interval, now, phase):
    minutes = ticker.epoch_minutes(now)
    column = sa.literal(interval, sa.Integer)  # the type of gesdent_connections.interval_minutes
    phased = sa.literal(phase, sa.Integer)  # and of schedule_phase
    async with app.state.engine.connect() as connection:
        query = sa.select(
            ticker.slot_sql(minutes, column, phased), ticker.next_slot_sql(minutes, column, phased)
        )
        slot, next_minute = (await connection.execute(query)).one()
    expected, next_start = ticker.slot_of(now, interval, phase)
    assert slot == expected
    assert now < next_start <= now + timedelta(minutes=interval)
    assert next_minute * 60 == next_start.timestamp()


async def test_a_tick_sends_as_many_statements_at_1000_instances_as_at_10(app, admin):
    sent: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        sent.append(statement)

    async def tick(now: datetime) -> tuple[int, int]:
        sent.clear()
        sa.event.listen(app.state.engine.sync_engine, "before_cursor_execute", seen)
        try:
            created = await ticker.enqueue_due(app.state.sessionmaker, now)
        finally:
            sa.event.remove(app.state.engine.sync_engine, "before_cursor_execute", seen)
        return created, len(sent)

    await add_fleet(app.state.sessionmaker, 10, prefix="few")
    created_10, all_due_10 = await tick(NOW)
    assert created_10 == 10
    assert (await tick(NOW))[0] == 0
    await _finish_all(app)
    nothing_due_10 = (await tick(NOW + timedelta(minutes=1)))[1]
    await add_fleet(app.state.sessionmaker, 990, prefix="many")
    later = NOW + timedelta(minutes=15)
    created_1000, all_due_1000 = await tick(later)
    assert created_1000 == 1000
    await _finish_all(app)
    nothing_due_1000 = (await tick(later + timedelta(minutes=1)))[1]
    # The INSERT and the UPDATE (and SQLite's BEGIN; PostgreSQL's read of the planner's size of the
    # table, and its ANALYZE when a tick queued more runs than that).
    assert all_due_1000 == all_due_10 <= 4
    assert nothing_due_1000 == nothing_due_10 <= 2  # the INSERT alone (and SQLite's BEGIN)
    assert nothing_due_10 < all_due_10


async def test_concurrent_ticks_queue_one_run_per_instance_and_slot(app, admin):
    ids = await add_fleet(app.state.sessionmaker, 300)
    for slot in range(3):
        now = NOW + timedelta(minutes=15 * slot)
        created = await asyncio.gather(*(ticker.enqueue_due(app.state.sessionmaker, now) for _ in range(8)))
        assert sum(created) == 300
        await _finish_all(app)
    per_slot = _one_per_slot(await _scheduled(app))
    assert len(per_slot) == 900
    assert Counter(instance for instance, _ in per_slot) == dict.fromkeys(ids, 3)


TICKING_PROCESS = """
import asyncio, sys, time
from datetime import datetime
from app.db.engine import create_engine, create_sessionmaker
from app.sync import ticker

async def main(url, start_at, now):
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    async with engine.connect():
        pass  # connected before the start
    time.sleep(max(0.0, start_at - time.time()))
    created = [await ticker.enqueue_due(sessionmaker, datetime.fromisoformat(now)) for _ in range(3)]
    await engine.dispose()
    print(sum(created))

asyncio.run(main(sys.argv[1], float(sys.argv[2]), sys.argv[3]))
"""


async def test_ticks_from_several_processes_at_once_queue_one_run_each(app, admin, backend, database_url):
    if backend != "postgres":
        pytest.skip("several writers at once is a PostgreSQL matter (SQLite has one writer)")
    await add_fleet(app.state.sessionmaker, 2000)
    start_at = time.time() + 3  # every process connected by then, so their ticks overlap
    command = [sys.executable, "-c", TICKING_PROCESS, database_url, str(start_at), NOW.isoformat()]
    processes = [await asyncio.create_subprocess_exec(*command, stdout=PIPE, stderr=PIPE) for _ in range(4)]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in processes)), 120)
    assert [p.returncode for p in processes] == [0] * 4, [err.decode() for _, err in outputs]
    assert sum(int(out) for out, _ in outputs) == 2000
    assert len(_one_per_slot(await _scheduled(app))) == 2000


async def test_no_run_for_disabled_rules_nor_while_a_run_is_under_way(app, admin):
    await add_fleet(app.state.sessionmaker, 3, prefix="off", enabled=False)
    ids = await add_fleet(app.state.sessionmaker, 5, prefix="on")
    async with app.state.sessionmaker() as session:
        manual, _ = await queue.enqueue(session, ids[0], "manual")
        await queue.enqueue(session, ids[1], "webhook")
        await session.commit()
    async with app.state.engine.begin() as connection:  # one queued, one running
        await connection.execute(
            sa.update(SyncRun).where(col(SyncRun.id) == manual.id).values(status="running")
        )
    assert await ticker.enqueue_due(app.state.sessionmaker, NOW) == 3
    assert {run.instance_id for run in await _scheduled(app)} == set(ids[2:])
    assert await ticker.enqueue_due(app.state.sessionmaker, NOW + timedelta(minutes=1)) == 0
    # Once their runs ended, the two get the slot's run at the next tick, in the same slot.
    await _finish_all(app)
    assert await ticker.enqueue_due(app.state.sessionmaker, NOW + timedelta(minutes=2)) == 2
    assert await ticker.enqueue_due(app.state.sessionmaker, NOW + timedelta(minutes=3)) == 0
    _one_per_slot(await _scheduled(app))
    assert len(await _scheduled(app)) == 5


async def test_each_rule_is_due_again_when_its_next_slot_starts(app, admin):
    quarter = await add_fleet(app.state.sessionmaker, 4, prefix="quarter", interval_minutes=15)
    hourly = await add_fleet(app.state.sessionmaker, 3, prefix="hourly", interval_minutes=60)
    ticks = [
        (datetime(2026, 11, 21, 10, 7, tzinfo=UTC), set(quarter + hourly)),
        (datetime(2026, 11, 21, 10, 14, 59, 999999, tzinfo=UTC), set()),
        (datetime(2026, 11, 21, 10, 15, tzinfo=UTC), set(quarter)),
        (datetime(2026, 11, 21, 10, 59, 59, tzinfo=UTC), set(quarter)),  # the 10:45 slot
        (datetime(2026, 11, 21, 11, 0, tzinfo=UTC), set(quarter + hourly)),
        (datetime(2026, 11, 21, 11, 1, tzinfo=UTC), set()),
    ]
    seen: set[str] = set()
    for now, expected in ticks:
        assert await ticker.enqueue_due(app.state.sessionmaker, now) == len(expected), now
        runs = [run for run in await _scheduled(app) if run.id not in seen]
        assert {run.instance_id for run in runs} == expected, now
        for run in runs:
            interval = 15 if run.instance_id in quarter else 60
            assert run.slot == ticker.slot_of(now, interval)[0]
            assert run.status == "queued"
            requested = run.requested_at  # SQLite gives it back naive
            assert (requested if requested.tzinfo else requested.replace(tzinfo=UTC)) == now
            seen.add(run.id)
        await _finish_all(app)
    _one_per_slot(await _scheduled(app))
    async with app.state.sessionmaker() as session:
        due = dict(
            (await session.execute(select(GesdentConnection.instance_id, GesdentConnection.due_minute))).all()
        )
    last = ticks[-2][0]
    assert due == {i: ticker.epoch_minutes(ticker.slot_of(last, 15 if i in quarter else 60)[1]) for i in due}


async def test_a_phased_fleet_falls_due_a_share_at_a_time_each_instance_once_per_interval(app, admin):
    ids = await add_fleet(app.state.sessionmaker, 1500, prefix="phased", phased=True)
    start = datetime(2026, 11, 21, 10, 0, 30, tzinfo=UTC)
    # The first tick after the rules were made queues every instance's current slot; from then on
    # each minute brings the slots that start in it: about a fifteenth of the fleet.
    assert await ticker.enqueue_due(app.state.sessionmaker, start) == 1500
    await _finish_all(app)
    per_minute = []
    for minute in range(1, 16):
        per_minute.append(await ticker.enqueue_due(app.state.sessionmaker, start + timedelta(minutes=minute)))
        await _finish_all(app)
    assert sum(per_minute) == 1500  # each instance once in the next 15 minutes
    assert min(per_minute) > 50, per_minute  # 100 expected each minute
    assert max(per_minute) < 150, per_minute
    runs = await _scheduled(app)
    _one_per_slot(runs)
    phases = {i: schedule_phase(i) for i in ids}
    for run in runs:
        requested = run.requested_at if run.requested_at.tzinfo else run.requested_at.replace(tzinfo=UTC)
        assert run.slot == ticker.slot_of(requested, 15, phases[run.instance_id])[0]


async def test_a_tick_queues_at_most_a_batch_the_longest_due_first_and_the_next_ticks_the_rest(app, admin):
    ids = await add_fleet(app.state.sessionmaker, 250, prefix="batched")
    async with app.state.engine.begin() as connection:  # the last 50 have waited longest
        await connection.execute(
            sa.update(GesdentConnection)
            .where(col(GesdentConnection.instance_id).in_(ids[:200]))
            .values(due_minute=ticker.epoch_minutes(NOW))
        )
    assert await ticker.enqueue_due(app.state.sessionmaker, NOW, batch=100) == 100
    first = {run.instance_id for run in await _scheduled(app)}
    assert set(ids[200:]) <= first
    assert await ticker.enqueue_due(app.state.sessionmaker, NOW + timedelta(seconds=30), batch=100) == 100
    assert await ticker.enqueue_due(app.state.sessionmaker, NOW + timedelta(seconds=60), batch=100) == 50
    assert await ticker.enqueue_due(app.state.sessionmaker, NOW + timedelta(seconds=90), batch=100) == 0
    per_slot = _one_per_slot(await _scheduled(app))
    assert {instance for instance, _ in per_slot} == set(ids)


async def test_rules_made_through_the_api_and_by_a_clone_have_the_phase_of_their_instance(app, api):
    await create_instance(api, "tt_phase")
    assert (await api.put("/v1/instances/tt_phase/gesdent", json=RULES)).status_code == 201
    clone = await api.post(
        "/v1/instances/tt_phase/clone", json={"name": "tt_phase_copy", "include": ["gesdent"]}
    )
    assert clone.status_code == 201, clone.text
    async with app.state.sessionmaker() as session:
        rows = dict(
            (
                await session.execute(select(GesdentConnection.instance_id, GesdentConnection.schedule_phase))
            ).all()
        )
    assert len(rows) == 2
    assert rows == {i: schedule_phase(i) for i in rows}
    status = (await api.get("/v1/instances/tt_phase/sync-status")).json()
    next_at = datetime.fromisoformat(status["next_scheduled_at"])
    async with app.state.sessionmaker() as session:
        phase = (
            await session.execute(
                select(GesdentConnection.schedule_phase)
                .join(Instance, col(Instance.id) == col(GesdentConnection.instance_id))
                .where(col(Instance.name) == "tt_phase")
            )
        ).scalar_one()
    assert (ticker.epoch_minutes(next_at) - phase % 15) % 15 == 0


async def test_a_change_of_the_rules_is_looked_at_by_the_next_tick(app, api):
    await create_instance(api, "tt_t0")
    assert (await api.put("/v1/instances/tt_t0/gesdent", json=RULES)).status_code == 201
    async with app.state.sessionmaker() as session:
        phase = (await session.execute(select(GesdentConnection.schedule_phase))).scalar_one()
    now = ticker.slot_of(NOW, 15, phase)[1] - timedelta(minutes=7, seconds=30)  # mid-slot
    assert await ticker.enqueue_due(app.state.sessionmaker, now) == 1
    await _finish_all(app)
    assert await ticker.enqueue_due(app.state.sessionmaker, now + timedelta(minutes=1)) == 0
    # Every 5 minutes now: a 5-minute slot that has no run yet.
    assert (
        await api.put("/v1/instances/tt_t0/gesdent", json={**RULES, "interval_minutes": 5})
    ).status_code == 200
    assert await ticker.enqueue_due(app.state.sessionmaker, now + timedelta(minutes=1)) == 1
    slots = sorted(run.slot or "" for run in await _scheduled(app))
    expected = [ticker.slot_of(now, 15, phase)[0], ticker.slot_of(now + timedelta(minutes=1), 5, phase)[0]]
    assert slots == sorted(expected)


async def _plan(app, statement) -> str:
    """The query plan of `statement`, as the database words it."""
    async with app.state.engine.connect() as connection:
        compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
        params = tuple(compiled.params[name] for name in compiled.positiontup)
        processors = compiled._bind_processors  # the values as the driver is given them
        params = tuple(
            processors[name](value) if name in processors else value
            for name, value in zip(compiled.positiontup, params, strict=True)
        )
        explain = "EXPLAIN " if connection.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
        rows = (await connection.exec_driver_sql(explain + str(compiled), params)).all()
        await connection.rollback()
    return "\n".join(str(row[-1]) for row in rows)


async def test_claiming_and_a_tick_with_nothing_due_read_an_index_at_10000_runs(app, admin, backend):
    await add_fleet(app.state.sessionmaker, 10_000)
    assert await ticker.enqueue_due(app.state.sessionmaker, NOW, batch=10_000) == 10_000
    async with app.state.engine.begin() as connection:
        await connection.execute(sa.text("ANALYZE"))
    if backend == "postgres":  # SQLite's planner, after ANALYZE, may sort the queued runs instead
        claim = await _plan(app, queue.claimable(NOW))
        assert "ix_sync_runs_waiting_since" in claim, claim
        assert "Sort" not in claim, claim  # the head of the queue, not all of it
    dialect = app.state.engine.dialect.name
    tick = await _plan(app, ticker.due_runs_insert(dialect, NOW + timedelta(minutes=1)))
    assert "ix_gesdent_connections_due" in tick, tick


async def test_a_tick_that_queues_more_runs_than_the_planner_knows_of_refreshes_its_statistics(
    app, admin, backend
):
    if backend != "postgres":
        pytest.skip("planner statistics of PostgreSQL")
    await add_fleet(app.state.sessionmaker, 300)
    believed = sa.text("SELECT reltuples FROM pg_class WHERE oid = 'sync_runs'::regclass")
    async with app.state.engine.begin() as connection:
        await connection.execute(sa.text("ANALYZE sync_runs"))  # known empty, as on a fleet's first day
        assert (await connection.execute(believed)).scalar_one() <= 0
    assert await ticker.enqueue_due(app.state.sessionmaker, NOW) == 300
    async with app.state.engine.connect() as connection:
        assert (await connection.execute(believed)).scalar_one() == 300
    # In steady state (the table holds more runs than a tick queues) it is left to autovacuum.
    await add_fleet(app.state.sessionmaker, 100, prefix="later")
    assert await ticker.enqueue_due(app.state.sessionmaker, NOW + timedelta(minutes=1)) == 100
    async with app.state.engine.connect() as connection:
        assert (await connection.execute(believed)).scalar_one() == 300
