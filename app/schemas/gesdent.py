from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, field_validator

from app.db.models import GesdentConnection
from app.domain.gesdent import FAMILIES, split_credential, split_resource_ids
from app.domain.gesdent_patterns import (
    BASE_URL_PATTERN,
    CREDENTIAL_PATTERN,
    RESOURCE_ID_ITEM_PATTERN,
    RESOURCE_IDS_TEXT_PATTERN,
)
from app.domain.sync_health import stale_after
from app.schemas.common import Declared, Input, Output, SingleLine, Timestamp, WholeNumber

Username = Annotated[SingleLine, Field(min_length=1, max_length=200)]
Password = Annotated[SingleLine, Field(min_length=1, max_length=500)]


class CredentialIn(Input):
    """Kept exactly as given, spaces included."""

    username: Username = Field(examples=["digest"])
    password: Password | None = Field(
        None, examples=["wOPn7rKd2"], description="Omit to keep the stored password."
    )


CREDENTIAL_TEXT_LENGTH = 1000
CredentialText = Annotated[str, Field(max_length=CREDENTIAL_TEXT_LENGTH), Declared(CREDENTIAL_PATTERN)]


class CredentialsIn(Input):
    """One HTTP Digest credential per endpoint family (resources are read with `availability`): an
    object, kept exactly as given, or the procedure's `"username:password"` string, as pasted: the
    whitespace around the username and around the password is removed (`"digest: wOPn…"` is user
    `digest`). A password that really starts or ends with a space needs the object form."""

    users: CredentialIn | CredentialText = Field(examples=["digest:wOPn7rKd2"])
    reservations: CredentialIn | CredentialText = Field(examples=["digest:wOPn7rKd2"])
    availability: CredentialIn | CredentialText = Field(examples=["digest:wOPn7rKd2"])

    @field_validator(*FAMILIES, mode="before")
    @classmethod
    def _pair(cls, value: object) -> object:
        # A string becomes the object here, before CredentialText's own rules could apply: so here too.
        if isinstance(value, str):
            if len(value) > CREDENTIAL_TEXT_LENGTH:
                raise ValueError(f"at most {CREDENTIAL_TEXT_LENGTH} characters")
            pair = split_credential(value)
            if pair is None:
                raise ValueError('expected \'username:password\' or {"username", "password"}')
            return {"username": pair[0], "password": pair[1] or None}
        return value


ResourceIds = Annotated[
    list[Annotated[str, Field(max_length=100), Declared(RESOURCE_ID_ITEM_PATTERN)]],
    Field(min_length=1, max_length=50, examples=[["EJEJQKV5-ETREAXNR-IF4YDMXE-S4EEOH4W-3ES2"]]),
]

ResourceIdsText = Annotated[str, Field(min_length=1, max_length=6000), Declared(RESOURCE_IDS_TEXT_PATTERN)]


class GesdentPut(Input):
    """An instance's GESDENT connection rules, whole: where its server is, which resources to import,
    the credentials, and how often to sync."""

    base_url: (
        Annotated[SingleLine, Field(min_length=1, max_length=500), Declared(BASE_URL_PATTERN)] | None
    ) = Field(
        None,
        examples=["https://gesdent.clinica.example/api/"],
        description="This instance's GESDENT address. Omit (or null) to use the deployment's "
        "(PORTICO_GESDENT_BASE_URL). By default its host must have public addresses only: a private "
        "one, or a name that does not resolve, is refused.",
    )
    resource_ids: ResourceIds | ResourceIdsText = Field(
        description="A list, or one string of at most 50 IDs separated by commas, semicolons, spaces or "
        "line breaks, as pasted from the procedure. Case is forgiven; repeats are dropped.",
        examples=[["EJEJQKV5-ETREAXNR-IF4YDMXE-S4EEOH4W-3ES2"]],
    )
    credentials: CredentialsIn = Field(
        examples=[
            {
                "users": "digest:wOPn7rKd2",
                "reservations": "digest:wOPn7rKd2",
                "availability": "digest:wOPn7rKd2",
            }
        ]
    )
    enabled: StrictBool = Field(True, examples=[True])
    interval_minutes: Annotated[StrictInt, Field(ge=1, le=1440), WholeNumber] = Field(
        15, examples=[15], description="Minutes between scheduled runs."
    )
    window_days: Annotated[StrictInt, Field(ge=1, le=180), WholeNumber] = Field(
        14, examples=[14], description="Days of availability to import."
    )
    stale_after_minutes: Annotated[StrictInt, Field(ge=1, le=43200), WholeNumber] | None = Field(
        None,
        examples=[45],
        description="Minutes after the last successful sync from which its health is `stale`. Omit (or "
        "null) for the default: 3 times interval_minutes.",
    )
    rotate_webhook_secret: StrictBool = Field(
        False, examples=[False], description="Issue a new webhook secret (shown once)."
    )

    @property
    def resource_id_list(self) -> list[str]:
        ids = self.resource_ids
        return split_resource_ids(ids) if isinstance(ids, str) else ids


class CredentialPublic(Output):
    """A stored credential: its username, and whether it has a password (never the password)."""

    username: str = Field(examples=["digest"])
    password_set: bool = Field(examples=[True])


class CredentialsPublic(Output):
    """The stored credential of each endpoint family (resources are read with `availability`)."""

    users: CredentialPublic
    reservations: CredentialPublic
    availability: CredentialPublic


class GesdentPublic(Output):
    """An instance's GESDENT connection rules, without the passwords; the webhook secret only when it
    was just issued."""

    base_url: str | None = Field(
        examples=["https://gesdent.clinica.example/api/"],
        description="This instance's own address; null when it uses the deployment's.",
    )
    effective_base_url: str | None = Field(
        examples=["https://gesdent.clinica.example/api/"],
        description="The address a sync uses now; null when neither the instance nor the deployment has one.",
    )
    base_url_source: Literal["instance", "deployment"] | None = Field(
        examples=["instance"],
        description="Where effective_base_url comes from: the rules (`instance`) or PORTICO_GESDENT_BASE_URL "
        "(`deployment`).",
    )
    resource_ids: list[str] = Field(examples=[["EJEJQKV5-ETREAXNR-IF4YDMXE-S4EEOH4W-3ES2"]])
    credentials: CredentialsPublic
    enabled: bool = Field(examples=[True], description="Whether scheduled runs are on.")
    interval_minutes: int = Field(examples=[15], description="Minutes between scheduled runs.")
    window_days: int = Field(examples=[14], description="Days of availability to import.")
    stale_after_minutes: int = Field(
        examples=[45],
        description="Minutes after the last successful sync from which its health is `stale` (in effect).",
    )
    stale_after_default: bool = Field(
        examples=[True],
        description="stale_after_minutes is the default, 3 times interval_minutes (none was set).",
    )
    webhook_secret_set: bool = Field(examples=[True])
    webhook_secret: str | None = Field(
        None,
        examples=["whsec_so3o0lmgf+CJsjv4YmdPuNya+KvNQnNgAHNgtfEzf90="],
        description="Only in the answer that created or rotated it: store it now, it is never shown again.",
    )
    version: int = Field(examples=[1], description="Goes up by one with each PUT.")
    created_at: Timestamp = Field(examples=["2026-12-01T02:22:05.278000Z"])
    updated_at: Timestamp = Field(examples=["2026-12-01T02:22:05.278015Z"])

    @classmethod
    def build(
        cls, row: GesdentConnection, default_base_url: str | None, webhook_secret: str | None = None
    ) -> GesdentPublic:
        credentials = {
            family: CredentialPublic(
                username=getattr(row, f"{family}_username"),
                password_set=bool(getattr(row, f"{family}_password")),
            )
            for family in FAMILIES
        }
        source: Literal["instance", "deployment"] | None = None
        if row.base_url:
            source = "instance"
        elif default_base_url:
            source = "deployment"
        stale_after_minutes, stale_after_default = stale_after(row.interval_minutes, row.stale_after_minutes)
        return cls(
            base_url=row.base_url,
            effective_base_url=row.base_url or default_base_url,
            base_url_source=source,
            resource_ids=row.resource_ids.split(),
            credentials=CredentialsPublic(**credentials),
            enabled=row.enabled,
            interval_minutes=row.interval_minutes,
            window_days=row.window_days,
            stale_after_minutes=stale_after_minutes,
            stale_after_default=stale_after_default,
            webhook_secret_set=bool(row.webhook_secret),
            webhook_secret=webhook_secret,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
