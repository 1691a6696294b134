"""Carry out a manifest's plan through the services the API uses, so that the same invariants hold
and every write is one the API could have made: instances, portals, members, settings,
communications, the services' CSV import, GESDENT rules and mappings. The caller holds the
transaction; a failure anywhere leaves nothing."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.models import Instance
from app.db.repositories import instances as instances_repo
from app.db.repositories import services as services_repo
from app.domain import services_csv
from app.domain.gesdent import FAMILIES
from app.domain.manifest_plans import InstanceWork, Plan
from app.domain.manifest_state import ServiceValues
from app.schemas.communications import CommunicationsPut
from app.schemas.gesdent import GesdentPut
from app.schemas.instances import InstanceCreate, InstanceUpdate
from app.services import communications, gesdent, instances, mappings, members, portals, services, settings
from app.services.gesdent import Safeguards
from app.services.portals import Portal
from app.services.services_csv import ImportOptions, import_many


async def execute(
    session: AsyncSession, principal: Principal, plan: Plan, guards: Safeguards, default_time_zone: str
) -> None:
    """Portal first (created, promoted, its settings and communications), then the members (detached
    by a prune, created or attached, their settings and rules), then the services of all, then the
    mappings, and last the services a prune deletes, once no mapping kept uses them."""
    assert plan.portal is not None
    work = plan.portal
    portal = (await _instances(session, principal, [work], default_time_zone))[work.name]
    if work.promote:
        await portals.promote(session, principal, portal.name)
    if work.settings:
        await settings.merge_patch(session, portal, work.settings, None)
    if work.communications is not None:
        c = work.communications
        put = CommunicationsPut(enabled=c.enabled, sms=c.sms, voice=c.voice, email=c.email)
        await communications.put(session, portal, put, None)
    the_portal = Portal(portal, await instances_repo.facts(session, portal))
    for name in plan.detach:
        await members.remove(session, await members.get(session, the_portal, name), cascade=True)
    loaded = await _instances(session, principal, plan.members, default_time_zone)
    joining = [loaded[m.name] for m in plan.members if m.attach]
    if joining:
        await members.add_many(session, portal, joining)
    patches = [(loaded[m.name], m.settings) for m in plan.members if m.settings]
    if patches:
        await settings.merge_patch_many(session, patches)
    for member in plan.members:
        if member.gesdent is not None:
            await gesdent.put(session, loaded[member.name], _rules(member), if_match=None, guards=guards)
    # The services of the whole chain in one import, its mappings in one set: the same checks as
    # one instance's, in the statements of one.
    await _import(session, [(portal, work), *((loaded[m.name], m) for m in plan.members)])
    sets = {m.name: m.mappings for m in plan.members if m.mappings is not None}
    if sets:
        await mappings.replace_sets(session, the_portal, sets)
    for member in plan.members:
        await _delete_services(session, loaded[member.name], member.delete_services)
    await _delete_services(session, portal, work.delete_services)


async def _instances(
    session: AsyncSession, principal: Principal, works: list[InstanceWork], default_time_zone: str
) -> dict[str, Instance]:
    """The instances by name: those the plan creates, created together (each in its model's time
    zone, as a clone is; the model may be one of them), the others loaded and updated."""
    found: dict[str, Instance] = {}
    new: list[instances.NewInstance] = []
    zones: dict[str, str] = {}  # of the new ones
    for work in works:
        if not work.create:
            found[work.name] = instance = await instances.require(session, principal, work.name)
            if work.fields:
                await instances.update(session, instance, InstanceUpdate(**work.fields), None)
            continue
        data = InstanceCreate(name=work.name, **{k: v for k, v in work.fields.items() if v is not None})
        zone = default_time_zone
        if work.cloned_from in zones:
            zone = zones[work.cloned_from]
        elif work.cloned_from is not None:
            zone = (await instances.require(session, principal, work.cloned_from)).time_zone
        zones[work.name] = data.time_zone or zone
        new.append(instances.NewInstance(data, zone, work.cloned_from))
    if new:
        found.update((i.name, i) for i in await instances.create_many(session, principal, new))
    return found


async def _import(session: AsyncSession, works: list[tuple[Instance, InstanceWork]]) -> None:
    """The instances' new and changed services, by the CSV import in upsert mode."""
    files = [
        (instance, services_csv.render([_row(s) for s in work.services]).encode())
        for instance, work in works
        if work.services
    ]
    if files:
        rows = max(len(work.services) for _, work in works)
        await import_many(
            session, files, ImportOptions(replace=False, dry_run=False, cascade=False, max_rows=rows)
        )


def _row(service: ServiceValues) -> tuple[str, str, int, Decimal | None, bool]:
    return (service.code, service.name, service.duration_minutes, service.price, service.web_enabled)


def _rules(work: InstanceWork) -> GesdentPut:
    rules = work.gesdent
    assert rules is not None
    credentials = {
        family: {"username": rules.usernames[family], "password": rules.passwords[family]}
        for family in FAMILIES
    }
    return GesdentPut.model_validate(
        {
            "base_url": rules.base_url,
            "resource_ids": rules.resource_ids,
            "credentials": credentials,
            "enabled": rules.enabled,
            "interval_minutes": rules.interval_minutes,
            "window_days": rules.window_days,
            "stale_after_minutes": rules.stale_after_minutes,
        }
    )


async def _delete_services(session: AsyncSession, instance: Instance, codes: list[str]) -> None:
    if codes:
        await services.remove_services(
            session, await services_repo.of_codes(session, instance.id, codes), False
        )
