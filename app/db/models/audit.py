"""The audit trail: one row per configuration target a write changed (app/audit)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import foreign_key, timestamp_column, utcnow


class AuditEvent(SQLModel, table=True):
    """A change of one target (an instance, a setting, a service, a mapping...) by one write: who made
    it, in which request and operation, and its fields before and after, secrets redacted. Its id (a
    UUIDv7 that grows within a process) orders the trail."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index(None, "partner_id", "id"),
        sa.Index(None, "partner_id", "instance_name", "id"),
        sa.Index(None, "occurred_at"),  # the pruning pass's order
    )

    id: str = Field(primary_key=True, max_length=36)
    occurred_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    # The partner whose configuration changed: the one who sees the event.
    partner_id: str = Field(sa_column=foreign_key("partners.id", nullable=False))
    actor_type: str = Field(max_length=16)  # api_key | operator
    actor_via: str = Field(max_length=16)  # api | cli
    actor_partner_id: str | None = Field(default=None, max_length=36)
    actor_key_id: str | None = Field(default=None, max_length=36)
    actor_key_prefix: str | None = Field(default=None, max_length=40)
    request_id: str = Field(max_length=128)
    operation: str = Field(max_length=100)
    idempotency_key: str | None = Field(default=None, max_length=255)
    instance_name: str | None = Field(default=None, max_length=63)
    target_kind: str = Field(max_length=32)
    target_id: str = Field(max_length=200)
    target_name: str = Field(max_length=500)
    action: str = Field(max_length=16)  # create | update | delete
    changes: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # JSON: field -> before, after
