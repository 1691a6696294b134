"""The portal's question, as rules over plain values: which local days a search covers in each
member's zone, and why a member offers nothing for a portal service (the first reason that holds).

A search names days, not instants: `from` and `to` are local days in each member's time zone, so one
search covers different instants for a clinic in Madrid and one in the Canaries. Left out, `from` is
today there and `to` is `from` + 13 days."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from app.domain.errors import ValidationFailed
from app.domain.time_zones import DEFAULT_TIME_ZONE, day_span, today, zone

DEFAULT_DAYS = 14
MAX_DAYS = 62
# Days a search may name: any clinic's calendar, far enough from the ends of `date` that a zone's
# offset and a span of days never overflow it.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9000, 12, 31)

Reason = Literal["not_mapped", "not_web_enabled", "no_sync", "no_free_slot", "no_matching_codes"]
REASONS: tuple[Reason, ...] = get_args(Reason)
SENTENCES: dict[Reason, str] = {
    "not_mapped": "None of the member's services is mapped to this portal service.",
    "not_web_enabled": "The member's services mapped to this portal service are not web-enabled.",
    "no_sync": "No availability was imported from the member's GESDENT yet.",
    "no_free_slot": "The member's GESDENT has no free slot in these days.",
    "no_matching_codes": (
        "The member has free slots in these days, but none carries the treatment code of a "
        "web-enabled service mapped to this portal service."
    ),
}


@dataclass(frozen=True)
class Days:
    """The days a search asks for, as given (None: the default in each member's zone)."""

    first: date | None = None
    last: date | None = None

    def check(self, now: datetime) -> None:
        """422 when a day is out of range, `to` is before `from`, or the span is longer than MAX_DAYS."""
        for field, day in (("query.from", self.first), ("query.to", self.last)):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                raise _invalid(field, f"A day is from {FIRST_DAY} to {LAST_DAY}.", "out of range")
        if self.first and self.last and self.last < self.first:
            raise _invalid("query.to", "`to` is before `from`.", "before from")
        first = self.first or now.date() - timedelta(days=1)  # the earliest "today" of any zone
        if self.last and (self.last - first).days >= MAX_DAYS:
            detail = f"A search covers at most {MAX_DAYS} days."
            raise _invalid("query.to", detail, f"at most {MAX_DAYS} days")

    def in_zone(self, where: ZoneInfo, now: datetime) -> tuple[date, date]:
        """The first and last local day in `where`."""
        first = self.first or today(where, now=now)
        last = self.last or first + timedelta(days=DEFAULT_DAYS - 1)
        return first, last


@dataclass(frozen=True)
class Span:
    """A zone's days and the instants (UTC) they cover: [start, end)."""

    first: date
    last: date
    start: datetime
    end: datetime


def spans(days: Days, zone_names: Iterable[str], now: datetime) -> dict[str, Span]:
    """Per zone name, the span of the search's days there, from `now` at the earliest: a slot that
    has started can no longer be booked. A name that is not a zone (never written by the API) reads
    as the default zone rather than failing the whole search."""
    found: dict[str, Span] = {}
    for name in zone_names:
        where = _zone_or_default(name)
        first, last = days.in_zone(where, now)
        start, end = day_span(first, last, where)
        found[name] = Span(first, last, max(start, now), end)
    return found


def days_move_at(days: Days, spans: dict[str, Span]) -> datetime | None:
    """When the default days move (the first midnight to come in the zones of `spans`, computed for
    now); None when the search names its first day."""
    if days.first is not None or not spans:
        return None
    return min(day_span(s.first, s.first, _zone_or_default(name))[1] for name, s in spans.items())


def _zone_or_default(name: str) -> ZoneInfo:
    try:
        return zone(name)
    except ValueError:
        return zone(DEFAULT_TIME_ZONE)


@dataclass(frozen=True)
class Facts:
    """What explains a member's answer for one portal service."""

    mapped: bool  # one of its services is mapped to the portal service
    web_enabled: bool  # one of those is web-enabled
    synced: bool  # a complete availability fetch succeeded once
    any_slot: bool  # a free slot (whatever its codes) in the days
    matching_slot: bool  # a free slot that carries a mapped, web-enabled service's code


def reason(facts: Facts) -> Reason | None:
    """Why the member offers nothing for the portal service; None when it does."""
    if facts.matching_slot:
        return None
    if not facts.mapped:
        return "not_mapped"
    if not facts.web_enabled:
        return "not_web_enabled"
    if not facts.synced:
        return "no_sync"
    if not facts.any_slot:
        return "no_free_slot"
    return "no_matching_codes"


def offered(treatment_codes: str, wanted: dict[str, set[str]]) -> list[str]:
    """The portal services a slot offers: those whose mapped member service codes it carries
    (`wanted`: member service code -> portal service codes), by code."""
    codes = set(treatment_codes.split())
    return sorted({portal for code, portals in wanted.items() if code in codes for portal in portals})


def _invalid(field: str, detail: str, message: str) -> ValidationFailed:
    return ValidationFailed(detail, errors=[{"field": field, "message": message}])
