"""The data the sync keeps from GESDENT, as the API shows it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pydantic import Field

from app.db.models import GesdentPatient, GesdentReservation, GesdentResource, GesdentSlot
from app.domain.time_zones import local
from app.schemas.common import LocalTimestamp, Output

RESOURCE_ID = "EJEJQKV5-ETREAXNR-IF4YDMXE-S4EEOH4W-3ES2"
# GESDENT's own times as it sent them (RFC 3339), not Portico's.
SENT_AT = "2026-11-23T09:28:00Z"


class ResourcePublic(Output):
    """A GESDENT resource (a dentist, a hygienist, a chair) whose agenda the sync imports."""

    id: str = Field(examples=[RESOURCE_ID], description="GESDENT's id of the resource.")
    name: str = Field(examples=["Dra. Marta Ruiz"])
    kind: str = Field(
        examples=["dentist"], description="As GESDENT sent it, e.g. `dentist`, `hygienist`, `chair`."
    )
    active: bool = Field(examples=[True])
    updated_at: str = Field(examples=[SENT_AT], description="As GESDENT sent it.")

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
    """A patient (a GESDENT user) as the sync imported it: personal data, read with `patients:read`."""

    id: str = Field(examples=["P-10001"], description="GESDENT's id of the patient.")
    first_name: str = Field(examples=["Inés"])
    last_name: str = Field(examples=["Moreno"])
    phone: str | None = Field(examples=["+34694431935"])
    email: str | None = Field(examples=["ines.moreno1@example.org"])
    birth_date: str | None = Field(examples=["1954-02-13"], description="As GESDENT sent it: YYYY-MM-DD.")
    member_code: str | None = Field(
        examples=["S-83798"], description="The patient's membership code, if any."
    )
    deleted: bool = Field(examples=[False], description="GESDENT deleted the patient.")
    updated_at: str = Field(examples=[SENT_AT], description="As GESDENT sent it.")

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


# Each item carries its zone: a booking front end that keeps or merges items (several clinics, in
# several zones) still knows which clock an item's times are on, and can name it to the patient.
ZONE_DESCRIPTION = "The clinic's IANA time zone, whose clock `start` and `end` are written on."


class ReservationPublic(Output):
    """A booking in a resource's agenda, as the sync imported it; its times on the clinic's clock."""

    id: str = Field(examples=["R-500977"], description="GESDENT's id of the reservation.")
    resource_id: str = Field(examples=[RESOURCE_ID])
    user_id: str | None = Field(examples=["P-10026"], description="The patient's id.")
    treatment_code: str | None = Field(examples=["REV"])
    start: LocalTimestamp = Field(examples=["2027-03-29T09:00:00+02:00"])
    end: LocalTimestamp = Field(examples=["2027-03-29T09:30:00+02:00"])
    time_zone: str = Field(examples=["Europe/Madrid"], description=ZONE_DESCRIPTION)
    status: str = Field(
        examples=["booked"],
        description="As GESDENT sent it, e.g. `booked`, `cancelled`, `attended`, `no_show`.",
    )
    updated_at: str = Field(examples=[SENT_AT], description="As GESDENT sent it.")

    @classmethod
    def build(cls, row: GesdentReservation, where: ZoneInfo) -> ReservationPublic:
        return cls(
            id=row.gesdent_id,
            resource_id=row.resource_id,
            user_id=row.user_id,
            treatment_code=row.treatment_code,
            start=local(row.starts_at, where),
            end=local(row.ends_at, where),
            time_zone=where.key,
            status=row.status,
            updated_at=row.remote_updated_at,
        )


class SlotPublic(Output):
    """A free slot in a resource's agenda, on the clinic's clock, and the treatments it can take."""

    resource_id: str = Field(examples=[RESOURCE_ID])
    start: LocalTimestamp = Field(examples=["2027-03-29T09:00:00+02:00"])
    end: LocalTimestamp = Field(examples=["2027-03-29T09:30:00+02:00"])
    time_zone: str = Field(examples=["Europe/Madrid"], description=ZONE_DESCRIPTION)
    treatment_codes: list[str] = Field(examples=[["LIMP"]])

    @classmethod
    def build(cls, row: GesdentSlot, where: ZoneInfo) -> SlotPublic:
        return cls(
            resource_id=row.resource_id,
            start=local(row.starts_at, where),
            end=local(row.ends_at, where),
            time_zone=where.key,
            treatment_codes=row.treatment_codes.split(),
        )
