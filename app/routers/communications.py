"""The general switch for an instance's automatic SMS, voice and e-mail."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.db.session import SessionDep
from app.domain.conflicts import PortalHasMembers
from app.openapi_contract import raises, sends
from app.routers.common import IfMatch
from app.routers.deps import InstanceDep, InstanceToWrite
from app.routers.lookups import LookupRoute
from app.schemas.communications import CommunicationsPublic, CommunicationsPut
from app.services import communications as service

router = APIRouter(tags=["communications"], route_class=LookupRoute)


@router.get(
    "/v1/instances/{name}/communications",
    operation_id="communications_get",
    response_model=CommunicationsPublic,
)
@sends("ETag")
async def get_communications(instance: InstanceDep, response: Response) -> CommunicationsPublic:
    """The general switch for automatic communications and its SMS, voice and e-mail channels."""
    response.headers["ETag"] = service.etag(instance)
    return CommunicationsPublic.build(instance)


@router.put(
    "/v1/instances/{name}/communications",
    operation_id="communications_put",
    response_model=CommunicationsPublic,
)
@raises(PortalHasMembers)
@sends("ETag")
async def put_communications(
    instance: InstanceToWrite,
    session: SessionDep,
    body: CommunicationsPut,
    response: Response,
    if_match: IfMatch = None,
) -> CommunicationsPublic:
    """Switch automatic communications on or off. A portal with members must keep them off (invariant 2)."""
    await service.put(session, instance, body, if_match)
    response.headers["ETag"] = service.etag(instance)
    return CommunicationsPublic.build(instance)
