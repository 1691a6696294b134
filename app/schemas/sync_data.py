"""The data the sync keeps from GESDENT, as the API shows it."""

from __future__ import annotations

from pydantic import Field

from app.schemas.common import Output, Timestamp


class ResourcePublic(Output):
    id: str
    name: str
    kind: str
    active: bool
    updated_at: str = Field(description="As GESDENT sent it.")


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


class ReservationPublic(Output):
    id: str
    resource_id: str
    user_id: str | None
    treatment_code: str | None
    start: Timestamp
    end: Timestamp
    status: str
    updated_at: str


class SlotPublic(Output):
    resource_id: str
    start: Timestamp
    end: Timestamp
    treatment_codes: list[str]


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
