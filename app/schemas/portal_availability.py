"""The portal availability search, its summary and its explanations, as the API shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import Field, PlainSerializer, WithJsonSchema

from app.domain.portal_availability import Reason
from app.domain.sync_health import HealthState
from app.schemas.common import Output, Timestamp
from app.services import portal_availability as service

RESOURCE_ID = "EJEJQKV5-ETREAXNR-IF4YDMXE-S4EEOH4W-3ES2"


def _local(value: datetime) -> str:
    return value.isoformat()


# A moment in the member's zone, written with that zone's offset then (RFC 3339).
LocalTime = Annotated[
    datetime,
    PlainSerializer(_local, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-12-02T09:30:00+01:00"]}),
]


class PortalSlot(Output):
    """A free slot of a member, in the member's zone."""

    resource_id: str = Field(examples=[RESOURCE_ID], description="GESDENT's id of the agenda.")
    start: LocalTime = Field(description="In the member's zone, with its offset.")
    end: LocalTime = Field(description="In the member's zone, with its offset.")
    treatment_codes: list[str] = Field(examples=[["LIMP", "REV"]], description="As GESDENT sent them.")
    services: list[str] = Field(examples=[["CLEAN"]], description="Asked portal services it offers.")

    @classmethod
    def build(cls, slot: service.Slot) -> PortalSlot:
        # Built from values already of their types, up to 50 per member: not validated again.
        return cls.model_construct(
            resource_id=slot.resource_id,
            start=slot.start,
            end=slot.end,
            treatment_codes=slot.treatment_codes,
            services=slot.services,
        )


class AsOf(Output):
    """How current a member's slots are: the health of its availability stream."""

    fetched_at: Timestamp | None = Field(
        examples=["2026-12-02T08:41:07Z"],
        description="End of the last complete fetch of the member's availability; null: none yet.",
    )
    state: HealthState = Field(
        examples=["fresh"], description="`fresh`, `stale`, `failing`, `disabled` or `never` (sync health)."
    )


class MemberAvailability(Output):
    """A member that offers at least one of the asked services in its days."""

    name: str = Field(examples=["tt_clinic_north"])
    display_name: str = Field(examples=["Clinic North"])
    member_code: str | None = Field(examples=["N01"])
    time_zone: str = Field(examples=["Europe/Madrid"], description="The member's zone: its days and times.")
    first_day: date = Field(examples=["2026-12-02"], description="First local day searched, in its zone.")
    last_day: date = Field(examples=["2026-12-15"], description="Last local day searched, in its zone.")
    next_available: LocalTime = Field(description="Its earliest slot that offers an asked service.")
    as_of: AsOf
    slot_count: int = Field(examples=[42], description="Its slots that offer, in its days.")
    slots: list[PortalSlot] = Field(
        description="Its first slots that offer, by start: at most `slots_per_member` of `slot_count`."
    )

    @classmethod
    def build(cls, member: service.Member) -> MemberAvailability:
        ranked = member.ranked
        return cls(
            name=ranked.name,
            display_name=ranked.display_name,
            member_code=ranked.member_code,
            time_zone=ranked.time_zone,
            first_day=member.span.first,
            last_day=member.span.last,
            next_available=ranked.earliest.astimezone(member.zone),
            as_of=AsOf(fetched_at=ranked.fetched_at, state=ranked.state),
            slot_count=member.slot_count,
            slots=[PortalSlot.build(s) for s in member.slots],
        )


class Explanation(Output):
    """Why a member offers nothing for an asked portal service (the first reason that holds)."""

    member: str = Field(examples=["tt_clinic_south"])
    display_name: str = Field(examples=["Clinic South"])
    service: str = Field(examples=["CLEAN"], description="The portal service.")
    reason: Reason = Field(
        examples=["not_web_enabled"],
        description="`not_mapped`, `not_web_enabled`, `no_sync`, `no_free_slot` or `no_matching_codes`.",
    )
    detail: str = Field(
        examples=["The member's services mapped to this portal service are not web-enabled."],
        description="The reason in a sentence.",
    )


class PortalAvailability(Output):
    """One page of the members that offer the asked portal services, by earliest slot then name."""

    portal: str = Field(examples=["tt_portal_sanitas"])
    services: list[str] = Field(examples=[["CLEAN"]], description="The asked portal services.")
    items: list[MemberAvailability] = Field(description="At most `limit` members.")
    next_cursor: str | None = Field(
        examples=["9hPdMpHItlwvPB_xaFYb_VsidHRfY2xpbmljX25vcnRoIl0"],
        description="Pass as `cursor` (with the same filters) for the next page; null on the last page.",
    )
    explanations: list[Explanation] | None = Field(
        examples=[
            [
                {
                    "member": "tt_clinic_south",
                    "display_name": "Clinic South",
                    "service": "CLEAN",
                    "reason": "no_sync",
                    "detail": "No availability was imported from the member's GESDENT yet.",
                }
            ]
        ],
        description="With `explain=true`: each (member, asked service) without a slot, and why; else null.",
    )
    explanations_complete: bool = Field(
        examples=[True], description="False when `explanations` stopped at its cap of 200 pairs."
    )


class ServiceSummary(Output):
    """A portal service: how many members offer it in their days, and its earliest slot."""

    service: str = Field(examples=["CLEAN"], description="The portal service's code.")
    name: str = Field(examples=["Dental cleaning"])
    members: int = Field(examples=[12], description="Members with a slot that offers it.")
    earliest: Timestamp | None = Field(
        examples=["2026-12-02T08:30:00Z"], description="The earliest such slot (UTC); null: none."
    )
    earliest_member: str | None = Field(examples=["tt_clinic_north"], description="Whose slot that is.")


class AvailabilitySummary(Output):
    """Per portal service (those asked, or all the portal's): who offers it, and first when."""

    portal: str = Field(examples=["tt_portal_sanitas"])
    services: list[ServiceSummary]
