"""The ticker's work: queue the scheduled run of every enabled instance whose current slot has none.

Slots are spread: each instance's slots start `phase % interval` minutes after the multiples of its
interval (`schedule_phase`, fixed from the instance's id when its rules are made), so a fleet on a
15-minute rule falls due a fifteenth at a time, every minute, instead of all at once on the quarter
hour: each tick queues a small share of the fleet, and the workers see a steady stream of runs rather
than a wave that the last clinic would wait minutes at the end of.

A constant number of statements per tick, whatever the number of instances. Each connection keeps
`due_minute`, the minute its next slot starts (0: look at it at the next tick), on a partial
index of the enabled ones; so a tick reads only the instances that may be due, and with nothing
due that is an empty range of the index and the tick is this one statement:

1. INSERT … SELECT the scheduled run of each instance that may be due, the database computing its
   slot (`slot_sql`, proven equal to `slot_of` by the tests), but for those whose slot already has
   a run or that have a run under way; at most `TICK_BATCH` of them, the longest due first, so
   that no tick outgrows its period (the rest are queued by the next ticks). Replicas may tick at
   once: the unique indexes of sync_runs (one run per instance and slot, one active run per
   instance) decide, and `ON CONFLICT DO NOTHING` turns a clash into "done already". Rows go in
   (due_minute, instance) order, the index's, so two ticks inserting the same instances wait on
   each other in one order and cannot deadlock.
2. Only when (1) queued runs: UPDATE `due_minute` to the next slot's start for each instance that
   may be due and whose current slot now has its run. An instance skipped because a run was under
   way stays due, and gets the slot's run at a tick after that run ends, as before. (And, on
   PostgreSQL, a read of the table's size as the planner knows it: see `_refresh_statistics`.)

Then, in a transaction of its own, `record_stale`: the sync health of what went stale (one statement,
on a partial index of the fresh rows; app/sync/health.py), with a `sync.health.changed` event each."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from app.db.engine import SQLITE_WRITE
from app.db.models import GesdentConnection, SyncRun, table_of, utcnow
from app.db.models.sync_runs import ACTIVE_RUN
from app.domain.gesdent import STREAMS
from app.domain.sync_health import Transition
from app.events.sources import health_changed
from app.sync import health
from app.tracing import current_traceparent

# The most runs one tick queues. In steady state a tick queues the runs of the slots that started
# since the last one (10,000 instances every 15 minutes, ticking every 30 s: about 330); the whole
# fleet is due at once only at its first tick, or after an upgrade. A batch this size is queued in
# well under a tick period, and more than workers start in one (tens of runs a second), so taking
# the fleet over several ticks delays no run.
TICK_BATCH = 2000


def epoch_minutes(now: datetime) -> int:
    """Whole minutes since the epoch: slots are counted in these."""
    return int(now.timestamp() // 60)


def slot_of(now: datetime, interval_minutes: int, phase: int = 0) -> tuple[str, datetime]:
    """The schedule slot `now` falls in, and when the next one starts."""
    offset = phase % interval_minutes
    index = (epoch_minutes(now) - offset) // interval_minutes
    next_start = datetime.fromtimestamp(((index + 1) * interval_minutes + offset) * 60, tz=now.tzinfo)
    return f"{interval_minutes}m:{index}", next_start


def _index_sql(
    minutes: int, interval: sa.ColumnElement[int], phase: sa.ColumnElement[int]
) -> sa.ColumnElement[int]:
    """`(minutes - offset) // interval` in SQL. Written as `(minutes - offset + interval) // interval
    - 1` so that the dividend is never negative (`minutes` is at or after the epoch and the offset
    is under the interval), where SQL's truncating division floors as Python's `//` does."""
    offset = phase % interval
    index: sa.ColumnElement[int] = (sa.literal(minutes, sa.BigInteger) - offset + interval) // interval - 1
    return index


def slot_sql(
    minutes: int, interval: sa.ColumnElement[int], phase: sa.ColumnElement[int]
) -> sa.ColumnElement[str]:
    """`slot_of(now, interval, phase)[0]` computed by the database, `minutes` being `epoch_minutes(now)`."""
    index = _index_sql(minutes, interval, phase)
    return sa.cast(interval, sa.String) + sa.literal("m:") + sa.cast(index, sa.String)


def next_slot_sql(
    minutes: int, interval: sa.ColumnElement[int], phase: sa.ColumnElement[int]
) -> sa.ColumnElement[int]:
    """The minute since the epoch at which `slot_of(now, interval, phase)[1]`, the next slot, starts."""
    return (_index_sql(minutes, interval, phase) + 1) * interval + phase % interval


def _new_id_sql(dialect: str) -> sa.ColumnElement[str]:
    """A UUIDv7 per row, as `new_id` makes them: this moment's milliseconds, then random bits."""
    stamp = f"{int(time.time() * 1000):012x}"
    prefix = sa.literal(f"{stamp[:8]}-{stamp[8:]}-7")
    if dialect == "postgresql":  # a v4 uuid's tail: 3 random digits, '-', the variant, and the rest
        return prefix + sa.func.substr(sa.cast(sa.func.gen_random_uuid(), sa.String), 16)

    def digits(count: int) -> sa.ColumnElement[str]:
        return sa.func.substr(sa.func.lower(sa.func.hex(sa.func.randomblob((count + 1) // 2))), 1, count)

    variant = sa.func.substr(sa.literal("89ab"), 1 + sa.func.abs(sa.func.random() % 4), 1)
    return prefix + digits(3) + sa.literal("-") + variant + digits(3) + sa.literal("-") + digits(12)


def _may_be_due(minutes: int) -> sa.ColumnElement[bool]:
    """Enabled, and its next slot has started (0: not known yet): a range of the partial index."""
    connections = table_of(GesdentConnection)
    return sa.and_(connections.c.enabled, connections.c.due_minute <= minutes)


def due_runs_insert(dialect: str, now: datetime, batch: int = TICK_BATCH) -> Any:
    """The tick's first statement: INSERT the due scheduled runs (at most `batch`) … ON CONFLICT DO
    NOTHING. Each keeps the traceparent of the current span (the tick's, when traced), for its run's
    span to link to."""
    connections, runs = table_of(GesdentConnection), table_of(SyncRun)
    minutes = epoch_minutes(now)
    slot = slot_sql(minutes, connections.c.interval_minutes, connections.c.schedule_phase)
    done = sa.select(runs.c.id).where(runs.c.instance_id == connections.c.instance_id, runs.c.slot == slot)
    busy = sa.select(runs.c.id).where(runs.c.instance_id == connections.c.instance_id, ACTIVE_RUN)
    due = sa.select(
        _new_id_sql(dialect),
        connections.c.instance_id,
        sa.literal("schedule"),
        sa.literal("queued"),
        sa.false(),
        sa.literal(" ".join(STREAMS)),
        slot,
        sa.literal(now, sa.DateTime(timezone=True)),
        sa.literal(0),
        sa.literal("{}"),
        sa.literal(current_traceparent(), sa.String),
    )
    due = (
        due.where(_may_be_due(minutes), ~sa.exists(done), ~sa.exists(busy))
        # The longest due first, on the index; the same order in every replica, so that two ticks
        # inserting the same instances wait on each other in one order and cannot deadlock.
        .order_by(connections.c.due_minute, connections.c.instance_id)
        .limit(batch)
    )
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = ["id", "instance_id", "trigger", "status", "full_refresh", "streams", "slot", "requested_at"]
    return (
        insert(runs)
        .from_select([*columns, "attempts", "counts", "traceparent"], due)
        .on_conflict_do_nothing()
    )


def due_minutes_update(now: datetime) -> Any:
    """The tick's second statement: each instance whose current slot has its run is next due when
    its next slot starts."""
    connections, runs = table_of(GesdentConnection), table_of(SyncRun)
    minutes, interval, phase = (
        epoch_minutes(now),
        connections.c.interval_minutes,
        connections.c.schedule_phase,
    )
    slot = slot_sql(minutes, interval, phase)
    done = sa.select(runs.c.id).where(runs.c.instance_id == connections.c.instance_id, runs.c.slot == slot)
    return (
        connections.update()
        .where(_may_be_due(minutes), sa.exists(done))
        .values(due_minute=next_slot_sql(minutes, interval, phase))
    )


async def enqueue_due(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None, batch: int = TICK_BATCH
) -> int:
    """Queue the scheduled run of every enabled instance whose current slot has none yet (at most
    `batch`): one statement, two to four when runs were queued. Idempotent per instance and slot, so
    any number of replicas may call it at once."""
    now = now or utcnow()
    async with sessionmaker() as session:
        connection = await session.connection(execution_options={SQLITE_WRITE: True})
        created: int = (
            await connection.execute(due_runs_insert(connection.dialect.name, now, batch))
        ).rowcount
        if created:
            await connection.execute(due_minutes_update(now))
            await _refresh_statistics(connection, created)
        await session.commit()
        return created


async def _refresh_statistics(connection: AsyncConnection, created: int) -> None:
    """ANALYZE sync_runs (PostgreSQL) when the planner believes it holds fewer runs than this tick
    alone queued: at a fleet's first ticks. With statistics of an empty table, the next tick's plan
    checks "has a run under way?" by scanning every run for each due instance: seconds at 10,000
    instances instead of a tenth of one (bench/fleet.py). In steady state the table holds far more
    runs than a tick queues, and this is one cheap read of the catalogue."""
    if connection.dialect.name != "postgresql":
        return
    believed = sa.text("SELECT reltuples FROM pg_class WHERE oid = 'sync_runs'::regclass")
    if (await connection.execute(believed)).scalar_one() < created:
        await connection.execute(sa.text("ANALYZE sync_runs"))


async def record_stale(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> list[Transition]:
    """The tick's health pass: record `fresh` → `stale` for everything whose last success went stale
    since the last tick (one statement, whatever the number of instances), and return those
    transitions, each once (the rows are `stale` afterwards, for every replica)."""
    now = now or utcnow()
    async with sessionmaker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        transitions = await health.record_gone_stale(session, now)
        await health_changed(session, transitions)  # their events, in the same transaction
        await session.commit()
        return transitions
