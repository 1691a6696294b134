from __future__ import annotations

from pydantic import Field

from app.db.models import Instance
from app.domain.rules import Requirement
from app.schemas.common import Output


class RequirementPublic(Output):
    code: str = Field(examples=["communications-enabled"])
    message: str = Field(examples=["the general switch for automatic SMS, voice and e-mail must be off"])


class PortalPublic(Output):
    name: str = Field(examples=["tt_portal_sanitas"])
    display_name: str = Field(examples=["Sanitas portal"])
    ready: bool = Field(examples=[True], description="True when the portal can take members.")
    unmet_requirements: list[RequirementPublic]
    member_count: int = Field(examples=[2])

    @classmethod
    def build(cls, instance: Instance, unmet: list[Requirement], member_count: int) -> PortalPublic:
        return cls(
            name=instance.name,
            display_name=instance.display_name,
            ready=not unmet,
            unmet_requirements=[RequirementPublic(code=r.code, message=r.message) for r in unmet],
            member_count=member_count,
        )


class PortalDemoted(Output):
    name: str
    demoted: bool = True
    detached_members: list[str] = Field(description="Members that left the portal (cascade).")
    removed_mappings: int = Field(description="Mappings removed with them (cascade).")
