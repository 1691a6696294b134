"""Outbound events: the catalogue of types, the retry schedule and what an answer means, as pure
values and functions (the outbox and the delivery loop live in app/events)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class EventType(StrEnum):
    """The types of outbound events an endpoint may subscribe to."""

    SYNC_RUN_SUCCEEDED = "sync.run.succeeded"
    SYNC_RUN_PARTIAL = "sync.run.partial"
    SYNC_RUN_FAILED = "sync.run.failed"
    SYNC_HEALTH_CHANGED = "sync.health.changed"
    PORTAL_READINESS_CHANGED = "portal.readiness.changed"
    WEBHOOK_TEST = "webhook.test"


SYNC_RUN_TYPES = {
    "succeeded": EventType.SYNC_RUN_SUCCEEDED,
    "partial": EventType.SYNC_RUN_PARTIAL,
    "failed": EventType.SYNC_RUN_FAILED,
}
HEALTH_CHANGED = EventType.SYNC_HEALTH_CHANGED
READINESS_CHANGED = EventType.PORTAL_READINESS_CHANGED
TEST_EVENT = EventType.WEBHOOK_TEST

# What each type means (the spec and the docs say the same).
EVENT_TYPES: dict[str, str] = {
    EventType.SYNC_RUN_SUCCEEDED: "A sync run finished and imported every stream it was asked for.",
    EventType.SYNC_RUN_PARTIAL: "A sync run finished with some streams imported and others failed.",
    EventType.SYNC_RUN_FAILED: "A sync run failed: nothing new was imported.",
    EventType.SYNC_HEALTH_CHANGED: (
        "An instance's sync health state changed (fresh, stale, failing, disabled or never)."
    ),
    EventType.PORTAL_READINESS_CHANGED: "A portal became ready to take members, or stopped being ready.",
    EventType.WEBHOOK_TEST: "A test event, sent to one endpoint by `POST /v1/webhook-endpoints/{id}/test`.",
}

# Seconds to wait before each attempt of a delivery: the first at once, the last about 27.6 hours
# after the first. A delivery none of whose attempts succeeded is given up.
RETRY_SCHEDULE: tuple[float, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
# A receiver's Retry-After may push an attempt later than the schedule, never beyond this.
MAX_RETRY_AFTER = 10 * 3600.0

Verdict = Literal["delivered", "retry", "gone"]


def verdict(status_code: int | None) -> Verdict:
    """What an answer means: any 2xx delivers; 410 Gone disables the endpoint; anything else (other
    4xx, 429, 5xx, 3xx, or no answer at all: None) is retried on the schedule."""
    if status_code is not None and 200 <= status_code < 300:  # noqa: PLR2004
        return "delivered"
    if status_code == 410:  # noqa: PLR2004
        return "gone"
    return "retry"


def next_delay(
    attempts: int, retry_after: float | None = None, schedule: tuple[float, ...] = RETRY_SCHEDULE
) -> float | None:
    """Seconds before the next attempt after `attempts` failed ones; None when the schedule is spent.
    A Retry-After longer than the schedule's wait is honoured, up to MAX_RETRY_AFTER."""
    if attempts >= len(schedule):
        return None
    delay = schedule[attempts]
    if retry_after is not None and retry_after > delay:
        delay = min(retry_after, max(MAX_RETRY_AFTER, delay))
    return delay


@dataclass(frozen=True)
class Readiness:
    """Whether an instance is a ready portal, and why not (the codes of its unmet requirements)."""

    is_portal: bool
    unmet: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return self.is_portal and not self.unmet


def readiness_changed(before: Readiness, after: Readiness) -> bool:
    """A `portal.readiness.changed` is due when the instance is (or was) a portal and its readiness
    or its list of unmet requirements changed; a standalone instance that stays one says nothing."""
    return (before.is_portal or after.is_portal) and before != after


def subscribed(event_types: str, event_type: str) -> bool:
    """Whether an endpoint's space-separated `event_types` take `event_type`."""
    return event_type in event_types.split()
