"""Queries on mappings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.db.models import Mapping, Service

MemberService = aliased(Service, name="member_service")
PortalService = aliased(Service, name="portal_service")


def select_for_member(member_id: str) -> Select[Mapping, str, str, str, str]:
    """Rows of (Mapping, member service code and name, portal service code and name)."""
    return (
        select(
            Mapping,
            col(MemberService.code).label("member_code"),
            col(MemberService.name).label("member_name"),
            col(PortalService.code).label("portal_code"),
            col(PortalService.name).label("portal_name"),
        )
        .join(MemberService, col(MemberService.id) == Mapping.member_service_id)
        .join(PortalService, col(PortalService.id) == Mapping.portal_service_id)
        .where(col(Mapping.member_id) == member_id)
    )


async def for_member(session: AsyncSession, member_id: str) -> list[Any]:
    return list((await session.execute(select_for_member(member_id).order_by(col(MemberService.code)))).all())


async def one(session: AsyncSession, member_id: str, member_code: str) -> Any | None:
    stmt = select_for_member(member_id).where(col(MemberService.code) == member_code)
    return (await session.execute(stmt)).first()


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
