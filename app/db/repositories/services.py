"""Queries on services and their mappings."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Exists,
    Select,
    SQLColumnExpression,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.db.models import Mapping, Service
from app.db.repositories.pages import PageRequest, fetch_page
from app.db.repositories.text import contains

_Target = aliased(Service, name="target")


@dataclass(frozen=True, slots=True)
class ServiceRow:
    """A service, and the code of the portal service it maps to (for a member's service)."""

    service: Service
    mapped_to: str | None


def _with_target(instance_id: str) -> Select[Service, str | None]:
    """Rows of (Service, mapped_to) for one instance; mapped_to is the portal service's code."""
    return (
        select(Service, col(_Target.code).label("mapped_to"))
        .outerjoin(Mapping, col(Mapping.member_service_id) == Service.id)
        .outerjoin(_Target, col(_Target.id) == Mapping.portal_service_id)
        .where(col(Service.instance_id) == instance_id)
    )


def _is_mapped(service_id: SQLColumnExpression[str]) -> Exists:
    """True when a mapping starts (member service) or ends (portal service) at the service."""
    other = aliased(Mapping)  # not the Mapping that the listing query already joins
    return exists().where(
        or_(col(other.member_service_id) == service_id, col(other.portal_service_id) == service_id)
    )


@dataclass(frozen=True)
class ServiceFilter:
    """What a list of services is narrowed to: a text in the code or name, bookable online or not,
    part of a mapping or not. None leaves a criterion out."""

    q: str | None = None
    web_enabled: bool | None = None
    mapped: bool | None = None


async def list_page(
    session: AsyncSession, instance_id: str, page: PageRequest, where: ServiceFilter
) -> tuple[list[ServiceRow], str | None]:
    """The instance's services by code, narrowed by `where`."""
    stmt = _with_target(instance_id)
    if where.q:
        stmt = stmt.where(contains(where.q, col(Service.code), col(Service.name)))
    if where.web_enabled is not None:
        stmt = stmt.where(col(Service.web_enabled) == where.web_enabled)
    if where.mapped is not None:
        mapped = _is_mapped(col(Service.id))
        stmt = stmt.where(mapped if where.mapped else ~mapped)
    return await fetch_page(
        session,
        stmt,
        [col(Service.code)],
        page,
        item=lambda row: ServiceRow(*row),
        key_of=lambda row: [row.service.code],
    )


async def get(session: AsyncSession, instance_id: str, code: str) -> ServiceRow | None:
    row = (await session.execute(_with_target(instance_id).where(col(Service.code) == code))).first()
    return None if row is None else ServiceRow(*row)


async def all_of(session: AsyncSession, instance_id: str) -> list[Service]:
    rows = await session.execute(
        select(Service).where(col(Service.instance_id) == instance_id).order_by(col(Service.code))
    )
    return list(rows.scalars())


async def code_exists(session: AsyncSession, instance_id: str, code: str) -> bool:
    stmt = select(col(Service.id)).where(col(Service.instance_id) == instance_id, col(Service.code) == code)
    return (await session.execute(stmt)).first() is not None


async def mappings_touching(session: AsyncSession, service_ids: list[str]) -> dict[str, int]:
    """Service id → how many mappings start or end at it, for those of `service_ids` that have any."""
    if not service_ids:
        return {}
    counts: dict[str, int] = {}
    for column in (col(Mapping.member_service_id), col(Mapping.portal_service_id)):
        stmt = select(column, func.count()).where(column.in_(service_ids)).group_by(column)
        for service_id, count in (await session.execute(stmt)).all():
            counts[service_id] = counts.get(service_id, 0) + count
    return counts


async def delete_mappings_touching(session: AsyncSession, service_ids: list[str]) -> int:
    if not service_ids:
        return 0
    result = await session.execute(
        delete(Mapping).where(
            or_(
                col(Mapping.member_service_id).in_(service_ids),
                col(Mapping.portal_service_id).in_(service_ids),
            )
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def delete_services(session: AsyncSession, service_ids: list[str]) -> None:
    if service_ids:
        await session.execute(delete(Service).where(col(Service.id).in_(service_ids)))


# What a service holds besides its code: what an import compares and a clone copies.
VALUE_FIELDS = ("name", "duration_minutes", "price", "web_enabled")


@dataclass(frozen=True, slots=True)
class ServiceValues:
    """A service's stored values, without an ORM object (the CSV import compares thousands)."""

    id: str
    code: str
    name: str
    duration_minutes: int
    price: Decimal | None
    web_enabled: bool
    version: int


async def values_of(
    session: AsyncSession, instance_ids: Collection[str], batch: int = 1000
) -> dict[str, list[ServiceValues]]:
    """The services of each of `instance_ids` (every one a key), in one query read in batches: the
    event loop serves other requests between two."""
    stmt = select(
        col(Service.instance_id),
        col(Service.id),
        col(Service.code),
        col(Service.name),
        col(Service.duration_minutes),
        col(Service.price),
        col(Service.web_enabled),
        col(Service.version),
    ).where(col(Service.instance_id).in_(sorted(instance_ids)))
    values: dict[str, list[ServiceValues]] = {instance_id: [] for instance_id in instance_ids}
    async for rows in (await session.stream(stmt)).partitions(batch):
        for row in rows:
            values[row[0]].append(ServiceValues(*row[1:]))
    return values


async def of_codes(session: AsyncSession, instance_id: str, codes: list[str]) -> list[Service]:
    if not codes:
        return []
    stmt = (
        select(Service)
        .where(col(Service.instance_id) == instance_id, col(Service.code).in_(codes))
        .order_by(col(Service.code))
    )
    return list((await session.execute(stmt)).scalars())


async def insert_values(session: AsyncSession, rows: list[dict[str, object]]) -> None:
    """Insert services given as column values, in one statement: no ORM object per row (building
    thousands of them is slow CPU work). Ids, versions and timestamps come from the column defaults."""
    if rows:
        await session.execute(insert(Service), rows)


async def update_values(session: AsyncSession, rows: list[dict[str, object]], now: datetime) -> None:
    """Update services by id (each dict holds `id`, the new values and the new `version`)."""
    if rows:
        await session.execute(update(Service), [{**row, "updated_at": now} for row in rows])


# A write of this many services makes the table's statistics stale enough to matter (below).
STATISTICS_AFTER_ROWS = 1000


async def after_bulk_write(session: AsyncSession, rows: int) -> None:
    """Refresh PostgreSQL's statistics of `services` after a write of many rows, in the same
    transaction (ANALYZE counts the rows the transaction itself wrote).

    The foreign key from a mapping to its portal service is checked at commit for every deleted
    service, by a plan each connection prepares once and keeps. Prepared while the table was small
    and never analyzed since, that plan looks the service up by its instance alone and reads every
    service of the instance for each one deleted: deleting an instance that had just imported 20,000
    services took 3.5 s instead of 0.1 s, and 6 minutes for 50,000. An ANALYZE invalidates the
    kept plans, and the next one knows the table's size. Autovacuum would, but only a minute later."""
    if rows >= STATISTICS_AFTER_ROWS and session.get_bind().dialect.name == "postgresql":
        await session.execute(text("ANALYZE services"))
