"""The details of a page of the portal search: its members' offering slots (capped per member) and
their mapped codes, each one statement for the whole page."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import GesdentSlot, Instance, Mapping, Service, table_of
from app.db.repositories.portal_availability import Search, asked_services, bounds, offers
from app.db.repositories.sync_health import aware


@dataclass(frozen=True, slots=True)
class SlotRow:
    member_id: str
    resource_id: str
    starts_at: datetime
    ends_at: datetime
    treatment_codes: str
    total: int  # the member's slots that offer, in its days (beyond the cap too)


async def slots_of(session: AsyncSession, search: Search, member_ids: Collection[str]) -> list[SlotRow]:
    """The offering slots of these members in their days, at most `slots_per_member` each (the
    first ones), with each member's total."""
    if not member_ids:
        return []
    slot, member = table_of(GesdentSlot).alias("slot"), table_of(Instance).alias("member")
    start, end = bounds(search, member.c.time_zone)
    place = sa.func.row_number().over(
        partition_by=slot.c.instance_id, order_by=(slot.c.starts_at, slot.c.resource_id)
    )
    inner = (
        sa.select(
            slot.c.instance_id,
            slot.c.resource_id,
            slot.c.starts_at,
            slot.c.ends_at,
            slot.c.treatment_codes,
            sa.func.count().over(partition_by=slot.c.instance_id).label("total"),
            place.label("place"),
        )
        .join(member, member.c.id == slot.c.instance_id)
        .where(
            slot.c.instance_id.in_(sorted(member_ids)),
            slot.c.starts_at >= start,
            slot.c.starts_at < end,
            offers(search, slot, slot.c.instance_id, asked_services(search)),
        )
        .subquery("offering")
    )
    stmt = (
        sa.select(*(c for c in inner.c if c.name != "place"))
        .where(inner.c.place <= search.slots_per_member)
        .order_by(inner.c.instance_id, inner.c.starts_at, inner.c.resource_id)
    )
    return [
        SlotRow(m, r, aware(s), aware(e), codes, total)
        for m, r, s, e, codes, total in (await session.execute(stmt)).all()
    ]


async def wanted(
    session: AsyncSession, search: Search, member_ids: Collection[str]
) -> dict[str, dict[str, set[str]]]:
    """Per member: its web-enabled service codes mapped to asked portal services -> those services."""
    if not member_ids:
        return {}
    mappings = table_of(Mapping)
    member_service, portal_service = table_of(Service).alias("ms"), table_of(Service).alias("ps")
    stmt = (
        sa.select(mappings.c.member_id, member_service.c.code, portal_service.c.code)
        .join(member_service, member_service.c.id == mappings.c.member_service_id)
        .join(portal_service, portal_service.c.id == mappings.c.portal_service_id)
        .where(
            mappings.c.portal_id == search.portal_id,
            mappings.c.member_id.in_(sorted(member_ids)),
            portal_service.c.code.in_(search.services),
            member_service.c.web_enabled.is_(True),
        )
    )
    found: dict[str, dict[str, set[str]]] = {}
    for member_id, code, portal_code in (await session.execute(stmt)).all():
        found.setdefault(member_id, {}).setdefault(code, set()).add(portal_code)
    return found
