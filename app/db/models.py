"""Table models. API schemas live in app/schemas; these never leave the service layer."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = SQLModel.metadata


def new_id() -> str:
    """A UUIDv7: random, yet ordered by creation time, so keyset pages follow creation order."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(**kwargs: object) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(sa.DateTime(timezone=True), **kwargs)  # type: ignore[arg-type]


def _fk(target: str, **kwargs: object) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(sa.String(36), sa.ForeignKey(target, ondelete="CASCADE"), **kwargs)  # type: ignore[arg-type]


class Partner(SQLModel, table=True):
    __tablename__ = "partners"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    partner_id: str = Field(sa_column=_fk("partners.id", nullable=False, index=True))
    name: str = Field(max_length=200)
    lookup: str = Field(max_length=32, unique=True)
    key_hash: str = Field(max_length=64)
    scopes: str = Field(max_length=400)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class Instance(SQLModel, table=True):
    __tablename__ = "instances"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    partner_id: str = Field(sa_column=_fk("partners.id", nullable=False, index=True))
    name: str = Field(max_length=63, unique=True)
    display_name: str = Field(max_length=200)
    member_code: str | None = Field(default=None, max_length=64)
    cloned_from: str | None = Field(default=None, max_length=63)
    comms_enabled: bool = True
    comms_sms: bool = True
    comms_voice: bool = True
    comms_email: bool = True
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class InstanceSetting(SQLModel, table=True):
    __tablename__ = "instance_settings"

    instance_id: str = Field(sa_column=_fk("instances.id", primary_key=True))
    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


class Membership(SQLModel, table=True):
    """An instance attached to a portal. The primary key on member_id holds invariant 3:
    an instance is a member of at most one portal, whatever the concurrency."""

    __tablename__ = "memberships"
    __table_args__ = (sa.CheckConstraint("member_id <> portal_id", name="not_self"),)

    member_id: str = Field(sa_column=_fk("instances.id", primary_key=True))
    portal_id: str = Field(sa_column=_fk("instances.id", nullable=False, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
