from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, StrictBool

from app.db.models import SyncRejection, SyncRun
from app.domain.gesdent import Stream
from app.schemas.common import Input, Output, Timestamp, Uuid

RunStatus = Literal["queued", "running", "succeeded", "partial", "failed"]
Trigger = Literal["schedule", "manual", "webhook"]


class SyncRunCreate(Input):
    full_refresh: StrictBool = Field(
        False, examples=[False], description="Ignore the cursors and fetch everything again."
    )


class StreamCounts(Output):
    fetched: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    rejected: int = Field(
        0,
        description="Records skipped as malformed (`fetched` counts them too); their ids and reasons: "
        "`GET /v1/sync-runs/{run_id}/rejections`.",
    )
    seconds: float | None = None


class SyncRunPublic(Output):
    id: Uuid
    instance: str
    trigger: Trigger
    status: RunStatus
    full_refresh: bool
    streams: list[str]
    requested_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    duration_seconds: float | None
    attempts: int
    counts: dict[str, StreamCounts] = Field(
        description="Per stream: resources, users, reservations, availability."
    )
    error: str | None = Field(description="Why the run failed or was partial, readable.")

    @classmethod
    def build(cls, run: SyncRun, instance: str) -> SyncRunPublic:
        counts: dict[str, Any] = json.loads(run.counts or "{}")
        duration = None
        if run.started_at is not None and run.finished_at is not None:
            duration = round((run.finished_at - run.started_at).total_seconds(), 3)
        return cls(
            id=run.id,
            instance=instance,
            trigger=run.trigger,
            status=run.status,
            full_refresh=run.full_refresh,
            streams=run.streams.split(),
            requested_at=run.requested_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            duration_seconds=duration,
            attempts=run.attempts,
            counts={stream: StreamCounts(**values) for stream, values in counts.items()},
            error=run.error,
        )


class RunSummary(Output):
    run_id: Uuid
    finished_at: Timestamp | None
    error: str | None = None


class SyncStatus(Output):
    instance: str
    configured: bool
    enabled: bool
    interval_minutes: int | None
    last_success: RunSummary | None
    last_error: RunSummary | None
    active_run: SyncRunPublic | None
    next_scheduled_at: Timestamp | None


class SyncRejectionPublic(Output):
    """A record a run skipped as malformed: which one, which field, what is wrong; never a value."""

    stream: Stream
    resource_id: str | None = Field(
        description="The resource whose answer held the record (reservations, availability)."
    )
    position: int = Field(
        description="The record's place in its answer, from 0, across the pages of the stream (per "
        "resource for reservations and availability; for resources, in the connection rules)."
    )
    record_id: str | None = Field(description="The record's GESDENT id; null when it has no usable one.")
    field: str | None = Field(description="The field at fault; null when the record is not an object.")
    reason: str = Field(description="What is wrong with the field (never its value).")

    @classmethod
    def build(cls, rejection: SyncRejection) -> SyncRejectionPublic:
        return cls(
            stream=rejection.stream,
            resource_id=rejection.resource_id,
            position=rejection.position,
            record_id=rejection.record_id,
            field=rejection.field,
            reason=rejection.reason,
        )
