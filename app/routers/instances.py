"""Instances: the platform's clients, one booking database each."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth import InstancesRead, InstancesWrite, Scope
from app.db.session import SessionDep
from app.domain.conflicts import (
    MemberHasMappings,
    NameTaken,
    PortalHasMembers,
    PortalNotReady,
    SourceNotMember,
)
from app.domain.errors import MissingScope
from app.domain.rules import kind_of
from app.openapi_contract import raises, sends
from app.pagination import Page, PageParams
from app.routers.common import Cascade, IfMatch, SearchText
from app.routers.deps import CloneSource, InstanceToWrite, InstanceWithFactsDep
from app.routers.lookups import LookupRoute
from app.schemas.clone import CloneCopied, CloneRequest, CloneResult
from app.schemas.instances import (
    InstanceCreate,
    InstanceDeleted,
    InstanceKind,
    InstancePublic,
    InstanceUpdate,
)
from app.services import clone as clone_service
from app.services import instances as service
from app.state import SettingsDep

router = APIRouter(tags=["instances"], route_class=LookupRoute)


@router.get(
    "/v1/instances",
    operation_id="instances_list",
    response_model=Page[InstancePublic],
)
async def list_instances(
    principal: InstancesRead,
    session: SessionDep,
    page: PageParams,
    response: Response,
    kind: Annotated[
        InstanceKind | None, Query(description="Only portals, members or standalone instances.")
    ] = None,
    q: SearchText = None,
) -> Page[InstancePublic]:
    """The partner's instances by name, one page at a time; filter by `kind`, and search the name
    and the display name with `q`."""
    rows, cursor = await service.list_page(session, principal, page.request, kind, q)
    items = [InstancePublic.of(r.instance, kind_of(r.portal_setting, r.member_of), r.member_of) for r in rows]
    return page.answer(items, cursor, response)


@router.post(
    "/v1/instances",
    operation_id="instances_create",
    status_code=status.HTTP_201_CREATED,
    response_model=InstancePublic,
)
@raises(NameTaken)
@sends("Location", "ETag")
async def create_instance(
    principal: InstancesWrite,
    session: SessionDep,
    settings: SettingsDep,
    body: InstanceCreate,
    response: Response,
) -> InstancePublic:
    """Create a standalone instance, with no settings or services yet, in `time_zone` or else the
    deployment's default zone. 409 when the name is taken."""
    instance = await service.create(session, principal, body, default_time_zone=settings.default_timezone)
    response.headers["Location"] = f"/v1/instances/{instance.name}"
    facts = service.new_facts(instance)
    response.headers["ETag"] = service.etag(instance, facts)
    return InstancePublic.build(instance, facts)


@router.get(
    "/v1/instances/{name}",
    operation_id="instances_get",
    response_model=InstancePublic,
)
@sends("ETag")
async def get_instance(found: InstanceWithFactsDep, response: Response) -> InstancePublic:
    """One instance: its kind, its portal if it is a member, and its `ETag`."""
    response.headers["ETag"] = service.etag(found.instance, found.facts)
    return InstancePublic.build(found.instance, found.facts)


@router.patch(
    "/v1/instances/{name}",
    operation_id="instances_update",
    response_model=InstancePublic,
)
@sends("ETag")
async def update_instance(
    instance: InstanceToWrite,
    session: SessionDep,
    body: InstanceUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> InstancePublic:
    """Change the display name, the membership code or the time zone. Send the `ETag` in `If-Match` to avoid
    lost updates (412 when it no longer matches)."""
    facts = await service.update(session, instance, body, if_match)
    response.headers["ETag"] = service.etag(instance, facts)
    return InstancePublic.build(instance, facts)


@router.delete(
    "/v1/instances/{name}",
    operation_id="instances_delete",
    response_model=InstanceDeleted,
)
@raises(PortalHasMembers, MemberHasMappings)
async def delete_instance(
    instance: InstanceToWrite,
    session: SessionDep,
    cascade: Cascade = False,
    if_match: IfMatch = None,
) -> InstanceDeleted:
    """Delete an instance. A portal with members needs `cascade=true`, which detaches them first."""
    name = instance.name  # before the delete expires the row
    detached, removed = await service.delete(session, instance, cascade=cascade, if_match=if_match)
    return InstanceDeleted(name=name, detached_members=detached, removed_mappings=removed)


@router.post(
    "/v1/instances/{name}/clone",
    operation_id="instances_clone",
    status_code=status.HTTP_201_CREATED,
    response_model=CloneResult,
)
@raises(NameTaken, SourceNotMember, PortalNotReady)
@sends("Location")
async def clone_instance(
    principal: InstancesWrite,
    session: SessionDep,
    source: CloneSource,
    body: CloneRequest,
    response: Response,
) -> CloneResult:
    """Create an instance from a model: its settings (never `portalInstanceName`), communications and
    services by default. `join_portal` also attaches the clone to the model's portal (needs
    `portals:write`) and copies the model's mappings by service code. All or nothing."""
    if body.join_portal and Scope.PORTALS_WRITE not in principal.scopes:
        raise MissingScope(
            "join_portal needs the scope 'portals:write'.", required_scope=Scope.PORTALS_WRITE.value
        )
    cloned = await clone_service.clone(session, principal, await source(), body)
    response.headers["Location"] = f"/v1/instances/{cloned.instance.name}"
    return CloneResult(
        instance=InstancePublic.build(cloned.instance, cloned.facts),
        copied=CloneCopied(
            settings=cloned.settings,
            communications=cloned.communications,
            services=cloned.services,
            mappings=cloned.mappings,
            gesdent=cloned.gesdent,
            gesdent_credentials=cloned.gesdent_credentials,
        ),
        portal=cloned.portal,
    )
