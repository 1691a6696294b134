"""The portal's question: which member clinics have free slots for these portal services, and when;
how current each one's data is; and, asked, why a member offers nothing.

A fixed number of statements per request, whatever the number of members: the members' zones; the
page of members with their earliest slot and health; those members' slots; their mapped codes; and,
with `explain`, the facts of the pairs without a slot. A first page with a next one keeps the order
of every member it ranked (app/db/models/portal_searches.py), so that the next pages follow it while
syncs change slots: no member is shown twice, and none that offers both when the first page was read
and when its own page is read is skipped. A member that offers only later is not added; one that
stopped offering is left out of its page."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.cursors import invalid_cursor
from app.db.models import new_id
from app.db.repositories import portal_availability as repo
from app.db.repositories import portal_availability_facts as facts_repo
from app.db.repositories import portal_availability_slots as slots_repo
from app.db.repositories.portal_availability import Ranked, Search
from app.domain.portal_availability import (
    SENTENCES,
    Days,
    Reason,
    Span,
    days_move_at,
    offered,
    reason,
    spans,
)
from app.domain.time_zones import DEFAULT_TIME_ZONE, zone
from app.services.portals import Portal

ORDER_LIFETIME = timedelta(hours=1)  # how long a search's next pages can be read (the message says so)
MAX_EXPLAINED = 200  # (member, service) pairs an explanation lists at most


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after `rank` in the kept order `search_id`, of the search first
    read at `started_at` (its default days are those of that moment) with query `fingerprint`."""

    search_id: str
    rank: int
    started_at: datetime
    fingerprint: str


@dataclass(frozen=True)
class Query:
    services: tuple[str, ...]
    days: Days = field(default_factory=Days)
    member_names: tuple[str, ...] = ()
    member_codes: tuple[str, ...] = ()
    max_staleness_minutes: int | None = None
    limit: int = 20
    slots_per_member: int = 50
    explain: bool = False

    def fingerprint(self) -> str:
        """What a cursor must have been issued for: every filter (not the page's size or shape)."""
        asked = [
            sorted(self.services),
            str(self.days.first),
            str(self.days.last),
            sorted(self.member_names),
            sorted(self.member_codes),
            self.max_staleness_minutes,
        ]
        return hashlib.sha256(json.dumps(asked).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Slot:
    resource_id: str
    start: datetime  # in the member's zone
    end: datetime
    treatment_codes: list[str]
    services: list[str]  # the asked portal services it offers


@dataclass
class Member:
    ranked: Ranked
    span: Span
    slots: list[Slot] = field(default_factory=list)
    slot_count: int = 0

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.ranked.time_zone)


@dataclass(frozen=True)
class Explanation:
    member: str
    display_name: str
    service: str
    reason: Reason
    detail: str


@dataclass
class Answer:
    members: list[Member]
    next: Cursor | None
    explanations: list[Explanation] | None = None
    explanations_complete: bool = True
    # A first page: the first moment it may read differently with no write (None: no such moment).
    valid_until: datetime | None = None


async def search(
    session: AsyncSession, portal: Portal, query: Query, now: datetime, after: Cursor | None = None
) -> Answer:
    """One page of the members that offer the asked services, by earliest slot then name."""
    started_at = after.started_at if after else now
    found = await _search(session, portal, query, now, started_at)
    if after is None:
        ranked = await repo.ranked(session, found)
        page, next_cursor = ranked[: query.limit], None
        if len(ranked) > query.limit:
            next_cursor = await _keep(session, ranked, query, now)
    else:
        page, next_cursor = await _next_page(session, found, query, after)
    answer = Answer(await _members(session, found, page), next_cursor)
    if query.explain:
        await _explain(session, found, answer)
    if after is None:
        # The earliest slot ranked is the first to start, and leave the answer, with no write.
        first_slot = ranked[0].earliest if ranked else None
        answer.valid_until = await _valid_until(session, found, query.days, first_slot)
    return answer


async def _valid_until(
    session: AsyncSession, found: Search, days: Days, first_slot: datetime | None
) -> datetime | None:
    """The first moment the answer may change with no write: a member's data going stale, one
    leaving the `max_staleness_minutes` filter, the default days moving at a member's midnight, the
    earliest slot it counts starting."""
    health = await facts_repo.health_moments(session, found)
    moments = [health.goes_stale, days_move_at(days, found.spans), first_slot]
    if found.max_staleness_minutes is not None and health.oldest_success is not None:
        moments.append(health.oldest_success + timedelta(minutes=found.max_staleness_minutes))
    known = [moment for moment in moments if moment is not None]
    return min(known) if known else None


async def _next_page(
    session: AsyncSession, found: Search, query: Query, after: Cursor
) -> tuple[list[Ranked], Cursor | None]:
    """The members of the kept order after the cursor's rank that still offer, one page of them."""
    order = await repo.kept_order(session, after.search_id)
    if order is None:
        raise invalid_cursor(
            "The cursor expired (a search's pages last an hour): start again from the first page."
        )
    rest = order[after.rank :]
    offering = await repo.ranked_among(session, found, rest)
    ranked = [(rank, offering[m]) for rank, m in enumerate(rest, start=after.rank + 1) if m in offering]
    page = [r for _, r in ranked[: query.limit]]
    if len(ranked) <= query.limit:
        return page, None
    return page, Cursor(after.search_id, ranked[query.limit - 1][0], after.started_at, after.fingerprint)


async def _search(
    session: AsyncSession, portal: Portal, query: Query, now: datetime, started_at: datetime
) -> Search:
    return Search(
        portal_id=portal.instance.id,
        services=query.services,
        # A portal without members still answers (nothing): its default zone makes the bounds.
        spans=spans(
            query.days, await repo.zones(session, portal.instance.id) or [DEFAULT_TIME_ZONE], started_at
        ),
        dialect=session.get_bind().dialect.name,
        now=now,
        member_names=query.member_names,
        member_codes=query.member_codes,
        max_staleness_minutes=query.max_staleness_minutes,
        slots_per_member=query.slots_per_member,
    )


async def _keep(session: AsyncSession, ranked: list[Ranked], query: Query, now: datetime) -> Cursor:
    search_id = new_id()
    await repo.keep_order(_engine(session), search_id, [r.member_id for r in ranked], now, ORDER_LIFETIME)
    return Cursor(search_id, query.limit, now, query.fingerprint())


def _engine(session: AsyncSession) -> AsyncEngine:
    bind = session.bind
    assert isinstance(bind, AsyncEngine), "the request's session is bound to the engine"
    return bind


async def _members(session: AsyncSession, found: Search, page: list[Ranked]) -> list[Member]:
    members = {r.member_id: Member(r, found.spans.get(r.time_zone) or _span(found)) for r in page}
    wanted = await slots_repo.codes_of(session, found, members)
    services: dict[tuple[str, str], list[str]] = {}  # per member and codes: a page repeats a few
    for row in await slots_repo.slots_of(session, found, members):
        member = members[row.member_id]
        member.slot_count = row.total
        key = (row.member_id, row.treatment_codes)
        if key not in services:
            services[key] = offered(row.treatment_codes, wanted.get(row.member_id, {}))
        member.slots.append(
            Slot(
                row.resource_id,
                row.starts_at.astimezone(member.zone),
                row.ends_at.astimezone(member.zone),
                row.treatment_codes.split(),
                services[key],
            )
        )
    return list(members.values())


async def _explain(session: AsyncSession, found: Search, answer: Answer) -> None:
    pairs = await facts_repo.unoffered(session, found, MAX_EXPLAINED)
    explained = []
    for pair in pairs[:MAX_EXPLAINED]:
        why = reason(pair.facts)
        if why is not None:
            explained.append(Explanation(pair.member, pair.display_name, pair.service, why, SENTENCES[why]))
    answer.explanations = explained
    answer.explanations_complete = len(pairs) <= MAX_EXPLAINED


@dataclass(frozen=True)
class ServiceSummary:
    service: str
    name: str
    members: int
    earliest: datetime | None  # UTC
    earliest_member: str | None


@dataclass(frozen=True)
class Summary:
    services: list[ServiceSummary]
    valid_until: datetime | None  # as Answer's


async def summary(session: AsyncSession, portal: Portal, query: Query, now: datetime) -> Summary:
    """Per portal service asked (every one of the portal's when none is): how many members offer it
    in their days, and the earliest slot among them (with its member)."""
    found = await _search(session, portal, query, now, now)
    services = await facts_repo.portal_services(session, found)
    per_service: dict[str, dict[str, datetime]] = {}  # service -> member -> its earliest
    offers = await facts_repo.offers_per_service(session, found)
    for offer in offers:
        mine = per_service.setdefault(offer.service, {})
        mine[offer.member] = min(offer.earliest, mine.get(offer.member, offer.earliest))
    answer = []
    for service in services:
        offering = sorted((moment, member) for member, moment in per_service.get(service.code, {}).items())
        moment, member = offering[0] if offering else (None, None)
        answer.append(ServiceSummary(service.code, service.name, len(offering), moment, member))
    first_slot = min((offer.earliest for offer in offers), default=None)
    return Summary(answer, await _valid_until(session, found, query.days, first_slot))


def _zone(name: str) -> ZoneInfo:
    try:
        return zone(name)
    except ValueError:
        return zone(DEFAULT_TIME_ZONE)


def _span(found: Search) -> Span:
    return next(iter(found.spans.values()))
