from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from app.db.models import Instance
from app.domain.rules import InstanceFacts
from app.schemas.common import DisplayName, Input, InstanceName, MemberCode, Output, Timestamp, not_null


class InstanceKind(StrEnum):
    portal = "portal"
    member = "member"
    standalone = "standalone"


class InstanceCreate(Input):
    name: InstanceName = Field(examples=["tt_clinic_north"])
    display_name: DisplayName | None = Field(
        None, examples=["Clinic North"], description="Defaults to the name."
    )
    member_code: MemberCode | None = Field(None, examples=["N01"])


# The body of a promotion and of a new membership: an instance, by name.
class InstanceRef(Input):
    instance: InstanceName


class InstanceUpdate(Input):
    display_name: DisplayName | None = Field(
        None, examples=["Clinic North"], description="May be left out, not null.", json_schema_extra=not_null
    )
    member_code: MemberCode | None = Field(None, examples=["N01"], description="null removes it.")


class InstancePublic(Output):
    name: str = Field(examples=["tt_clinic_north"])
    display_name: str = Field(examples=["Clinic North"])
    member_code: str | None = Field(examples=["N01"])
    kind: InstanceKind = Field(examples=["member"])
    portal: str | None = Field(
        examples=["tt_portal_sanitas"], description="For a member: the portal it belongs to."
    )
    cloned_from: str | None = Field(examples=[None])
    version: int = Field(examples=[1])
    created_at: Timestamp = Field(examples=["2026-12-01T02:22:04.134805Z"])
    updated_at: Timestamp = Field(examples=["2026-12-01T02:22:04.134805Z"])

    @classmethod
    def build(cls, instance: Instance, facts: InstanceFacts) -> InstancePublic:
        return cls.of(instance, facts.kind, facts.member_of)

    @classmethod
    def of(cls, instance: Instance, kind: str, portal: str | None) -> InstancePublic:
        return cls(
            name=instance.name,
            display_name=instance.display_name,
            member_code=instance.member_code,
            kind=InstanceKind(kind),
            portal=portal,
            cloned_from=instance.cloned_from,
            version=instance.version,
            created_at=instance.created_at,
            updated_at=instance.updated_at,
        )


class InstanceDeleted(Output):
    name: str
    deleted: bool = True
    detached_members: list[str] = Field(description="Members that left the portal (cascade).")
    removed_mappings: int = Field(description="Mappings removed with them (cascade).")
