"""Sync health seen from the API: the partner's overview, and one instance's health."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.models import Instance
from app.db.repositories import sync_health as repo
from app.db.repositories.pages import PageRequest
from app.domain.sync_health import WHOLE, HealthState
from app.services.instances import partner_of

StateSince = tuple[HealthState, datetime | None]


@dataclass(frozen=True)
class Listed:
    """An instance of the overview, and its streams' states."""

    row: repo.HealthRow
    streams: dict[str, StateSince] = field(default_factory=dict)


@dataclass(frozen=True)
class Overview:
    counts: dict[HealthState, int]
    items: list[Listed]
    next_cursor: str | None


async def overview(
    session: AsyncSession, principal: Principal, states: Collection[str], page: PageRequest, now: datetime
) -> Overview:
    """The partner's counts per state, and a page of its instances in `states` (all: empty), most
    overdue first: three statements, whatever the number of instances."""
    partner_id = partner_of(principal)
    counts = await repo.counts(session, partner_id, now)
    rows, cursor = await repo.list_page(session, partner_id, states, page, now)
    streams = await repo.states_of(session, [row.instance_id for row in rows], now)
    return Overview(counts, [Listed(row, streams.get(row.instance_id, {})) for row in rows], cursor)


@dataclass(frozen=True)
class Health:
    """One instance's health: the whole (`state`, `since`) and per stream (missing: `never`)."""

    state: HealthState
    since: datetime | None
    streams: dict[str, StateSince]


async def of_instance(session: AsyncSession, instance: Instance, now: datetime) -> Health:
    found = (await repo.states_of(session, [instance.id], now)).get(instance.id, {})
    state, since = found.pop(WHOLE, ("never", None))
    return Health(state, since, found)
