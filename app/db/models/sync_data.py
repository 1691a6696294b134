"""What the sync keeps from GESDENT, and where each stream resumes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import foreign_key, timestamp_column, utcnow


class SyncCursor(SQLModel, table=True):
    """Where an incremental stream resumes; committed in the same transaction as its data."""

    __tablename__ = "sync_cursors"

    instance_id: str = Field(sa_column=foreign_key("instances.id", primary_key=True))
    stream: str = Field(primary_key=True, max_length=32)
    updated_since: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class GesdentResource(SQLModel, table=True):
    __tablename__ = "gesdent_resources"

    instance_id: str = Field(sa_column=foreign_key("instances.id", primary_key=True))
    gesdent_id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=300)
    kind: str = Field(max_length=32)
    active: bool = True
    remote_updated_at: str = Field(max_length=64)


class GesdentPatient(SQLModel, table=True):
    __tablename__ = "gesdent_patients"

    instance_id: str = Field(sa_column=foreign_key("instances.id", primary_key=True))
    gesdent_id: str = Field(primary_key=True, max_length=100)
    first_name: str = Field(max_length=200)
    last_name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320)
    birth_date: str | None = Field(default=None, max_length=10)
    member_code: str | None = Field(default=None, max_length=64)
    deleted: bool = False
    remote_updated_at: str = Field(max_length=64)


class GesdentReservation(SQLModel, table=True):
    __tablename__ = "gesdent_reservations"
    __table_args__ = (sa.Index(None, "instance_id", "resource_id", "starts_at"),)

    instance_id: str = Field(sa_column=foreign_key("instances.id", primary_key=True))
    gesdent_id: str = Field(primary_key=True, max_length=100)
    resource_id: str = Field(max_length=100)
    user_id: str | None = Field(default=None, max_length=100)
    treatment_code: str | None = Field(default=None, max_length=32)
    starts_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    ends_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    status: str = Field(max_length=16)
    remote_updated_at: str = Field(max_length=64)


class GesdentSlot(SQLModel, table=True):
    """A free slot of a resource, as of the last complete fetch of the availability window."""

    __tablename__ = "gesdent_slots"
    __table_args__ = (sa.Index(None, "instance_id", "starts_at"),)

    instance_id: str = Field(sa_column=foreign_key("instances.id", primary_key=True))
    resource_id: str = Field(primary_key=True, max_length=100)
    starts_at: datetime = Field(sa_column=timestamp_column(primary_key=True))
    ends_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    treatment_codes: str = Field(max_length=400)  # space-separated
