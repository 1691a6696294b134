from __future__ import annotations

from pydantic import Field

from app.schemas.common import Output, Timestamp
from app.schemas.portals import RequirementPublic


class MemberReport(Output):
    name: str
    display_name: str
    member_code: str | None
    services: int
    mapped: int
    unmapped: list[str] = Field(description="Codes of the member's services that map nowhere.")
    web_enabled_unmapped: list[str] = Field(
        description="Bookable online but unmapped: these will not appear on the portal."
    )
    last_sync: Timestamp | None = Field(
        description="End of the last successful GESDENT sync; null when there was none."
    )


class PortalReport(Output):
    portal: str
    display_name: str
    ready: bool
    unmet_requirements: list[RequirementPublic]
    member_count: int
    portal_services: int
    unused_portal_services: list[str] = Field(description="Codes of portal services no member maps to.")
    members: list[MemberReport]
