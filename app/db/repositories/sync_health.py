"""Queries on sync health: an instance's rows, the ticker's "gone stale" statement, and the fleet's
view (counts and a list by state), each a set-based statement whatever the number of instances.

A recorded `fresh` whose `stale_at` has passed reads as `stale` (the ticker records it at its next
tick); an instance without rows reads as `never`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import GesdentConnection, Instance, SyncHealth, table_of
from app.db.models.sync_health import FRESH
from app.db.repositories.pages import PageRequest, fetch_page
from app.domain.sync_health import STATES, WHOLE, HealthState, as_state

# The order key of the rows with no moment to be overdue from (never, disabled): after every other.
LAST = datetime(9999, 12, 31, tzinfo=UTC)


async def rows_of(session: AsyncSession, instance_id: str) -> dict[str, SyncHealth]:
    """The instance's rows by stream ('*' for the whole), locked until the transaction ends."""
    stmt = (
        sa.select(SyncHealth)
        .where(col(SyncHealth.instance_id) == instance_id)
        .order_by(col(SyncHealth.stream))
        .with_for_update()
    )
    return {row.stream: row for row in (await session.execute(stmt)).scalars()}


def gone_stale(dialect: str, now: datetime) -> Any:
    """UPDATE every `fresh` row whose success went stale by `now` to `stale`, since that moment,
    RETURNING them: a range of the partial index on stale_at, empty when nothing went stale.

    On PostgreSQL it skips the rows another transaction holds (SKIP LOCKED) rather than wait for
    them: that transaction is recording a run's outcome or new rules, which derives those rows'
    state again itself (stale included, and returns that transition); and waiting could deadlock
    with it, each holding some of an instance's rows. SQLite has one writer at a time."""
    health = table_of(SyncHealth)
    gone = sa.and_(FRESH, health.c.stale_at <= now)  # FRESH written out: the partial index's predicate
    update = health.update().values(state="stale", state_since=health.c.stale_at)
    if dialect == "postgresql":
        due = sa.select(health.c.instance_id, health.c.stream).where(gone).with_for_update(skip_locked=True)
        update = update.where(sa.tuple_(health.c.instance_id, health.c.stream).in_(due), gone)
    else:
        update = update.where(gone)
    return update.returning(health.c.instance_id, health.c.stream, health.c.stale_at)


def state_at(now: datetime, health: Any) -> sa.ColumnElement[str]:
    """The state a row reads as at `now` (null row: `never`)."""
    return sa.case(
        (health.c.state.is_(None), sa.literal("never")),
        (sa.and_(health.c.state == "fresh", health.c.stale_at <= now), sa.literal("stale")),
        else_=health.c.state,
    )


def _since(now: datetime, health: Any) -> sa.ColumnElement[datetime]:
    return sa.case(
        (sa.and_(health.c.state == "fresh", health.c.stale_at <= now), health.c.stale_at),
        else_=health.c.state_since,
    )


def _overdue_from(health: Any) -> sa.ColumnElement[datetime]:
    """The moment from which the instance counts as overdue: failing since, or going stale at (in
    the future while fresh); never and disabled sort after every other."""
    moment = sa.case(
        (health.c.state == "failing", health.c.failing_since),
        (health.c.state.in_(("fresh", "stale")), health.c.stale_at),
        else_=sa.null(),
    )
    return sa.func.coalesce(moment, sa.literal(LAST, sa.DateTime(timezone=True)))


def _whole() -> Any:
    """The instance-level rows, as a table to outer-join instances with."""
    return table_of(SyncHealth).alias("whole")


def _joined(health: Any) -> Any:
    instances = table_of(Instance)
    return instances.outerjoin(
        health, sa.and_(health.c.instance_id == instances.c.id, health.c.stream == WHOLE)
    )


async def counts(session: AsyncSession, partner_id: str | None, now: datetime) -> dict[HealthState, int]:
    """Instances per state (every state, zeros included): the partner's, or all (None)."""
    health, instances = _whole(), table_of(Instance)
    state = state_at(now, health).label("state")
    stmt = sa.select(state, sa.func.count()).select_from(_joined(health)).group_by(state)
    if partner_id is not None:
        stmt = stmt.where(instances.c.partner_id == partner_id)
    found = dict((await session.execute(stmt)).all())
    return {name: int(found.get(name, 0)) for name in STATES}


@dataclass(frozen=True, slots=True)
class HealthRow:
    """An instance's health as the list shows it."""

    instance_id: str
    name: str
    state: HealthState
    since: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    overdue_from: datetime
    interval_minutes: int | None  # null: no rules
    stale_after_minutes: int | None  # as set in the rules; null: the default


def _row(row: sa.Row[Any]) -> HealthRow:
    (instance_id, name, state, since, success_at, error_at, error, overdue_from, interval, after) = tuple(row)
    return HealthRow(
        instance_id=instance_id,
        name=name,
        state=as_state(state),
        since=_aware(since),
        last_success_at=_aware(success_at),
        last_error_at=_aware(error_at),
        last_error=error,
        overdue_from=aware(overdue_from),
        interval_minutes=interval,
        stale_after_minutes=after,
    )


async def list_page(
    session: AsyncSession, partner_id: str, states: Collection[str], page: PageRequest, now: datetime
) -> tuple[list[HealthRow], str | None]:
    """The partner's instances, most overdue first (then by name), in the given states (all: empty)."""
    health, instances = _whole(), table_of(Instance)
    rules = table_of(GesdentConnection)
    state, overdue_from = state_at(now, health), _overdue_from(health)
    stmt = (
        sa.select(
            instances.c.id,
            instances.c.name,
            state,
            _since(now, health),
            health.c.last_success_at,
            health.c.last_error_at,
            health.c.last_error,
            overdue_from,
            rules.c.interval_minutes,
            rules.c.stale_after_minutes,
        )
        .select_from(_joined(health).outerjoin(rules, rules.c.instance_id == instances.c.id))
        .where(instances.c.partner_id == partner_id)
    )
    if states:
        stmt = stmt.where(state.in_(sorted(states)))
    return await fetch_page(
        session,
        stmt,
        [overdue_from, instances.c.name],
        page,
        item=_row,
        key_of=lambda row: [row.overdue_from.isoformat(), row.name],
        parse_cursor=_moment_then_name,
    )


def _moment_then_name(values: tuple[object, ...]) -> tuple[object, ...]:
    moment, name = values
    return aware(datetime.fromisoformat(str(moment))), str(name)


async def states_of(
    session: AsyncSession, instance_ids: Collection[str], now: datetime
) -> dict[str, dict[str, tuple[HealthState, datetime | None]]]:
    """Instance id → stream ('*': the whole) → (state, since), for these instances (one statement)."""
    if not instance_ids:
        return {}
    health = table_of(SyncHealth)
    stmt = sa.select(health.c.instance_id, health.c.stream, state_at(now, health), _since(now, health)).where(
        health.c.instance_id.in_(sorted(instance_ids))
    )
    found: dict[str, dict[str, tuple[HealthState, datetime | None]]] = {}
    for instance_id, stream, state, since in (await session.execute(stmt)).all():
        found.setdefault(instance_id, {})[stream] = (as_state(state), _aware(since))
    return found


def aware(moment: datetime) -> datetime:
    """SQLite gives timestamps back without their zone; they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else aware(moment)
