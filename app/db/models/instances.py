"""Instances, their settings, and the memberships that tie a member to its portal."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import foreign_key, new_id, timestamp_column, utcnow
from app.domain.values import LABEL_LENGTH


class Instance(SQLModel, table=True):
    __tablename__ = "instances"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    partner_id: str = Field(sa_column=foreign_key("partners.id", nullable=False, index=True))
    name: str = Field(max_length=63, unique=True)
    display_name: str = Field(max_length=LABEL_LENGTH)
    member_code: str | None = Field(default=None, max_length=64)
    cloned_from: str | None = Field(default=None, max_length=63)
    # An IANA zone name; the clinic's local days are what date filters on its data mean.
    time_zone: str = Field(
        default="Europe/Madrid",
        sa_column=sa.Column(sa.String(64), nullable=False, server_default="Europe/Madrid"),
    )
    comms_enabled: bool = True
    comms_sms: bool = True
    comms_voice: bool = True
    comms_email: bool = True
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class InstanceSetting(SQLModel, table=True):
    __tablename__ = "instance_settings"

    instance_id: str = Field(sa_column=foreign_key("instances.id", primary_key=True))
    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


class Membership(SQLModel, table=True):
    """An instance attached to a portal. The primary key on member_id holds invariant 3:
    an instance is a member of at most one portal, whatever the concurrency."""

    __tablename__ = "memberships"
    __table_args__ = (
        sa.CheckConstraint("member_id <> portal_id", name="not_self"),
        # Target of the mappings' foreign key: a mapping exists only within a membership.
        sa.UniqueConstraint("member_id", "portal_id"),
    )

    member_id: str = Field(sa_column=foreign_key("instances.id", primary_key=True))
    portal_id: str = Field(sa_column=foreign_key("instances.id", nullable=False, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
