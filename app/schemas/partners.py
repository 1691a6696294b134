from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from app.auth import Scope
from app.domain.rate_limits import RATE_FORMS, RATE_PATTERN, parse_rate
from app.schemas.common import Declared, DisplayName, Input, Label, Output, Timestamp, Uuid

PARTNER_UUID = "3f2c9d14-7a6b-4e0f-8c1d-52b9e7a4f063"
_RATE = re.compile(RATE_PATTERN)
EXAMPLE_LOOKUP = "4d8c2506f377d6c1"  # the hex lookup part of a key: app/auth.py generate_key


class PartnerCreate(Input):
    """A new partner of the platform."""

    name: DisplayName = Field(examples=["Sanitas"])


class PartnerPublic(Output):
    """A partner of the platform: it owns instances, and calls Portico with its API keys."""

    id: Uuid = Field(examples=[PARTNER_UUID])
    name: str = Field(examples=["Sanitas"])
    created_at: Timestamp = Field(examples=["2026-12-01T02:22:04.134805Z"])
    rate_limit: str | None = Field(
        examples=["500/second"],
        description="Requests each of its API keys may make per window; null: the deployment's default "
        "(PORTICO_RATE_LIMIT).",
    )


class PartnerUpdate(Input):
    """What the operator changes of a partner; a field left out stays as it is."""

    rate_limit: Annotated[str, Declared(RATE_PATTERN)] | None = Field(
        None,
        examples=["500/second"],
        description=f"Requests each of its API keys may make per window: {RATE_FORMS}. Null goes back to "
        "the deployment's default. Applies within about a second on every replica.",
    )

    @field_validator("rate_limit")
    @classmethod
    def _a_rate(cls, value: str | None) -> str | None:
        # As the schema's pattern says it: one way of writing each rate (the settings, read by people
        # from the environment, forgive blanks, case and plurals).
        if value is not None and not _RATE.fullmatch(value):
            raise ValueError(
                f'"{value}" is not a rate; write {RATE_FORMS}, within 1 to 1000000 requests a window'
            )
        return None if value is None else str(parse_rate(value))


class ApiKeyCreate(Input):
    """A new API key for a partner: a name to tell it apart, and what it may do."""

    name: Label = Field("default", examples=["agenda sync"])
    scopes: list[Scope] | None = Field(
        None,
        min_length=1,
        examples=[["instances:read", "sync:read", "sync:run"]],
        description="Scopes of the key. Default: every scope except `patients:read` and `keys:write`.",
    )


class ApiKeyPublic(Output):
    """An API key: its name, its scopes and its first characters; never the key itself."""

    id: Uuid
    partner_id: Uuid = Field(examples=[PARTNER_UUID])
    name: str = Field(examples=["agenda sync"])
    scopes: list[Scope] = Field(examples=[["instances:read", "sync:read", "sync:run"]])
    prefix: str = Field(
        examples=[f"ptc_{EXAMPLE_LOOKUP}"], description="First characters of the key, to recognise it."
    )
    created_at: Timestamp = Field(examples=["2026-12-01T02:22:03.876467Z"])
    revoked_at: Timestamp | None = Field(
        examples=["2026-12-14T09:30:12.501133Z"], description="When it was revoked; null while it is active."
    )


class ApiKeyCreated(ApiKeyPublic):
    """A key just created, with the key itself: the only answer that shows it."""

    revoked_at: Timestamp | None = Field(examples=[None], description="Null: the key was just created.")
    key: str = Field(
        examples=[f"ptc_{EXAMPLE_LOOKUP}_qpiO4_yIBe4V7LUv4ETUq5UBXpS2WIXj"],
        description="The key itself. Shown once: store it now.",
    )
