"""Mappings of a member's services to its portal's services, and suggestions for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status

from app.db.repositories.mappings import MappingRow
from app.db.session import SessionDep
from app.domain.conflicts import AlreadyMapped
from app.domain.errors import NotFound
from app.openapi_contract import raises, sends
from app.openapi_idempotency import idempotent
from app.pagination import Page, PageParams
from app.routers.common import IfMatch
from app.routers.deps import MemberDep, MemberServiceCode, MemberToWrite
from app.routers.lookups import LookupRoute
from app.schemas.mappings import (
    MappingCreate,
    MappingDeleted,
    MappingPublic,
    MappingsReplaced,
    MappingTarget,
    ServiceSuggestions,
    SuggestionList,
    SuggestionPublic,
)
from app.services import mappings as service
from app.services.members import Member

router = APIRouter(tags=["mappings"], route_class=LookupRoute)
BASE = "/v1/portals/{portal}/members/{member}"


def _public(member: Member, row: MappingRow) -> MappingPublic:
    return MappingPublic(
        portal=member.portal.instance.name,
        member=member.instance.name,
        member_service=row.member_code,
        member_service_name=row.member_name,
        portal_service=row.portal_code,
        portal_service_name=row.portal_name,
        created_at=row.mapping.created_at,
    )


def _location(member: Member, member_service: str) -> str:
    return (
        f"/v1/portals/{member.portal.instance.name}/members/{member.instance.name}/mappings/{member_service}"
    )


@router.get(
    f"{BASE}/mappings",
    operation_id="mappings_list",
    response_model=Page[MappingPublic],
)
async def list_mappings(
    member: MemberDep,
    session: SessionDep,
    page: PageParams,
    response: Response,
) -> Page[MappingPublic]:
    """The member's mappings, one page at a time: each member service code and the portal service
    it maps to."""
    rows, cursor = await service.list_page(session, member, page.request)
    return page.answer([_public(member, r) for r in rows], cursor, response)


@router.post(
    f"{BASE}/mappings",
    operation_id="mappings_create",
    status_code=status.HTTP_201_CREATED,
    response_model=MappingPublic,
    responses={
        200: {"model": MappingPublic, "description": "The same mapping existed already"},
    },
)
@raises(NotFound, AlreadyMapped)
@sends("Location")
async def create_mapping(
    member: MemberToWrite,
    session: SessionDep,
    body: MappingCreate,
    response: Response,
) -> MappingPublic:
    """Map a member service to a portal service. A member service already mapped elsewhere is a 409
    naming its target (invariant 5); PUT `…/mappings/{member_service}` replaces it."""
    row, created = await service.create(session, member, body.member_service, body.portal_service)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    response.headers["Location"] = _location(member, body.member_service)
    return _public(member, row)


@router.put(
    f"{BASE}/mappings",
    operation_id="mappings_replace",
    response_model=MappingsReplaced,
)
@raises(NotFound)
@idempotent
async def replace_mappings(
    member: MemberToWrite,
    session: SessionDep,
    body: Annotated[list[MappingCreate], Body(max_length=10_000)],
) -> MappingsReplaced:
    """Replace the member's whole set of mappings at once. Every bad item is reported; none is applied."""
    items = [(item.member_service, item.portal_service) for item in body]
    result = await service.replace_all(session, member, items)
    return MappingsReplaced(
        items=[_public(member, r) for r in result.rows],
        added=result.added,
        retargeted=result.retargeted,
        removed=result.removed,
        unchanged=result.unchanged,
    )


@router.get(
    f"{BASE}/mappings/{{member_service}}",
    operation_id="mappings_get",
    response_model=MappingPublic,
)
@raises(NotFound)
@sends("ETag")
async def get_mapping(
    member: MemberDep,
    session: SessionDep,
    member_service: MemberServiceCode,
    response: Response,
) -> MappingPublic:
    """The mapping of one member service; 404 when it maps nowhere."""
    row = await service.get(session, member, member_service)
    response.headers["ETag"] = service.etag(row)
    return _public(member, row)


@router.put(
    f"{BASE}/mappings/{{member_service}}",
    operation_id="mappings_put",
    response_model=MappingPublic,
    responses={201: {"model": MappingPublic, "description": "Mapped"}},
)
@raises(NotFound)
@sends("ETag", when_created=("Location",))
async def put_mapping(
    member: MemberToWrite,
    session: SessionDep,
    member_service: MemberServiceCode,
    body: MappingTarget,
    response: Response,
    if_match: IfMatch = None,
) -> MappingPublic:
    """Map the member service to this portal service, replacing any target it had."""
    row, created = await service.put_one(session, member, member_service, body.portal_service, if_match)
    response.headers["ETag"] = service.etag(row)
    if created:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = _location(member, member_service)
    return _public(member, row)


@router.delete(
    f"{BASE}/mappings/{{member_service}}",
    operation_id="mappings_delete",
    response_model=MappingDeleted,
)
@raises(NotFound)
async def delete_mapping(
    member: MemberToWrite,
    session: SessionDep,
    member_service: MemberServiceCode,
    if_match: IfMatch = None,
) -> MappingDeleted:
    """Remove the mapping of one member service; the services themselves stay."""
    await service.delete_one(session, member, member_service, if_match)
    return MappingDeleted(member_service=member_service)


@router.get(
    f"{BASE}/mapping-suggestions",
    operation_id="mappings_suggest",
    response_model=SuggestionList,
)
async def suggest_mappings(
    member: MemberDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=10, description="Suggestions per member service.")] = 3,
    min_score: Annotated[float, Query(ge=0, le=100, description="Leave out weaker matches.")] = 50.0,
) -> SuggestionList:
    """For each unmapped member service, the portal services most alike by code and name
    (accent- and case-insensitive), best first."""
    found = await service.suggestions(session, member, limit=limit, min_score=min_score)
    return SuggestionList(
        items=[
            ServiceSuggestions(
                member_service=member_service.code,
                name=member_service.name,
                suggestions=[
                    SuggestionPublic(portal_service=s.code, name=s.name, score=s.score) for s in found_for
                ],
            )
            for member_service, found_for in found
        ]
    )
