"""Members of a portal: attach, list, read, detach (invariants 1, 3 and 6)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.auth import PortalsWrite
from app.db.session import SessionDep
from app.domain.conflicts import (
    AlreadyMember,
    MemberHasMappings,
    PortalCannotBeMember,
    PortalNotReady,
    SelfMembership,
)
from app.domain.errors import NotFound
from app.openapi_contract import raises, sends
from app.pagination import Page, PageParams
from app.routers.common import Cascade
from app.routers.deps import MemberDep, MemberToWrite, PortalDep, PortalToJoin
from app.routers.lookups import LookupRoute
from app.schemas.instances import InstanceRef
from app.schemas.members import MemberPublic, MemberRemoved
from app.services import instances
from app.services import members as service

router = APIRouter(tags=["portals"], route_class=LookupRoute)


@router.get(
    "/v1/portals/{portal}/members",
    operation_id="members_list",
    response_model=Page[MemberPublic],
)
async def list_members(
    portal: PortalDep, session: SessionDep, page: PageParams, response: Response
) -> Page[MemberPublic]:
    """The portal's members, one page at a time."""
    rows, cursor = await service.list_page(session, portal, page.request)
    name = portal.instance.name
    return page.answer([MemberPublic.build(name, r.instance, r.joined_at) for r in rows], cursor, response)


@router.post(
    "/v1/portals/{portal}/members",
    operation_id="members_add",
    status_code=status.HTTP_201_CREATED,
    response_model=MemberPublic,
)
@raises(NotFound, PortalNotReady, PortalCannotBeMember, AlreadyMember, SelfMembership)
@sends("Location")
async def add_member(
    principal: PortalsWrite, session: SessionDep, portal: PortalToJoin, body: InstanceRef, response: Response
) -> MemberPublic:
    """Attach an instance to a ready portal (invariants 1 and 3); a 409 lists every unmet requirement."""
    member = await instances.require(session, principal, body.instance)
    joined_at = await service.add(session, portal, member)
    response.headers["Location"] = f"/v1/portals/{portal.name}/members/{member.name}"
    return MemberPublic.build(portal.name, member, joined_at)


@router.get(
    "/v1/portals/{portal}/members/{member}",
    operation_id="members_get",
    response_model=MemberPublic,
)
async def get_member(member: MemberDep) -> MemberPublic:
    """One member of the portal; 404 when the instance is not a member of it."""
    return MemberPublic.build(member.portal.instance.name, member.instance, member.joined_at)


@router.delete(
    "/v1/portals/{portal}/members/{member}",
    operation_id="members_remove",
    response_model=MemberRemoved,
)
@raises(MemberHasMappings)
async def remove_member(
    member: MemberToWrite, session: SessionDep, cascade: Cascade = False
) -> MemberRemoved:
    """Detach a member from its portal; the instance itself stays."""
    removed = await service.remove(session, member, cascade=cascade)
    return MemberRemoved(
        portal=member.portal.instance.name, name=member.instance.name, removed_mappings=removed
    )
