"""Queries on the settings of many instances at once (a manifest sets a chain's)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import InstanceSetting


async def settings_of(session: AsyncSession, instance_ids: list[str]) -> dict[str, dict[str, str]]:
    """The settings of each of `instance_ids` (every one a key)."""
    rows = await session.execute(
        select(col(InstanceSetting.instance_id), col(InstanceSetting.key), col(InstanceSetting.value))
        .where(col(InstanceSetting.instance_id).in_(instance_ids))
        .order_by(col(InstanceSetting.instance_id), col(InstanceSetting.key))
    )
    found: dict[str, dict[str, str]] = {instance_id: {} for instance_id in instance_ids}
    for instance_id, key, value in rows.all():
        found[instance_id][key] = value
    return found


async def put(session: AsyncSession, values: dict[tuple[str, str], str]) -> None:
    """Set (instance id, key) → value, the rows that exist loaded in one query, all written in one flush."""
    if not values:
        return
    ids = sorted({instance_id for instance_id, _ in values})
    stmt = select(InstanceSetting).where(
        col(InstanceSetting.instance_id).in_(ids),
        col(InstanceSetting.key).in_(sorted({k for _, k in values})),
    )
    existing = {(row.instance_id, row.key): row for row in (await session.execute(stmt)).scalars()}
    for (instance_id, key), value in values.items():
        row = existing.get((instance_id, key))
        if row is None:
            session.add(InstanceSetting(instance_id=instance_id, key=key, value=value))
        else:
            row.value = value
    await session.flush()
