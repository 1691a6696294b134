"""The state a manifest is planned against, in a fixed number of queries whatever the number of
members and services (one per table, never one per member)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import GesdentConnection, Instance, InstanceSetting, Mapping, Membership, Service, table_of
from app.domain.gesdent import FAMILIES
from app.domain.manifest_state import Communications, GesdentValues, InstanceState, ServiceValues, State
from app.domain.rules import PORTAL_SETTING

instances = table_of(Instance)
settings = table_of(InstanceSetting)
memberships = table_of(Membership)
services = table_of(Service)
mappings = table_of(Mapping)
gesdent = table_of(GesdentConnection)
_portal = instances.alias("portal_row")
_portal_setting = settings.alias("portal_setting_row")
_member_service = services.alias("member_service")
_portal_service = services.alias("portal_service")


async def load_state(session: AsyncSession, partner_id: str, portal: str, names: Collection[str]) -> State:
    """The partner's instances among `names` (the portal's included), whole; the names among them
    another partner holds; and the portal's members with their mapping counts."""
    wanted = sorted({portal, *names})
    found = await _instances(session, partner_id, wanted)
    ids = {state.id: state for state in found.values()}
    taken_rows = await session.execute(
        select(instances.c.name).where(instances.c.name.in_(wanted), instances.c.partner_id != partner_id)
    )
    if ids:
        await _fill(session, ids)
    members: dict[str, int] = {}
    if portal in found:
        member = instances.alias("member_row")
        count = (
            select(func.count())
            .select_from(mappings)
            .where(mappings.c.member_id == member.c.id)
            .scalar_subquery()
        )
        rows = await session.execute(
            select(member.c.name, count)
            .select_from(memberships.join(member, member.c.id == memberships.c.member_id))
            .where(memberships.c.portal_id == found[portal].id)
        )
        members = {row[0]: row[1] for row in rows.all()}
    return State(found, set(taken_rows.scalars()), members)


async def _instances(session: AsyncSession, partner_id: str, names: list[str]) -> dict[str, InstanceState]:
    rows = await session.execute(
        select(instances, _portal_setting.c.value.label("portal_setting"), _portal.c.name.label("member_of"))
        .select_from(
            instances.outerjoin(
                _portal_setting,
                and_(
                    _portal_setting.c.instance_id == instances.c.id, _portal_setting.c.key == PORTAL_SETTING
                ),
            )
            .outerjoin(memberships, memberships.c.member_id == instances.c.id)
            .outerjoin(_portal, _portal.c.id == memberships.c.portal_id)
        )
        .where(instances.c.partner_id == partner_id, instances.c.name.in_(names))
    )
    return {
        row.name: InstanceState(
            id=row.id,
            name=row.name,
            display_name=row.display_name,
            member_code=row.member_code,
            version=row.version,
            portal_setting=row.portal_setting,
            member_of=row.member_of,
            communications=Communications(row.comms_enabled, row.comms_sms, row.comms_voice, row.comms_email),
        )
        for row in rows.all()
    }


async def _fill(session: AsyncSession, by_id: dict[str, InstanceState]) -> None:
    """Settings, services, mappings and GESDENT rules of the instances, one query each."""
    ids = list(by_id)
    for row in await session.execute(
        select(settings.c.instance_id, settings.c.key, settings.c.value).where(
            settings.c.instance_id.in_(ids)
        )
    ):
        by_id[row.instance_id].settings[row.key] = row.value
    service_rows = await session.execute(
        select(services)
        .where(services.c.instance_id.in_(ids))
        .order_by(services.c.instance_id, services.c.code)
    )
    for row in service_rows:
        by_id[row.instance_id].services[row.code] = ServiceValues(
            row.code, row.name, row.duration_minutes, row.price, row.web_enabled
        )
    mapping_rows = await session.execute(
        select(mappings.c.member_id, _member_service.c.code, _portal_service.c.code.label("target"))
        .select_from(
            mappings.join(_member_service, _member_service.c.id == mappings.c.member_service_id).join(
                _portal_service, _portal_service.c.id == mappings.c.portal_service_id
            )
        )
        .where(mappings.c.member_id.in_(ids))
    )
    for row in mapping_rows:
        by_id[row.member_id].mappings[row.code] = row.target
    for row in await session.execute(select(gesdent).where(gesdent.c.instance_id.in_(ids))):
        by_id[row.instance_id].gesdent = GesdentValues(
            base_url=row.base_url,
            resource_ids=row.resource_ids,
            usernames={f: getattr(row, f"{f}_username") for f in FAMILIES},
            has_password={f: bool(getattr(row, f"{f}_password")) for f in FAMILIES},
            enabled=row.enabled,
            interval_minutes=row.interval_minutes,
            window_days=row.window_days,
            stale_after_minutes=row.stale_after_minutes,
            version=row.version,
        )


async def stored_passwords(session: AsyncSession, instance_ids: list[str]) -> dict[str, dict[str, str]]:
    """The encrypted passwords of these instances' rules, by instance id and family."""
    if not instance_ids:
        return {}
    rows = await session.execute(select(gesdent).where(gesdent.c.instance_id.in_(instance_ids)))
    return {row.instance_id: {f: getattr(row, f"{f}_password") for f in FAMILIES} for row in rows}


async def lock(session: AsyncSession, partner_id: str, names: Collection[str]) -> None:
    """Lock the partner's instances among `names` (SELECT … FOR UPDATE, in id order): an apply takes
    turns with every write that locks the portal or a member."""
    await session.execute(
        select(instances.c.id)
        .where(instances.c.partner_id == partner_id, instances.c.name.in_(sorted(names)))
        .order_by(instances.c.id)
        .with_for_update()
    )
