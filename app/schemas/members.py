from __future__ import annotations

from pydantic import Field

from app.db.models import Instance
from app.schemas.common import Output, Timestamp


class MemberPublic(Output):
    """A member of a portal: which instance, and since when."""

    portal: str = Field(examples=["tt_portal_sanitas"])
    name: str = Field(examples=["tt_clinic_north"])
    display_name: str = Field(examples=["Clinic North"])
    member_code: str | None = Field(examples=["N01"], description="The centre's membership code, if any.")
    joined_at: Timestamp = Field(
        examples=["2026-12-01T02:22:04.164464Z"], description="When it was attached to the portal."
    )

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
    """A member detached from its portal; it stays an instance of its own (standalone)."""

    portal: str = Field(examples=["tt_portal_sanitas"])
    name: str = Field(examples=["tt_clinic_west"])
    removed: bool = Field(True, examples=[True])
    removed_mappings: int = Field(
        examples=[2], description="The member's mappings removed with it (cascade)."
    )
