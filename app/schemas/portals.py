from __future__ import annotations

from pydantic import Field

from app.db.models import Instance
from app.domain.rules import Requirement
from app.domain.values import RequirementCode
from app.schemas.common import Output


class RequirementPublic(Output):
    """A condition a portal must meet before it takes members, and what is wrong now."""

    code: RequirementCode = Field(
        examples=["communications-enabled"],
        description="What to branch on: `portal-instance-name` (the setting), `communications-enabled`, "
        "or `is-member` (the instance is a member of another portal).",
    )
    message: str = Field(examples=["the general switch for automatic SMS, voice and e-mail must be off"])


class PortalPublic(Output):
    """A portal: whether it can take members, what it still needs, and how many it has."""

    name: str = Field(examples=["tt_portal_sanitas"])
    display_name: str = Field(examples=["Sanitas portal"])
    ready: bool = Field(examples=[True], description="True when the portal can take members.")
    unmet_requirements: list[RequirementPublic] = Field(
        examples=[[]], description="What the portal still needs; empty when it is ready."
    )
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
    """A portal no longer: its setting removed and, with `cascade`, its members detached."""

    name: str = Field(examples=["tt_portal_sanitas"])
    demoted: bool = Field(True, examples=[True])
    detached_members: list[str] = Field(
        examples=[["tt_clinic_north", "tt_clinic_south"]],
        description="Members that left the portal (cascade).",
    )
    removed_mappings: int = Field(examples=[4], description="Mappings removed with them (cascade).")
