from __future__ import annotations

from pydantic import Field

from app.domain.sync_health import HealthState
from app.schemas.common import Output, Timestamp
from app.schemas.portals import RequirementPublic
from app.schemas.sync_health import STATE_DESCRIPTION


class MemberReport(Output):
    """One member in its portal's report: its services, which of them map to the portal's, its
    last sync and its sync health."""

    name: str = Field(examples=["tt_clinic_north"])
    display_name: str = Field(examples=["Clinic North"])
    member_code: str | None = Field(examples=["N01"])
    services: int = Field(examples=[4], description="How many services the member has.")
    mapped: int = Field(examples=[2], description="How many of them map to a portal service.")
    unmapped: list[str] = Field(
        examples=[["BLANQUEO", "IMPLANTE"]], description="Codes of the member's services that map nowhere."
    )
    web_enabled_unmapped: list[str] = Field(
        examples=[["IMPLANTE"]],
        description="Bookable online but unmapped: these will not appear on the portal.",
    )
    last_sync: Timestamp | None = Field(
        examples=["2026-12-01T02:22:08.988478Z"],
        description="End of the last successful GESDENT sync; null when there was none.",
    )
    health: HealthState = Field(
        examples=["fresh"],
        description=f"The member's sync health (`GET /v1/sync-health`): {STATE_DESCRIPTION}",
    )


class PortalReport(Output):
    """A portal at a glance: whether it is ready, its services, and each member's mappings and sync."""

    portal: str = Field(examples=["tt_portal_sanitas"])
    display_name: str = Field(examples=["Sanitas portal"])
    ready: bool = Field(examples=[True], description="True when the portal can take members.")
    unmet_requirements: list[RequirementPublic] = Field(
        examples=[[]], description="What the portal still needs; empty when it is ready."
    )
    member_count: int = Field(examples=[1])
    portal_services: int = Field(examples=[4], description="How many services the portal has.")
    unused_portal_services: list[str] = Field(
        examples=[["BLANQ", "ORTO"]], description="Codes of portal services no member maps to."
    )
    members: list[MemberReport]
