"""Clone an instance from a model, optionally straight into the model's portal. One transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.models import GesdentConnection, Instance, Mapping, Service, utcnow
from app.db.repositories import gesdent as gesdent_repo
from app.db.repositories import instances as repo
from app.db.repositories import mappings as mappings_repo
from app.db.repositories import services as services_repo
from app.domain import gesdent as gesdent_rules
from app.domain import rules
from app.domain.conflicts import SourceNotMember
from app.events.sources import health_changed
from app.schemas.clone import CloneInclude, CloneRequest
from app.schemas.instances import InstanceCreate
from app.services import instances, members
from app.sync import health

_SERVICE_FIELDS = ("code", *services_repo.VALUE_FIELDS)


@dataclass(frozen=True)
class Cloned:
    instance: Instance
    facts: rules.InstanceFacts
    settings: list[str]
    communications: bool
    services: int
    mappings: int
    portal: str | None
    gesdent: bool
    gesdent_credentials: bool


async def clone(session: AsyncSession, principal: Principal, source: Instance, data: CloneRequest) -> Cloned:
    """Clone `source` (the caller's, loaded by the route) as `data` asks."""
    source_facts = await repo.facts(session, source)
    if data.join_portal and source_facts.member_of is None:
        raise SourceNotMember(f"{source.name} is not a member of a portal; join_portal needs one.")
    include = set(data.include)
    if CloneInclude.gesdent_credentials in include:
        include.add(CloneInclude.gesdent)
    display_name = data.display_name or source.display_name
    new = await instances.create(
        session,
        principal,
        InstanceCreate(
            name=data.name, display_name=display_name, member_code=data.member_code, time_zone=data.time_zone
        ),
        default_time_zone=source.time_zone,  # a clinic cloned from a model is where the model is
        cloned_from=source.name,
    )
    settings = await _copy_settings(session, source, new) if CloneInclude.settings in include else []
    if CloneInclude.communications in include:
        new.comms_enabled, new.comms_sms = source.comms_enabled, source.comms_sms
        new.comms_voice, new.comms_email = source.comms_voice, source.comms_email
    copies: dict[str, Service] = {}
    if CloneInclude.services in include:
        copies = {s.code: s for s in await _copy_services(session, source, new)}
    await session.flush()
    await services_repo.after_bulk_write(session, len(copies))
    gesdent = CloneInclude.gesdent in include and await _copy_gesdent(
        session, source, new, with_credentials=CloneInclude.gesdent_credentials in include
    )
    mapping_count = 0
    if data.join_portal:
        assert source_facts.member_of is not None
        portal = await instances.require(session, principal, source_facts.member_of)
        await members.add(session, portal, new)
        mapping_count = await _copy_mappings(session, source, new, copies)
    return Cloned(
        instance=new,
        facts=await repo.facts(session, new),
        settings=settings,
        communications=CloneInclude.communications in include,
        services=len(copies),
        mappings=mapping_count,
        portal=source_facts.member_of if data.join_portal else None,
        gesdent=gesdent,
        gesdent_credentials=gesdent and CloneInclude.gesdent_credentials in include,
    )


async def _copy_gesdent(
    session: AsyncSession, source: Instance, new: Instance, *, with_credentials: bool
) -> bool:
    """The model's connection rules, minus what belongs to one centre: resource IDs (and, unless asked,
    passwords). Disabled until a PUT completes them, which also issues its webhook secret."""
    rules = await gesdent_repo.get(session, source.id)
    if rules is None:
        return False
    session.add(
        copy := GesdentConnection(
            instance_id=new.id,
            base_url=rules.base_url,
            resource_ids="",
            users_username=rules.users_username,
            users_password=rules.users_password if with_credentials else "",
            reservations_username=rules.reservations_username,
            reservations_password=rules.reservations_password if with_credentials else "",
            availability_username=rules.availability_username,
            availability_password=rules.availability_password if with_credentials else "",
            webhook_secret="",  # issued, and shown once, by the PUT that completes the rules
            enabled=False,
            interval_minutes=rules.interval_minutes,
            window_days=rules.window_days,
            schedule_phase=gesdent_rules.schedule_phase(new.id),
            stale_after_minutes=rules.stale_after_minutes,
        )
    )
    # `disabled`, like the rules, and said so.
    await health_changed(session, await health.rules_changed(session, new.id, copy, utcnow()))
    return True


async def _copy_settings(session: AsyncSession, source: Instance, new: Instance) -> list[str]:
    copied = []
    for key, value in (await repo.settings_of(session, source.id)).items():
        if key != rules.PORTAL_SETTING:  # a clone is never born a portal
            await repo.put_setting(session, new.id, key, value)
            copied.append(key)
    return copied


async def _copy_services(session: AsyncSession, source: Instance, new: Instance) -> list[Service]:
    originals = await mappings_repo.services_by_code(session, source.id)
    copies = [
        Service(instance_id=new.id, **{field: getattr(s, field) for field in _SERVICE_FIELDS})
        for s in originals.values()
    ]
    session.add_all(copies)
    return copies


async def _copy_mappings(
    session: AsyncSession, source: Instance, new: Instance, copies: dict[str, Service]
) -> int:
    """The source's mappings, by member service code, onto the clone's copies of those services."""
    count = 0
    for row in await mappings_repo.for_member(session, source.id):
        copy = copies.get(row.member_code)
        if copy is not None:
            session.add(
                Mapping(
                    member_service_id=copy.id,
                    portal_service_id=row.mapping.portal_service_id,
                    member_id=new.id,
                    portal_id=row.mapping.portal_id,
                )
            )
            count += 1
    await session.flush()
    return count
