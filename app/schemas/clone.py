from __future__ import annotations

from enum import StrEnum

from pydantic import Field, StrictBool

from app.schemas.common import DisplayName, Input, InstanceName, MemberCode, Output, TimeZoneName
from app.schemas.instances import InstancePublic


class CloneInclude(StrEnum):
    """What a clone copies from its source: its settings, its communication switches, its services,
    its GESDENT connection rules (`gesdent`), and with them their passwords (`gesdent_credentials`)."""

    settings = "settings"
    communications = "communications"
    services = "services"
    gesdent = "gesdent"
    gesdent_credentials = "gesdent_credentials"


DEFAULT_INCLUDE = [CloneInclude.settings, CloneInclude.communications, CloneInclude.services]


class CloneRequest(Input):
    """A new instance made from an existing one, the model centre: its name, and what to copy."""

    name: InstanceName = Field(
        examples=["tt_clinic_east"], description="Name (database name) of the new instance."
    )
    display_name: DisplayName | None = Field(
        None, examples=["Clinic East"], description="Defaults to the source's display name."
    )
    member_code: MemberCode | None = Field(
        None, examples=["E01"], description="Membership code of the new centre."
    )
    time_zone: TimeZoneName | None = Field(
        None,
        examples=["Atlantic/Canary"],
        description="The new centre's IANA time zone; defaults to the source's.",
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
    """What the clone got from its source."""

    settings: list[str] = Field(examples=[["timezone"]], description="Keys of the settings copied.")
    communications: bool = Field(examples=[True], description="The communication switches were copied.")
    services: int = Field(examples=[6], description="How many services were copied.")
    mappings: int = Field(
        examples=[3], description="How many of the source's mappings were copied (`join_portal`)."
    )
    gesdent: bool = Field(
        examples=[False], description="Connection rules copied (to complete with resource IDs)."
    )
    gesdent_credentials: bool = Field(examples=[False], description="Their passwords copied too.")


class CloneResult(Output):
    """The new instance, what it got from its source, and the portal it joined."""

    instance: InstancePublic
    copied: CloneCopied
    portal: str | None = Field(
        examples=["tt_portal_sanitas"], description="The portal the clone joined, if any."
    )
