"""The delivery queue: deliveries are rows, claimed under a lease as sync runs are (app/sync/queue.py).

A due delivery is claimed with `FOR UPDATE SKIP LOCKED` (PostgreSQL; on SQLite the write lock taken
at BEGIN serialises claims) and held under a lease: a delivery whose worker died mid-request is
claimed again when its lease expires, so none is ever lost (a receiver may see it twice: it
deduplicates on `webhook-id`). A delivery stays `pending` while it is in flight, and a delivery is
not claimable while an earlier one (by event id) of the same instance to the same endpoint is
pending: an endpoint receives an instance's events in the order they were written.

The outcome is recorded only by the claim that holds the lease: (delivery, owner, attempt) fences it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import SQLITE_WRITE
from app.db.models import Event, EventDelivery, WebhookEndpoint, table_of, utcnow
from app.domain.events import next_delay

deliveries = table_of(EventDelivery)
events = table_of(Event)
endpoints = table_of(WebhookEndpoint)
# Written out, not bound: the planner matches it with the partial indexes' predicate.
PENDING: ColumnElement[str] = literal_column("'pending'")
# How precisely an endpoint's last success is kept: it is written at most once a minute.
SUCCESS_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds: what to send, where, and with which (encrypted) secrets."""

    delivery_id: str
    attempt: int
    created_at: datetime
    event_id: str
    event_type: str
    event_created_at: datetime
    payload: str
    endpoint_id: str
    url: str
    secrets: tuple[str, ...]  # encrypted; the previous one while it still signs


def _claimable(now: datetime, limit: int) -> Select[Any]:
    earlier = deliveries.alias("earlier")
    waits = (
        exists()
        .where(
            earlier.c.status == PENDING,
            earlier.c.endpoint_id == deliveries.c.endpoint_id,
            earlier.c.instance_id == deliveries.c.instance_id,  # NULL (no instance): never waits
            earlier.c.event_id < deliveries.c.event_id,
        )
        .correlate(deliveries)
    )
    return (
        select(deliveries.c.id)
        .join(endpoints, endpoints.c.id == deliveries.c.endpoint_id)
        .where(
            deliveries.c.status == PENDING,
            deliveries.c.next_attempt_at <= now,
            or_(deliveries.c.lease_expires_at.is_(None), deliveries.c.lease_expires_at < now),
            endpoints.c.enabled,
            ~waits,
        )
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=deliveries)
    )


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession], owner: str, lease: timedelta, limit: int
) -> list[Claimed]:
    """Up to `limit` due deliveries, each now held by `owner` for `lease`."""
    async with sessionmaker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        now = utcnow()
        ids = list((await session.execute(_claimable(now, limit))).scalars())
        if not ids:
            return []
        await session.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(ids))
            .values(
                lease_owner=owner,
                lease_expires_at=now + lease,
                attempts=deliveries.c.attempts + 1,
                last_attempt_at=now,
            )
        )
        rows = await session.execute(
            select(
                deliveries.c.id,
                deliveries.c.attempts,
                deliveries.c.created_at,
                events.c.id.label("event_id"),
                events.c.type,
                events.c.created_at.label("event_created_at"),
                events.c.payload,
                endpoints.c.id.label("endpoint_id"),
                endpoints.c.url,
                endpoints.c.secret,
                endpoints.c.previous_secret,
                endpoints.c.previous_secret_expires_at,
            )
            .join(events, events.c.id == deliveries.c.event_id)
            .join(endpoints, endpoints.c.id == deliveries.c.endpoint_id)
            .where(deliveries.c.id.in_(ids))
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        )
        claimed = [
            Claimed(
                row.id,
                row.attempts,
                row.created_at,
                row.event_id,
                row.type,
                row.event_created_at,
                row.payload,
                row.endpoint_id,
                row.url,
                (row.secret,)
                + ((row.previous_secret,) if _signs(row.previous_secret_expires_at, now) else ()),
            )
            for row in rows
        ]
        await session.commit()
        return claimed


def _signs(expires_at: datetime | None, now: datetime) -> bool:
    if expires_at is None:
        return False
    return (expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=now.tzinfo)) > now


@dataclass(frozen=True)
class Answer:
    """What one attempt got: the status code (None: no answer), an error, the Retry-After."""

    status_code: int | None
    error: str | None = None
    retry_after: float | None = None


async def record(
    sessionmaker: async_sessionmaker[AsyncSession],
    claimed: Claimed,
    owner: str,
    outcome: str,
    answer: Answer,
    *,
    schedule: tuple[float, ...],
) -> str:
    """Record an attempt's outcome (`delivered`, `retry` or `gone`, app/domain/events.py `verdict`)
    if `owner` still holds the delivery. Returns what became of it: `delivered`, `retried`,
    `gave_up`, `gone`, or `lost` (the lease was taken over, nothing recorded)."""
    async with sessionmaker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        now = utcnow()
        held = update(deliveries).where(
            deliveries.c.id == claimed.delivery_id,
            deliveries.c.lease_owner == owner,
            deliveries.c.attempts == claimed.attempt,
            deliveries.c.status == PENDING,
        )
        common = {
            "lease_owner": None,
            "lease_expires_at": None,
            "last_status_code": answer.status_code,
            "last_error": None if answer.error is None else answer.error[:500],
        }
        delay = next_delay(claimed.attempt, answer.retry_after, schedule) if outcome == "retry" else None
        if outcome == "delivered":
            values = {**common, "status": "delivered", "delivered_at": now}
            result = "delivered"
        elif outcome == "retry" and delay is not None:
            values = {**common, "next_attempt_at": now + timedelta(seconds=delay)}
            result = "retried"
        else:
            values = {**common, "status": "failed"}
            result = "gone" if outcome == "gone" else "gave_up"
        if not (await session.execute(held.values(**values))).rowcount:  # type: ignore[attr-defined]
            await session.rollback()
            return "lost"
        await _endpoint_after(session, claimed, result, now)
        await session.commit()
        return result


async def _endpoint_after(session: AsyncSession, claimed: Claimed, result: str, now: datetime) -> None:
    """A success is remembered, to the minute; a 410 disables the endpoint; so does a delivery given up
    when nothing was delivered to the endpoint since that delivery was written (a whole schedule of
    failures, hours long: a minute's precision is plenty)."""
    endpoint = endpoints.c.id == claimed.endpoint_id
    if result == "delivered":
        # Not on every delivery: every delivery of a partner's clinics goes to its one endpoint row,
        # and each write would hold that row's lock until its transaction ends, queueing all the
        # deliveries recorded meanwhile behind it (the outcomes of a fleet, one after the other).
        recent = endpoints.c.last_success_at >= now - SUCCESS_PRECISION
        await session.execute(
            update(endpoints)
            .where(endpoint, ~recent | endpoints.c.last_success_at.is_(None))
            .values(last_success_at=now)
        )
        return
    if result == "gone":
        reason = f"answered 410 Gone to delivery {claimed.delivery_id} at {now:%Y-%m-%dT%H:%M:%SZ}"
    elif result == "gave_up":
        reason = (
            f"every attempt of delivery {claimed.delivery_id} failed ({claimed.attempt} attempts) and "
            f"nothing was delivered since it was written"
        )
        silent = or_(endpoints.c.last_success_at.is_(None), endpoints.c.last_success_at < claimed.created_at)
        endpoint = endpoint & silent
    else:
        return
    await session.execute(
        update(endpoints)
        .where(endpoint, endpoints.c.enabled)
        .values(
            enabled=False,
            disabled_reason=reason,
            disabled_at=now,
            version=endpoints.c.version + 1,
            updated_at=now,
        )
    )


async def hand_back(sessionmaker: async_sessionmaker[AsyncSession], owner: str, held: list[Claimed]) -> int:
    """Give back deliveries `owner` claimed and cut short (it stops): due again at once for another
    worker instead of after their leases, the attempt not counted (the receiver may have got it:
    it deduplicates on webhook-id). Fenced like `record`; how many were given back."""
    if not held:
        return 0
    async with sessionmaker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        given = 0
        for claimed in held:
            result = await session.execute(
                update(deliveries)
                .where(
                    deliveries.c.id == claimed.delivery_id,
                    deliveries.c.lease_owner == owner,
                    deliveries.c.attempts == claimed.attempt,
                    deliveries.c.status == PENDING,
                )
                .values(lease_owner=None, lease_expires_at=None, attempts=deliveries.c.attempts - 1)
            )
            given += result.rowcount or 0  # type: ignore[attr-defined]
        await session.commit()
        return given
