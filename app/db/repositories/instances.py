"""Queries on instances, their settings and their memberships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.db.models import Instance, InstanceSetting, Membership
from app.db.repositories import mappings
from app.db.repositories.pages import PageRequest, fetch_page
from app.db.repositories.text import contains
from app.domain.rules import PORTAL_SETTING, PORTAL_VALUE, InstanceFacts

_PortalSetting = aliased(InstanceSetting, name="portal_setting_row")
_Portal = aliased(Instance, name="portal_row")


@dataclass(frozen=True, slots=True)
class InstanceRow:
    """An instance with all its kind needs: its portalInstanceName, and the portal it is a member of."""

    instance: Instance
    portal_setting: str | None
    member_of: str | None


@dataclass(frozen=True, slots=True)
class PortalRow:
    instance: Instance
    member_count: int


@dataclass(frozen=True, slots=True)
class MemberRow:
    """A member of a portal, and when it joined."""

    instance: Instance
    joined_at: datetime


def _by_name(row: InstanceRow | PortalRow | MemberRow) -> list[str | int]:
    return [row.instance.name]


async def list_page(
    session: AsyncSession, partner_id: str, page: PageRequest, kind: str | None, q: str | None
) -> tuple[list[InstanceRow], str | None]:
    """The partner's instances by name, of one kind and matching `q` when given."""
    stmt = _filter(_with_kind(partner_id), kind, q)
    return await fetch_page(
        session, stmt, [col(Instance.name)], page, item=lambda row: InstanceRow(*row), key_of=_by_name
    )


def _with_kind(partner_id: str) -> Select[Instance, str | None, str | None]:
    """Rows of (Instance, portal_setting, member_of) for one partner: all a kind needs."""
    return (
        select(
            Instance,
            col(_PortalSetting.value).label("portal_setting"),
            col(_Portal.name).label("member_of"),
        )
        .outerjoin(
            _PortalSetting,
            and_(col(_PortalSetting.instance_id) == Instance.id, col(_PortalSetting.key) == PORTAL_SETTING),
        )
        .outerjoin(Membership, col(Membership.member_id) == Instance.id)
        .outerjoin(_Portal, col(_Portal.id) == Membership.portal_id)
        .where(col(Instance.partner_id) == partner_id)
    )


def _filter(
    stmt: Select[Instance, str | None, str | None], kind: str | None, q: str | None
) -> Select[Instance, str | None, str | None]:
    if kind == "portal":
        stmt = stmt.where(col(_PortalSetting.value) == PORTAL_VALUE)
    elif kind == "member":
        stmt = stmt.where(col(Membership.member_id).is_not(None))
    elif kind == "standalone":
        stmt = stmt.where(
            or_(col(_PortalSetting.value).is_(None), col(_PortalSetting.value) != PORTAL_VALUE),
            col(Membership.member_id).is_(None),
        )
    if q:
        stmt = stmt.where(contains(q, col(Instance.name), col(Instance.display_name)))
    return stmt


async def get_by_name(
    session: AsyncSession, partner_id: str, name: str, *, lock: bool = False
) -> Instance | None:
    stmt = select(Instance).where(col(Instance.partner_id) == partner_id, col(Instance.name) == name)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock_rows(session: AsyncSession, instance_ids: list[str]) -> None:
    """Lock instance rows in a fixed order (by id) so two requests never wait on each other."""
    await session.execute(
        select(col(Instance.id))
        .where(col(Instance.id).in_(sorted(instance_ids)))
        .order_by(col(Instance.id))
        .with_for_update()
    )


async def names_of(session: AsyncSession, partner_id: str, limit: int) -> list[str]:
    """Up to `limit` instance names of one partner (to suggest one after a typo)."""
    stmt = select(col(Instance.name)).where(col(Instance.partner_id) == partner_id).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def names_taken(session: AsyncSession, names: list[str]) -> list[str]:
    """Those of `names` that an instance has (whoever's), sorted."""
    stmt = select(col(Instance.name)).where(col(Instance.name).in_(names)).order_by(col(Instance.name))
    return list((await session.execute(stmt)).scalars())


async def facts_of(session: AsyncSession, instances: list[Instance]) -> list[InstanceFacts]:
    """The facts of each of `instances`, in their order, read in one query."""
    setting = (
        select(col(InstanceSetting.value))
        .where(col(InstanceSetting.instance_id) == Instance.id, col(InstanceSetting.key) == PORTAL_SETTING)
        .scalar_subquery()
    )
    member_of = (
        select(col(_Portal.name))
        .join(Membership, col(Membership.portal_id) == _Portal.id)
        .where(col(Membership.member_id) == Instance.id)
        .scalar_subquery()
    )
    members = select(func.count()).where(col(Membership.portal_id) == Instance.id).scalar_subquery()
    ids = [instance.id for instance in instances]
    stmt = select(col(Instance.id), setting, member_of, members).where(col(Instance.id).in_(ids))
    rows = {row[0]: row for row in (await session.execute(stmt)).all()}
    return [
        InstanceFacts(
            name=instance.name,
            portal_setting=rows[instance.id][1],
            communications_enabled=instance.comms_enabled,
            member_of=rows[instance.id][2],
            member_count=rows[instance.id][3],
        )
        for instance in instances
    ]


async def facts(session: AsyncSession, instance: Instance) -> InstanceFacts:
    """What the invariants need to know about `instance`, read in one query."""
    setting = (
        select(col(InstanceSetting.value))
        .where(col(InstanceSetting.instance_id) == instance.id, col(InstanceSetting.key) == PORTAL_SETTING)
        .scalar_subquery()
    )
    member_of = (
        select(col(_Portal.name))
        .join(Membership, col(Membership.portal_id) == _Portal.id)
        .where(col(Membership.member_id) == instance.id)
        .scalar_subquery()
    )
    members = select(func.count()).where(col(Membership.portal_id) == instance.id).scalar_subquery()
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
        select(col(InstanceSetting.key), col(InstanceSetting.value))
        .where(col(InstanceSetting.instance_id) == instance_id)
        .order_by(col(InstanceSetting.key))
    )
    return dict(rows.all())


async def put_setting(session: AsyncSession, instance_id: str, key: str, value: str) -> None:
    row = await session.get(InstanceSetting, (instance_id, key))
    if row is None:
        session.add(InstanceSetting(instance_id=instance_id, key=key, value=value))
    else:
        row.value = value
    await session.flush()


async def delete_setting(session: AsyncSession, instance_id: str, key: str) -> None:
    await session.execute(
        delete(InstanceSetting).where(
            col(InstanceSetting.instance_id) == instance_id, col(InstanceSetting.key) == key
        )
    )


# Memberships


def _members(portal_id: str) -> Select[Instance, datetime]:
    return (
        select(Instance, col(Membership.created_at).label("joined_at"))
        .join(Membership, col(Membership.member_id) == Instance.id)
        .where(col(Membership.portal_id) == portal_id)
    )


async def members_page(
    session: AsyncSession, portal_id: str, page: PageRequest
) -> tuple[list[MemberRow], str | None]:
    """The portal's members, by name."""
    stmt = _members(portal_id)
    return await fetch_page(
        session, stmt, [col(Instance.name)], page, item=lambda row: MemberRow(*row), key_of=_by_name
    )


async def get_member(session: AsyncSession, portal_id: str, member_name: str) -> MemberRow | None:
    row = (await session.execute(_members(portal_id).where(col(Instance.name) == member_name))).first()
    return None if row is None else MemberRow(*row)


async def member_names(session: AsyncSession, portal_id: str) -> list[str]:
    stmt = select(col(Instance.name)).join(Membership, col(Membership.member_id) == Instance.id)
    rows = await session.execute(
        stmt.where(col(Membership.portal_id) == portal_id).order_by(col(Instance.name))
    )
    return list(rows.scalars())


async def detach_all(session: AsyncSession, portal_id: str) -> tuple[list[str], int]:
    """Detach every member of a portal, with their mappings (the caller checked invariant 6).
    Returns the members detached, by name, and the number of mappings removed."""
    detached = await member_names(session, portal_id)
    removed = await mappings.delete_for_portal(session, portal_id)
    await session.execute(delete(Membership).where(col(Membership.portal_id) == portal_id))
    return detached, removed


async def detach_member(session: AsyncSession, member_id: str) -> None:
    await session.execute(delete(Membership).where(col(Membership.member_id) == member_id))


async def portals_page(
    session: AsyncSession, partner_id: str, page: PageRequest
) -> tuple[list[PortalRow], str | None]:
    """The partner's portals by name, with their member counts."""
    stmt = _portals(partner_id)
    return await fetch_page(
        session, stmt, [col(Instance.name)], page, item=lambda row: PortalRow(*row), key_of=_by_name
    )


def _portals(partner_id: str) -> Select[Instance, int]:
    """Rows of (Instance, member_count) for the partner's portals."""
    counts = (
        select(col(Membership.portal_id), func.count().label("member_count"))
        .group_by(col(Membership.portal_id))
        .subquery()
    )
    return (
        select(Instance, func.coalesce(counts.c.member_count, 0).label("member_count"))
        .join(
            InstanceSetting,
            and_(
                col(InstanceSetting.instance_id) == Instance.id,
                col(InstanceSetting.key) == PORTAL_SETTING,
                col(InstanceSetting.value) == PORTAL_VALUE,
            ),
        )
        .outerjoin(counts, counts.c.portal_id == Instance.id)
        .where(col(Instance.partner_id) == partner_id)
    )
