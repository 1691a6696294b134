"""Reading the data the sync keeps from GESDENT, and the availability a portal exists to show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import GesdentPatient, GesdentReservation, GesdentResource, GesdentSlot, Instance
from app.db.repositories import sync_data as repo
from app.db.repositories.pages import PageRequest
from app.db.repositories.sync_data import Filters
from app.domain.time_zones import open_span, zone
from app.services.portals import Portal


@dataclass(frozen=True)
class LocalDays:
    """What a caller narrows reservations and slots to: a resource and a span of the clinic's local
    days (inclusive; None leaves a side open). Parsed before the instance is loaded, so its zone is
    applied later, by `filters`."""

    resource: str | None = None
    first: date | None = None
    last: date | None = None

    def filters(self, where: ZoneInfo) -> Filters:
        """The instants these days cover in `where`: 23 or 25 hours for a day the clocks change."""
        return Filters(self.resource, *open_span(self.first, self.last, where))


def zone_of(instance: Instance) -> ZoneInfo:
    """The clinic's zone, whose days the date filters mean and whose clock the answers are on."""
    return zone(instance.time_zone)


async def resources(
    session: AsyncSession, instance: Instance, page: PageRequest
) -> tuple[list[GesdentResource], str | None]:
    return await repo.resources_page(session, instance.id, page)


async def patients(
    session: AsyncSession, instance: Instance, page: PageRequest
) -> tuple[list[GesdentPatient], str | None]:
    return await repo.patients_page(session, instance.id, page)


async def reservations(
    session: AsyncSession, instance: Instance, page: PageRequest, days: LocalDays, status: str | None
) -> tuple[list[GesdentReservation], str | None]:
    where = days.filters(zone_of(instance))
    return await repo.reservations_page(session, instance.id, page, where, status)


async def slots(
    session: AsyncSession, instance: Instance, page: PageRequest, days: LocalDays
) -> tuple[list[GesdentSlot], str | None]:
    return await repo.slots_page(session, instance.id, page, days.filters(zone_of(instance)))


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
