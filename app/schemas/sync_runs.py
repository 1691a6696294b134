from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, StrictBool

from app.db.models import SyncRejection, SyncRun
from app.domain.gesdent import Stream
from app.schemas.common import EXAMPLE_UUID, Input, Output, Timestamp, Uuid
from app.schemas.sync_health import SyncHealthPublic

# Literals, not enums: the spec states them inline, so the fields that use them describe them.
RunStatus = Literal["queued", "running", "succeeded", "partial", "failed"]
Trigger = Literal["schedule", "manual", "webhook"]
STATUS_DESCRIPTION = (
    "`queued` (waiting for a worker), `running`, `succeeded` (every stream imported), `partial` (a stream "
    "failed after others were committed, or malformed records were skipped) or `failed`; `error` says why."
)
TRIGGER_DESCRIPTION = (
    "What asked for the run: `schedule` (the rules' interval), `manual` (a POST, or the old importer's URL) "
    "or `webhook` (GESDENT's change notification)."
)
RUN_ERROR = (
    "reservations: 1 record rejected (malformed): record 'R-500977': field 'start' is not an RFC 3339 "
    f"date-time; see GET /v1/sync-runs/{EXAMPLE_UUID}/rejections"
)


class SyncRunCreate(Input):
    """A manual run of the GESDENT import."""

    full_refresh: StrictBool = Field(
        False, examples=[False], description="Ignore the cursors and fetch everything again."
    )


class StreamCounts(Output):
    """What a run did with one stream's records, and how long the stream took."""

    fetched: int = Field(0, examples=[994], description="Records GESDENT sent.")
    created: int = Field(0, examples=[12])
    updated: int = Field(0, examples=[3])
    deleted: int = Field(0, examples=[0])
    unchanged: int = Field(0, examples=[978])
    rejected: int = Field(
        0,
        examples=[1],
        description="Records skipped as malformed (`fetched` counts them too); their ids and reasons: "
        "`GET /v1/sync-runs/{run_id}/rejections`.",
    )
    seconds: float | None = Field(None, examples=[0.045])


class SyncRunPublic(Output):
    """A run of the GESDENT import: what asked for it, where it is, and what it did per stream."""

    id: Uuid
    instance: str = Field(examples=["tt_clinic_north"])
    trigger: Trigger = Field(examples=["webhook"], description=TRIGGER_DESCRIPTION)
    status: RunStatus = Field(examples=["partial"], description=STATUS_DESCRIPTION)
    full_refresh: bool = Field(
        examples=[False], description="The cursors were ignored: everything fetched again."
    )
    streams: list[str] = Field(
        examples=[["reservations"]],
        description="The streams it imports, in order: `resources`, `users`, `reservations`, `availability`, "
        "or those a webhook named.",
    )
    requested_at: Timestamp = Field(examples=["2026-12-01T02:22:05.440556Z"])
    started_at: Timestamp | None = Field(
        examples=["2026-12-01T02:22:05.750824Z"],
        description="When a worker first took it up; null until then (a run handed back by a worker "
        "that stopped is queued again, and keeps it).",
    )
    finished_at: Timestamp | None = Field(
        examples=["2026-12-01T02:22:05.888888Z"], description="Null until it ends."
    )
    duration_seconds: float | None = Field(examples=[0.138], description="Null until it ends.")
    attempts: int = Field(
        examples=[1],
        description="How many times a worker took it up (again when one died or lost it); 0 until one "
        "does. A run handed back by a worker that stopped on request does not count it.",
    )
    counts: dict[str, StreamCounts] = Field(
        examples=[
            {
                "reservations": {
                    "fetched": 994,
                    "created": 12,
                    "updated": 3,
                    "deleted": 0,
                    "unchanged": 978,
                    "rejected": 1,
                    "seconds": 0.045,
                }
            }
        ],
        description="Per stream: resources, users, reservations, availability.",
    )
    error: str | None = Field(
        examples=[RUN_ERROR], description="Why the run failed or was partial, readable."
    )

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
    """A run in short: which one, when it ended, and its error if it had one."""

    run_id: Uuid
    finished_at: Timestamp | None = Field(examples=["2026-12-01T02:22:08.988478Z"])
    error: str | None = Field(
        None, examples=[RUN_ERROR], description="Why it failed or was partial; null for a run that succeeded."
    )


class SyncStatus(Output):
    """An instance's sync at a glance: its rules, the last success, the last failure, the run under
    way, the next scheduled one, and its health."""

    instance: str = Field(examples=["tt_clinic_north"])
    configured: bool = Field(examples=[True], description="The instance has GESDENT connection rules.")
    enabled: bool = Field(examples=[True], description="Scheduled runs are on.")
    interval_minutes: int | None = Field(
        examples=[15], description="Minutes between scheduled runs; null without rules."
    )
    last_success: RunSummary | None = Field(description="The last run that succeeded; null when none did.")
    last_error: RunSummary | None = Field(
        description="The last run that failed or was partial; null when none."
    )
    active_run: SyncRunPublic | None = Field(
        description="The run queued or under way; null when there is none."
    )
    next_scheduled_at: Timestamp | None = Field(
        examples=["2026-12-01T02:30:00Z"],
        description="When the next scheduled run is due; null when they are off.",
    )
    health: SyncHealthPublic = Field(
        description="Sync health: fresh, stale, failing, disabled or never; for the whole and per stream."
    )


class SyncRejectionPublic(Output):
    """A record a run skipped as malformed: which one, which field, what is wrong; never a value."""

    stream: Stream = Field(examples=["reservations"])
    resource_id: str | None = Field(
        examples=["EJEJQKV5-ETREAXNR-IF4YDMXE-S4EEOH4W-3ES2"],
        description="The resource whose answer held the record (reservations, availability).",
    )
    position: int = Field(
        examples=[41],
        description="The record's place in its answer, from 0, across the pages of the stream (per "
        "resource for reservations and availability; for resources, in the connection rules).",
    )
    record_id: str | None = Field(
        examples=["R-500977"], description="The record's GESDENT id; null when it has no usable one."
    )
    field: str | None = Field(
        examples=["start"], description="The field at fault; null when the record is not an object."
    )
    reason: str = Field(
        examples=["is not an RFC 3339 date-time"],
        description="What is wrong with the field (never its value).",
    )

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
