"""What a route names in its path, as dependencies: the caller's instance, portal, member or service,
loaded once per request and handed to the route typed, so that services take the loaded value
instead of looking it up again.

Each alias is `Annotated[<value>, Depends(<lookup>)]`. The lookup depends on the principal of the
route's scope, so that a caller without the scope gets its 401 or 403 before any name is looked up;
and it declares the path parameter, so that a malformed name is a 422. It returns a `Lookup` that
`LookupRoute` (app/routers/lookups.py) runs once the whole request is valid: the route receives the
value, and the 404 of an unknown name comes after every 422, as it always did.

One alias per (value, scope, lock): a write route's lookup locks the rows its write needs (SELECT …
FOR UPDATE on PostgreSQL) in the request's transaction, as the services did, in the same order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends

from app.auth import Principal, Scope, require
from app.db.models import Instance
from app.db.repositories.instance_facts import InstanceWithFacts
from app.db.session import SessionDep
from app.domain.errors import NotFound
from app.openapi_contract import raises
from app.routers.common import MemberPath, NamePath, PortalPath, ServiceCodePath, SettingKeyPath
from app.routers.lookups import Lookup
from app.services import instances
from app.services import members as members_service
from app.services import portals as portals_service
from app.services import services as services_service
from app.services.members import Member
from app.services.portals import Portal, SearchedPortal
from app.services.services import InstanceService

InstanceLookup = Callable[..., Awaitable[Lookup[Instance]]]
PortalLookup = Callable[..., Awaitable[Lookup[Portal]]]
MemberLookup = Callable[..., Awaitable[Lookup[Member]]]
ServiceLookup = Callable[..., Awaitable[Lookup[InstanceService]]]


def instance(scope: Scope, *, lock: bool = False) -> InstanceLookup:
    """The caller's instance `{name}`, or the 404 that suggests the caller's closest names."""
    scoped = require(scope)  # the route's own principal dependency: `require` answers the same one

    # The principal as a default, not an annotation: annotations are resolved in the module's globals.
    @raises(NotFound)
    async def lookup(
        session: SessionDep, name: NamePath, principal: Principal = Depends(scoped)
    ) -> Lookup[Instance]:
        return Lookup(lambda: instances.require(session, principal, name, lock=lock))

    return lookup


def instance_with_facts(scope: Scope) -> Callable[..., Awaitable[Lookup[InstanceWithFacts]]]:
    """The caller's instance `{name}` with its facts (one query), or the 404 of `instance`."""
    scoped = require(scope)

    @raises(NotFound)
    async def lookup(
        session: SessionDep, name: NamePath, principal: Principal = Depends(scoped)
    ) -> Lookup[InstanceWithFacts]:
        return Lookup(lambda: instances.require_with_facts(session, principal, name))

    return lookup


def portal_instance(scope: Scope) -> InstanceLookup:
    """The caller's instance `{portal}`, whatever its kind: attaching a member checks the kind itself."""
    scoped = require(scope)

    @raises(NotFound)
    async def lookup(
        session: SessionDep, portal: PortalPath, principal: Principal = Depends(scoped)
    ) -> Lookup[Instance]:
        return Lookup(lambda: instances.require(session, principal, portal))

    return lookup


def portal(scope: Scope, *, page: bool = False, lock: bool = False) -> PortalLookup:
    """The caller's portal `{portal}` and its facts, or 404 (unknown, or not a portal)."""
    scoped = require(scope, page=page)

    @raises(NotFound)
    async def lookup(
        session: SessionDep, portal: PortalPath, principal: Principal = Depends(scoped)
    ) -> Lookup[Portal]:
        return Lookup(lambda: portals_service.require_portal(session, principal, portal, lock=lock))

    return lookup


def portal_for_search() -> Callable[..., Awaitable[Lookup[SearchedPortal]]]:
    """The caller's portal `{portal}` with its search generation (one query), or `portal`'s 404."""
    scoped = require(Scope.INSTANCES_READ)

    @raises(NotFound)
    async def lookup(
        session: SessionDep, portal: PortalPath, principal: Principal = Depends(scoped)
    ) -> Lookup[SearchedPortal]:
        return Lookup(lambda: portals_service.require_for_search(session, principal, portal))

    return lookup


# A path parameter after a lookup's is a dependency too: FastAPI lists a route's own parameters before
# those of its dependencies, and the spec lists them in the order of the URL.


async def _member_name(member: MemberPath) -> str:
    return member


async def _setting_key(key: SettingKeyPath) -> str:
    return key


async def _member_service(member_service: ServiceCodePath) -> str:
    return member_service


SettingKey = Annotated[str, Depends(_setting_key)]
MemberServiceCode = Annotated[str, Depends(_member_service)]


def member(of: PortalLookup, *, lock: bool = False) -> MemberLookup:
    """Member `{member}` of the portal `of` loads, or 404. With `lock`, the portal is locked first
    (`of` locks it), the membership read after that lock, then the member locked: the order every
    write on a portal and its member takes, so that two writers never wait on each other."""

    @raises(NotFound)
    async def lookup(
        session: SessionDep,
        portal: Lookup[Portal] = Depends(of),
        name: str = Depends(_member_name),
    ) -> Lookup[Member]:
        async def load() -> Member:
            return await members_service.get(session, await portal(), name, lock=lock)

        return Lookup(load)

    return lookup


async def _service_code(code: ServiceCodePath) -> str:
    return code


def service(of: InstanceLookup) -> ServiceLookup:
    """Service `{code}` of the instance `of` loads (and locks, for a write), or 404."""

    @raises(NotFound)
    async def lookup(
        session: SessionDep,
        owner: Lookup[Instance] = Depends(of),
        code: str = Depends(_service_code),
    ) -> Lookup[InstanceService]:
        async def load() -> InstanceService:
            return await services_service.require_service(session, await owner(), code)

        return Lookup(load)

    return lookup


_instance_read = instance(Scope.INSTANCES_READ)
_instance_write = instance(Scope.INSTANCES_WRITE, lock=True)
_instance_write_no_lock = instance(Scope.INSTANCES_WRITE)
_portal_read = portal(Scope.INSTANCES_READ)
_portal_write = portal(Scope.PORTALS_WRITE, lock=True)

# instances:read
InstanceDep = Annotated[Instance, Depends(_instance_read)]
InstanceWithFactsDep = Annotated[InstanceWithFacts, Depends(instance_with_facts(Scope.INSTANCES_READ))]
ServiceDep = Annotated[InstanceService, Depends(service(_instance_read))]
PortalDep = Annotated[Portal, Depends(_portal_read)]
MemberDep = Annotated[Member, Depends(member(_portal_read))]
# instances:write, locked for the write
InstanceToWrite = Annotated[Instance, Depends(_instance_write)]
ServiceToWrite = Annotated[InstanceService, Depends(service(_instance_write))]
# instances:write, not locked: deleting the GESDENT rules locks nothing more
InstanceWriteNoLock = Annotated[Instance, Depends(_instance_write_no_lock)]
# portals:write, locked for the write
PortalToWrite = Annotated[Portal, Depends(_portal_write)]
MemberToWrite = Annotated[Member, Depends(member(_portal_write, lock=True))]
# portals:write, not locked yet: attaching a member locks both rows in the order of their ids
PortalToJoin = Annotated[Instance, Depends(portal_instance(Scope.PORTALS_WRITE))]
# sync:read, patients:read, sync:run
SyncedInstance = Annotated[Instance, Depends(instance(Scope.SYNC_READ))]
PatientsInstance = Annotated[Instance, Depends(instance(Scope.PATIENTS_READ))]
InstanceToSync = Annotated[Instance, Depends(instance(Scope.SYNC_RUN))]
# The report's page and form for people (HTTP Basic from a browser too)
ReportPortal = Annotated[Portal, Depends(portal(Scope.INSTANCES_READ, page=True))]
ReportPortalToWrite = Annotated[Portal, Depends(portal(Scope.INSTANCES_WRITE, page=True))]

# Lookups a route awaits itself, once the checks of its own that answer first are done: a clone checks
# the scope `join_portal` needs (403), an import the media type and form of its upload (415, 422), the
# portal's availability its window of days (422).
CloneSource = Annotated[Lookup[Instance], Depends(_instance_write_no_lock)]
ImportTarget = Annotated[Lookup[Instance], Depends(_instance_write)]
AvailabilityPortal = Annotated[Lookup[SearchedPortal], Depends(portal_for_search())]
