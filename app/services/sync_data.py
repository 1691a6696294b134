"""Reading the data the sync keeps from GESDENT."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import GesdentPatient, GesdentReservation, GesdentResource, GesdentSlot, Instance
from app.db.repositories import sync_data as repo
from app.db.repositories.pages import PageRequest
from app.db.repositories.sync_data import Filters


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
