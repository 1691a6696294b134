from __future__ import annotations

from pydantic import Field

from app.db.models import Instance
from app.schemas.common import Output, Timestamp


class MemberPublic(Output):
    portal: str = Field(examples=["tt_portal_sanitas"])
    name: str = Field(examples=["tt_clinic_north"])
    display_name: str = Field(examples=["Clinic North"])
    member_code: str | None = Field(examples=["N01"])
    joined_at: Timestamp = Field(examples=["2026-12-01T02:22:04.134805Z"])

    @classmethod
    def build(cls, portal: str, member: Instance, joined_at: object) -> MemberPublic:
        return cls.model_validate(
            {
                "portal": portal,
                "name": member.name,
                "display_name": member.display_name,
                "member_code": member.member_code,
                "joined_at": joined_at,
            }
        )


class MemberRemoved(Output):
    portal: str
    name: str
    removed: bool = True
    removed_mappings: int = Field(description="The member's mappings removed with it (cascade).")
