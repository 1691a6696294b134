"""An instance's services: CRUD, and invariant 6 when a mapped service goes."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.models import Service
from app.db.repositories import services as repo
from app.db.repositories.pages import PageRequest
from app.domain.errors import NotFound, ServiceCodeTaken, ServiceMapped
from app.etags import check_if_match, etag_of
from app.schemas.services import ServiceCreate, ServiceUpdate
from app.services.changes import apply, changed_fields, reject_nulls
from app.services.instances import require


def etag(service: Service) -> str:
    return etag_of("service", service.id, service.version)


async def list_page(
    session: AsyncSession,
    principal: Principal,
    name: str,
    page: PageRequest,
    q: str | None,
    web_enabled: bool | None,
    mapped: bool | None,
) -> tuple[list[repo.ServiceRow], str | None]:
    instance = await require(session, principal, name)
    return await repo.list_page(session, instance.id, page, q, web_enabled, mapped)


async def require_service(
    session: AsyncSession, principal: Principal, name: str, code: str
) -> tuple[Service, str | None]:
    """(service, mapped_to) of the caller's instance, or 404."""
    instance = await require(session, principal, name)
    row = await repo.get(session, instance.id, code)
    if row is None:
        raise NotFound(f"Instance {name} has no service {code}.", service=code)
    return row.service, row.mapped_to


async def create(session: AsyncSession, principal: Principal, name: str, data: ServiceCreate) -> Service:
    instance = await require(session, principal, name, lock=True)
    if await repo.code_exists(session, instance.id, data.code):
        raise _taken(name, data.code)
    service = Service(instance_id=instance.id, **data.model_dump())
    try:
        async with session.begin_nested():
            session.add(service)
    except IntegrityError:  # created concurrently
        raise _taken(name, data.code) from None
    return service


def _taken(name: str, code: str) -> ServiceCodeTaken:
    return ServiceCodeTaken(f"Instance {name} already has a service {code}.", service=code)


async def update(
    session: AsyncSession,
    principal: Principal,
    name: str,
    code: str,
    data: ServiceUpdate,
    if_match: str | None,
) -> tuple[Service, str | None]:
    await require(session, principal, name, lock=True)
    service, mapped_to = await require_service(session, principal, name, code)
    check_if_match(if_match, etag(service))
    changes = data.model_dump(exclude_unset=True)
    reject_nulls(changes, ["name", "duration_minutes", "web_enabled"])
    if apply(service, changed_fields(service, changes)):
        await session.flush()
    return service, mapped_to


async def delete(
    session: AsyncSession, principal: Principal, name: str, code: str, cascade: bool, if_match: str | None
) -> int:
    """Delete a service; returns how many mappings the cascade removed with it."""
    await require(session, principal, name, lock=True)
    service, _ = await require_service(session, principal, name, code)
    check_if_match(if_match, etag(service))
    return await remove_services(session, [service], cascade)


async def check_removable(session: AsyncSession, services: list[Service], cascade: bool) -> int:
    """Invariant 6: services with mappings go only with `cascade`. Returns how many mappings would go."""
    touching = await repo.mappings_touching(session, [s.id for s in services])
    mapped = sum(touching.values())
    if mapped and not cascade:
        codes = [s.code for s in services if s.id in touching]
        shown = ", ".join(codes[:10]) + (" …" if len(codes) > 10 else "")
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
