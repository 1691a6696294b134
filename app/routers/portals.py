"""Portals and their members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status

from app.auth import InstancesRead, PageInstancesRead, PortalsWrite, Scope
from app.db.session import SessionDep
from app.domain import rules
from app.negotiation import CSV, HTML, JSON, negotiate
from app.pages import views
from app.pagination import Page, PageParams
from app.problems import responses
from app.routers.common import Cascade, MemberPath, PortalPath
from app.routers.csv import CsvResponse
from app.routers.report_web import csrf_subject
from app.schemas.portals import InstanceRef, MemberPublic, MemberRemoved, PortalDemoted, PortalPublic
from app.schemas.reports import PortalReport
from app.services import members as member_service
from app.services import portals as service
from app.services import reports as report_service
from app.state import CsrfDep

router = APIRouter(tags=["portals"])


@router.get(
    "/v1/portals",
    operation_id="portals_list",
    response_model=Page[PortalPublic],
    responses=responses(401, 403, 422),
)
async def list_portals(principal: InstancesRead, session: SessionDep, page: PageParams) -> Page[PortalPublic]:
    rows, cursor = await service.list_page(session, principal, page)
    items = [
        PortalPublic.build(
            r.Instance, rules.unmet_requirements(rules.PORTAL_VALUE, r.Instance.comms_enabled), r.member_count
        )
        for r in rows
    ]
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/v1/portals",
    operation_id="portals_create",
    status_code=status.HTTP_201_CREATED,
    response_model=PortalPublic,
    responses={
        **responses(401, 403, 404, 409, 422),
        200: {"model": PortalPublic, "description": "Already a ready portal"},
    },
)
async def promote_portal(
    principal: PortalsWrite, session: SessionDep, body: InstanceRef, response: Response
) -> PortalPublic:
    """Make an instance a ready portal in one step: `portalInstanceName=portal` and communications off."""
    instance, member_count, changed = await service.promote(session, principal, body.instance)
    if not changed:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/portals/{instance.name}"
    response.headers["ETag"] = service.etag(instance, member_count)
    return PortalPublic.build(instance, [], member_count)


@router.get(
    "/v1/portals/{portal}",
    operation_id="portals_get",
    response_model=PortalPublic,
    responses=responses(401, 403, 404, 422),
)
async def get_portal(
    principal: InstancesRead, session: SessionDep, portal: PortalPath, response: Response
) -> PortalPublic:
    instance, facts = await service.require_portal(session, principal, portal)
    response.headers["ETag"] = service.etag(instance, facts.member_count)
    unmet = rules.unmet_requirements(facts.portal_setting, facts.communications_enabled)
    return PortalPublic.build(instance, unmet, facts.member_count)


@router.delete(
    "/v1/portals/{portal}",
    operation_id="portals_delete",
    response_model=PortalDemoted,
    responses=responses(401, 403, 404, 409, 422),
)
async def demote_portal(
    principal: PortalsWrite, session: SessionDep, portal: PortalPath, cascade: Cascade = False
) -> PortalDemoted:
    """Demote a portal to a standalone instance. With members, needs `cascade=true`, which detaches them."""
    detached, removed = await service.demote(session, principal, portal, cascade)
    return PortalDemoted(name=portal, detached_members=detached, removed_mappings=removed)


@router.get(
    "/v1/portals/{portal}/members",
    operation_id="members_list",
    response_model=Page[MemberPublic],
    responses=responses(401, 403, 404, 422),
)
async def list_members(
    principal: InstancesRead, session: SessionDep, portal: PortalPath, page: PageParams
) -> Page[MemberPublic]:
    rows, cursor = await member_service.list_page(session, principal, portal, page)
    return Page(items=[MemberPublic.build(portal, r.Instance, r.joined_at) for r in rows], next_cursor=cursor)


@router.post(
    "/v1/portals/{portal}/members",
    operation_id="members_add",
    status_code=status.HTTP_201_CREATED,
    response_model=MemberPublic,
    responses=responses(401, 403, 404, 409, 422),
)
async def add_member(
    principal: PortalsWrite, session: SessionDep, portal: PortalPath, body: InstanceRef, response: Response
) -> MemberPublic:
    """Attach an instance to a ready portal (invariants 1 and 3); a 409 lists every unmet requirement."""
    member, joined_at = await member_service.add(session, principal, portal, body.instance)
    response.headers["Location"] = f"/v1/portals/{portal}/members/{member.name}"
    return MemberPublic.build(portal, member, joined_at)


@router.get(
    "/v1/portals/{portal}/members/{member}",
    operation_id="members_get",
    response_model=MemberPublic,
    responses=responses(401, 403, 404, 422),
)
async def get_member(
    principal: InstancesRead, session: SessionDep, portal: PortalPath, member: MemberPath
) -> MemberPublic:
    instance, joined_at = await member_service.get(session, principal, portal, member)
    return MemberPublic.build(portal, instance, joined_at)


@router.delete(
    "/v1/portals/{portal}/members/{member}",
    operation_id="members_remove",
    response_model=MemberRemoved,
    responses=responses(401, 403, 404, 409, 422),
)
async def remove_member(
    principal: PortalsWrite,
    session: SessionDep,
    portal: PortalPath,
    member: MemberPath,
    cascade: Cascade = False,
) -> MemberRemoved:
    """Detach a member from its portal; the instance itself stays."""
    removed = await member_service.remove(session, principal, portal, member, cascade)
    return MemberRemoved(portal=portal, name=member, removed_mappings=removed)


@router.get(
    "/v1/portals/{portal}/report",
    operation_id="portals_report",
    response_model=PortalReport,
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}},
            },
            "description": "The report",
        },
        **responses(401, 403, 404, 422),
    },
)
async def portal_report(
    principal: PageInstancesRead,
    session: SessionDep,
    csrf: CsrfDep,
    request: Request,
    portal: PortalPath,
    accept: Annotated[
        str | None, Header(max_length=1000, description="`text/csv` for CSV, `text/html` for the page.")
    ] = None,
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
    wanted = negotiate(accept, (JSON, CSV, HTML))
    if wanted == HTML:
        data = await report_service.report_page(session, principal, portal, page)
        token = None
        if Scope.INSTANCES_WRITE in principal.scopes and principal.key_id is not None:
            token = csrf.issue(principal.key_id, csrf_subject(data.report.portal))
        toggle_url = str(request.scope.get("root_path", "")).rstrip("/") + f"/v1/portals/{portal}/report/web"
        return views.report_page(request, data, toggle_url=toggle_url, csrf_token=token)
    result = await report_service.report(session, principal, portal)
    if wanted == CSV:
        return CsvResponse(
            report_service.to_csv(result),
            headers={"Content-Disposition": f'attachment; filename="{portal}-report.csv"'},
        )
    return result
