"""Recording sync health (the rules: app/domain/sync_health.py), in the caller's transaction.

Three writers, each returning the transitions it made, as a plain list of `Transition` (instance id;
stream, None for the instance's runs as a whole; old state; new state; from when), for the caller
to act on in the same transaction (`sync.health.changed` events):

- `record_outcome`: in the transaction that records a run's outcome (app/sync/queue.py `finish`,
  and `claim` when it abandons a run).
- `record_gone_stale`: the ticker's, every `fresh` row whose success went stale: one statement
  whatever the number of instances; each row turns stale once, however many replicas tick.
- `rules_changed`: when the connection rules are set or removed (enabled, interval, threshold)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import GesdentConnection, SyncHealth
from app.db.repositories import sync_health as repo
from app.db.repositories.sync_health import aware
from app.domain.sync_health import (
    KEYS,
    WHOLE,
    Facts,
    Schedule,
    Transition,
    as_state,
    derive,
    short_error,
    stale_after,
    stream_outcomes,
)


def schedule_of(connection: GesdentConnection | None) -> Schedule | None:
    if connection is None:
        return None
    minutes, _default = stale_after(connection.interval_minutes, connection.stale_after_minutes)
    return Schedule(connection.enabled, minutes)


async def record_outcome(
    session: AsyncSession,
    instance_id: str,
    *,
    status: str,
    streams: Collection[str],
    counts: Mapping[str, Mapping[str, Any]],
    failed_stream: str | None,
    error: str | None,
    at: datetime,
) -> list[Transition]:
    """Record a run's outcome (`succeeded`: a success of the whole; `partial`, `failed`: an error)
    and each stream's (see `stream_outcomes`); the transitions it made."""
    outcomes = {WHOLE: status == "succeeded", **stream_outcomes(status, streams, counts, failed_stream)}
    connection = await session.get(GesdentConnection, instance_id)
    return await _apply(
        session,
        instance_id,
        schedule=schedule_of(connection),
        now=at,
        outcomes=outcomes,
        error=short_error(error),
    )


async def rules_changed(
    session: AsyncSession, instance_id: str, connection: GesdentConnection | None, now: datetime
) -> list[Transition]:
    """Derive the instance's health again under its new rules (None: removed); the transitions."""
    return await _apply(
        session, instance_id, schedule=schedule_of(connection), now=now, outcomes={}, error=None
    )


async def record_gone_stale(session: AsyncSession, now: datetime) -> list[Transition]:
    """Record `fresh` → `stale` for every row whose success went stale by `now` (one statement)."""
    dialect = (await session.connection()).dialect.name
    result = await session.execute(repo.gone_stale(dialect, now))
    return [
        Transition(instance_id, None if stream == WHOLE else stream, "fresh", "stale", aware(stale_at))
        for instance_id, stream, stale_at in result.all()
    ]


async def _apply(
    session: AsyncSession,
    instance_id: str,
    *,
    schedule: Schedule | None,
    now: datetime,
    outcomes: Mapping[str, bool],
    error: str | None,
) -> list[Transition]:
    rows = await repo.rows_of(session, instance_id)
    transitions: list[Transition] = []
    for key in KEYS:
        row = rows.get(key)
        if row is None:
            row = SyncHealth(instance_id=instance_id, stream=key, state="never")
            session.add(row)
        facts = Facts(*(_aware(row.last_success_at), _aware(row.last_error_at), _aware(row.failing_since)))
        if key in outcomes:
            facts = facts.after(outcomes[key], now)
            if not outcomes[key]:
                row.last_error = error
        row.last_success_at, row.last_error_at, row.failing_since = (
            facts.last_success_at,
            facts.last_error_at,
            facts.failing_since,
        )
        derived = derive(facts, schedule, now)
        row.stale_at = derived.stale_at
        if derived.state != row.state:
            at = derived.since or now
            old = as_state(row.state)
            transitions.append(Transition(instance_id, None if key == WHOLE else key, old, derived.state, at))
            row.state, row.state_since = derived.state, at
        elif derived.since is not None and derived.state in ("stale", "failing"):
            row.state_since = derived.since
    await session.flush()
    return transitions


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else aware(moment)
