"""Queries on mappings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.db.models import Instance, Mapping, Membership, Service
from app.db.repositories.pages import PageRequest, fetch_page

_MemberService = aliased(Service, name="member_service")
_PortalService = aliased(Service, name="portal_service")


@dataclass(frozen=True, slots=True)
class MappingRow:
    """A mapping, with the codes and names of its member service and of its portal service."""

    mapping: Mapping
    member_code: str
    member_name: str
    portal_code: str
    portal_name: str


def _for_member(member_id: str) -> Select[Mapping, str, str, str, str]:
    """Rows of (Mapping, member service code and name, portal service code and name)."""
    return (
        select(
            Mapping,
            col(_MemberService.code).label("member_code"),
            col(_MemberService.name).label("member_name"),
            col(_PortalService.code).label("portal_code"),
            col(_PortalService.name).label("portal_name"),
        )
        .join(_MemberService, col(_MemberService.id) == Mapping.member_service_id)
        .join(_PortalService, col(_PortalService.id) == Mapping.portal_service_id)
        .where(col(Mapping.member_id) == member_id)
    )


async def list_page(
    session: AsyncSession, member_id: str, page: PageRequest
) -> tuple[list[MappingRow], str | None]:
    """The member's mappings, by member service code."""
    return await fetch_page(
        session,
        _for_member(member_id),
        [col(_MemberService.code)],
        page,
        item=lambda row: MappingRow(*row),
        key_of=lambda mapping: [mapping.member_code],
    )


async def for_member(session: AsyncSession, member_id: str) -> list[MappingRow]:
    rows = await session.execute(_for_member(member_id).order_by(col(_MemberService.code)))
    return [MappingRow(*row) for row in rows.all()]


async def one(session: AsyncSession, member_id: str, member_code: str) -> MappingRow | None:
    stmt = _for_member(member_id).where(col(_MemberService.code) == member_code)
    row = (await session.execute(stmt)).first()
    return None if row is None else MappingRow(*row)


async def services_by_code(
    session: AsyncSession, instance_id: str, codes: set[str] | None = None
) -> dict[str, Service]:
    stmt = select(Service).where(col(Service.instance_id) == instance_id)
    if codes is not None:
        stmt = stmt.where(col(Service.code).in_(sorted(codes)))
    return {s.code: s for s in (await session.execute(stmt)).scalars()}


async def get(session: AsyncSession, member_service_id: str) -> Mapping | None:
    return await session.get(Mapping, member_service_id)


async def count_for_member(session: AsyncSession, member_id: str) -> int:
    stmt = select(func.count()).where(col(Mapping.member_id) == member_id)
    return int((await session.execute(stmt)).scalar_one())


async def delete_for_member(session: AsyncSession, member_id: str) -> int:
    result = await session.execute(delete(Mapping).where(col(Mapping.member_id) == member_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def delete_for_portal(session: AsyncSession, portal_id: str) -> int:
    result = await session.execute(delete(Mapping).where(col(Mapping.portal_id) == portal_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def delete_ids(session: AsyncSession, member_service_ids: list[str]) -> None:
    if member_service_ids:
        await session.execute(delete(Mapping).where(col(Mapping.member_service_id).in_(member_service_ids)))


# Many members at once (a manifest writes the mappings of a whole chain): Core rows, no ORM objects.


async def members_named(session: AsyncSession, portal_id: str, names: list[str]) -> dict[str, str]:
    """Name → id of those of `names` that are members of the portal."""
    stmt = (
        select(col(Instance.name), col(Instance.id))
        .join(Membership, col(Membership.member_id) == Instance.id)
        .where(col(Membership.portal_id) == portal_id, col(Instance.name).in_(sorted(names)))
    )
    return {row[0]: row[1] for row in (await session.execute(stmt)).all()}


async def service_ids(session: AsyncSession, instance_ids: list[str]) -> dict[str, dict[str, str]]:
    """Instance id → its services' code → id, for each of `instance_ids`."""
    stmt = select(col(Service.instance_id), col(Service.code), col(Service.id)).where(
        col(Service.instance_id).in_(sorted(instance_ids))
    )
    found: dict[str, dict[str, str]] = {instance_id: {} for instance_id in instance_ids}
    for instance_id, code, service_id in (await session.execute(stmt)).all():
        found[instance_id][code] = service_id
    return found


async def targets_of(session: AsyncSession, member_ids: list[str]) -> dict[str, dict[str, str]]:
    """Member id → its mappings' member service id → portal service id."""
    stmt = select(
        col(Mapping.member_id), col(Mapping.member_service_id), col(Mapping.portal_service_id)
    ).where(col(Mapping.member_id).in_(sorted(member_ids)))
    found: dict[str, dict[str, str]] = {member_id: {} for member_id in member_ids}
    for member_id, member_service_id, portal_service_id in (await session.execute(stmt)).all():
        found[member_id][member_service_id] = portal_service_id
    return found


async def insert_rows(session: AsyncSession, rows: list[dict[str, str]]) -> None:
    if rows:
        await session.execute(insert(Mapping), rows)


async def retarget(session: AsyncSession, rows: list[dict[str, str]]) -> None:
    """Update mappings by primary key: each dict holds `member_service_id` and `portal_service_id`."""
    if rows:
        await session.execute(update(Mapping), rows)
