"""The summary report of a portal: JSON, CSV, or a page for people whose Web column's bullets are buttons
of a form that switch a member service's online booking off (green) or on (grey), the procedure's last
step. The form is for people only: scripts use `PATCH /v1/instances/{name}/services/{code}` with
`web_enabled`."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from app.auth import PageInstancesRead, PageInstancesWrite, Scope
from app.db.session import SessionDep
from app.domain.errors import CsrfRejected
from app.domain.values import SERVICE_CODE_PATTERN
from app.negotiation import CSV, HTML, JSON, negotiate
from app.openapi_contract import sends
from app.pages import views
from app.pages.render import from_another_site
from app.routers.csv import CSV_MEDIA_TYPE, CsvResponse
from app.routers.deps import ReportPortal, ReportPortalToWrite
from app.routers.lookups import LookupRoute
from app.schemas.common import InstanceName
from app.schemas.reports import PortalReport
from app.schemas.services import ServiceUpdate
from app.services import instances, members, services
from app.services import reports as service
from app.state import CsrfDep

router = APIRouter(tags=["portals"], route_class=LookupRoute)


REPORT_CSV_EXAMPLE = (
    ",".join(service.CSV_COLUMNS)
    + "\r\ntt_clinic_north,Clinic North,N01,12,11,BLANQ,,2026-12-01T02:22:04.134805Z\r\n"
)


def csrf_subject(portal: str) -> str:
    """What a report page's token allows: the Web column of that portal's report."""
    return f"report-web:{portal}"


@router.get(
    "/v1/portals/{portal}/report",
    operation_id="portals_report",
    response_model=PortalReport,
    responses={
        200: {
            "description": "The report, in the media type `Accept` asks for (JSON when it names none): "
            "JSON; CSV, one row per member; or the page for people.",
            "content": {
                CSV_MEDIA_TYPE: {
                    "schema": {"type": "string"},
                    "example": REPORT_CSV_EXAMPLE,
                },
                "text/html": {"schema": {"type": "string"}},
            },
        },
    },
)
@sends("ETag")
async def portal_report(
    principal: PageInstancesRead,
    session: SessionDep,
    csrf: CsrfDep,
    request: Request,
    portal: ReportPortal,
    page: Annotated[
        int,
        Query(
            ge=1,
            le=1_000_000,
            description="For the HTML page: which 20 members' services it shows (JSON and CSV list all).",
        ),
    ] = 1,
) -> PortalReport | Response:
    """Summary report: readiness; per member, services, mapped, unmapped and web-enabled-but-unmapped
    codes; portal services no member maps to. JSON; CSV (one row per member) with `Accept: text/csv`;
    or, for a browser (`Accept: text/html`, HTTP Basic with the API key as password), a page with
    every member's services and the Web column, whose bullets switch online booking off and on."""
    wanted = negotiate(request.headers.get("accept"), (JSON, CSV, HTML))
    name = portal.instance.name
    if wanted == HTML:
        data = await service.report_page(session, portal, page)
        token = None
        if Scope.INSTANCES_WRITE in principal.scopes and principal.key_id is not None:
            token = csrf.issue(principal.key_id, csrf_subject(data.report.portal))
        toggle_url = str(request.scope.get("root_path", "")).rstrip("/") + f"/v1/portals/{name}/report/web"
        return views.report_page(request, data, toggle_url=toggle_url, csrf_token=token)
    result = await service.report(session, portal)
    if wanted == CSV:
        return CsvResponse(
            service.to_csv(result),
            headers={"Content-Disposition": f'attachment; filename="{name}-report.csv"'},
        )
    return result


@router.post(
    "/v1/portals/{portal}/report/web",
    operation_id="portals_report_web",
    status_code=status.HTTP_303_SEE_OTHER,
    include_in_schema=False,
)
async def switch_web(
    principal: PageInstancesWrite,
    session: SessionDep,
    csrf: CsrfDep,
    request: Request,
    portal: ReportPortalToWrite,
    member: Annotated[InstanceName, Form()],
    csrf_token: Annotated[str, Form(max_length=200)],
    set_: Annotated[str, Form(alias="set", pattern=rf"^(on|off):{SERVICE_CODE_PATTERN[1:]}")],
    page: Annotated[int, Form(ge=1, le=1_000_000)] = 1,
) -> RedirectResponse:
    """Switch one member service's online booking, then show the report again where it was."""
    # Another partner's portal, or not a member of it: 404, as everywhere (nothing is written).
    await members.get(session, portal, member)
    if from_another_site(request):
        raise CsrfRejected("Portico's forms can only be sent from Portico's own pages.")
    assert principal.key_id is not None  # pages take partner keys only
    if not csrf.valid(csrf_token, principal.key_id, csrf_subject(portal.instance.name)):
        raise CsrfRejected(
            "The form expired or was not served by Portico to this API key: reload the report and try again."
        )
    state, _, code = set_.partition(":")
    change = ServiceUpdate(web_enabled=state == "on")
    target_instance = await instances.require(session, principal, member, lock=True)
    found = await services.require_service(session, target_instance, code)
    await services.update(session, found, change, None)
    target = f"/v1/portals/{portal.instance.name}/report?page={page}#{quote(member)}"
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return RedirectResponse(root + target, status_code=status.HTTP_303_SEE_OTHER)
