from __future__ import annotations

from pydantic import Field

from app.auth import Scope
from app.schemas.common import DisplayName, Input, Label, Output, Timestamp, Uuid


class PartnerCreate(Input):
    name: DisplayName = Field(examples=["Sanitas"])


class PartnerPublic(Output):
    id: Uuid
    name: str = Field(examples=["Sanitas"])
    created_at: Timestamp = Field(examples=["2026-12-01T02:22:04.134805Z"])


class ApiKeyCreate(Input):
    name: Label = Field("default", examples=["agenda sync"])
    scopes: list[Scope] | None = Field(
        None,
        min_length=1,
        examples=[["instances:read", "sync:read", "sync:run"]],
        description="Scopes of the key. Default: every scope except `patients:read` and `keys:write`.",
    )


class ApiKeyPublic(Output):
    id: Uuid
    partner_id: Uuid
    name: str
    scopes: list[Scope]
    prefix: str = Field(description="First characters of the key, to recognise it.")
    created_at: Timestamp
    revoked_at: Timestamp | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself. Shown once: store it now.")
