"""Portals: promote an instance in one step, read readiness, demote."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.auth import InstancesRead, PortalsWrite
from app.db.session import SessionDep
from app.domain import rules
from app.domain.conflicts import MemberCannotBePortal, PortalHasMembers
from app.domain.errors import NotFound
from app.openapi_contract import raises, sends
from app.pagination import Page, PageParams
from app.routers.common import Cascade
from app.routers.deps import PortalDep, PortalToWrite
from app.routers.lookups import LookupRoute
from app.schemas.instances import InstanceRef
from app.schemas.portals import PortalDemoted, PortalPublic
from app.services import portals as service

router = APIRouter(tags=["portals"], route_class=LookupRoute)


@router.get(
    "/v1/portals",
    operation_id="portals_list",
    response_model=Page[PortalPublic],
)
async def list_portals(
    principal: InstancesRead, session: SessionDep, page: PageParams, response: Response
) -> Page[PortalPublic]:
    """The portals the key can see, each with its readiness and its number of members."""
    rows, cursor = await service.list_page(session, principal, page.request)
    items = [
        PortalPublic.build(
            r.instance, rules.unmet_requirements(rules.PORTAL_VALUE, r.instance.comms_enabled), r.member_count
        )
        for r in rows
    ]
    return page.answer(items, cursor, response)


@router.post(
    "/v1/portals",
    operation_id="portals_create",
    status_code=status.HTTP_201_CREATED,
    response_model=PortalPublic,
    responses={
        200: {"model": PortalPublic, "description": "Already a ready portal"},
    },
)
@raises(NotFound, MemberCannotBePortal)
@sends("Location", "ETag")
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
)
@sends("ETag")
async def get_portal(portal: PortalDep, response: Response) -> PortalPublic:
    """One portal: whether it is ready to take members, what it still lacks, and its member count."""
    instance, facts = portal.instance, portal.facts
    response.headers["ETag"] = service.etag(instance, facts.member_count)
    unmet = rules.unmet_requirements(facts.portal_setting, facts.communications_enabled)
    return PortalPublic.build(instance, unmet, facts.member_count)


@router.delete(
    "/v1/portals/{portal}",
    operation_id="portals_delete",
    response_model=PortalDemoted,
)
@raises(PortalHasMembers)
async def demote_portal(
    portal: PortalToWrite, session: SessionDep, cascade: Cascade = False
) -> PortalDemoted:
    """Demote a portal to a standalone instance. With members, needs `cascade=true`, which detaches them."""
    detached, removed = await service.demote(session, portal, cascade=cascade)
    return PortalDemoted(name=portal.instance.name, detached_members=detached, removed_mappings=removed)
