"""The data the sync keeps from GESDENT, per instance (tagged "imported data" in the spec), and the free
slots a portal shows."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BeforeValidator

from app.db.session import SessionDep
from app.domain.errors import ValidationFailed
from app.domain.values import SERVICE_CODE_PATTERN
from app.pagination import Page, PageParams
from app.routers.deps import AvailabilityPortal, PatientsInstance, SyncedInstance
from app.routers.lookups import LookupRoute
from app.schemas.sync_data import (
    LocalSlotPublic,
    MemberSlots,
    PatientPublic,
    PortalAvailability,
    ReservationPublic,
    ResourcePublic,
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
MAX_PORTAL_DAYS = 62


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
    response_model=Page[LocalSlotPublic],
)
async def list_availability(
    instance: SyncedInstance,
    session: SessionDep,
    page: PageParams,
    days: LocalDaysDep,
    response: Response,
) -> Page[LocalSlotPublic]:
    """Free slots as of the last complete availability fetch, by start time; filter by resource and
    days, which are the clinic's local days (its `time_zone`). Times come on the clinic's clock."""
    slots, cursor = await service.slots(session, instance, page.request, days)
    where = zone_of(instance)
    return page.answer([LocalSlotPublic.build(s, where) for s in slots], cursor, response)


@router.get(
    "/v1/portals/{portal}/availability",
    operation_id="portals_availability",
    response_model=PortalAvailability,
    response_model_by_alias=True,
)
async def portal_availability(
    portal: AvailabilityPortal,
    session: SessionDep,
    service_code: Annotated[
        str, Query(alias="service", pattern=SERVICE_CODE_PATTERN, description="A portal service code.")
    ],
    from_: From = None,
    to: To = None,
) -> PortalAvailability:
    """Which member clinics have free slots for this portal service, and when: the slots of each
    member's web-enabled services mapped to it. Default window: today and the next 13 days."""
    first = from_ or datetime.now(UTC).date()
    last = to or first + timedelta(days=13)
    if (last - first).days >= MAX_PORTAL_DAYS:
        raise ValidationFailed(
            f"The window is at most {MAX_PORTAL_DAYS} days.",
            errors=[{"field": "query.to", "message": f"at most {MAX_PORTAL_DAYS} days after from"}],
        )
    start, end = _window(first, last)
    assert start is not None
    assert end is not None
    # The portal is looked up once the window is known to be valid: a 422 comes before a 404.
    found = await portal()
    members = await service.portal_availability(session, found, service_code, start=start, end=end)
    return PortalAvailability.model_validate(
        {
            "portal": found.instance.name,
            "service": service_code,
            "from": start,
            "to": end,
            "members": [MemberSlots.model_validate(m, from_attributes=True) for m in members],
        }
    )
