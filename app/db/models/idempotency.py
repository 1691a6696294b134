"""Idempotency keys: the first answer to a request sent with an `Idempotency-Key`, per owner and key."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import foreign_key, timestamp_column

RUNNING, DONE = "running", "done"


class IdempotencyKey(SQLModel, table=True):
    """One key of one owner (a partner, or the operator's master key), claimed by the request that
    runs it (`running`), then holding its answer (`done`) until `expires_at`.

    The primary key is the lock: the first INSERT wins, the others see its row (app/idempotency.py).
    `claim` names the request that holds a running key, so that a request whose claim was taken over
    (it ran past the bound) cannot complete or release its successor's. The body is encrypted (it may
    show a secret once: a new API key, a webhook endpoint's signing secret)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        sa.CheckConstraint(f"state IN ('{RUNNING}', '{DONE}')", name="state"),
        sa.Index(None, "expires_at"),
    )

    owner: str = Field(primary_key=True, max_length=36)  # a partner's id, or "master"
    key: str = Field(primary_key=True, max_length=255)
    # For ON DELETE CASCADE: a partner's keys go with it. Null for the master key's.
    partner_id: str | None = Field(
        default=None, sa_column=foreign_key("partners.id", nullable=True, index=True)
    )
    api_key_id: str | None = Field(default=None, max_length=36)  # who sent the first request
    fingerprint: str = Field(max_length=64)
    method: str = Field(max_length=8)
    path: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    state: str = Field(max_length=8)
    claim: str = Field(max_length=32)
    claimed_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    expires_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    status: int | None = Field(default=None)
    headers: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))  # JSON pairs
    body: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))  # SecretBox token
