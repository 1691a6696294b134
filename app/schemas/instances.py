from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from app.db.models import Instance
from app.db.repositories.instance_facts import InstanceShown
from app.domain.rules import InstanceFacts
from app.schemas.common import (
    DisplayName,
    Input,
    InstanceName,
    MemberCode,
    Output,
    Timestamp,
    TimeZoneName,
    not_null,
)


class InstanceKind(StrEnum):
    """What an instance is in the procedure: a `portal` (setting `portalInstanceName=portal`), a
    `member` of a portal, or `standalone`, neither."""

    portal = "portal"
    member = "member"
    standalone = "standalone"


class InstanceCreate(Input):
    """A new instance: one clinic's booking database, named `tt_…`."""

    name: InstanceName = Field(examples=["tt_clinic_north"])
    display_name: DisplayName | None = Field(
        None, examples=["Clinic North"], description="Defaults to the name."
    )
    member_code: MemberCode | None = Field(None, examples=["N01"])
    time_zone: TimeZoneName | None = Field(
        None,
        examples=["Europe/Madrid"],
        description="The clinic's IANA time zone; defaults to the deployment's PORTICO_DEFAULT_TIMEZONE "
        "(Europe/Madrid unless set).",
    )


class InstanceRef(Input):
    """An instance, by name: the body of a promotion to portal and of a new membership."""

    instance: InstanceName = Field(examples=["tt_clinic_north"])


class InstanceUpdate(Input):
    """A change to an instance: the fields sent change, the others stay."""

    display_name: DisplayName | None = Field(
        None, examples=["Clinic North"], description="May be left out, not null.", json_schema_extra=not_null
    )
    member_code: MemberCode | None = Field(None, examples=["N01"], description="null removes it.")
    time_zone: TimeZoneName | None = Field(
        None,
        examples=["Atlantic/Canary"],
        description="The clinic's IANA time zone. May be left out, not null.",
        json_schema_extra=not_null,
    )


class InstancePublic(Output):
    """An instance: its name, what it is in the procedure and, for a member, its portal."""

    name: str = Field(examples=["tt_clinic_north"])
    display_name: str = Field(examples=["Clinic North"])
    member_code: str | None = Field(examples=["N01"], description="The centre's membership code, if any.")
    kind: InstanceKind = Field(examples=["member"])
    portal: str | None = Field(
        examples=["tt_portal_sanitas"], description="For a member: the portal it belongs to."
    )
    cloned_from: str | None = Field(
        examples=["tt_sanitas_model"], description="The instance it was cloned from; null when created anew."
    )
    time_zone: str = Field(
        examples=["Europe/Madrid"],
        description="The clinic's IANA time zone: its imported data's date filters mean its local days.",
    )
    version: int = Field(examples=[1], description="Goes up by one each time a PATCH changes the instance.")
    created_at: Timestamp = Field(examples=["2026-12-01T02:22:04.134805Z"])
    updated_at: Timestamp = Field(examples=["2026-12-01T02:22:04.134805Z"])

    @classmethod
    def build(cls, instance: Instance | InstanceShown, facts: InstanceFacts) -> InstancePublic:
        return cls.of(instance, facts.kind, facts.member_of)

    @classmethod
    def of(cls, instance: Instance | InstanceShown, kind: str, portal: str | None) -> InstancePublic:
        return cls(
            name=instance.name,
            display_name=instance.display_name,
            member_code=instance.member_code,
            kind=InstanceKind(kind),
            portal=portal,
            cloned_from=instance.cloned_from,
            time_zone=instance.time_zone,
            version=instance.version,
            created_at=instance.created_at,
            updated_at=instance.updated_at,
        )


class InstanceDeleted(Output):
    """The instance deleted, and what `cascade` removed with it: a portal's members, mappings."""

    name: str = Field(examples=["tt_portal_sanitas"])
    deleted: bool = Field(True, examples=[True])
    detached_members: list[str] = Field(
        examples=[["tt_clinic_north", "tt_clinic_south"]],
        description="Members that left the portal (cascade).",
    )
    removed_mappings: int = Field(examples=[4], description="Mappings removed with them (cascade).")
