"""The Web column of the summary report page: its bullets are buttons of a form that switch a member
service's online booking off (green) or on (grey), the procedure's last step. A page for people only:
scripts use `PATCH /v1/instances/{name}/services/{code}` with `web_enabled`."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import RedirectResponse

from app.auth import PageInstancesWrite
from app.db.session import SessionDep
from app.domain.errors import CsrfRejected
from app.domain.values import SERVICE_CODE_PATTERN
from app.pages.render import from_another_site
from app.routers.common import PortalPath
from app.schemas.common import InstanceName
from app.schemas.services import ServiceUpdate
from app.services import members, services
from app.state import CsrfDep

router = APIRouter(include_in_schema=False)


def csrf_subject(portal: str) -> str:
    """What a report page's token allows: the Web column of that portal's report."""
    return f"report-web:{portal}"


@router.post(
    "/v1/portals/{portal}/report/web",
    operation_id="portals_report_web",
    status_code=status.HTTP_303_SEE_OTHER,
)
async def switch_web(
    principal: PageInstancesWrite,
    session: SessionDep,
    csrf: CsrfDep,
    request: Request,
    portal: PortalPath,
    member: Annotated[InstanceName, Form()],
    csrf_token: Annotated[str, Form(max_length=200)],
    set_: Annotated[str, Form(alias="set", pattern=rf"^(on|off):{SERVICE_CODE_PATTERN[1:]}")],
    page: Annotated[int, Form(ge=1, le=1_000_000)] = 1,
) -> RedirectResponse:
    """Switch one member service's online booking, then show the report again where it was."""
    # Another partner's portal, or not a member of it: 404, as everywhere (nothing is written).
    await members.get(session, principal, portal, member)
    if from_another_site(request):
        raise CsrfRejected("Portico's forms can only be sent from Portico's own pages.")
    assert principal.key_id is not None  # pages take partner keys only
    if not csrf.valid(csrf_token, principal.key_id, csrf_subject(portal)):
        raise CsrfRejected(
            "The form expired or was not served by Portico to this API key: reload the report and try again."
        )
    state, _, code = set_.partition(":")
    change = ServiceUpdate(web_enabled=state == "on")
    await services.update(session, principal, member, code, change, None)
    target = f"/v1/portals/{portal}/report?page={page}#{quote(member)}"
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return RedirectResponse(root + target, status_code=status.HTTP_303_SEE_OTHER)
