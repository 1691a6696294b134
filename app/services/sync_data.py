"""Reading the data the sync keeps from GESDENT."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import GesdentPatient, GesdentReservation, GesdentResource, GesdentSlot, Instance
from app.db.repositories import sync_data as repo
from app.db.repositories.pages import PageRequest
from app.db.repositories.sync_data import Filters
from app.domain.time_zones import open_span, zone


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
