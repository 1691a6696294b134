"""Clinics' local days: a time zone per instance (an IANA name), and the instants a span of its days
covers. A date filter on a clinic's data means the clinic's days, not UTC's nor the server's."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from rapidfuzz import fuzz, process

DEFAULT_TIME_ZONE = "Europe/Madrid"
# rapidfuzz ratio (0-100) below which no zone name is suggested: `Mars/Olympus` gets none.
_MIN_SIMILARITY = 80


@functools.cache
def _names() -> frozenset[str]:
    return frozenset(available_timezones())


@functools.cache
def _folded() -> dict[str, str]:
    """Zone names by their case-folded spelling, for a near miss that differs only in case."""
    return {name.casefold(): name for name in sorted(_names())}


def zone(name: str) -> ZoneInfo:
    """The zone an IANA name (`Europe/Madrid`) names; ValueError for any other text (an offset such as
    `+01:00` is not a place, and does not follow its summer time). The message suggests a close name."""
    if name not in _names():
        raise ValueError(_not_a_zone(name))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - listed but unreadable
        raise ValueError(f"{name[:80]!r} is not an IANA time zone name") from None


def closest_zone(name: str) -> str | None:
    """The zone name a caller most likely meant (`europe/madrid` → `Europe/Madrid`), if one is close."""
    same_but_case = _folded().get(name.strip().casefold().replace(" ", "_"))
    if same_but_case:
        return same_but_case
    folded = _folded()
    match = process.extractOne(name.casefold(), list(folded), scorer=fuzz.ratio, score_cutoff=_MIN_SIMILARITY)
    return None if match is None else folded[match[0]]


def _not_a_zone(name: str) -> str:
    suggestion = closest_zone(name[:80])
    hint = f"; did you mean {suggestion!r}?" if suggestion else ", such as 'Europe/Madrid'"
    return f"{name[:80]!r} is not an IANA time zone name{hint}"


def today(where: ZoneInfo, *, now: datetime | None = None) -> date:
    """The date it is now in `where`."""
    return (now or datetime.now(UTC)).astimezone(where).date()


def day_span(first: date, last: date, where: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants (UTC) from the start of local day `first` to the start of the day after `last`:
    23 or 25 hours for a day on which the clocks change."""
    start = datetime.combine(first, time.min, where)
    end = datetime.combine(last + timedelta(days=1), time.min, where)
    return start.astimezone(UTC), end.astimezone(UTC)


def open_span(
    first: date | None, last: date | None, where: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """`day_span` for a filter whose ends are optional: None leaves that side open."""
    start = day_span(first, first, where)[0] if first else None
    end = day_span(last, last, where)[1] if last else None
    return start, end


def local(instant: datetime, where: ZoneInfo) -> datetime:
    """`instant` on the wall clock of `where`, with the offset in force there then. A naive value is
    UTC (SQLite hands timestamps back without their zone; everything Portico stores is UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(where)
