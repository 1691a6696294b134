"""The portal search's rules over plain values: each member's days in its own zone, the checks of the
asked days, which portal services a slot offers, and the first reason a member offers nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from app.domain.errors import ValidationFailed
from app.domain.portal_availability import Days, Facts, offered, reason, spans

# 23:30 UTC on 6 December: already the 7th in Madrid (UTC+1), still the 6th in the Canaries (UTC+0).
NOW = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)


def test_default_days_are_today_and_13_more_in_each_zone():
    found = spans(Days(), ["Europe/Madrid", "Atlantic/Canary"], NOW)
    madrid, canary = found["Europe/Madrid"], found["Atlantic/Canary"]
    assert (madrid.first, madrid.last) == (date(2026, 12, 7), date(2026, 12, 20))
    assert (canary.first, canary.last) == (date(2026, 12, 6), date(2026, 12, 19))
    # Today's slots that have started are not bookable: both spans start now, not at local midnight.
    assert madrid.start == canary.start == NOW
    assert madrid.end == datetime(2026, 12, 20, 23, 0, tzinfo=UTC)  # local midnight
    assert canary.end == datetime(2026, 12, 20, 0, 0, tzinfo=UTC)


def test_given_days_to_come_start_at_their_local_midnight():
    found = spans(Days(date(2026, 12, 9), date(2026, 12, 9)), ["Europe/Madrid"], NOW)
    assert found["Europe/Madrid"].start == datetime(2026, 12, 8, 23, 0, tzinfo=UTC)


def test_given_days_are_the_same_local_days_everywhere():
    found = spans(Days(date(2026, 12, 9), date(2026, 12, 9)), ["Europe/Madrid", "Atlantic/Canary"], NOW)
    assert {(s.first, s.last) for s in found.values()} == {(date(2026, 12, 9), date(2026, 12, 9))}
    assert found["Europe/Madrid"].start != found["Atlantic/Canary"].start


def test_a_name_that_is_no_zone_reads_as_the_default_zone():
    assert spans(Days(), ["Mars/Olympus"], NOW)["Mars/Olympus"].end == datetime(2026, 12, 20, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    "days",
    [
        Days(date(2026, 12, 9), date(2026, 12, 8)),  # to before from
        Days(date(2026, 12, 1), date(2027, 2, 1)),  # 63 days
        Days(None, date(2027, 3, 1)),  # from today: too far
        Days(date(1, 1, 1), date(1, 1, 2)),  # out of range: a zone's offset would overflow
    ],
)
def test_bad_days_are_refused(days):
    with pytest.raises(ValidationFailed):
        days.check(NOW)


def test_62_days_are_allowed():
    Days(date(2026, 12, 1), date(2027, 1, 31)).check(NOW)


def test_a_slot_offers_the_portal_services_whose_codes_it_carries_whole():
    wanted = {"LIMP": {"CLEAN"}, "L_2": {"CLEAN", "SHINE"}, "BLANQ": {"WHITE"}}
    assert offered("REV LIMP", wanted) == ["CLEAN"]
    assert offered("LX2 BLANQ", wanted) == ["WHITE"]  # LX2 is not L_2
    assert offered("L_2 BLANQ", wanted) == ["CLEAN", "SHINE", "WHITE"]
    assert offered("ORT", wanted) == []


def test_the_first_reason_that_holds():
    nothing = Facts(mapped=False, web_enabled=False, synced=False, any_slot=False, matching_slot=False)
    assert reason(nothing) == "not_mapped"
    assert reason(replace(nothing, mapped=True)) == "not_web_enabled"
    assert reason(replace(nothing, mapped=True, web_enabled=True)) == "no_sync"
    synced = replace(nothing, mapped=True, web_enabled=True, synced=True)
    assert reason(synced) == "no_free_slot"
    assert reason(replace(synced, any_slot=True)) == "no_matching_codes"
    assert reason(replace(synced, any_slot=True, matching_slot=True)) is None
