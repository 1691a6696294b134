"""The portal's question: which member clinics have free slots for these portal services, and when
(a search, paged), and per portal service who offers it (a summary)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BeforeValidator, StringConstraints

from app.cursors import invalid_cursor
from app.db.session import SessionDep
from app.domain.portal_availability import MAX_DAYS, Days
from app.domain.values import INSTANCE_NAME_INPUT_PATTERN, SERVICE_CODE_PATTERN
from app.pagination import next_link
from app.routers.deps import AvailabilityPortal
from app.routers.lookups import LookupRoute
from app.schemas.common import MemberCode, instance_name
from app.schemas.portal_availability import (
    AvailabilitySummary,
    Explanation,
    MemberAvailability,
    PortalAvailability,
    ServiceSummary,
)
from app.services import portal_availability as service
from app.services import search_answers
from app.state import CursorsDep, SearchCacheDep, SettingsDep

router = APIRouter(tags=["portals"], route_class=LookupRoute)
MAX_SERVICES = 10
MAX_MEMBERS = 100


def _iso_day(value: object) -> object:
    # Lax parsing would read `0` as 1970-01-01; a day is written YYYY-MM-DD.
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]
ServiceCode = Annotated[str, StringConstraints(pattern=SERVICE_CODE_PATTERN)]
MemberName = Annotated[
    str, StringConstraints(pattern=INSTANCE_NAME_INPUT_PATTERN), BeforeValidator(instance_name)
]
_ZONE_NOTE = " A local day in each member's time zone."
From = Annotated[
    Day | None,
    Query(
        alias="from",
        description="First day (YYYY-MM-DD), inclusive; default today. Slots that have started are left out."
        + _ZONE_NOTE,
    ),
]
To = Annotated[
    Day | None,
    Query(
        alias="to",
        description=f"Last day, inclusive; default `from` + 13 days; at most {MAX_DAYS} days." + _ZONE_NOTE,
    ),
]
Members = Annotated[
    list[MemberName],
    Query(alias="member", max_length=MAX_MEMBERS, description="Only these members (names; `tt_` optional)."),
]
MemberCodes = Annotated[
    list[MemberCode],
    Query(max_length=MAX_MEMBERS, description="Only these members (member codes); with `member`: either."),
]
MaxStaleness = Annotated[
    int | None,
    Query(
        ge=1,
        le=43200,
        description="Leave out members whose last complete availability fetch is older, or failing.",
    ),
]


def _query(
    services: list[str],
    first: date | None,
    last: date | None,
    members: list[str],
    member_codes: list[str],
    max_staleness_minutes: int | None,
    now: datetime,
    page: tuple[int, int, bool] = (20, 50, False),
) -> service.Query:
    """The search as the service takes it; `page`: limit, slots per member, explain."""
    days = Days(first, last)
    days.check(now)
    limit, slots_per_member, explain = page
    return service.Query(
        services=tuple(dict.fromkeys(services)),
        days=days,
        member_names=tuple(dict.fromkeys(members)),
        member_codes=tuple(dict.fromkeys(member_codes)),
        max_staleness_minutes=max_staleness_minutes,
        limit=limit,
        slots_per_member=slots_per_member,
        explain=explain,
    )


def _opened(cursors: CursorsDep, path: str, cursor: str, query: service.Query) -> service.Cursor:
    values = cursors.open(path, cursor)
    kinds = (str, int, str, str)  # search id, rank, started at, fingerprint
    if len(values) != len(kinds) or not all(isinstance(v, t) for v, t in zip(values, kinds, strict=True)):
        raise invalid_cursor("The cursor does not fit this list.")
    search_id, rank, started_at, fingerprint = values
    if fingerprint != query.fingerprint():
        raise invalid_cursor("The cursor belongs to another search: send the same filters with it.")
    try:
        moment = datetime.fromisoformat(str(started_at))
    except ValueError:
        raise invalid_cursor("The cursor does not fit this list.") from None
    return service.Cursor(str(search_id), int(str(rank)), moment, str(fingerprint))


@router.get(
    "/v1/portals/{portal}/availability",
    operation_id="portals_availability",
    response_model=PortalAvailability,
)
async def portal_availability(
    portal: AvailabilityPortal,
    session: SessionDep,
    request: Request,
    cursors: CursorsDep,
    settings: SettingsDep,
    cache: SearchCacheDep,
    services: Annotated[
        list[ServiceCode],
        Query(alias="service", min_length=1, max_length=MAX_SERVICES, description="Portal service codes."),
    ],
    from_: From = None,
    to: To = None,
    members: Members = [],  # noqa: B006 - FastAPI copies a query list's default
    member_code: MemberCodes = [],  # noqa: B006
    max_staleness_minutes: MaxStaleness = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Members per page.")] = 20,
    cursor: Annotated[
        str | None,
        Query(max_length=512, pattern=r"^[A-Za-z0-9_-]*$", description="`next_cursor` of the previous page."),
    ] = None,
    slots_per_member: Annotated[int, Query(ge=1, le=500, description="Slots per member, at most.")] = 50,
    explain: Annotated[bool, Query(description="Also say why members offer nothing, per service.")] = False,
) -> Response:
    """Members with free slots for these portal services, by earliest slot then name: only slots of
    web-enabled member services mapped to them, in each member's local days, with how current the
    member's data is. Pages follow the first page's order while syncs change slots."""
    now = cache.now()
    page = (limit, slots_per_member, explain)
    query = _query(services, from_, to, members, member_code, max_staleness_minutes, now, page)
    after = _opened(cursors, request.url.path, cursor, query) if cursor else None
    # The portal is looked up once the query is known to be valid: a 422 comes before a 404.
    searched = await portal()
    found = searched.portal
    path = request.url.path

    async def compute() -> search_answers.Computed:
        answer = await service.search(session, found, query, now, after)
        next_cursor = None
        if answer.next is not None:
            n = answer.next
            next_cursor = cursors.issue(path, [n.search_id, n.rank, n.started_at.isoformat(), n.fingerprint])
        explanations = None
        if answer.explanations is not None:
            explanations = [Explanation.model_validate(e, from_attributes=True) for e in answer.explanations]
        body = PortalAvailability(
            portal=found.instance.name,
            services=list(query.services),
            items=[MemberAvailability.build(m) for m in answer.members],
            next_cursor=next_cursor,
            explanations=explanations,
            explanations_complete=answer.explanations_complete,
        )
        return search_answers.Computed(body.model_dump_json().encode(), next_cursor, answer.valid_until)

    if after is None:  # a first page: the question every patient's search asks, kept
        key = ("search", found.instance.id, path, query)
        entry = await search_answers.answer(
            cache, searched.generation, key, now, compute, release=session.close
        )
        body, next_cursor = entry.body, entry.next_cursor
    else:
        computed = await compute()
        body, next_cursor = computed.body, computed.next_cursor
    answered = Response(body, media_type="application/json")
    if next_cursor is not None:
        link = next_link(request.url, next_cursor, limit, settings.public_url)
        answered.headers["Link"] = f'<{link}>; rel="next"'
    return answered


@router.get(
    "/v1/portals/{portal}/availability/summary",
    operation_id="portals_availability_summary",
    response_model=AvailabilitySummary,
)
async def portal_availability_summary(
    portal: AvailabilityPortal,
    session: SessionDep,
    cache: SearchCacheDep,
    services: Annotated[
        list[ServiceCode],
        Query(alias="service", max_length=MAX_SERVICES, description="Portal service codes; none: all."),
    ] = [],  # noqa: B006
    from_: From = None,
    to: To = None,
    members: Members = [],  # noqa: B006
    member_code: MemberCodes = [],  # noqa: B006
    max_staleness_minutes: MaxStaleness = None,
) -> Response:
    """Per portal service: how many members offer it in their days, and the earliest slot."""
    now = cache.now()
    query = _query(services, from_, to, members, member_code, max_staleness_minutes, now)
    searched = await portal()
    found = searched.portal

    async def compute() -> search_answers.Computed:
        summary = await service.summary(session, found, query, now)
        body = AvailabilitySummary(
            portal=found.instance.name,
            services=[ServiceSummary.model_validate(s, from_attributes=True) for s in summary.services],
        )
        return search_answers.Computed(body.model_dump_json().encode(), None, summary.valid_until)

    key = ("summary", found.instance.id, query)
    entry = await search_answers.answer(cache, searched.generation, key, now, compute, release=session.close)
    return Response(entry.body, media_type="application/json")
