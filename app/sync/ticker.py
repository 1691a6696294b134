"""The ticker's work: queue the scheduled run of every enabled instance whose current slot has none.

One INSERT … SELECT per tick, whatever the number of instances: the database computes each
instance's slot (`slot_sql`, equal to `slot_of`), skips the instances whose slot already has a run
or that have a run under way, and inserts the rest. Replicas may tick at once: the unique indexes
of sync_runs (one run per instance and slot, one active run per instance) decide, and
`ON CONFLICT DO NOTHING` turns a clash into "done already". The rows are inserted in instance order,
so two ticks that insert the same instances wait on each other in one order and cannot deadlock."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import SQLITE_WRITE
from app.db.models import GesdentConnection, SyncRun, table_of, utcnow
from app.domain.gesdent import STREAMS

ACTIVE = ("queued", "running")


def epoch_minutes(now: datetime) -> int:
    """Whole minutes since the epoch: slots are counted in these."""
    return int(now.timestamp() // 60)


def slot_of(now: datetime, interval_minutes: int) -> tuple[str, datetime]:
    """The schedule slot `now` falls in, and when the next one starts."""
    index = epoch_minutes(now) // interval_minutes
    next_start = datetime.fromtimestamp((index + 1) * interval_minutes * 60, tz=now.tzinfo)
    return f"{interval_minutes}m:{index}", next_start


def slot_sql(minutes: int, interval: sa.ColumnElement[int]) -> sa.ColumnElement[str]:
    """`slot_of(now, interval)[0]` computed by the database, `minutes` being `epoch_minutes(now)`
    (at or after the epoch, where SQL's truncating division floors as Python's `//` does)."""
    index = sa.literal(minutes, sa.BigInteger) // interval
    return sa.cast(interval, sa.String) + sa.literal("m:") + sa.cast(index, sa.String)


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


def due_runs_insert(dialect: str, now: datetime) -> Any:
    """The tick's one statement: INSERT the due scheduled runs … ON CONFLICT DO NOTHING."""
    connections, runs = table_of(GesdentConnection), table_of(SyncRun)
    slot = slot_sql(epoch_minutes(now), connections.c.interval_minutes)
    done = sa.select(runs.c.id).where(runs.c.instance_id == connections.c.instance_id, runs.c.slot == slot)
    busy = sa.select(runs.c.id).where(
        runs.c.instance_id == connections.c.instance_id, runs.c.status.in_(ACTIVE)
    )
    due = (
        sa.select(
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
        )
        .where(connections.c.enabled, ~sa.exists(done), ~sa.exists(busy))
        .order_by(connections.c.instance_id)
    )
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = ["id", "instance_id", "trigger", "status", "full_refresh", "streams", "slot", "requested_at"]
    return insert(runs).from_select([*columns, "attempts", "counts"], due).on_conflict_do_nothing()


async def enqueue_due(sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None) -> int:
    """Queue the scheduled run of every enabled instance whose current slot has none yet, in one
    statement. Idempotent per instance and slot, so any number of replicas may call it at once."""
    now = now or utcnow()
    async with sessionmaker() as session:
        connection = await session.connection(execution_options={SQLITE_WRITE: True})
        result = await connection.execute(due_runs_insert(connection.dialect.name, now))
        await session.commit()
        return result.rowcount or 0
