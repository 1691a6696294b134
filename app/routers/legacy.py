"""The old importer's manual run URL, `cron_importer_gesdent.php?dbName=tt_…`, kept so that bookmarks
and cron lines written for it work: scripts get JSON, a browser gets a page that follows the run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BeforeValidator
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import PageSyncRunner, Principal
from app.config import Settings
from app.db.session import SessionDep, SessionRoute, writes
from app.domain.conflicts import GesdentNotConfigured
from app.domain.errors import NotFound
from app.domain.values import INSTANCE_NAME_INPUT_PATTERN
from app.negotiation import wants_html
from app.openapi_contract import raises
from app.pages import views
from app.pages.render import from_another_site
from app.routers.sync_runs import ACCEPTED, RUN_ID_PATTERN, answer_trigger
from app.schemas.common import instance_name
from app.schemas.sync_runs import SyncRunPublic
from app.services import instances, sync_runs
from app.state import SettingsDep

router = APIRouter(tags=["sync"], route_class=SessionRoute)
_HTML = {"text/html": {"schema": {"type": "string"}}}
# Deprecated on this day (RFC 9745: a Unix time), in favour of POST /v1/instances/{name}/sync-runs;
# kept while cron lines and bookmarks still call it (docs/versioning.md).
DEPRECATED_SINCE = "@1796515200"  # 2026-12-06T00:00:00Z
_LEGACY_HEADERS = {
    "Location": {
        "description": "The run's URL (not on the page asking a browser that came from another site "
        "to confirm).",
        "schema": {"type": "string", "examples": ["/v1/sync-runs/0b7f6a52-3c1e-4d8a-9f2b-6e4c1d7a8b90"]},
    },
    "Deprecation": {
        "description": "When this URL was deprecated (RFC 9745), on the answers of a run.",
        "schema": {"type": "string", "examples": [DEPRECATED_SINCE]},
    },
    "Link": {
        "description": 'The successor (`rel="successor-version"`): `POST /v1/instances/{name}/sync-runs`.',
        "schema": {
            "type": "string",
            "examples": ['</v1/instances/tt_clinic_north/sync-runs>; rel="successor-version"'],
        },
    },
}


@router.get(
    views.LEGACY_PATH,
    operation_id="sync_legacy_trigger",
    status_code=status.HTTP_202_ACCEPTED,
    deprecated=True,
    response_model=SyncRunPublic,
    responses={
        code: {**entry, "content": _HTML, "headers": _LEGACY_HEADERS} for code, entry in ACCEPTED.items()
    },
)
@writes
@raises(NotFound, GesdentNotConfigured)
async def legacy_trigger(
    principal: PageSyncRunner,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    db_name: Annotated[
        str,
        Query(
            alias="dbName",
            pattern=INSTANCE_NAME_INPUT_PATTERN,
            description="`tt_<centre>`; the `tt_` may be left out.",
        ),
        BeforeValidator(instance_name),
    ],
    run: Annotated[
        str | None,
        Query(pattern=RUN_ID_PATTERN, description="Show this run of the database instead of starting one."),
    ] = None,
) -> SyncRunPublic | Response:
    """A manual run of that database (or, with `run`, that run as it is now). Scripts send an API
    key with `sync:run` as Bearer. In a browser the URL works as a bookmark: it asks for a user name
    (any) and a password (the API key), and shows a page that follows the run until it ends.

    Deprecated: new scripts use `POST /v1/instances/{name}/sync-runs`. The answers of a run (its
    JSON, its page) say so in a `Deprecation` header, with a `Link` to that successor."""
    answer = await _legacy_answer(principal, session, settings, request, response, db_name, run)
    headed = answer if isinstance(answer, Response) else response
    headed.headers["Deprecation"] = DEPRECATED_SINCE
    headed.headers["Link"] = f'</v1/instances/{db_name}/sync-runs>; rel="successor-version"'
    return answer


async def _legacy_answer(
    principal: Principal,
    session: AsyncSession,
    settings: Settings,
    request: Request,
    response: Response,
    db_name: str,
    run: str | None,
) -> SyncRunPublic | Response:
    html = wants_html(request)
    if run is not None:
        instance = await instances.require(session, principal, db_name)
        found, created = await sync_runs.run_of(session, instance, run), False
    elif html and from_another_site(request):
        # A link on another site must not start runs with the credentials the browser keeps.
        return views.run_confirm_page(request, db_name)
    else:
        instance = await instances.require(session, principal, db_name)
        order = sync_runs.RunOrder("manual")
        found, created = await sync_runs.trigger(session, instance, order, settings.gesdent_base_url)
    public = answer_trigger(found, db_name, created, response)
    if html:
        return views.run_page(request, public, created, response.status_code)
    return public
