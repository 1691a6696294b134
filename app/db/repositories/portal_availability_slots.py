"""The details of a page of the portal search: its members' offering slots (capped per member) and
the codes they are matched on, each one statement for the whole page."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import GesdentSlot, Instance, Service
from app.db.repositories.portal_availability import Search, alias, bounds, contains, wanted
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
    slot, member, codes = (
        alias(GesdentSlot, "slot"),
        alias(Instance, "member"),
        wanted(search),
    )
    start, end = bounds(search, member.c.time_zone)
    # A slot that carries two wanted codes is one slot: DISTINCT, before numbering them.
    offering = (
        sa.select(
            slot.c.instance_id, slot.c.resource_id, slot.c.starts_at, slot.c.ends_at, slot.c.treatment_codes
        )
        .join(member, member.c.id == slot.c.instance_id)
        .join(
            codes,
            sa.and_(
                codes.c.member_id == slot.c.instance_id,
                contains(search.dialect, slot.c.treatment_codes, codes.c.code),
            ),
        )
        .where(slot.c.instance_id.in_(sorted(member_ids)), slot.c.starts_at >= start, slot.c.starts_at < end)
        .distinct()
        .subquery("offering")
    )
    place = sa.func.row_number().over(
        partition_by=offering.c.instance_id, order_by=(offering.c.starts_at, offering.c.resource_id)
    )
    numbered = sa.select(
        offering,
        sa.func.count().over(partition_by=offering.c.instance_id).label("total"),
        place.label("place"),
    ).subquery("numbered")
    stmt = (
        sa.select(*(c for c in numbered.c if c.name != "place"))
        .where(numbered.c.place <= search.slots_per_member)
        .order_by(numbered.c.instance_id, numbered.c.starts_at, numbered.c.resource_id)
    )
    return [
        SlotRow(m, r, aware(s), aware(e), carried, total)
        for m, r, s, e, carried, total in (await session.execute(stmt)).all()
    ]


async def codes_of(
    session: AsyncSession, search: Search, member_ids: Collection[str]
) -> dict[str, dict[str, set[str]]]:
    """Per member: its codes the search matches slots on -> the asked portal services they offer."""
    if not member_ids:
        return {}
    codes, portal_service = wanted(search), alias(Service, "portal_service")
    stmt = (
        sa.select(codes.c.member_id, codes.c.code, portal_service.c.code)
        .join(portal_service, portal_service.c.id == codes.c.portal_service_id)
        .where(codes.c.member_id.in_(sorted(member_ids)))
    )
    found: dict[str, dict[str, set[str]]] = {}
    for member_id, code, portal_code in (await session.execute(stmt)).all():
        found.setdefault(member_id, {}).setdefault(code, set()).add(portal_code)
    return found
