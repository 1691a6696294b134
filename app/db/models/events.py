"""Outbound events: the partners' webhook endpoints, the outbox of events, and each event's delivery
to each endpoint that subscribed to it (app/events)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import foreign_key, new_id, timestamp_column, utcnow

PENDING = sa.text("status = 'pending'")


class WebhookEndpoint(SQLModel, table=True):
    """Where a partner wants its events POSTed. The signing secrets are stored encrypted
    (app/crypto.py); the previous one keeps signing beside the new one until it expires."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (sa.Index(None, "partner_id", "id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    partner_id: str = Field(sa_column=foreign_key("partners.id", nullable=False))
    url: str = Field(max_length=500)
    description: str = Field(default="", max_length=200)
    event_types: str = Field(max_length=1000)  # space-separated, from app/domain/events.py
    secret: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    previous_secret: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    previous_secret_expires_at: datetime | None = Field(
        default=None, sa_column=timestamp_column(nullable=True)
    )
    enabled: bool = True
    disabled_reason: str | None = Field(default=None, max_length=500)
    disabled_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    last_success_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class Event(SQLModel, table=True):
    """One event in the outbox, written in the transaction of the change it tells of. Its id (a
    UUIDv7 that grows within a process, app/events/outbox.py) orders an instance's events."""

    __tablename__ = "events"
    __table_args__ = (sa.Index(None, "created_at", "id"),)  # the pruning pass's order

    id: str = Field(primary_key=True, max_length=36)
    partner_id: str = Field(sa_column=foreign_key("partners.id", nullable=False))
    type: str = Field(max_length=64)
    # Not a foreign key: an event outlives the instance it tells of (its deletion, say).
    instance_id: str | None = Field(default=None, max_length=36)
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # JSON: the event's `data`
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class EventDelivery(SQLModel, table=True):
    """An event on its way to one endpoint: `pending` (due at `next_attempt_at`, or in flight under a
    lease), `delivered`, or `failed` (given up). Rows are the queue, as sync runs are."""

    __tablename__ = "event_deliveries"
    __table_args__ = (
        # The claim: pending deliveries by when they are due.
        sa.Index(
            "ix_event_deliveries_due",
            "next_attempt_at",
            "id",
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        ),
        # Order per instance: is an earlier delivery of the same instance to this endpoint pending?
        sa.Index(
            "ix_event_deliveries_pending_order",
            "endpoint_id",
            "instance_id",
            "event_id",
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        ),
        sa.Index(None, "endpoint_id", "id"),  # the delivery log
        sa.Index(None, "event_id"),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    event_id: str = Field(sa_column=foreign_key("events.id", nullable=False))
    endpoint_id: str = Field(sa_column=foreign_key("webhook_endpoints.id", nullable=False))
    instance_id: str | None = Field(default=None, max_length=36)  # the event's, for the order
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_expires_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    last_attempt_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
