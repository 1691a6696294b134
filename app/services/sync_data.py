"""Reading the data the sync keeps from GESDENT, and the availability a portal exists to show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import GesdentPatient, GesdentReservation, GesdentResource, GesdentSlot, Instance
from app.db.repositories import sync_data as repo
from app.db.repositories.pages import PageRequest
from app.db.repositories.sync_data import Filters
from app.services.portals import Portal


async def resources(
    session: AsyncSession, instance: Instance, page: PageRequest
) -> tuple[list[GesdentResource], str | None]:
    return await repo.resources_page(session, instance.id, page)


async def patients(
    session: AsyncSession, instance: Instance, page: PageRequest
) -> tuple[list[GesdentPatient], str | None]:
    return await repo.patients_page(session, instance.id, page)


async def reservations(
    session: AsyncSession, instance: Instance, page: PageRequest, where: Filters, status: str | None
) -> tuple[list[GesdentReservation], str | None]:
    return await repo.reservations_page(session, instance.id, page, where, status)


async def slots(
    session: AsyncSession, instance: Instance, page: PageRequest, where: Filters
) -> tuple[list[GesdentSlot], str | None]:
    return await repo.slots_page(session, instance.id, page, where)


@dataclass(frozen=True)
class Slot:
    resource_id: str
    start: datetime
    end: datetime
    treatment_codes: list[str]


@dataclass
class MemberAvailability:
    """A member's web-enabled services mapped to the portal service, and their free slots."""

    name: str
    display_name: str
    member_code: str | None
    services: list[str] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)


async def portal_availability(
    session: AsyncSession, portal: Portal, service: str, *, start: datetime, end: datetime
) -> list[MemberAvailability]:
    """Per member (by name): its web-enabled services mapped to `service`, and their free slots."""
    members: dict[str, MemberAvailability] = {}
    seen: set[tuple[str, str, datetime]] = set()
    for slot in await repo.portal_slots(session, portal.instance.id, service, start, end):
        member = members.setdefault(
            slot.member, MemberAvailability(slot.member, slot.display_name, slot.member_code)
        )
        if slot.member_service not in member.services:
            member.services.append(slot.member_service)
        # A slot offering two mapped services is still one slot.
        if (slot.member, slot.resource_id, slot.starts_at) not in seen:
            seen.add((slot.member, slot.resource_id, slot.starts_at))
            member.slots.append(
                Slot(slot.resource_id, slot.starts_at, slot.ends_at, slot.treatment_codes.split())
            )
    return list(members.values())
