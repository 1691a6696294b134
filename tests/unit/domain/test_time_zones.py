"""Clinics' local days: zone names, their near misses, and the instants a local day covers."""

from datetime import UTC, date, datetime, timedelta

import pytest

from app.domain.time_zones import closest_zone, day_span, local, open_span, today, zone

MADRID = zone("Europe/Madrid")


@pytest.mark.parametrize("text", ["Mars/Olympus", "+01:00", "UTC+1", "", "Europe/Madrid "])
def test_anything_but_an_iana_name_is_refused(text):
    with pytest.raises(ValueError, match="is not an IANA time zone name"):
        zone(text)


def test_a_near_miss_names_the_zone_meant():
    assert closest_zone("europe/madrid") == "Europe/Madrid"
    assert closest_zone("America/NewYork") == "America/New_York"
    assert closest_zone("Mars/Olympus") is None
    with pytest.raises(ValueError, match="did you mean 'Europe/Madrid'"):
        zone("europe/madrid")
    with pytest.raises(ValueError, match="such as 'Europe/Madrid'"):
        zone("+01:00")


@pytest.mark.parametrize(
    ("day", "where", "hours", "starts_at"),
    [
        (date(2027, 3, 28), "Europe/Madrid", 23, datetime(2027, 3, 27, 23, tzinfo=UTC)),
        (date(2027, 10, 31), "Europe/Madrid", 25, datetime(2027, 10, 30, 22, tzinfo=UTC)),
        (date(2027, 3, 28), "Atlantic/Canary", 23, datetime(2027, 3, 28, 0, tzinfo=UTC)),
        (date(2027, 10, 31), "Atlantic/Canary", 25, datetime(2027, 10, 30, 23, tzinfo=UTC)),
        (date(2027, 3, 28), "America/New_York", 24, datetime(2027, 3, 28, 4, tzinfo=UTC)),
        (date(2027, 3, 14), "America/New_York", 23, datetime(2027, 3, 14, 5, tzinfo=UTC)),
    ],
)
def test_a_local_day_lasts_23_or_25_hours_when_the_clocks_change(day, where, hours, starts_at):
    start, end = day_span(day, day, zone(where))
    assert start == starts_at
    assert end - start == timedelta(hours=hours)


def test_an_open_span_leaves_a_missing_side_open():
    assert open_span(None, None, MADRID) == (None, None)
    start, end = open_span(date(2027, 3, 28), None, MADRID)
    assert (start, end) == (datetime(2027, 3, 27, 23, tzinfo=UTC), None)
    assert open_span(None, date(2027, 10, 31), MADRID) == (None, datetime(2027, 10, 31, 23, tzinfo=UTC))


def test_an_instant_on_the_clinic_clock_carries_the_offset_in_force():
    before = local(datetime(2027, 3, 28, 0, 30), MADRID)  # naive: UTC, as SQLite hands it back
    after = local(datetime(2027, 3, 28, 1, 0, tzinfo=UTC), MADRID)
    assert before.isoformat() == "2027-03-28T01:30:00+01:00"
    assert after.isoformat() == "2027-03-28T03:00:00+02:00"
    assert today(MADRID, now=datetime(2027, 3, 27, 23, 30, tzinfo=UTC)) == date(2027, 3, 28)
