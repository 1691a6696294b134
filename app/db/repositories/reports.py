"""The summary report of a portal: a few aggregate queries, whatever the number of members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.db.models import Instance, Mapping, Membership, Service, SyncHealth, table_of
from app.db.repositories.sync_health import aware, state_at
from app.domain.sync_health import WHOLE, HealthState, as_state


@dataclass(frozen=True, slots=True)
class MemberSummary:
    id: str
    name: str
    display_name: str
    member_code: str | None


@dataclass(frozen=True, slots=True)
class UnmappedService:
    member_id: str
    code: str
    web_enabled: bool


async def members(session: AsyncSession, portal_id: str) -> list[MemberSummary]:
    """The portal's members, by name."""
    stmt = (
        select(col(Instance.id), col(Instance.name), col(Instance.display_name), col(Instance.member_code))
        .join(Membership, col(Membership.member_id) == Instance.id)
        .where(col(Membership.portal_id) == portal_id)
        .order_by(col(Instance.name))
    )
    return [MemberSummary(*row) for row in (await session.execute(stmt)).all()]


async def mapped_counts(session: AsyncSession, portal_id: str) -> dict[str, int]:
    """Member id → number of its services mapped to this portal (mappings carry both ids)."""
    stmt = (
        select(col(Mapping.member_id), func.count())
        .where(col(Mapping.portal_id) == portal_id)
        .group_by(col(Mapping.member_id))
    )
    return dict((await session.execute(stmt)).all())


async def unmapped_member_services(session: AsyncSession, portal_id: str) -> list[UnmappedService]:
    """Every member service that maps nowhere, by member and code.
    With the mapped counts these give each member's total: every service is mapped or not."""
    stmt = (
        select(col(Service.instance_id), col(Service.code), col(Service.web_enabled))
        .join(Membership, col(Membership.member_id) == Service.instance_id)
        .where(
            col(Membership.portal_id) == portal_id,
            ~exists().where(col(Mapping.member_service_id) == Service.id),
        )
        .order_by(col(Service.instance_id), col(Service.code))
    )
    return [UnmappedService(*row) for row in (await session.execute(stmt)).all()]


@dataclass(frozen=True)
class MemberSync:
    state: HealthState
    last_success_at: datetime | None  # the end of its last successful run


async def member_syncs(session: AsyncSession, portal_id: str, now: datetime) -> dict[str, MemberSync]:
    """Member id → its sync health state at `now` and the end of its last successful run, from its
    health record (one row per member: never a scan of its runs); members without one: none."""
    health = table_of(SyncHealth)
    stmt = (
        select(health.c.instance_id, state_at(now, health), health.c.last_success_at)
        .join(Membership, col(Membership.member_id) == health.c.instance_id)
        .where(col(Membership.portal_id) == portal_id, health.c.stream == WHOLE)
    )
    return {
        member: MemberSync(as_state(state), None if success is None else aware(success))
        for member, state, success in (await session.execute(stmt)).all()
    }


async def unused_portal_services(session: AsyncSession, portal_id: str) -> list[str]:
    """Codes of the portal's services that no member maps to."""
    stmt = (
        select(col(Service.code))
        .where(
            col(Service.instance_id) == portal_id,
            ~exists().where(col(Mapping.portal_service_id) == Service.id),
        )
        .order_by(col(Service.code))
    )
    return list((await session.execute(stmt)).scalars())


async def portal_service_count(session: AsyncSession, portal_id: str) -> int:
    stmt = select(func.count()).select_from(Service).where(col(Service.instance_id) == portal_id)
    return int((await session.execute(stmt)).scalar_one())


@dataclass(frozen=True)
class ServiceLine:
    """A member service as the report page shows it: the Web column and where it maps."""

    member: str  # name
    code: str
    name: str
    web_enabled: bool
    maps_to: str | None  # code of the portal service


_Target = aliased(Service, name="target")


async def service_lines(session: AsyncSession, portal_id: str, members: list[str]) -> list[ServiceLine]:
    """Every service of these members (by name) of the portal, with its mapping target, by code."""
    if not members:
        return []
    stmt = (
        select(
            col(Instance.name),
            col(Service.code),
            col(Service.name),
            col(Service.web_enabled),
            col(_Target.code),
        )
        .join(Instance, col(Instance.id) == Service.instance_id)
        .join(Membership, col(Membership.member_id) == Service.instance_id)
        .outerjoin(Mapping, col(Mapping.member_service_id) == Service.id)
        .outerjoin(_Target, col(_Target.id) == Mapping.portal_service_id)
        .where(col(Membership.portal_id) == portal_id, col(Instance.name).in_(members))
        .order_by(col(Instance.name), col(Service.code))
    )
    return [ServiceLine(*row) for row in (await session.execute(stmt)).all()]
