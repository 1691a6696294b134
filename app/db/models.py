"""Table models. API schemas live in app/schemas; these never leave the service layer."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.domain.gesdent import STREAMS

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


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table of a table model, for Core statements."""
    # SQLModel sets `__table__` on every table=True class but does not declare it for type checkers.
    return model.__table__  # type: ignore[attr-defined]


def _ts(**kwargs: object) -> sa.Column:
    """A UTC timestamp column; a NOT NULL one defaults to now, for Core inserts as for the ORM."""
    if kwargs.get("nullable") is False:
        kwargs.setdefault("default", utcnow)
    return sa.Column(sa.DateTime(timezone=True), **kwargs)  # type: ignore[arg-type]


def _fk(target: str, **kwargs: object) -> sa.Column:
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
    __table_args__ = (
        sa.CheckConstraint("member_id <> portal_id", name="not_self"),
        # Target of the mappings' foreign key: a mapping exists only within a membership.
        sa.UniqueConstraint("member_id", "portal_id"),
    )

    member_id: str = Field(sa_column=_fk("instances.id", primary_key=True))
    portal_id: str = Field(sa_column=_fk("instances.id", nullable=False, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class Service(SQLModel, table=True):
    """A bookable service ("prestation") of an instance, keyed in URLs and CSV by its code."""

    __tablename__ = "services"
    __table_args__ = (
        sa.UniqueConstraint("instance_id", "code"),
        # Target of the composite foreign keys that tie a mapping's services to their instances.
        sa.UniqueConstraint("instance_id", "id"),
        sa.CheckConstraint("duration_minutes > 0", name="duration_positive"),
        sa.CheckConstraint("price IS NULL OR price >= 0", name="price_not_negative"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    instance_id: str = Field(sa_column=_fk("instances.id", nullable=False))
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    duration_minutes: int
    price: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(10, 2), nullable=True))
    web_enabled: bool = False
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class Mapping(SQLModel, table=True):
    """Member service → portal service. The database holds invariants 4 and 5 by itself:
    the primary key allows one target per member service; the composite foreign keys require the
    member service to belong to a member of the portal, and the target to belong to that portal;
    and a mapped portal service or a membership with mappings cannot vanish (invariant 6)."""

    __tablename__ = "mappings"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["member_id", "member_service_id"], ["services.instance_id", "services.id"], ondelete="CASCADE"
        ),
        # Checked at commit rather than at once, so that deleting a whole partner or instance may
        # cascade through services, memberships and mappings in whatever order the database picks.
        sa.ForeignKeyConstraint(
            ["portal_id", "portal_service_id"],
            ["services.instance_id", "services.id"],
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.ForeignKeyConstraint(
            ["member_id", "portal_id"],
            ["memberships.member_id", "memberships.portal_id"],
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.Index(None, "portal_id", "portal_service_id"),
        sa.Index(None, "member_id"),
    )

    member_service_id: str = Field(primary_key=True, max_length=36)
    portal_service_id: str = Field(max_length=36)
    member_id: str = Field(max_length=36)
    portal_id: str = Field(max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class GesdentConnection(SQLModel, table=True):
    """An instance's SYNC connection rules. Passwords and the webhook secret are stored encrypted
    (app/crypto.py) and never leave the service layer in clear."""

    __tablename__ = "gesdent_connections"
    __table_args__ = (
        sa.CheckConstraint("interval_minutes >= 1", name="interval_positive"),
        sa.CheckConstraint("window_days >= 1", name="window_positive"),
    )

    instance_id: str = Field(sa_column=_fk("instances.id", primary_key=True))
    base_url: str | None = Field(default=None, max_length=500)  # null: PORTICO_GESDENT_BASE_URL
    resource_ids: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # space-separated
    users_username: str = Field(max_length=200)
    users_password: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    reservations_username: str = Field(max_length=200)
    reservations_password: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    availability_username: str = Field(max_length=200)
    availability_password: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    webhook_secret: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    enabled: bool = True
    interval_minutes: int = 15
    window_days: int = 14
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class SyncRun(SQLModel, table=True):
    """One import from GESDENT: a row is the queue entry, the lease and the record of what happened."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        # At most one active run per instance: a second trigger finds (and returns) the first.
        sa.Index(
            "uq_sync_runs_one_active",
            "instance_id",
            unique=True,
            sqlite_where=sa.text("status IN ('queued', 'running')"),
            postgresql_where=sa.text("status IN ('queued', 'running')"),
        ),
        # A scheduled run per instance and time slot, however many replicas tick.
        sa.UniqueConstraint("instance_id", "slot"),
        sa.Index(None, "status", "lease_expires_at"),
        sa.Index(None, "instance_id", "requested_at"),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'partial', 'failed')", name="status_known"
        ),
        sa.CheckConstraint("trigger IN ('schedule', 'manual', 'webhook')", name="trigger_known"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    instance_id: str = Field(sa_column=_fk("instances.id", nullable=False))
    trigger: str = Field(max_length=16)
    status: str = Field(default="queued", max_length=16)
    full_refresh: bool = False
    streams: str = Field(default=" ".join(STREAMS), max_length=200)
    slot: str | None = Field(default=None, max_length=40)
    requested_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_expires_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    attempts: int = 0
    counts: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False, default="{}"))
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))


class SyncRejection(SQLModel, table=True):
    """A record GESDENT sent that broke the contract, skipped by its run: which record and field,
    and what was wrong; never a value of it. At most 100 per stream per run (the run's counts hold
    the total); readable with `patients:read` only."""

    __tablename__ = "sync_rejections"
    __table_args__ = (sa.Index(None, "run_id", "id"),)

    # BIGINT on PostgreSQL; INTEGER on SQLite, where only that type makes the rowid key.
    id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    run_id: str = Field(sa_column=_fk("sync_runs.id", nullable=False))
    stream: str = Field(max_length=16)
    # The resource whose answer held the record (reservations, availability); null for the others.
    resource_id: str | None = Field(default=None, max_length=100)
    # The record's place in its answer: from 0, across the pages of the stream (of the resource).
    position: int
    record_id: str | None = Field(default=None, max_length=100)  # null: no usable id
    field: str | None = Field(default=None, max_length=64)  # null: the record is not an object
    reason: str = Field(max_length=200)


class SyncCursor(SQLModel, table=True):
    """Where an incremental stream resumes; committed in the same transaction as its data."""

    __tablename__ = "sync_cursors"

    instance_id: str = Field(sa_column=_fk("instances.id", primary_key=True))
    stream: str = Field(primary_key=True, max_length=32)
    updated_since: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class GesdentResource(SQLModel, table=True):
    __tablename__ = "gesdent_resources"

    instance_id: str = Field(sa_column=_fk("instances.id", primary_key=True))
    gesdent_id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=300)
    kind: str = Field(max_length=32)
    active: bool = True
    remote_updated_at: str = Field(max_length=64)


class GesdentPatient(SQLModel, table=True):
    __tablename__ = "gesdent_patients"

    instance_id: str = Field(sa_column=_fk("instances.id", primary_key=True))
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

    instance_id: str = Field(sa_column=_fk("instances.id", primary_key=True))
    gesdent_id: str = Field(primary_key=True, max_length=100)
    resource_id: str = Field(max_length=100)
    user_id: str | None = Field(default=None, max_length=100)
    treatment_code: str | None = Field(default=None, max_length=32)
    starts_at: datetime = Field(sa_column=_ts(nullable=False))
    ends_at: datetime = Field(sa_column=_ts(nullable=False))
    status: str = Field(max_length=16)
    remote_updated_at: str = Field(max_length=64)


class GesdentSlot(SQLModel, table=True):
    """A free slot of a resource, as of the last complete fetch of the availability window."""

    __tablename__ = "gesdent_slots"
    __table_args__ = (sa.Index(None, "instance_id", "starts_at"),)

    instance_id: str = Field(sa_column=_fk("instances.id", primary_key=True))
    resource_id: str = Field(primary_key=True, max_length=100)
    starts_at: datetime = Field(sa_column=_ts(primary_key=True))
    ends_at: datetime = Field(sa_column=_ts(nullable=False))
    treatment_codes: str = Field(max_length=400)  # space-separated


class WebhookDelivery(SQLModel, table=True):
    """A webhook-id seen once per instance; the primary key makes a replay a no-op, even when two
    arrive at once. Keyed by instance too: webhook-ids come from the senders, so one partner's ids
    must never pre-empt another's deliveries."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.PrimaryKeyConstraint("instance_id", "id"), sa.Index(None, "received_at"))

    id: str = Field(max_length=200)
    instance_id: str = Field(sa_column=_fk("instances.id", nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
