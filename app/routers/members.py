"""Members of a portal: attach, list, read, detach (invariants 1, 3 and 6)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.auth import InstancesRead, PortalsWrite
from app.db.session import SessionDep
from app.pagination import Page, PageParams
from app.problems import responses
from app.routers.common import Cascade, MemberPath, PortalPath
from app.schemas.instances import InstanceRef
from app.schemas.members import MemberPublic, MemberRemoved
from app.services import members as service

router = APIRouter(tags=["portals"])


@router.get(
    "/v1/portals/{portal}/members",
    operation_id="members_list",
    response_model=Page[MemberPublic],
    responses=responses(401, 403, 404, 422),
)
async def list_members(
    principal: InstancesRead, session: SessionDep, portal: PortalPath, page: PageParams, response: Response
) -> Page[MemberPublic]:
    rows, cursor = await service.list_page(session, principal, portal, page.request)
    return page.answer([MemberPublic.build(portal, r.instance, r.joined_at) for r in rows], cursor, response)


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
    member, joined_at = await service.add(session, principal, portal, body.instance)
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
    instance, joined_at = await service.get(session, principal, portal, member)
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
    removed = await service.remove(session, principal, portal, member, cascade)
    return MemberRemoved(portal=portal, name=member, removed_mappings=removed)
