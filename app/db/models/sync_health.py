"""Sync health: per instance and stream, the outcomes its state derives from and the state last
recorded (app/domain/sync_health.py has the rules; app/sync/health.py writes the rows)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import foreign_key, timestamp_column
from app.domain.sync_health import ERROR_LENGTH

# Written out, not bound: the planner proves a partial index's predicate from the query's text.
FRESH = sa.text("state = 'fresh'")


class SyncHealth(SQLModel, table=True):
    """One row per instance for its runs as a whole (`stream` '*') and one per stream. Written in
    the transaction that records a run's outcome, and when the rules change; the ticker turns
    `fresh` rows whose `stale_at` passed into `stale` (one statement, on the partial index)."""

    __tablename__ = "sync_health"
    __table_args__ = (
        sa.Index(None, "stale_at", postgresql_where=FRESH, sqlite_where=FRESH),
        sa.CheckConstraint("state IN ('fresh', 'stale', 'failing', 'disabled', 'never')", name="state_known"),
        sa.CheckConstraint(
            "stream IN ('*', 'resources', 'users', 'reservations', 'availability')", name="stream_known"
        ),
    )

    instance_id: str = Field(sa_column=foreign_key("instances.id", primary_key=True))
    stream: str = Field(primary_key=True, max_length=16)
    state: str = Field(max_length=16)
    # When the recorded state began; null for `never` and `disabled` recorded before any outcome.
    state_since: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    last_success_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    last_error_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    last_error: str | None = Field(default=None, max_length=ERROR_LENGTH)
    # The first error after the last success; null when the latest outcome is a success.
    failing_since: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    # When the last success goes stale under the rules in force: kept, so "stale now" is a comparison.
    stale_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
