"""The data the sync keeps from GESDENT, per instance (tagged "imported data" in the spec). The portal's
search across its members is app/routers/portal_availability.py."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BeforeValidator

from app.db.session import SessionDep
from app.domain.errors import ValidationFailed
from app.pagination import Page, PageParams
from app.routers.deps import PatientsInstance, SyncedInstance
from app.routers.lookups import LookupRoute
from app.schemas.sync_data import (
    PatientPublic,
    ReservationPublic,
    ResourcePublic,
    SlotPublic,
)
from app.services import sync_data as service
from app.services.sync_data import LocalDays, zone_of

router = APIRouter(tags=["imported data"], route_class=LookupRoute)
Resource = Annotated[
    str | None,
    Query(pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)+$", max_length=100, description="A GESDENT resource ID."),
]


def _iso_day(value: object) -> object:
    # Lax parsing would read `0` as 1970-01-01; a day is written YYYY-MM-DD.
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]
From = Annotated[Day | None, Query(alias="from", description="First day (YYYY-MM-DD), inclusive.")]
To = Annotated[Day | None, Query(alias="to", description="Last day (YYYY-MM-DD), inclusive.")]


def _in_order(start: date | None, end: date | None) -> None:
    if start and end and end < start:
        raise ValidationFailed(
            "`to` is before `from`.", errors=[{"field": "query.to", "message": "before from"}]
        )


def _window(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    _in_order(start, end)
    return (
        datetime.combine(start, time.min, UTC) if start else None,
        datetime.combine(end + timedelta(days=1), time.min, UTC) if end else None,
    )


async def local_days(resource: Resource = None, from_: From = None, to: To = None) -> LocalDays:
    """The filters the reservations and the availability share: a resource and a span of the clinic's
    days. Checked here, before the instance is loaded (a 422 before a 404); its zone applies later."""
    _in_order(from_, to)
    return LocalDays(resource, from_, to)


LocalDaysDep = Annotated[LocalDays, Depends(local_days)]


@router.get(
    "/v1/instances/{name}/resources",
    operation_id="imported_resources_list",
    response_model=Page[ResourcePublic],
)
async def list_resources(
    instance: SyncedInstance, session: SessionDep, page: PageParams, response: Response
) -> Page[ResourcePublic]:
    """The resources (the agendas of GESDENT) the sync imported for the instance."""
    resources, cursor = await service.resources(session, instance, page.request)
    return page.answer([ResourcePublic.build(r) for r in resources], cursor, response)


@router.get(
    "/v1/instances/{name}/patients",
    operation_id="imported_patients_list",
    response_model=Page[PatientPublic],
)
async def list_patients(
    instance: PatientsInstance, session: SessionDep, page: PageParams, response: Response
) -> Page[PatientPublic]:
    """Patients (GESDENT users): personal data, so the key needs `patients:read`."""
    patients, cursor = await service.patients(session, instance, page.request)
    return page.answer([PatientPublic.build(p) for p in patients], cursor, response)


@router.get(
    "/v1/instances/{name}/reservations",
    operation_id="imported_reservations_list",
    response_model=Page[ReservationPublic],
)
async def list_reservations(
    instance: SyncedInstance,
    session: SessionDep,
    page: PageParams,
    days: LocalDaysDep,
    response: Response,
    status: Annotated[Literal["booked", "cancelled", "attended", "no_show"] | None, Query()] = None,
) -> Page[ReservationPublic]:
    """Reservations by start time; filter by resource, status and days, which are the clinic's local
    days (its `time_zone`). Times come on the clinic's clock, with their offset."""
    reservations, cursor = await service.reservations(session, instance, page.request, days, status)
    where = zone_of(instance)
    return page.answer([ReservationPublic.build(r, where) for r in reservations], cursor, response)


@router.get(
    "/v1/instances/{name}/availability",
    operation_id="imported_availability_list",
    response_model=Page[SlotPublic],
)
async def list_availability(
    instance: SyncedInstance,
    session: SessionDep,
    page: PageParams,
    days: LocalDaysDep,
    response: Response,
) -> Page[SlotPublic]:
    """Free slots as of the last complete availability fetch, by start time; filter by resource and
    days, which are the clinic's local days (its `time_zone`). Times come on the clinic's clock."""
    slots, cursor = await service.slots(session, instance, page.request, days)
    where = zone_of(instance)
    return page.answer([SlotPublic.build(s, where) for s in slots], cursor, response)
