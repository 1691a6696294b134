"""Sync runs seen from the API: trigger, list, read, status, and the records a run rejected."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.models import GesdentConnection, Instance, SyncRejection, SyncRun, utcnow
from app.db.repositories import gesdent
from app.db.repositories import sync_runs as repo
from app.db.repositories.pages import PageRequest
from app.domain.conflicts import GesdentNotConfigured
from app.domain.errors import NotFound
from app.domain.gesdent import STREAMS, Stream
from app.services import sync_health
from app.services.gesdent import missing_parts
from app.services.instances import partner_of
from app.sync import queue, ticker


@dataclass(frozen=True)
class RunOrder:
    """What a run is asked for: who asks (`manual`, `webhook`), a full refresh or not, which streams."""

    trigger: str
    full_refresh: bool = False
    streams: tuple[Stream, ...] = STREAMS


async def trigger(
    session: AsyncSession, instance: Instance, order: RunOrder, default_base_url: str | None
) -> tuple[SyncRun, bool]:
    """Queue a run of `instance` (or find the active one): (run, created)."""
    connection = await gesdent.get(session, instance.id)
    if connection is None:
        raise GesdentNotConfigured(
            f"Instance {instance.name} has no GESDENT connection rules; "
            f"PUT /v1/instances/{instance.name}/gesdent first."
        )
    missing = missing_parts(connection, default_base_url)
    if missing:
        where = " (or set PORTICO_GESDENT_BASE_URL for the whole deployment)" if "base_url" in missing else ""
        raise GesdentNotConfigured(
            f"The GESDENT connection rules of {instance.name} lack {', '.join(missing)}; "
            f"complete them with PUT /v1/instances/{instance.name}/gesdent{where}.",
            missing=missing,
        )
    return await queue.enqueue(
        session, instance.id, order.trigger, full_refresh=order.full_refresh, streams=order.streams
    )


async def run_of(session: AsyncSession, instance: Instance, run_id: str) -> SyncRun:
    """Run `run_id` of the caller's `instance`, or 404."""
    run = await repo.get(session, run_id)
    if run is None or run.instance_id != instance.id:
        raise NotFound(f"Instance {instance.name} has no sync run {run_id}.")
    return run


async def list_page(
    session: AsyncSession, instance: Instance, page: PageRequest
) -> tuple[list[SyncRun], str | None]:
    return await repo.list_page(session, instance.id, page)


async def get(session: AsyncSession, principal: Principal, run_id: str) -> repo.RunRow:
    """Run `run_id` of the caller's partner, with its instance's name, or 404."""
    found = await repo.of_partner(session, run_id, partner_of(principal))
    if found is None:
        raise NotFound(f"Sync run {run_id} not found.")
    return found


async def rejections_page(
    session: AsyncSession, principal: Principal, run_id: str, page: PageRequest
) -> tuple[list[SyncRejection], str | None]:
    """The records run `run_id` (of the caller's partner, else 404) rejected, in the order found."""
    await get(session, principal, run_id)
    return await repo.rejections_page(session, run_id, page)


@dataclass(frozen=True)
class Status:
    connection: GesdentConnection | None
    last_success: SyncRun | None
    last_error: SyncRun | None
    active: SyncRun | None
    next_scheduled_at: datetime | None
    health: sync_health.Health


async def status(session: AsyncSession, instance: Instance) -> Status:
    connection = await gesdent.get(session, instance.id)
    now = utcnow()
    next_at = None
    if connection is not None and connection.enabled:
        next_at = ticker.slot_of(now, connection.interval_minutes, connection.schedule_phase)[1]
    return Status(
        connection=connection,
        last_success=await repo.last(session, instance.id, "succeeded"),
        last_error=await repo.last(session, instance.id, "failed", "partial"),
        active=await repo.active(session, instance.id),
        next_scheduled_at=next_at,
        health=await sync_health.of_instance(session, instance, now),
    )
