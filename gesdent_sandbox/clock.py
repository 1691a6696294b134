"""The clinic's wall clock and opening hours: which days it works, and where its slots fall.

Slots are every SLOT_MINUTES of elapsed time from the local opening hour to the local closing hour,
so a clinic open across a change of the clocks has fewer slots on the spring day and more on the
autumn one, each written with the offset in force at its start (02:30+01:00 is followed by
03:00+02:00). Without a zone the clock keeps the fixed LOCAL_TZ of the contract's examples.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from gesdent_sandbox.config import LOCAL_TZ, SLOT_MINUTES, SandboxConfig

SLOT = timedelta(minutes=SLOT_MINUTES)


class Clock:
    def __init__(self, config: SandboxConfig) -> None:
        self.where: tzinfo = ZoneInfo(config.time_zone) if config.time_zone else LOCAL_TZ
        self.open_hour, self.close_hour = config.opening_hours
        self.open_days = config.open_days
        # Slots of a day without a change of the clocks: what sizes the calendar.
        self.nominal_slots = (self.close_hour - self.open_hour) * 60 // SLOT_MINUTES
        self._counts: dict[date, int] = {}
        self._bounds: dict[tuple[date, int], tuple[str, str]] = {}

    def is_open(self, day: date) -> bool:
        """Monday first: open_days=5 is Monday to Friday, 7 every day."""
        return day.weekday() < self.open_days

    def _instant(self, day: date, hour: int) -> datetime:
        wall = datetime.combine(day + timedelta(days=hour // 24), time(hour % 24), self.where)
        return wall.astimezone(UTC)

    def slots_on(self, day: date) -> int:
        """How many slots fit between opening and closing on `day` (nominal, or 2 fewer or more)."""
        if day not in self._counts:
            span = self._instant(day, self.close_hour) - self._instant(day, self.open_hour)
            self._counts[day] = span // SLOT
        return self._counts[day]

    def bounds(self, day: date, slot: int) -> tuple[str, str]:
        """Local start and end of a slot, RFC 3339 with the clinic's offset at that moment."""
        key = (day, slot)
        if key not in self._bounds:
            start = self._instant(day, self.open_hour) + slot * SLOT
            self._bounds[key] = (self._local(start), self._local(start + SLOT))
        return self._bounds[key]

    def _local(self, instant: datetime) -> str:
        return instant.astimezone(self.where).isoformat()
