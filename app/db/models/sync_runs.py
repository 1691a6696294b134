"""Sync runs, and the records they rejected."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import foreign_key, new_id, timestamp_column, utcnow
from app.domain.gesdent import STREAMS

# Written out, not bound: the planner proves a partial index's predicate from the query's text.
ACTIVE_RUN = sa.text("status IN ('queued', 'running')")


class SyncRun(SQLModel, table=True):
    """One import from GESDENT: a row is the queue entry, the lease and the record of what happened."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        # At most one active run per instance: a second trigger finds (and returns) the first.
        sa.Index(
            "uq_sync_runs_one_active",
            "instance_id",
            unique=True,
            sqlite_where=ACTIVE_RUN,
            postgresql_where=ACTIVE_RUN,
        ),
        # A scheduled run per instance and time slot, however many replicas tick.
        sa.UniqueConstraint("instance_id", "slot"),
        # The claim order (app/sync/queue.py `claimable`): when each active run began to wait. It
        # replaced (status, lease_expires_at), which only the claim read, so a run costs no more
        # index writes than before.
        sa.Index(
            "ix_sync_runs_waiting_since",
            sa.text("coalesce(lease_expires_at, requested_at)"),
            "id",
            sqlite_where=ACTIVE_RUN,
            postgresql_where=ACTIVE_RUN,
        ),
        sa.Index(None, "instance_id", "requested_at"),
        # The pruning pass walks old runs in this order (app/sync/retention.py).
        sa.Index(None, "requested_at", "id"),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'partial', 'failed')", name="status_known"
        ),
        sa.CheckConstraint("trigger IN ('schedule', 'manual', 'webhook')", name="trigger_known"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    instance_id: str = Field(sa_column=foreign_key("instances.id", nullable=False))
    trigger: str = Field(max_length=16)
    status: str = Field(default="queued", max_length=16)
    full_refresh: bool = False
    streams: str = Field(default=" ".join(STREAMS), max_length=200)
    slot: str | None = Field(default=None, max_length=40)
    requested_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_expires_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    attempts: int = 0
    counts: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False, default="{}"))
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    # W3C traceparent of the span that queued the run (00-<trace>-<span>-<flags>: 55 characters),
    # linked from the worker's span; null when tracing is off or the ticker queued it.
    traceparent: str | None = Field(default=None, max_length=64)


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
    run_id: str = Field(sa_column=foreign_key("sync_runs.id", nullable=False))
    stream: str = Field(max_length=16)
    # The resource whose answer held the record (reservations, availability); null for the others.
    resource_id: str | None = Field(default=None, max_length=100)
    # The record's place in its answer: from 0, across the pages of the stream (of the resource).
    position: int
    record_id: str | None = Field(default=None, max_length=100)  # null: no usable id
    field: str | None = Field(default=None, max_length=64)  # null: the record is not an object
    reason: str = Field(max_length=200)
