"""Queries on the data the sync keeps from GESDENT."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import (
    GesdentPatient,
    GesdentReservation,
    GesdentResource,
    GesdentSlot,
)
from app.db.repositories.pages import PageRequest, entity, fetch_page

T = TypeVar("T")


async def resources_page(
    session: AsyncSession, instance_id: str, page: PageRequest
) -> tuple[list[GesdentResource], str | None]:
    return await _by_gesdent_id(session, GesdentResource, instance_id, page)


async def patients_page(
    session: AsyncSession, instance_id: str, page: PageRequest
) -> tuple[list[GesdentPatient], str | None]:
    return await _by_gesdent_id(session, GesdentPatient, instance_id, page)


Record = TypeVar("Record", GesdentResource, GesdentPatient)


async def _by_gesdent_id(
    session: AsyncSession, table: type[Record], instance_id: str, page: PageRequest
) -> tuple[list[Record], str | None]:
    stmt = select(table).where(col(table.instance_id) == instance_id)
    key = col(table.gesdent_id)
    return await fetch_page(session, stmt, [key], page, item=entity(table), key_of=lambda r: [r.gesdent_id])


@dataclass(frozen=True)
class Filters:
    """What the reservations and the availability are narrowed to: a resource and a span of time
    (starting in [start, end)). None leaves a criterion out."""

    resource: str | None = None
    start: datetime | None = None
    end: datetime | None = None


async def reservations_page(
    session: AsyncSession, instance_id: str, page: PageRequest, where: Filters, status: str | None
) -> tuple[list[GesdentReservation], str | None]:
    """Reservations by start, narrowed by `where` and to one status when given."""
    table = GesdentReservation
    stmt = _narrowed(select(table), table, instance_id, where)
    if status:
        stmt = stmt.where(col(table.status) == status)
    keys = [col(table.starts_at), col(table.gesdent_id)]
    return await fetch_page(
        session,
        stmt,
        keys,
        page,
        item=entity(GesdentReservation),
        key_of=lambda r: [r.starts_at.isoformat(), r.gesdent_id],
        parse_cursor=_moment_then_key,
    )


async def slots_page(
    session: AsyncSession, instance_id: str, page: PageRequest, where: Filters
) -> tuple[list[GesdentSlot], str | None]:
    """Free slots by start, narrowed by `where`."""
    stmt = _narrowed(select(GesdentSlot), GesdentSlot, instance_id, where)
    keys = [col(GesdentSlot.starts_at), col(GesdentSlot.resource_id)]
    return await fetch_page(
        session,
        stmt,
        keys,
        page,
        item=entity(GesdentSlot),
        key_of=lambda s: [s.starts_at.isoformat(), s.resource_id],
        parse_cursor=_moment_then_key,
    )


def _narrowed(
    stmt: Select[T], table: type[GesdentReservation] | type[GesdentSlot], instance_id: str, where: Filters
) -> Select[T]:
    stmt = stmt.where(col(table.instance_id) == instance_id)
    if where.resource:
        stmt = stmt.where(col(table.resource_id) == where.resource)
    if where.start is not None:
        stmt = stmt.where(col(table.starts_at) >= where.start)
    if where.end is not None:
        stmt = stmt.where(col(table.starts_at) < where.end)
    return stmt


def _moment_then_key(values: tuple[object, ...]) -> tuple[object, ...]:
    """Cursors carry the start as ISO text; the query compares it as a timestamp."""
    moment, key = values
    return datetime.fromisoformat(str(moment)), str(key)
