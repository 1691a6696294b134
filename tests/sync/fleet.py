"""A fleet of instances with connection rules, written straight to the database: the ticker's tests
need hundreds of them, which the API would take minutes to create."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import SQLITE_WRITE
from app.db.models import GesdentConnection, Instance, Partner, new_id, table_of, utcnow
from app.domain.gesdent import schedule_phase


async def add_fleet(
    sessionmaker: async_sessionmaker[AsyncSession],
    count: int,
    *,
    prefix: str = "fleet",
    enabled: bool = True,
    interval_minutes: int = 15,
    phased: bool = False,
) -> list[str]:
    """`count` instances of a new partner, each with connection rules; their ids, in order. Their
    slots start on the multiples of the interval, unless `phased`: then each has the place in the
    schedule that rules made through the API get (app/domain/gesdent.py `schedule_phase`)."""
    partner, now = new_id(), utcnow()
    stamps: dict[str, Any] = {"created_at": now, "updated_at": now, "version": 1}
    comms = {"comms_enabled": True, "comms_sms": True, "comms_voice": True, "comms_email": True}
    instances = [
        {
            "id": new_id(),
            "partner_id": partner,
            "name": f"tt_{prefix}_{i:05d}",
            "display_name": f"{prefix} {i}",
        }
        | comms
        | stamps
        for i in range(count)
    ]
    secret = "v1:never-decrypted"  # the ticker reads only enabled, interval_minutes and due_minute
    rules = [
        {
            "instance_id": row["id"],
            "base_url": None,
            "resource_ids": "RES-1",
            "users_username": "u",
            "users_password": secret,
            "reservations_username": "r",
            "reservations_password": secret,
            "availability_username": "a",
            "availability_password": secret,
            "webhook_secret": secret,
            "enabled": enabled,
            "interval_minutes": interval_minutes,
            "window_days": 14,
            "schedule_phase": schedule_phase(row["id"]) if phased else 0,
        }
        | stamps
        for row in instances
    ]
    async with sessionmaker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        await session.execute(
            table_of(Partner).insert(), [{"id": partner, "name": prefix, "created_at": now}]
        )
        for model, rows in ((Instance, instances), (GesdentConnection, rules)):
            for start in range(0, len(rows), 2000):
                await session.execute(table_of(model).insert(), rows[start : start + 2000])
        await session.commit()
    return [row["id"] for row in instances]
