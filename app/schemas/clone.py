from __future__ import annotations

from enum import StrEnum

from pydantic import Field, StrictBool

from app.schemas.common import DisplayName, Input, InstanceName, MemberCode, Output
from app.schemas.instances import InstancePublic


class CloneInclude(StrEnum):
    settings = "settings"
    communications = "communications"
    services = "services"
    gesdent = "gesdent"
    gesdent_credentials = "gesdent_credentials"


DEFAULT_INCLUDE = [CloneInclude.settings, CloneInclude.communications, CloneInclude.services]


class CloneRequest(Input):
    name: InstanceName = Field(
        examples=["tt_clinic_east"], description="Name (database name) of the new instance."
    )
    display_name: DisplayName | None = Field(
        None, examples=["Clinic East"], description="Defaults to the source's display name."
    )
    member_code: MemberCode | None = Field(
        None, examples=["E01"], description="Membership code of the new centre."
    )
    include: list[CloneInclude] = Field(
        default_factory=lambda: list(DEFAULT_INCLUDE),
        max_length=5,
        examples=[["settings", "communications", "services"]],
        description="What to copy. Settings never include portalInstanceName. `gesdent` copies the "
        "connection rules without resource IDs, disabled until completed; `gesdent_credentials` adds "
        "the passwords.",
    )
    join_portal: StrictBool = Field(
        False,
        examples=[True],
        description="Attach the clone to the source's portal and copy its mappings by service code.",
    )


class CloneCopied(Output):
    settings: list[str] = Field(description="Keys of the settings copied.")
    communications: bool
    services: int
    mappings: int
    gesdent: bool = Field(description="Connection rules copied (to complete with resource IDs).")
    gesdent_credentials: bool


class CloneResult(Output):
    instance: InstancePublic
    copied: CloneCopied
    portal: str | None = Field(description="The portal the clone joined, if any.")
