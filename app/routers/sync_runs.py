"""Sync runs: trigger, watch, and the status of an instance's GESDENT sync."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from app.auth import PatientsRead, SyncRead
from app.db.models import SyncRun
from app.db.session import SessionDep
from app.domain.conflicts import GesdentNotConfigured
from app.domain.errors import NotFound
from app.domain.sync_health import stale_after
from app.openapi_contract import raises, sends
from app.pagination import Page, PageParams
from app.routers.deps import InstanceToSync, SyncedInstance
from app.routers.lookups import LookupRoute
from app.schemas.common import UUID_FORMAT, UUID_PATTERN
from app.schemas.sync_health import SyncHealthPublic, SyncStreamsHealth
from app.schemas.sync_runs import RunSummary, SyncRejectionPublic, SyncRunCreate, SyncRunPublic, SyncStatus
from app.services import sync_runs as service
from app.state import SettingsDep

router = APIRouter(tags=["sync"], route_class=LookupRoute)
RUN_ID_PATTERN = UUID_PATTERN
RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN, description="Sync run id.", **UUID_FORMAT)]
ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"model": SyncRunPublic, "description": "Queued"},
    200: {"model": SyncRunPublic, "description": "A run was already queued or running: that run"},
}


def answer_trigger(run: SyncRun, instance: str, created: bool, response: Response) -> SyncRunPublic:
    response.status_code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
    response.headers["Location"] = f"/v1/sync-runs/{run.id}"
    return SyncRunPublic.build(run, instance)


@router.post(
    "/v1/instances/{name}/sync-runs",
    operation_id="sync_runs_create",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SyncRunPublic,
    responses={**ACCEPTED},
)
@raises(GesdentNotConfigured)
@sends("Location")
async def create_sync_run(
    instance: InstanceToSync,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    body: SyncRunCreate | None = None,
) -> SyncRunPublic:
    """Run the GESDENT import now. At most one run per instance is queued or running: a second
    trigger answers that run (200) instead of queuing another."""
    full_refresh = bool(body and body.full_refresh)
    order = service.RunOrder("manual", full_refresh=full_refresh)
    run, created = await service.trigger(session, instance, order, settings.gesdent_base_url)
    return answer_trigger(run, instance.name, created, response)


@router.get(
    "/v1/instances/{name}/sync-runs",
    operation_id="sync_runs_list",
    response_model=Page[SyncRunPublic],
)
async def list_sync_runs(
    instance: SyncedInstance, session: SessionDep, page: PageParams, response: Response
) -> Page[SyncRunPublic]:
    """The instance's runs, newest first."""
    runs, cursor = await service.list_page(session, instance, page.request)
    return page.answer([SyncRunPublic.build(run, instance.name) for run in runs], cursor, response)


@router.get(
    "/v1/sync-runs/{run_id}",
    operation_id="sync_runs_get",
    response_model=SyncRunPublic,
)
@raises(NotFound)
async def get_sync_run(principal: SyncRead, session: SessionDep, run_id: RunId) -> SyncRunPublic:
    """One sync run: its state, its counts per stream and, when it failed, why."""
    found = await service.get(session, principal, run_id)
    return SyncRunPublic.build(found.run, found.instance)


@router.get(
    "/v1/sync-runs/{run_id}/rejections",
    operation_id="sync_runs_rejections_list",
    response_model=Page[SyncRejectionPublic],
)
@raises(NotFound)
async def list_sync_rejections(
    principal: PatientsRead, session: SessionDep, run_id: RunId, page: PageParams, response: Response
) -> Page[SyncRejectionPublic]:
    """The records the run skipped as malformed, in the order found: at most 100 per stream (the
    run's `counts` have every one). Ids and reasons only, never a value; but the ids are patients'
    records, so the key needs `patients:read`."""
    rejections, cursor = await service.rejections_page(session, principal, run_id, page.request)
    return page.answer([SyncRejectionPublic.build(r) for r in rejections], cursor, response)


@router.get(
    "/v1/instances/{name}/sync-status",
    operation_id="sync_status_get",
    response_model=SyncStatus,
)
async def get_sync_status(instance: SyncedInstance, session: SessionDep) -> SyncStatus:
    """Last success, last error, the active run, the next scheduled run and the sync health."""
    found = await service.status(session, instance)
    name = instance.name

    def summary(run: SyncRun | None) -> RunSummary | None:
        if run is None:
            return None
        return RunSummary(run_id=run.id, finished_at=run.finished_at, error=run.error)

    connection = found.connection
    threshold = (
        (None, None)
        if connection is None
        else stale_after(connection.interval_minutes, connection.stale_after_minutes)
    )
    return SyncStatus(
        instance=name,
        configured=connection is not None,
        enabled=bool(connection and connection.enabled),
        interval_minutes=connection.interval_minutes if connection else None,
        last_success=summary(found.last_success),
        last_error=summary(found.last_error),
        active_run=SyncRunPublic.build(found.active, name) if found.active else None,
        next_scheduled_at=found.next_scheduled_at,
        health=SyncHealthPublic(
            state=found.health.state,
            since=found.health.since,
            stale_after_minutes=threshold[0],
            stale_after_default=threshold[1],
            streams=SyncStreamsHealth.build(found.health.streams),
        ),
    )
