"""Old outbound events are pruned with their deliveries, in batches; recent ones stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from app.db.models import Event, EventDelivery, table_of
from app.events import emit
from app.sync.retention import RetentionPolicy, prune
from tests.events.conftest import failed_run, register, scalar

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
events, deliveries = table_of(Event), table_of(EventDelivery)


async def test_old_events_go_with_their_deliveries(app, api, private_networks) -> None:
    await register(api, "http://127.0.0.1:9/a", "sync.run.failed")
    await register(api, "http://127.0.0.1:9/b", "sync.run.failed")
    async with app.state.sessionmaker() as session:
        ids = [
            await emit(session, api.partner_id, "sync.run.failed", failed_run("i", n), instance_id="i")
            for n in range(7)
        ]
        await session.commit()
    old, recent = ids[:5], ids[5:]
    async with app.state.engine.begin() as connection:
        await connection.execute(update(events).values(created_at=NOW - timedelta(days=2)))
        await connection.execute(
            update(events).where(events.c.id.in_(old)).values(created_at=NOW - timedelta(days=31))
        )
    pruned = await prune(app.state.sessionmaker, RetentionPolicy(event_days=30, batch=2), NOW)
    assert (pruned.events, pruned.event_deliveries) == (5, 10)
    assert pruned.batches == 3  # 2 + 2 + 1 events
    assert await scalar(app, "SELECT count(*) FROM events") == 2
    assert await scalar(app, "SELECT count(*) FROM event_deliveries") == 4
    assert await scalar(app, "SELECT min(id) FROM events") == min(recent)
