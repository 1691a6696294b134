"""Queries on instances, their settings and their memberships."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.models import Instance, InstanceSetting, Membership
from app.db.repositories.text import contains
from app.domain.rules import PORTAL_SETTING, PORTAL_VALUE, InstanceFacts

_PortalSetting = aliased(InstanceSetting, name="portal_setting_row")
_Portal = aliased(Instance, name="portal_row")


def select_with_kind(partner_id: str) -> Select[Any]:
    """Rows of (Instance, portal_setting, member_of) for one partner: all a kind needs."""
    return (
        select(Instance, _PortalSetting.value.label("portal_setting"), _Portal.name.label("member_of"))
        .outerjoin(
            _PortalSetting,
            and_(_PortalSetting.instance_id == Instance.id, _PortalSetting.key == PORTAL_SETTING),
        )
        .outerjoin(Membership, Membership.member_id == Instance.id)
        .outerjoin(_Portal, _Portal.id == Membership.portal_id)
        .where(Instance.partner_id == partner_id)
    )


def filter_list(stmt: Select[Any], kind: str | None, q: str | None) -> Select[Any]:
    if kind == "portal":
        stmt = stmt.where(_PortalSetting.value == PORTAL_VALUE)
    elif kind == "member":
        stmt = stmt.where(Membership.member_id.is_not(None))
    elif kind == "standalone":
        stmt = stmt.where(
            or_(_PortalSetting.value.is_(None), _PortalSetting.value != PORTAL_VALUE),
            Membership.member_id.is_(None),
        )
    if q:
        stmt = stmt.where(contains(q, Instance.name, Instance.display_name))
    return stmt


async def get_by_name(
    session: AsyncSession, partner_id: str, name: str, *, lock: bool = False
) -> Instance | None:
    stmt = select(Instance).where(Instance.partner_id == partner_id, Instance.name == name)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock_rows(session: AsyncSession, instance_ids: list[str]) -> None:
    """Lock instance rows in a fixed order (by id) so two requests never wait on each other."""
    await session.execute(
        select(Instance.id)
        .where(Instance.id.in_(sorted(instance_ids)))
        .order_by(Instance.id)
        .with_for_update()
    )


async def name_exists(session: AsyncSession, name: str) -> bool:
    return (await session.execute(select(Instance.id).where(Instance.name == name))).first() is not None


async def facts(session: AsyncSession, instance: Instance) -> InstanceFacts:
    """What the invariants need to know about `instance`, read in one query."""
    setting = (
        select(InstanceSetting.value)
        .where(InstanceSetting.instance_id == instance.id, InstanceSetting.key == PORTAL_SETTING)
        .scalar_subquery()
    )
    member_of = (
        select(_Portal.name)
        .join(Membership, Membership.portal_id == _Portal.id)
        .where(Membership.member_id == instance.id)
        .scalar_subquery()
    )
    members = select(func.count()).where(Membership.portal_id == instance.id).scalar_subquery()
    row = (await session.execute(select(setting, member_of, members))).one()
    return InstanceFacts(
        name=instance.name,
        portal_setting=row[0],
        communications_enabled=instance.comms_enabled,
        member_of=row[1],
        member_count=row[2],
    )


# Settings


async def settings_of(session: AsyncSession, instance_id: str) -> dict[str, str]:
    rows = await session.execute(
        select(InstanceSetting.key, InstanceSetting.value)
        .where(InstanceSetting.instance_id == instance_id)
        .order_by(InstanceSetting.key)
    )
    return {key: value for key, value in rows.all()}


async def put_setting(session: AsyncSession, instance_id: str, key: str, value: str) -> None:
    row = await session.get(InstanceSetting, (instance_id, key))
    if row is None:
        session.add(InstanceSetting(instance_id=instance_id, key=key, value=value))
    else:
        row.value = value
    await session.flush()


async def delete_setting(session: AsyncSession, instance_id: str, key: str) -> None:
    await session.execute(
        delete(InstanceSetting).where(InstanceSetting.instance_id == instance_id, InstanceSetting.key == key)
    )


# Memberships


def select_members(portal_id: str) -> Select[Any]:
    return (
        select(Instance, Membership.created_at.label("joined_at"))
        .join(Membership, Membership.member_id == Instance.id)
        .where(Membership.portal_id == portal_id)
    )


async def get_member(session: AsyncSession, portal_id: str, member_name: str) -> Any | None:
    stmt = select_members(portal_id).where(Instance.name == member_name)
    return (await session.execute(stmt)).first()


async def member_names(session: AsyncSession, portal_id: str) -> list[str]:
    stmt = select(Instance.name).join(Membership, Membership.member_id == Instance.id)
    rows = await session.execute(stmt.where(Membership.portal_id == portal_id).order_by(Instance.name))
    return list(rows.scalars())


async def detach_members(session: AsyncSession, portal_id: str) -> None:
    await session.execute(delete(Membership).where(Membership.portal_id == portal_id))


async def detach_member(session: AsyncSession, member_id: str) -> None:
    await session.execute(delete(Membership).where(Membership.member_id == member_id))


def select_portals(partner_id: str) -> Select[Any]:
    """Rows of (Instance, member_count) for the partner's portals."""
    counts = (
        select(Membership.portal_id, func.count().label("member_count"))
        .group_by(Membership.portal_id)
        .subquery()
    )
    return (
        select(Instance, func.coalesce(counts.c.member_count, 0).label("member_count"))
        .join(
            InstanceSetting,
            and_(
                InstanceSetting.instance_id == Instance.id,
                InstanceSetting.key == PORTAL_SETTING,
                InstanceSetting.value == PORTAL_VALUE,
            ),
        )
        .outerjoin(counts, counts.c.portal_id == Instance.id)
        .where(Instance.partner_id == partner_id)
    )
