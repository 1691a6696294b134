"""The portal search's summary (per portal service: who offers it, and first when) and the facts that
explain an empty answer: each one statement over (member, portal service) pairs, whatever their number.
The expressions they share with the search are in app/db/repositories/portal_availability.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import GesdentSlot, Instance, Mapping, Membership, Service, table_of
from app.db.repositories.portal_availability import (
    AVAILABILITY,
    Search,
    alias,
    availability_health,
    bounds,
    contains,
    firsts,
    members_of,
    recent_enough,
    wanted,
)
from app.db.repositories.sync_health import aware, state_at
from app.domain.portal_availability import Facts


@dataclass(frozen=True, slots=True)
class PortalService:
    code: str
    name: str


async def portal_services(session: AsyncSession, search: Search) -> list[PortalService]:
    """The portal's services the search asks for (all, when it names none), by code."""
    services = table_of(Service)
    stmt = sa.select(services.c.code, services.c.name).where(services.c.instance_id == search.portal_id)
    if search.services:
        stmt = stmt.where(services.c.code.in_(search.services))
    return [PortalService(*row) for row in (await session.execute(stmt.order_by(services.c.code))).all()]


@dataclass(frozen=True, slots=True)
class Offer:
    """A member's earliest slot for one portal service."""

    service: str
    member: str
    earliest: datetime


async def offers_per_service(session: AsyncSession, search: Search) -> list[Offer]:
    """Per (portal service, member code) that offers it in the member's days: the earliest slot."""
    first, health = firsts(search), availability_health()
    member, portal_service = alias(Instance, "offering_member"), alias(Service, "ps")
    stmt = (
        sa.select(portal_service.c.code, member.c.name, first.c.earliest)
        .select_from(
            first.join(member, member.c.id == first.c.member_id)
            .join(portal_service, portal_service.c.id == first.c.portal_service_id)
            .outerjoin(health, sa.and_(health.c.instance_id == member.c.id, health.c.stream == AVAILABILITY))
        )
        .where(
            first.c.earliest.is_not(None),
            *recent_enough(search, state_at(search.now, health), health.c.last_success_at),
        )
    )
    return [Offer(code, name, aware(moment)) for code, name, moment in (await session.execute(stmt)).all()]


@dataclass(frozen=True, slots=True)
class Unoffered:
    """A (member, portal service) pair without an offering slot, and what explains it."""

    member: str
    display_name: str
    service: str
    facts: Facts


async def unoffered(session: AsyncSession, search: Search, limit: int) -> list[Unoffered]:
    """The asked (member, portal service) pairs without an offering slot in the member's days, by
    member name then service: at most `limit` + 1."""
    member, health, mappings = alias(Instance, "member"), availability_health(), table_of(Mapping)
    portal_service, member_service = alias(Service, "ps"), alias(Service, "ms")
    slot = alias(GesdentSlot, "any_slot")
    start, end = bounds(search, member.c.time_zone)
    mapped = sa.and_(mappings.c.member_id == member.c.id, mappings.c.portal_service_id == portal_service.c.id)
    web = sa.exists().where(
        mapped, member_service.c.id == mappings.c.member_service_id, member_service.c.web_enabled.is_(True)
    )
    in_days = sa.and_(slot.c.instance_id == member.c.id, slot.c.starts_at >= start, slot.c.starts_at < end)
    codes = wanted(search)
    carried = sa.and_(
        codes.c.member_id == member.c.id,
        codes.c.portal_service_id == portal_service.c.id,
        contains(search.dialect, slot.c.treatment_codes, codes.c.code),
    )
    matching = sa.exists().where(in_days, carried)
    columns: list[Any] = [
        member.c.name,
        member.c.display_name,
        portal_service.c.code,
        sa.exists().where(mapped).label("mapped"),
        web.label("web"),
        health.c.last_success_at.is_not(None).label("synced"),
        sa.exists().where(in_days).label("any_slot"),
    ]
    stmt = (
        sa.select(*columns)
        .select_from(
            member.join(portal_service, portal_service.c.instance_id == search.portal_id).outerjoin(
                health, sa.and_(health.c.instance_id == member.c.id, health.c.stream == AVAILABILITY)
            )
        )
        # A pair without a web-enabled mapping is explained without reading its slots.
        .where(
            *members_of(search, member), portal_service.c.code.in_(search.services), ~sa.and_(web, matching)
        )
        .order_by(member.c.name, portal_service.c.code)
        .limit(limit + 1)
    )
    return [
        Unoffered(name, display, code, Facts(bool(m), bool(w), bool(s), bool(a), matching_slot=False))
        for name, display, code, m, w, s, a in (await session.execute(stmt)).all()
    ]


@dataclass(frozen=True, slots=True)
class HealthMoments:
    """When the portal's members' health next reads differently with no write: the first `fresh`
    row going stale, and the oldest success still within `max_staleness_minutes` (None: none)."""

    goes_stale: datetime | None
    oldest_success: datetime | None


async def health_moments(session: AsyncSession, search: Search) -> HealthMoments:
    """One statement over the availability health of the portal's members."""
    health, memberships = availability_health(), table_of(Membership)
    after = search.now - timedelta(minutes=search.max_staleness_minutes or 0)
    fresh = sa.and_(health.c.state == "fresh", health.c.stale_at > search.now)
    stmt = (
        sa.select(
            sa.func.min(sa.case((fresh, health.c.stale_at))),
            sa.func.min(sa.case((health.c.last_success_at > after, health.c.last_success_at))),
        )
        .join(memberships, memberships.c.member_id == health.c.instance_id)
        .where(memberships.c.portal_id == search.portal_id, health.c.stream == AVAILABILITY)
    )
    goes_stale, oldest = (await session.execute(stmt)).one()
    return HealthMoments(
        None if goes_stale is None else aware(goes_stale), None if oldest is None else aware(oldest)
    )
