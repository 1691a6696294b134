"""The pages themselves: what each shows, from values the services computed."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse

from app.pages.render import page
from app.schemas.sync_runs import SyncRunPublic
from app.services.reports import MEMBERS_PER_PAGE, ReportPage

LEGACY_PATH = "/cron_importer_gesdent.php"
REFRESH_SECONDS = 2


def legacy_url(request: Request, db_name: str, run_id: str | None = None) -> str:
    root = str(request.scope.get("root_path", "")).rstrip("/")
    query = {"dbName": db_name, **({"run": run_id} if run_id else {})}
    return f"{root}{LEGACY_PATH}?{urlencode(query)}"


def run_page(request: Request, run: SyncRunPublic, created: bool, status: int) -> HTMLResponse:
    """A run of the manual run URL; while it is queued or running the page reloads itself, on a URL
    that watches this run (reloading the trigger URL would start another run once this one ends)."""
    active = run.status in ("queued", "running")
    return page(
        request,
        "run.html",
        status=status,
        run=run,
        created=created,
        active=active,
        refresh_seconds=REFRESH_SECONDS,
        watch_url=legacy_url(request, run.instance, run.id),
        again_url=legacy_url(request, run.instance),
    )


def run_confirm_page(request: Request, db_name: str) -> HTMLResponse:
    """Asked when the manual run URL is opened from another site: a click here starts it."""
    return page(request, "run_confirm.html", instance=db_name, again_url=legacy_url(request, db_name))


def report_page(
    request: Request, data: ReportPage, *, toggle_url: str, csrf_token: str | None
) -> HTMLResponse:
    """The summary report with its Web column; bullets are buttons when the key may change services."""
    return page(
        request,
        "report.html",
        report=data.report,
        page=data.page,
        pages=data.pages,
        per_page=MEMBERS_PER_PAGE,
        members=data.members,
        services=data.services,
        can_toggle=csrf_token is not None,
        csrf_token=csrf_token or "",
        toggle_url=toggle_url,
    )
