"""The outbound events' rules without a database: what an answer means, the retry schedule with
Retry-After, and when readiness is worth an event."""

from __future__ import annotations

import pytest

from app.domain.events import (
    EVENT_TYPES,
    MAX_RETRY_AFTER,
    RETRY_SCHEDULE,
    EventType,
    Readiness,
    next_delay,
    readiness_changed,
    subscribed,
    verdict,
)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, "delivered"),
        (204, "delivered"),
        (299, "delivered"),
        (410, "gone"),
        (404, "retry"),
        (429, "retry"),
        (500, "retry"),
        (301, "retry"),
        (None, "retry"),
    ],
)
def test_verdict(status: int | None, expected: str) -> None:
    assert verdict(status) == expected


def test_the_schedule_spans_about_a_day_then_gives_up() -> None:
    delays = [next_delay(n) for n in range(len(RETRY_SCHEDULE))]
    assert delays == list(RETRY_SCHEDULE)
    assert 24 * 3600 < sum(RETRY_SCHEDULE) < 30 * 3600
    assert next_delay(len(RETRY_SCHEDULE)) is None


def test_retry_after_is_honoured_within_bounds() -> None:
    assert next_delay(1, retry_after=60) == 60  # later than the schedule's 5 s
    assert next_delay(3, retry_after=60) == RETRY_SCHEDULE[3]  # sooner than the schedule: ignored
    assert next_delay(1, retry_after=10 * 86400) == MAX_RETRY_AFTER
    assert next_delay(len(RETRY_SCHEDULE), retry_after=1) is None


def test_readiness_is_an_event_only_for_portals_that_change() -> None:
    ready = Readiness(True, ())
    comms_on = Readiness(True, ("communications-enabled",))
    standalone = Readiness(False, ("portal-instance-name", "communications-enabled"))
    standalone_quiet = Readiness(False, ("portal-instance-name",))
    assert ready.ready
    assert not comms_on.ready
    assert not standalone.ready
    assert readiness_changed(ready, comms_on)
    assert readiness_changed(comms_on, standalone)  # no longer a portal
    assert readiness_changed(standalone, comms_on)  # a portal, not ready yet
    assert not readiness_changed(standalone, standalone_quiet)  # a standalone instance says nothing
    assert not readiness_changed(ready, ready)


def test_the_catalogue_describes_every_type_and_subscriptions_match_whole_types() -> None:
    assert set(EVENT_TYPES) == set(EventType)
    assert subscribed("sync.run.failed portal.readiness.changed", "sync.run.failed")
    assert not subscribed("sync.run.failed", "sync.run")
