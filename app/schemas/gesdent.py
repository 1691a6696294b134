from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StrictBool, StrictInt, field_validator

from app.db.models import GesdentConnection
from app.domain.gesdent import FAMILIES, split_credential
from app.schemas.common import Input, Output, Timestamp, single_line

Username = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(single_line)]
Password = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(single_line)]


class CredentialIn(Input):
    username: Username
    password: Password | None = Field(None, description="Omit to keep the stored password.")


class CredentialsIn(Input):
    """One HTTP Digest credential per endpoint family: an object, or the procedure's
    `"username:password"` string."""

    users: CredentialIn | str
    reservations: CredentialIn | str
    availability: CredentialIn | str

    @field_validator("users", "reservations", "availability", mode="before")
    @classmethod
    def _pair(cls, value: object) -> object:
        if isinstance(value, str):
            pair = split_credential(value)
            if pair is None:
                raise ValueError('expected \'username:password\' or {"username", "password"}')
            return {"username": pair[0], "password": pair[1] or None}
        return value


class GesdentPut(Input):
    base_url: Annotated[str, Field(min_length=1, max_length=500), AfterValidator(single_line)] = Field(
        examples=["https://gesdent.clinica.example/api/"]
    )
    resource_ids: list[Annotated[str, Field(max_length=100)]] = Field(
        min_length=1, max_length=50, examples=[["EJEJQKV5-ETREAXNR-IF4YDMXE-S4EEOH4W-3ES2"]]
    )
    credentials: CredentialsIn
    enabled: StrictBool = True
    interval_minutes: StrictInt = Field(15, ge=1, le=1440, description="Minutes between scheduled runs.")
    window_days: StrictInt = Field(14, ge=1, le=180, description="Days of availability to import.")
    rotate_webhook_secret: StrictBool = Field(False, description="Issue a new webhook secret (shown once).")


class CredentialPublic(Output):
    username: str
    password_set: bool


class CredentialsPublic(Output):
    users: CredentialPublic
    reservations: CredentialPublic
    availability: CredentialPublic


class GesdentPublic(Output):
    base_url: str
    resource_ids: list[str]
    credentials: CredentialsPublic
    enabled: bool
    interval_minutes: int
    window_days: int
    webhook_secret_set: bool
    webhook_secret: str | None = Field(
        None,
        description="Only in the answer that created or rotated it: store it now, it is never shown again.",
    )
    version: int
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def build(cls, row: GesdentConnection, webhook_secret: str | None = None) -> GesdentPublic:
        credentials = {
            family: CredentialPublic(
                username=getattr(row, f"{family}_username"),
                password_set=bool(getattr(row, f"{family}_password")),
            )
            for family in FAMILIES
        }
        return cls(
            base_url=row.base_url,
            resource_ids=row.resource_ids.split(),
            credentials=CredentialsPublic(**credentials),
            enabled=row.enabled,
            interval_minutes=row.interval_minutes,
            window_days=row.window_days,
            webhook_secret_set=bool(row.webhook_secret),
            webhook_secret=webhook_secret,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
