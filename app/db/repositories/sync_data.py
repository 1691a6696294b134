"""Queries on the data the sync keeps from GESDENT."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.db.models import (
    GesdentPatient,
    GesdentReservation,
    GesdentResource,
    GesdentSlot,
    Instance,
    Mapping,
    Service,
)


def resources(instance_id: str) -> Select[GesdentResource]:
    return select(GesdentResource).where(col(GesdentResource.instance_id) == instance_id)


def patients(instance_id: str) -> Select[GesdentPatient]:
    return select(GesdentPatient).where(col(GesdentPatient.instance_id) == instance_id)


def reservations(
    instance_id: str, resource: str | None, start: datetime | None, end: datetime | None, status: str | None
) -> Select[GesdentReservation]:
    stmt = select(GesdentReservation).where(col(GesdentReservation.instance_id) == instance_id)
    if resource:
        stmt = stmt.where(col(GesdentReservation.resource_id) == resource)
    if start is not None:
        stmt = stmt.where(col(GesdentReservation.starts_at) >= start)
    if end is not None:
        stmt = stmt.where(col(GesdentReservation.starts_at) < end)
    if status:
        stmt = stmt.where(col(GesdentReservation.status) == status)
    return stmt


def slots(
    instance_id: str, resource: str | None, start: datetime | None, end: datetime | None
) -> Select[GesdentSlot]:
    stmt = select(GesdentSlot).where(col(GesdentSlot.instance_id) == instance_id)
    if resource:
        stmt = stmt.where(col(GesdentSlot.resource_id) == resource)
    if start is not None:
        stmt = stmt.where(col(GesdentSlot.starts_at) >= start)
    if end is not None:
        stmt = stmt.where(col(GesdentSlot.starts_at) < end)
    return stmt


async def portal_slots(
    session: AsyncSession, portal_id: str, service_code: str, start: datetime, end: datetime
) -> list[Any]:
    """Free slots of members, for their web-enabled services mapped to the portal service `service_code`:
    rows of (member name, display name, member code, member service code, resource, start, end, codes).
    A slot counts when it offers the member service's code (the treatment codes are space-separated)."""
    portal_service = aliased(Service)
    member_service = aliased(Service)
    padded_codes = literal(" ") + GesdentSlot.treatment_codes + literal(" ")
    wanted = literal(" ") + member_service.code + literal(" ")
    # A plain substring test (not LIKE, whose `_` would be a wildcard in codes such as A_1).
    if session.get_bind().dialect.name == "postgresql":
        offers = func.strpos(padded_codes, wanted) > 0
    else:
        offers = func.instr(padded_codes, wanted) > 0
    stmt = (
        select(
            col(Instance.name),
            col(Instance.display_name),
            col(Instance.member_code),
            col(member_service.code),
            col(GesdentSlot.resource_id),
            col(GesdentSlot.starts_at),
            col(GesdentSlot.ends_at),
            col(GesdentSlot.treatment_codes),
        )
        .select_from(Mapping)
        .join(portal_service, col(portal_service.id) == Mapping.portal_service_id)
        .join(member_service, col(member_service.id) == Mapping.member_service_id)
        .join(Instance, col(Instance.id) == Mapping.member_id)
        .join(GesdentSlot, col(GesdentSlot.instance_id) == Mapping.member_id)
        .where(
            col(Mapping.portal_id) == portal_id,
            col(portal_service.code) == service_code,
            col(member_service.web_enabled).is_(True),
            col(GesdentSlot.starts_at) >= start,
            col(GesdentSlot.starts_at) < end,
            offers,
        )
        .order_by(
            col(Instance.name),
            col(GesdentSlot.starts_at),
            col(GesdentSlot.resource_id),
            col(member_service.code),
        )
    )
    return list((await session.execute(stmt)).all())
