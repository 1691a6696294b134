"""Queries on the data imported from GESDENT."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.models import (
    GesdentPatient,
    GesdentReservation,
    GesdentResource,
    GesdentSlot,
    Instance,
    Mapping,
    Service,
)


def resources(instance_id: str) -> Select[Any]:
    return select(GesdentResource).where(GesdentResource.instance_id == instance_id)


def patients(instance_id: str) -> Select[Any]:
    return select(GesdentPatient).where(GesdentPatient.instance_id == instance_id)


def reservations(
    instance_id: str, resource: str | None, start: datetime | None, end: datetime | None, status: str | None
) -> Select[Any]:
    stmt = select(GesdentReservation).where(GesdentReservation.instance_id == instance_id)
    if resource:
        stmt = stmt.where(GesdentReservation.resource_id == resource)
    if start is not None:
        stmt = stmt.where(GesdentReservation.starts_at >= start)
    if end is not None:
        stmt = stmt.where(GesdentReservation.starts_at < end)
    if status:
        stmt = stmt.where(GesdentReservation.status == status)
    return stmt


def slots(
    instance_id: str, resource: str | None, start: datetime | None, end: datetime | None
) -> Select[Any]:
    stmt = select(GesdentSlot).where(GesdentSlot.instance_id == instance_id)
    if resource:
        stmt = stmt.where(GesdentSlot.resource_id == resource)
    if start is not None:
        stmt = stmt.where(GesdentSlot.starts_at >= start)
    if end is not None:
        stmt = stmt.where(GesdentSlot.starts_at < end)
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
    if session.bind.dialect.name == "postgresql":
        offers = func.strpos(padded_codes, wanted) > 0
    else:
        offers = func.instr(padded_codes, wanted) > 0
    stmt = (
        select(
            Instance.name,
            Instance.display_name,
            Instance.member_code,
            member_service.code,
            GesdentSlot.resource_id,
            GesdentSlot.starts_at,
            GesdentSlot.ends_at,
            GesdentSlot.treatment_codes,
        )
        .select_from(Mapping)
        .join(portal_service, portal_service.id == Mapping.portal_service_id)
        .join(member_service, member_service.id == Mapping.member_service_id)
        .join(Instance, Instance.id == Mapping.member_id)
        .join(GesdentSlot, GesdentSlot.instance_id == Mapping.member_id)
        .where(
            Mapping.portal_id == portal_id,
            portal_service.code == service_code,
            member_service.web_enabled.is_(True),
            GesdentSlot.starts_at >= start,
            GesdentSlot.starts_at < end,
            offers,
        )
        .order_by(Instance.name, GesdentSlot.starts_at, GesdentSlot.resource_id, member_service.code)
    )
    return list((await session.execute(stmt)).all())
