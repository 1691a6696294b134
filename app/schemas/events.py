"""The outbound events as their receivers get them: `{"type", "timestamp", "data"}`, one schema of
`data` per type. Published in the spec's `webhooks` (app/routers/events.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.domain.gesdent import Stream
from app.domain.values import RequirementCode
from app.schemas.common import Output, Timestamp, Uuid

STAMP = "2026-12-01T02:22:04.134805Z"
HealthState = Literal["fresh", "stale", "failing", "disabled", "never"]


class SyncRunEventData(Output):
    """A sync run's outcome, as recorded (`sync.run.succeeded`, `sync.run.partial`, `sync.run.failed`)."""

    run_id: Uuid
    instance: str = Field(examples=["tt_sanitas_north"])
    status: Literal["succeeded", "partial", "failed"] = Field(examples=["partial"])
    trigger: Literal["schedule", "manual", "webhook"] = Field(examples=["schedule"])
    counts: dict[str, dict[str, float]] = Field(
        examples=[
            {"reservations": {"fetched": 12, "created": 2, "updated": 1, "deleted": 0, "unchanged": 9}}
        ],
        description="Per stream: fetched, created, updated, deleted, unchanged (and seconds).",
    )
    error: str | None = Field(examples=["availability: HTTP 503 after 4 attempts"])
    requested_at: Timestamp
    started_at: Timestamp | None = Field(examples=[STAMP])
    finished_at: Timestamp | None = Field(examples=[STAMP])


class UnmetRequirementData(Output):
    """A condition the portal does not meet."""

    code: RequirementCode = Field(examples=["communications-enabled"])
    message: str = Field(examples=["the general switch for automatic SMS, voice and e-mail must be off"])


class ReadinessEventData(Output):
    """A portal's readiness after a change (`portal.readiness.changed`): sent when an instance that
    is or was a portal becomes ready, stops being ready, or its unmet requirements change."""

    instance: str = Field(examples=["tt_portal_sanitas"])
    is_portal: bool = Field(examples=[True], description="False: the change made it a portal no more.")
    ready: bool = Field(examples=[False])
    was_ready: bool = Field(examples=[True])
    unmet: list[UnmetRequirementData] = Field(description="Empty when ready.")


class HealthEventData(Output):
    """An instance's sync health state changed (`sync.health.changed`)."""

    instance: str = Field(examples=["tt_sanitas_north"])
    stream: Stream | None = Field(
        examples=["availability"],
        description="The stream whose state changed; null for the instance's runs as a whole (each "
        "change is its own event).",
    )
    state: HealthState = Field(examples=["failing"])
    previous_state: HealthState = Field(examples=["fresh"])
    since: Timestamp = Field(
        examples=["2026-12-01T02:22:08.988478Z"],
        description="When the new state holds from: the failing run's end, the moment the last "
        "success went stale, the change of the rules.",
    )


class TestEventData(Output):
    """A test event (`webhook.test`), sent by `POST /v1/webhook-endpoints/{id}/test`."""

    endpoint_id: Uuid
    message: str = Field(examples=["A test event from Portico."])


class SyncRunSucceeded(Output):
    """A sync run imported every stream it was asked for."""

    type: Literal["sync.run.succeeded"]
    timestamp: Timestamp = Field(description="When the event was written (RFC 3339, UTC).")
    data: SyncRunEventData


class SyncRunPartial(Output):
    """A sync run imported some streams; others failed (`error` says which and why)."""

    type: Literal["sync.run.partial"]
    timestamp: Timestamp = Field(description="When the event was written (RFC 3339, UTC).")
    data: SyncRunEventData


class SyncRunFailed(Output):
    """A sync run failed: nothing new was imported (`error` says why)."""

    type: Literal["sync.run.failed"]
    timestamp: Timestamp = Field(description="When the event was written (RFC 3339, UTC).")
    data: SyncRunEventData


class SyncHealthChanged(Output):
    """An instance's sync health state changed."""

    type: Literal["sync.health.changed"]
    timestamp: Timestamp = Field(description="When the event was written (RFC 3339, UTC).")
    data: HealthEventData


class PortalReadinessChanged(Output):
    """A portal's readiness changed."""

    type: Literal["portal.readiness.changed"]
    timestamp: Timestamp = Field(description="When the event was written (RFC 3339, UTC).")
    data: ReadinessEventData


class WebhookTest(Output):
    """A test event, sent to one endpoint on request."""

    type: Literal["webhook.test"]
    timestamp: Timestamp = Field(description="When the event was written (RFC 3339, UTC).")
    data: TestEventData


# Each type's `data`, as the spec has it: the outbox writes an event's data through its schema, so
# what is sent is what the spec says (timestamps in RFC 3339 UTC, no field left out or added).
EVENT_DATA: dict[str, type[Output]] = {
    "sync.run.succeeded": SyncRunEventData,
    "sync.run.partial": SyncRunEventData,
    "sync.run.failed": SyncRunEventData,
    "sync.health.changed": HealthEventData,
    "portal.readiness.changed": ReadinessEventData,
    "webhook.test": TestEventData,
}
