"""GESDENT connection rules of an instance (the SYNC configuration of the procedure)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.db.session import SessionDep
from app.domain.errors import NotFound
from app.openapi_contract import raises, sends
from app.routers.common import IfMatch
from app.routers.deps import InstanceDep, InstanceToWrite, InstanceWriteNoLock
from app.routers.lookups import LookupRoute
from app.schemas.gesdent import GesdentPublic, GesdentPut
from app.services import gesdent as service
from app.state import SecretBoxDep, SettingsDep

router = APIRouter(tags=["gesdent"], route_class=LookupRoute)


@router.get(
    "/v1/instances/{name}/gesdent",
    operation_id="gesdent_get",
    response_model=GesdentPublic,
)
@raises(NotFound)
@sends("ETag")
async def get_gesdent(
    instance: InstanceDep, session: SessionDep, settings: SettingsDep, response: Response
) -> GesdentPublic:
    """The connection rules. Passwords and the webhook secret are never shown: only that they are set."""
    connection = await service.get(session, instance)
    response.headers["ETag"] = service.etag(connection)
    return GesdentPublic.build(connection, settings.gesdent_base_url)


@router.put(
    "/v1/instances/{name}/gesdent",
    operation_id="gesdent_put",
    response_model=GesdentPublic,
    responses={201: {"model": GesdentPublic, "description": "Created"}},
)
@sends("ETag", when_created=("Location",))
async def put_gesdent(
    instance: InstanceToWrite,
    session: SessionDep,
    settings: SettingsDep,
    box: SecretBoxDep,
    body: GesdentPut,
    response: Response,
    if_match: IfMatch = None,
) -> GesdentPublic:
    """Set the connection rules: base URL, resource IDs, one HTTP Digest credential per endpoint
    family (`{"username", "password"}` or `"username:password"`; omit a password to keep it), and the
    schedule. The first PUT (and `rotate_webhook_secret`) answers the webhook secret, once."""
    guards = service.Safeguards(box, allow_private=settings.gesdent_allow_private_networks)
    saved = await service.put(session, instance, body, if_match=if_match, guards=guards)
    if saved.created:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = f"/v1/instances/{instance.name}/gesdent"
    if saved.webhook_secret is not None:
        response.headers["Cache-Control"] = "no-store"
    response.headers["ETag"] = service.etag(saved.connection)
    return GesdentPublic.build(saved.connection, settings.gesdent_base_url, saved.webhook_secret)


@router.delete(
    "/v1/instances/{name}/gesdent",
    operation_id="gesdent_delete",
    status_code=status.HTTP_204_NO_CONTENT,
)
@raises(NotFound)
async def delete_gesdent(
    instance: InstanceWriteNoLock, session: SessionDep, if_match: IfMatch = None
) -> Response:
    """Remove the connection rules; the instance is no longer synchronised."""
    await service.delete(session, instance, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
