"""An instance's services: CRUD, and invariant 6 when a mapped service goes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Instance, Service
from app.db.repositories import services as repo
from app.db.repositories.pages import PageRequest
from app.db.repositories.services import ServiceFilter
from app.domain.conflicts import ServiceCodeTaken, ServiceMapped
from app.domain.errors import NotFound
from app.etags import check_if_match, etag_of
from app.schemas.services import ServiceCreate, ServiceUpdate
from app.services.changes import apply, changed_fields, reject_nulls


@dataclass(frozen=True)
class InstanceService:
    """A service of the caller's instance, and the code of the portal service it maps to."""

    instance: Instance
    service: Service
    mapped_to: str | None


_CODES_SHOWN = 10  # in the message of a refused delete; the problem's `services` lists them all


def etag(service: Service) -> str:
    return etag_of("service", service.id, service.version)


async def list_page(
    session: AsyncSession, instance: Instance, page: PageRequest, where: ServiceFilter
) -> tuple[list[repo.ServiceRow], str | None]:
    return await repo.list_page(session, instance.id, page, where)


async def require_service(session: AsyncSession, instance: Instance, code: str) -> InstanceService:
    """Service `code` of the caller's `instance`, or 404."""
    row = await repo.get(session, instance.id, code)
    if row is None:
        raise NotFound(f"Instance {instance.name} has no service {code}.", service=code)
    return InstanceService(instance, row.service, row.mapped_to)


async def create(session: AsyncSession, instance: Instance, data: ServiceCreate) -> Service:
    """Create a service of `instance` (loaded locked by the route)."""
    if await repo.code_exists(session, instance.id, data.code):
        raise _taken(instance.name, data.code)
    service = Service(instance_id=instance.id, **data.model_dump())
    try:
        async with session.begin_nested():
            session.add(service)
    except IntegrityError:  # created concurrently
        raise _taken(instance.name, data.code) from None
    return service


def _taken(name: str, code: str) -> ServiceCodeTaken:
    return ServiceCodeTaken(f"Instance {name} already has a service {code}.", service=code)


async def update(
    session: AsyncSession, found: InstanceService, data: ServiceUpdate, if_match: str | None
) -> Service:
    """Change a service (its instance loaded locked by the route)."""
    service = found.service
    check_if_match(if_match, etag(service))
    changes = data.model_dump(exclude_unset=True)
    reject_nulls(changes, ["name", "duration_minutes", "web_enabled"])
    if apply(service, changed_fields(service, changes)):
        await session.flush()
    return service


async def delete(
    session: AsyncSession, found: InstanceService, *, cascade: bool, if_match: str | None
) -> int:
    """Delete a service (its instance loaded locked by the route); returns how many mappings the
    cascade removed with it."""
    check_if_match(if_match, etag(found.service))
    return await remove_services(session, [found.service], cascade)


async def check_removable(session: AsyncSession, services: list[Service], cascade: bool) -> int:
    """Invariant 6: services with mappings go only with `cascade`. Returns how many mappings would go."""
    touching = await repo.mappings_touching(session, [s.id for s in services])
    mapped = sum(touching.values())
    if mapped and not cascade:
        codes = [s.code for s in services if s.id in touching]
        shown = ", ".join(codes[:_CODES_SHOWN]) + (" …" if len(codes) > _CODES_SHOWN else "")
        raise ServiceMapped(
            f"{mapped} mapping(s) use service(s) {shown}; "
            "remove the mappings first or repeat with ?cascade=true",
            mapping_count=mapped,
            services=codes,
        )
    return mapped


async def remove_services(session: AsyncSession, services: list[Service], cascade: bool) -> int:
    """Delete services (see check_removable); returns the mappings removed with them."""
    await check_removable(session, services, cascade)
    ids = [s.id for s in services]
    removed = await repo.delete_mappings_touching(session, ids)
    await repo.delete_services(session, ids)
    await session.flush()
    return removed
