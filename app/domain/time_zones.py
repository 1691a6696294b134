"""Clinics' local days: a time zone per instance (an IANA name), and the instants a span of its days
covers. A date filter on a clinic's data means the clinic's days, not UTC's nor the server's."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_TIME_ZONE = "Europe/Madrid"


@functools.cache
def _names() -> frozenset[str]:
    return frozenset(available_timezones())


def zone(name: str) -> ZoneInfo:
    """The zone an IANA name (`Europe/Madrid`) names; ValueError for any other text (an offset such as
    `+01:00` is not a place, and does not follow its summer time)."""
    if name not in _names():
        raise ValueError(f"{name[:80]!r} is not an IANA time zone name (such as 'Europe/Madrid')")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - listed but unreadable
        raise ValueError(f"{name[:80]!r} is not an IANA time zone name") from None


def today(where: ZoneInfo, *, now: datetime | None = None) -> date:
    """The date it is now in `where`."""
    return (now or datetime.now(UTC)).astimezone(where).date()


def day_span(first: date, last: date, where: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants (UTC) from the start of local day `first` to the start of the day after `last`:
    23 or 25 hours for a day on which the clocks change."""
    start = datetime.combine(first, time.min, where)
    end = datetime.combine(last + timedelta(days=1), time.min, where)
    return start.astimezone(UTC), end.astimezone(UTC)
