"""Reading the data the sync keeps from GESDENT, and the availability a portal exists to show."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth import Principal
from app.db.models import GesdentPatient, GesdentReservation, GesdentResource, GesdentSlot
from app.db.repositories import sync_data as repo
from app.pagination import PageRequest, fetch_page
from app.services.instances import require
from app.services.portals import require_portal


def _moment_then_id(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """Cursors carry the start as ISO text; the query compares it as a timestamp."""
    moment, key = values
    return datetime.fromisoformat(str(moment)), str(key)


async def resources(session: AsyncSession, principal: Principal, name: str, page: PageRequest) -> Any:
    instance = await require(session, principal, name)
    stmt = repo.resources(instance.id)
    return await fetch_page(
        session, stmt, [col(GesdentResource.gesdent_id)], page, lambda row: [row.GesdentResource.gesdent_id]
    )


async def patients(session: AsyncSession, principal: Principal, name: str, page: PageRequest) -> Any:
    instance = await require(session, principal, name)
    stmt = repo.patients(instance.id)
    return await fetch_page(
        session, stmt, [col(GesdentPatient.gesdent_id)], page, lambda row: [row.GesdentPatient.gesdent_id]
    )


async def reservations(
    session: AsyncSession,
    principal: Principal,
    name: str,
    page: PageRequest,
    resource: str | None,
    start: datetime | None,
    end: datetime | None,
    status: str | None,
) -> Any:
    instance = await require(session, principal, name)
    stmt = repo.reservations(instance.id, resource, start, end, status)
    keys = [col(GesdentReservation.starts_at), col(GesdentReservation.gesdent_id)]
    return await fetch_page(
        session,
        stmt,
        keys,
        page,
        lambda row: [row.GesdentReservation.starts_at.isoformat(), row.GesdentReservation.gesdent_id],
        parse_cursor=_moment_then_id,
    )


async def slots(
    session: AsyncSession,
    principal: Principal,
    name: str,
    page: PageRequest,
    resource: str | None,
    start: datetime | None,
    end: datetime | None,
) -> Any:
    instance = await require(session, principal, name)
    stmt = repo.slots(instance.id, resource, start, end)
    return await fetch_page(
        session,
        stmt,
        [col(GesdentSlot.starts_at), col(GesdentSlot.resource_id)],
        page,
        lambda row: [row.GesdentSlot.starts_at.isoformat(), row.GesdentSlot.resource_id],
        parse_cursor=_moment_then_id,
    )


async def portal_availability(
    session: AsyncSession, principal: Principal, portal: str, service: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Per member (by name): its web-enabled services mapped to `service`, and their free slots."""
    instance, _ = await require_portal(session, principal, portal)
    members: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for name, display, code, member_service, resource, starts, ends, codes in await repo.portal_slots(
        session, instance.id, service, start, end
    ):
        member = members.setdefault(
            name, {"name": name, "display_name": display, "member_code": code, "services": [], "slots": {}}
        )
        if member_service not in member["services"]:
            member["services"].append(member_service)
        # A slot offering two mapped services is still one slot.
        member["slots"].setdefault((resource, starts), (ends, codes.split()))
    return [
        {
            **member,
            "slots": [
                {"resource_id": resource, "start": starts, "end": ends, "treatment_codes": codes}
                for (resource, starts), (ends, codes) in member["slots"].items()
            ],
        }
        for member in members.values()
    ]
