"""The general switch for an instance's automatic SMS, voice and e-mail."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.auth import InstancesRead, InstancesWrite
from app.db.session import SessionDep
from app.problems import responses
from app.routers.common import IfMatch, NamePath
from app.schemas.communications import CommunicationsPublic, CommunicationsPut
from app.services import communications as service

router = APIRouter(tags=["communications"])


@router.get(
    "/v1/instances/{name}/communications",
    operation_id="communications_get",
    response_model=CommunicationsPublic,
    responses=responses(401, 403, 404, 422),
)
async def get_communications(
    principal: InstancesRead, session: SessionDep, name: NamePath, response: Response
) -> CommunicationsPublic:
    instance = await service.get(session, principal, name)
    response.headers["ETag"] = service.etag(instance)
    return CommunicationsPublic.build(instance)


@router.put(
    "/v1/instances/{name}/communications",
    operation_id="communications_put",
    response_model=CommunicationsPublic,
    responses=responses(401, 403, 404, 409, 412, 422),
)
async def put_communications(
    principal: InstancesWrite,
    session: SessionDep,
    name: NamePath,
    body: CommunicationsPut,
    response: Response,
    if_match: IfMatch = None,
) -> CommunicationsPublic:
    """Switch automatic communications on or off. A portal with members must keep them off (invariant 2)."""
    instance = await service.put(session, principal, name, body, if_match)
    response.headers["ETag"] = service.etag(instance)
    return CommunicationsPublic.build(instance)
