"""The summary report of a portal: three aggregate queries, whatever the number of members."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Instance, Mapping, Membership, Service


async def member_counts(session: AsyncSession, portal_id: str) -> list[Any]:
    """Per member, by name: name, display_name, member_code, services, mapped."""
    stmt = (
        select(
            Instance.name,
            Instance.display_name,
            Instance.member_code,
            func.count(Service.id).label("services"),
            func.count(Mapping.member_service_id).label("mapped"),
        )
        .join(Membership, Membership.member_id == Instance.id)
        .outerjoin(Service, Service.instance_id == Instance.id)
        .outerjoin(Mapping, Mapping.member_service_id == Service.id)
        .where(Membership.portal_id == portal_id)
        .group_by(Instance.id, Instance.name, Instance.display_name, Instance.member_code)
        .order_by(Instance.name)
    )
    return list((await session.execute(stmt)).all())


async def unmapped_member_services(session: AsyncSession, portal_id: str) -> list[Any]:
    """(member name, code, web_enabled) of every member service that maps nowhere."""
    stmt = (
        select(Instance.name, Service.code, Service.web_enabled)
        .join(Membership, Membership.member_id == Instance.id)
        .join(Service, Service.instance_id == Instance.id)
        .where(Membership.portal_id == portal_id, ~exists().where(Mapping.member_service_id == Service.id))
        .order_by(Instance.name, Service.code)
    )
    return list((await session.execute(stmt)).all())


async def unused_portal_services(session: AsyncSession, portal_id: str) -> list[str]:
    """Codes of the portal's services that no member maps to."""
    stmt = (
        select(Service.code)
        .where(Service.instance_id == portal_id, ~exists().where(Mapping.portal_service_id == Service.id))
        .order_by(Service.code)
    )
    return list((await session.execute(stmt)).scalars())


async def portal_service_count(session: AsyncSession, portal_id: str) -> int:
    stmt = select(func.count()).select_from(Service).where(Service.instance_id == portal_id)
    return int((await session.execute(stmt)).scalar_one())
