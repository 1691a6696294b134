"""The GESDENT webhook deliveries, seen once per instance."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import foreign_key, timestamp_column, utcnow


class WebhookDelivery(SQLModel, table=True):
    """A webhook-id seen once per instance; the primary key makes a replay a no-op, even when two
    arrive at once. Keyed by instance too: webhook-ids come from the senders, so one partner's ids
    must never pre-empt another's deliveries."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.PrimaryKeyConstraint("instance_id", "id"), sa.Index(None, "received_at"))

    id: str = Field(max_length=200)
    instance_id: str = Field(sa_column=foreign_key("instances.id", nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
