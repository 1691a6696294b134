"""What the sync keeps from GESDENT, and where each stream resumes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import foreign_key, timestamp_column, utcnow
from app.domain import gesdent


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
    gesdent_id: str = Field(primary_key=True, max_length=gesdent.ID_LENGTH)
    name: str = Field(max_length=gesdent.RESOURCE_NAME_LENGTH)
    kind: str = Field(max_length=gesdent.KIND_LENGTH)
    active: bool = True
    remote_updated_at: str = Field(max_length=gesdent.MOMENT_LENGTH)


class GesdentPatient(SQLModel, table=True):
    __tablename__ = "gesdent_patients"

    instance_id: str = Field(sa_column=foreign_key("instances.id", primary_key=True))
    gesdent_id: str = Field(primary_key=True, max_length=gesdent.ID_LENGTH)
    first_name: str = Field(max_length=gesdent.PERSON_NAME_LENGTH)
    last_name: str = Field(max_length=gesdent.PERSON_NAME_LENGTH)
    phone: str | None = Field(default=None, max_length=gesdent.PHONE_LENGTH)
    email: str | None = Field(default=None, max_length=gesdent.EMAIL_LENGTH)
    birth_date: str | None = Field(default=None, max_length=gesdent.DATE_LENGTH)
    member_code: str | None = Field(default=None, max_length=gesdent.MEMBER_CODE_LENGTH)
    deleted: bool = False
    remote_updated_at: str = Field(max_length=gesdent.MOMENT_LENGTH)


class GesdentReservation(SQLModel, table=True):
    __tablename__ = "gesdent_reservations"
    __table_args__ = (sa.Index(None, "instance_id", "resource_id", "starts_at"),)

    instance_id: str = Field(sa_column=foreign_key("instances.id", primary_key=True))
    gesdent_id: str = Field(primary_key=True, max_length=gesdent.ID_LENGTH)
    resource_id: str = Field(max_length=gesdent.ID_LENGTH)
    user_id: str | None = Field(default=None, max_length=gesdent.ID_LENGTH)
    treatment_code: str | None = Field(default=None, max_length=gesdent.TREATMENT_CODE_LENGTH)
    starts_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    ends_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    status: str = Field(max_length=gesdent.STATUS_LENGTH)
    remote_updated_at: str = Field(max_length=gesdent.MOMENT_LENGTH)


class GesdentSlot(SQLModel, table=True):
    """A free slot of a resource, as of the last complete fetch of the availability window."""

    __tablename__ = "gesdent_slots"
    __table_args__ = (sa.Index(None, "instance_id", "starts_at"),)

    instance_id: str = Field(sa_column=foreign_key("instances.id", primary_key=True))
    resource_id: str = Field(primary_key=True, max_length=gesdent.ID_LENGTH)
    starts_at: datetime = Field(sa_column=timestamp_column(primary_key=True))
    ends_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    treatment_codes: str = Field(max_length=gesdent.TREATMENT_CODES_LENGTH)  # space-separated
