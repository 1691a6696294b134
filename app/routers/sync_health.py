"""Sync health of the partner's fleet: counts per state and the instances most overdue first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth import SyncRead
from app.db.models import utcnow
from app.db.session import SessionDep
from app.domain.sync_health import HealthState, stale_after
from app.pagination import PageParams
from app.routers.lookups import LookupRoute
from app.schemas.sync_health import (
    SyncHealthCounts,
    SyncHealthItem,
    SyncHealthOverview,
    SyncLastError,
    SyncStreamsHealth,
)
from app.services import sync_health as service

router = APIRouter(tags=["sync"], route_class=LookupRoute)
OVERDUE: frozenset[str] = frozenset({"stale", "failing"})


@router.get(
    "/v1/sync-health",
    operation_id="sync_health_get",
    response_model=SyncHealthOverview,
)
async def get_sync_health(
    principal: SyncRead,
    session: SessionDep,
    page: PageParams,
    response: Response,
    state: Annotated[
        list[HealthState] | None,
        Query(description="Only instances in this state; repeat for several (`?state=stale&state=failing`)."),
    ] = None,
) -> SyncHealthOverview:
    """How many of the partner's instances are in each sync health state, and its instances most
    overdue first: the longest stale or failing, then the fresh ones closest to going stale, then
    those disabled or never synced (by name)."""
    now = utcnow()
    found = await service.overview(session, principal, set(state or ()), page.request, now)
    listed = page.answer([_listed(item, now) for item in found.items], found.next_cursor, response)
    return SyncHealthOverview(
        counts=SyncHealthCounts(**found.counts), items=listed.items, next_cursor=listed.next_cursor
    )


def _listed(item: service.Listed, now: datetime) -> SyncHealthItem:
    row = item.row
    after, default = (None, None)
    if row.interval_minutes is not None:
        after, default = stale_after(row.interval_minutes, row.stale_after_minutes)
    overdue = None
    if row.state in OVERDUE:
        overdue = max(0, int((now - row.overdue_from).total_seconds() // 60))
    elif row.state == "fresh":
        overdue = 0
    error = None if row.last_error_at is None else SyncLastError(at=row.last_error_at, error=row.last_error)
    return SyncHealthItem(
        instance=row.name,
        state=row.state,
        since=row.since,
        stale_after_minutes=after,
        stale_after_default=default,
        streams=SyncStreamsHealth.build(item.streams),
        last_success_at=row.last_success_at,
        last_error=error,
        overdue_minutes=overdue,
    )
