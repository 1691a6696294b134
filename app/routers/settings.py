"""Instance settings: the whole map (JSON merge patch) and one key at a time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response, status

from app.db.session import SessionDep
from app.domain.conflicts import MemberCannotBePortal, PortalHasMembers
from app.domain.errors import NotFound
from app.openapi_contract import raises, sends
from app.routers.common import IfMatch
from app.routers.deps import InstanceDep, InstanceToWrite, SettingKey
from app.routers.lookups import LookupRoute
from app.schemas.settings import SettingPublic, SettingPut, SettingsMap, SettingsPatch
from app.services import settings as service

router = APIRouter(tags=["settings"], route_class=LookupRoute)


@router.get(
    "/v1/instances/{name}/settings",
    operation_id="settings_get_all",
    response_model=SettingsMap,
)
@sends("ETag")
async def get_settings(instance: InstanceDep, session: SessionDep, response: Response) -> SettingsMap:
    """Every setting of the instance, as one map of key to value, with an `ETag` over the whole map."""
    settings = await service.get_all(session, instance)
    response.headers["ETag"] = service.map_etag(settings)
    return SettingsMap(settings)


@router.patch(
    "/v1/instances/{name}/settings",
    operation_id="settings_patch",
    response_model=SettingsMap,
)
@raises(MemberCannotBePortal, PortalHasMembers)
@sends("ETag")
async def patch_settings(
    instance: InstanceToWrite,
    session: SessionDep,
    body: Annotated[SettingsPatch, Body(media_type="application/merge-patch+json")],
    response: Response,
    if_match: IfMatch = None,
) -> SettingsMap:
    """JSON merge patch: a string sets a key, null removes it.

    `portalInstanceName` obeys invariants 2 and 3."""
    settings = await service.merge_patch(session, instance, body.root, if_match)
    response.headers["ETag"] = service.map_etag(settings)
    return SettingsMap(settings)


@router.get(
    "/v1/instances/{name}/settings/{key}",
    operation_id="settings_get",
    response_model=SettingPublic,
)
@raises(NotFound)
@sends("ETag")
async def get_setting(
    instance: InstanceDep, session: SessionDep, key: SettingKey, response: Response
) -> SettingPublic:
    """One setting; 404 when the key is not set. Its `ETag` goes in `If-Match` to change it."""
    value = await service.get_one(session, instance, key)
    response.headers["ETag"] = service.item_etag(key, value) or ""
    return SettingPublic(key=key, value=value)


@router.put(
    "/v1/instances/{name}/settings/{key}",
    operation_id="settings_put",
    response_model=SettingPublic,
    responses={
        201: {"model": SettingPublic, "description": "Created"},
    },
)
@raises(MemberCannotBePortal, PortalHasMembers)
@sends("ETag", when_created=("Location",))
async def put_setting(
    instance: InstanceToWrite,
    session: SessionDep,
    key: SettingKey,
    body: SettingPut,
    response: Response,
    if_match: IfMatch = None,
) -> SettingPublic:
    """Set one setting (201 when it is new). `portalInstanceName=portal` makes the instance a portal."""
    created = await service.put_one(session, instance, key, body.value, if_match)
    if created:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = f"/v1/instances/{instance.name}/settings/{key}"
    response.headers["ETag"] = service.item_etag(key, body.value) or ""
    return SettingPublic(key=key, value=body.value)


@router.delete(
    "/v1/instances/{name}/settings/{key}",
    operation_id="settings_delete",
    status_code=status.HTTP_204_NO_CONTENT,
)
@raises(NotFound, PortalHasMembers)
async def delete_setting(
    instance: InstanceToWrite,
    session: SessionDep,
    key: SettingKey,
    if_match: IfMatch = None,
) -> Response:
    """Remove one setting; 404 when the key is not set. `portalInstanceName` obeys invariants 2 and 3."""
    await service.delete_one(session, instance, key, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
