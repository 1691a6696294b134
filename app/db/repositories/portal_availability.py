"""Queries of the portal availability search, each one statement whatever the number of members.

A slot *offers* a portal service when it carries (among its space-separated treatment codes) the code
of one of the member's web-enabled services mapped to it. A member's days are the search's local days
in its own zone: the bounds are a CASE over the members' zone names (a handful per portal), so one
statement serves every zone. A member's earliest slot is a correlated `ORDER BY starts_at LIMIT 1` on
the index (instance_id, starts_at): it stops at the first slot that offers, per member."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import SQLModel

from app.db.engine import SQLITE_WRITE
from app.db.models import (
    GesdentSlot,
    Instance,
    Mapping,
    Membership,
    PortalSearchOrder,
    Service,
    SyncHealth,
    table_of,
)
from app.db.repositories.sync_health import aware, state_at
from app.domain.portal_availability import Span
from app.domain.sync_health import HealthState, as_state

AVAILABILITY = "availability"  # the stream whose health says how current the slots are


@functools.cache
def alias(model: type[SQLModel], name: str) -> Any:
    """The alias `name` of a model's table, made once: its columns are set up once, not for every
    statement (a tenth of a computed search's CPU went to that). Each name is used once a statement."""
    return table_of(model).alias(name)


@dataclass(frozen=True)
class Search:
    """What a search asks: portal services (codes), members (names or member codes; none: all), the
    span of days in each zone, and the oldest data it accepts (minutes; None: any)."""

    portal_id: str
    services: tuple[str, ...]
    spans: dict[str, Span]
    dialect: str
    now: datetime
    member_names: tuple[str, ...] = ()
    member_codes: tuple[str, ...] = ()
    max_staleness_minutes: int | None = None
    slots_per_member: int = 50


@dataclass(frozen=True, slots=True)
class Ranked:
    """A member with a slot that offers one of the asked services: its earliest, and its health."""

    member_id: str
    name: str
    display_name: str
    member_code: str | None
    time_zone: str
    earliest: datetime
    state: HealthState
    fetched_at: datetime | None  # the last complete availability fetch


async def zones(session: AsyncSession, portal_id: str) -> list[str]:
    """The zone names of the portal's members."""
    instances = table_of(Instance)
    stmt = (
        sa.select(instances.c.time_zone)
        .join(table_of(Membership), table_of(Membership).c.member_id == instances.c.id)
        .where(table_of(Membership).c.portal_id == portal_id)
        .distinct()
    )
    return sorted((await session.execute(stmt)).scalars())


def contains(dialect: str, codes: Any, code: Any) -> sa.ColumnElement[bool]:
    """Whether the space-separated `codes` hold `code` whole: a plain substring test of padded text
    (not LIKE, whose `_` would be a wildcard in codes such as A_1)."""
    padded, wanted = sa.literal(" ") + codes + sa.literal(" "), sa.literal(" ") + code + sa.literal(" ")
    if dialect == "postgresql":
        return sa.func.strpos(padded, wanted) > 0
    return sa.func.instr(padded, wanted) > 0


def wanted(search: Search) -> Any:
    """The codes a member's slots are matched on: per member, each web-enabled service mapped to an
    asked portal service (every one of the portal's when the search names none), with that portal
    service's id. A member service maps to one portal service at most, so a (member, code) is one row."""
    mappings, member_service = table_of(Mapping), alias(Service, "member_service")
    stmt = (
        sa.select(mappings.c.member_id, mappings.c.portal_service_id, member_service.c.code)
        .join(member_service, member_service.c.id == mappings.c.member_service_id)
        .where(mappings.c.portal_id == search.portal_id, member_service.c.web_enabled.is_(True))
    )
    if search.services:
        services = table_of(Service)
        asked = sa.select(services.c.id).where(
            services.c.instance_id == search.portal_id, services.c.code.in_(search.services)
        )
        stmt = stmt.where(mappings.c.portal_service_id.in_(asked))
    return stmt.subquery("wanted")


def bounds(search: Search, time_zone: Any) -> tuple[Any, Any]:
    """The start and end of a member's days, by its zone (`time_zone`, a column)."""
    kind = sa.DateTime(timezone=True)
    if len(search.spans) == 1:
        (span,) = search.spans.values()
        return sa.literal(span.start, kind), sa.literal(span.end, kind)
    starts = [(time_zone == name, sa.literal(s.start, kind)) for name, s in search.spans.items()]
    ends = [(time_zone == name, sa.literal(s.end, kind)) for name, s in search.spans.items()]
    return sa.case(*starts), sa.case(*ends)


def firsts(search: Search, among: Any = None) -> Any:
    """Per wanted row (member, portal service, code) of the members the search names (and among these
    ids, when given): the member's first slot in its days that carries the code,
    null when none does. A correlated `ORDER BY starts_at LIMIT 1` on (instance_id, starts_at) that
    stops at the first slot carrying the code."""
    codes, member = wanted(search), alias(Instance, "member")
    slot = alias(GesdentSlot, "first_slot")
    start, end = bounds(search, member.c.time_zone)
    first = (
        sa.select(slot.c.starts_at)
        .where(
            slot.c.instance_id == codes.c.member_id,
            slot.c.starts_at >= start,
            slot.c.starts_at < end,
            contains(search.dialect, slot.c.treatment_codes, codes.c.code),
        )
        .order_by(slot.c.starts_at)
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        sa.select(codes.c.member_id, codes.c.portal_service_id, first.label("earliest"))
        .select_from(codes.join(member, member.c.id == codes.c.member_id))
        .where(*members_of(search, member))
    )
    if among is not None:
        stmt = stmt.where(codes.c.member_id.in_(among))
    # OFFSET 0 keeps PostgreSQL from pulling the subquery up, which could run `first` twice a row.
    return stmt.offset(0).subquery("firsts")


def availability_health() -> Any:
    return alias(SyncHealth, "availability_health")


def members_of(search: Search, member: Any) -> list[sa.ColumnElement[bool]]:
    """The portal's members the search names (all when it names none)."""
    memberships = table_of(Membership)
    conditions: list[sa.ColumnElement[bool]] = [
        member.c.id.in_(sa.select(memberships.c.member_id).where(memberships.c.portal_id == search.portal_id))
    ]
    named = []
    if search.member_names:
        named.append(member.c.name.in_(search.member_names))
    if search.member_codes:
        named.append(member.c.member_code.in_(search.member_codes))
    if named:
        conditions.append(sa.or_(*named))
    return conditions


def recent_enough(search: Search, state: Any, fetched_at: Any) -> list[sa.ColumnElement[bool]]:
    """With `max_staleness_minutes`: data fetched within it, from a stream that is not failing."""
    if search.max_staleness_minutes is None:
        return []
    oldest = search.now - timedelta(minutes=search.max_staleness_minutes)
    return [fetched_at >= oldest, state != "failing"]


def _ranking(search: Search, among: Any = None) -> Any:
    """Members with their earliest slot that offers an asked service (null: none) and their health."""
    first, health = firsts(search, among), availability_health()
    per_member = (
        sa.select(first.c.member_id, sa.func.min(first.c.earliest).label("earliest"))
        .group_by(first.c.member_id)
        .subquery("per_member")
    )
    member = alias(Instance, "ranked_member")
    stmt = sa.select(
        member.c.id,
        member.c.name,
        member.c.display_name,
        member.c.member_code,
        member.c.time_zone,
        per_member.c.earliest,
        state_at(search.now, health).label("state"),
        health.c.last_success_at.label("fetched_at"),
    ).select_from(
        per_member.join(member, member.c.id == per_member.c.member_id).outerjoin(
            health, sa.and_(health.c.instance_id == member.c.id, health.c.stream == AVAILABILITY)
        )
    )
    return stmt.subquery("ranking")


def _ranked(row: sa.Row[Any]) -> Ranked:
    *_, member_id, name, display_name, member_code, time_zone, first, state, fetched_at = tuple(row)
    fetched = None if fetched_at is None else aware(fetched_at)
    return Ranked(
        member_id, name, display_name, member_code, time_zone, aware(first), as_state(state), fetched
    )


async def ranked(session: AsyncSession, search: Search) -> list[Ranked]:
    """Every member that offers one of the asked services, by earliest slot then name."""
    ranking = _ranking(search)
    stmt = (
        sa.select(ranking)
        .where(ranking.c.earliest.is_not(None), *recent_enough(search, ranking.c.state, ranking.c.fetched_at))
        .order_by(ranking.c.earliest, ranking.c.name)
    )
    return [_ranked(row) for row in (await session.execute(stmt)).all()]


async def ranked_among(session: AsyncSession, search: Search, member_ids: Sequence[str]) -> dict[str, Ranked]:
    """These members, by id, those of them that offer an asked service (and are recent enough)."""
    if not member_ids:
        return {}
    ranking = _ranking(search, among=list(member_ids))
    stmt = sa.select(ranking).where(
        ranking.c.earliest.is_not(None), *recent_enough(search, ranking.c.state, ranking.c.fetched_at)
    )
    return {row[0]: _ranked(row) for row in (await session.execute(stmt)).all()}


async def kept_order(session: AsyncSession, search_id: str) -> list[str] | None:
    """The member ids of a kept order, first ranked first; None once it expired."""
    orders = table_of(PortalSearchOrder)
    found = await session.execute(sa.select(orders.c.member_ids).where(orders.c.search_id == search_id))
    ids = found.scalar_one_or_none()
    return None if ids is None else ids.split()


async def keep_order(
    engine: AsyncEngine, search_id: str, member_ids: Sequence[str], now: datetime, lifetime: timedelta
) -> None:
    """Keep a search's order for its next pages, in a transaction of its own: a search is a read,
    and on SQLite its request takes no write lock. Orders older than `lifetime` go in the same
    transaction (a range of the index on created_at)."""
    orders = table_of(PortalSearchOrder)
    row = {"search_id": search_id, "member_ids": " ".join(member_ids), "created_at": now}
    async with engine.connect() as opened:
        connection = await opened.execution_options(**{SQLITE_WRITE: True})
        async with connection.begin():
            await connection.execute(orders.delete().where(orders.c.created_at < now - lifetime))
            await connection.execute(orders.insert(), [row])
