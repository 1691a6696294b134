"""The data the sync keeps from GESDENT, as the API shows it."""

from __future__ import annotations

from pydantic import Field

from app.db.models import GesdentPatient, GesdentReservation, GesdentResource, GesdentSlot
from app.schemas.common import Output, Timestamp


class ResourcePublic(Output):
    id: str
    name: str
    kind: str
    active: bool
    updated_at: str = Field(description="As GESDENT sent it.")

    @classmethod
    def build(cls, row: GesdentResource) -> ResourcePublic:
        return cls(
            id=row.gesdent_id,
            name=row.name,
            kind=row.kind,
            active=row.active,
            updated_at=row.remote_updated_at,
        )


class PatientPublic(Output):
    id: str
    first_name: str
    last_name: str
    phone: str | None
    email: str | None
    birth_date: str | None
    member_code: str | None
    deleted: bool
    updated_at: str

    @classmethod
    def build(cls, row: GesdentPatient) -> PatientPublic:
        return cls(
            id=row.gesdent_id,
            first_name=row.first_name,
            last_name=row.last_name,
            phone=row.phone,
            email=row.email,
            birth_date=row.birth_date,
            member_code=row.member_code,
            deleted=row.deleted,
            updated_at=row.remote_updated_at,
        )


class ReservationPublic(Output):
    id: str
    resource_id: str
    user_id: str | None
    treatment_code: str | None
    start: Timestamp
    end: Timestamp
    status: str
    updated_at: str

    @classmethod
    def build(cls, row: GesdentReservation) -> ReservationPublic:
        return cls(
            id=row.gesdent_id,
            resource_id=row.resource_id,
            user_id=row.user_id,
            treatment_code=row.treatment_code,
            start=row.starts_at,
            end=row.ends_at,
            status=row.status,
            updated_at=row.remote_updated_at,
        )


class SlotPublic(Output):
    resource_id: str
    start: Timestamp
    end: Timestamp
    treatment_codes: list[str]

    @classmethod
    def build(cls, row: GesdentSlot) -> SlotPublic:
        return cls(
            resource_id=row.resource_id,
            start=row.starts_at,
            end=row.ends_at,
            treatment_codes=row.treatment_codes.split(),
        )


class MemberSlots(Output):
    name: str
    display_name: str
    member_code: str | None
    services: list[str] = Field(description="The member's web-enabled services mapped to the portal service.")
    slots: list[SlotPublic]


class PortalAvailability(Output):
    portal: str
    service: str
    start: Timestamp = Field(alias="from", serialization_alias="from")
    end: Timestamp = Field(alias="to", serialization_alias="to")
    members: list[MemberSlots] = Field(description="Members with at least one free slot, by name.")
