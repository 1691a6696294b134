"""Mappings of a member's services to its portal's services (invariants 4 and 5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Mapping, Service
from app.db.repositories import mappings as repo
from app.db.repositories.mappings import MappingRow
from app.db.repositories.pages import PageRequest
from app.domain.conflicts import AlreadyMapped
from app.domain.errors import NotFound, ValidationFailed
from app.domain.matching import Candidate, Suggestion, suggest
from app.etags import check_if_match, etag_of
from app.services.members import Member
from app.services.portals import Portal

T = TypeVar("T")
# Mappings written per statement (between two, the event loop answers other requests).
_CHUNK = 1000

# Every function takes the member with its portal, loaded by the route. A write's route loads them
# locked: a mapping write takes turns with every write that locks the portal or the member (the
# mappings of this member, a change to either's services such as a `mode=replace` import or a
# delete, a detach). Without the portal's lock, a mapping could target a portal service that a
# concurrent import is deleting, and one of the two would fail at commit.


async def list_page(
    session: AsyncSession, member: Member, page: PageRequest
) -> tuple[list[MappingRow], str | None]:
    return await repo.list_page(session, member.instance.id, page)


async def get(session: AsyncSession, member: Member, code: str) -> MappingRow:
    return await _require_mapping(session, member, code)


async def _require_mapping(session: AsyncSession, member: Member, code: str) -> MappingRow:
    row = await repo.one(session, member.instance.id, code)
    if row is None:
        raise NotFound(
            f"Service {code} of {member.instance.name} is not mapped (or does not exist).", service=code
        )
    return row


async def _resolve(
    session: AsyncSession, member: Member, items: list[tuple[str, str]], field_prefix: str
) -> tuple[list[tuple[Service, Service]], list[dict[str, str]]]:
    """Look up (member code, portal code) pairs; every unknown code and repeated member code is an error."""
    member_services = await repo.services_by_code(session, member.instance.id, {m for m, _ in items})
    portal_services = await repo.services_by_code(session, member.portal.instance.id, {p for _, p in items})
    names = (member.instance.name, member.portal.instance.name)
    return _check(items, member_services, portal_services, names, field_prefix)


def _check(
    items: list[tuple[str, str]],
    member_services: dict[str, T],
    portal_services: dict[str, T],
    names: tuple[str, str],
    field_prefix: str,
) -> tuple[list[tuple[T, T]], list[dict[str, str]]]:
    """The pairs of `items` resolved through the member's and the portal's services by code, and an
    error for every unknown code and repeated member code; `names` are the member's and the portal's."""
    resolved, errors, seen = [], [], set()
    for index, (member_code, portal_code) in enumerate(items):
        where = field_prefix.format(index=index)
        ok = True
        if member_code not in member_services:
            errors.append(
                {"field": f"{where}member_service", "message": f"{names[0]} has no service {member_code}"}
            )
            ok = False
        elif member_code in seen:
            errors.append(
                {"field": f"{where}member_service", "message": f"{member_code} appears more than once"}
            )
            ok = False
        if portal_code not in portal_services:
            errors.append(
                {
                    "field": f"{where}portal_service",
                    "message": f"portal {names[1]} has no service {portal_code}",
                }
            )
            ok = False
        seen.add(member_code)
        if ok:
            resolved.append((member_services[member_code], portal_services[portal_code]))
    return resolved, errors


def _invalid(errors: list[dict[str, str]]) -> ValidationFailed:
    return ValidationFailed(
        f"{len(errors)} invalid mapping field(s): " + "; ".join(e["message"] for e in errors[:10]),
        errors=errors,
    )


async def create(
    session: AsyncSession, member: Member, member_code: str, portal_code: str
) -> tuple[MappingRow, bool]:
    """Map a member service; (row, created). The same mapping again is not an error; another target is."""
    resolved, errors = await _resolve(session, member, [(member_code, portal_code)], "body.")
    if errors:
        raise _invalid(errors)
    ((member_service, portal_service),) = resolved
    existing = await repo.one(session, member.instance.id, member_code)
    if existing is not None:
        if existing.portal_code == portal_code:
            return existing, False
        raise _already(member, member_code, existing.portal_code)
    try:
        async with session.begin_nested():
            session.add(_mapping(member, member_service, portal_service))
    except IntegrityError:  # mapped concurrently; the primary key keeps one target
        row = await repo.one(session, member.instance.id, member_code)
        raise _already(member, member_code, row.portal_code if row else "another service") from None
    return await _require_mapping(session, member, member_code), True


def _already(member: Member, member_code: str, target: str) -> AlreadyMapped:
    return AlreadyMapped(
        f"Service {member_code} of {member.instance.name} already maps to portal service {target}; "
        f"PUT …/mappings/{member_code} to replace the target.",
        existing_portal_service=target,
    )


def _mapping(member: Member, member_service: Service, portal_service: Service) -> Mapping:
    return Mapping(
        member_service_id=member_service.id,
        portal_service_id=portal_service.id,
        member_id=member.instance.id,
        portal_id=member.portal.instance.id,
    )


def etag(row: MappingRow) -> str:
    return etag_of("mapping", row.member_code, row.portal_code)


async def put_one(
    session: AsyncSession, member: Member, member_code: str, portal_code: str, if_match: str | None
) -> tuple[MappingRow, bool]:
    """Map a member service to this target, replacing any other; (row, created)."""
    existing = await repo.one(session, member.instance.id, member_code)
    check_if_match(if_match, None if existing is None else etag(existing))
    resolved, errors = await _resolve(session, member, [(member_code, portal_code)], "")
    if errors:
        if any(e["field"] == "member_service" for e in errors):
            raise NotFound(f"{member.instance.name} has no service {member_code}.", service=member_code)
        raise _invalid([{**e, "field": "body.portal_service"} for e in errors])
    ((member_service, portal_service),) = resolved
    current = await repo.get(session, member_service.id)
    if current is None:
        session.add(_mapping(member, member_service, portal_service))
    else:
        current.portal_service_id = portal_service.id
    await session.flush()
    return await _require_mapping(session, member, member_code), current is None


async def delete_one(session: AsyncSession, member: Member, member_code: str, if_match: str | None) -> None:
    row = await _require_mapping(session, member, member_code)
    check_if_match(if_match, etag(row))
    await repo.delete_ids(session, [row.mapping.member_service_id])


@dataclass(frozen=True)
class Replaced:
    rows: list[MappingRow]
    added: int
    retargeted: int
    removed: int
    unchanged: int


async def replace_all(session: AsyncSession, member: Member, items: list[tuple[str, str]]) -> Replaced:
    """Make `items` the member's whole set of mappings, atomically; every bad item is reported."""
    resolved, errors = await _resolve(session, member, items, "body.{index}.")
    if errors:
        raise _invalid(errors)
    current = {
        row.mapping.member_service_id: row.mapping
        for row in await repo.for_member(session, member.instance.id)
    }
    wanted = {member_service.id: portal_service for member_service, portal_service in resolved}
    removed = [sid for sid in current if sid not in wanted]
    added = retargeted = unchanged = 0
    await repo.delete_ids(session, removed)
    for member_service, portal_service in resolved:
        existing = current.get(member_service.id)
        if existing is None:
            session.add(_mapping(member, member_service, portal_service))
            added += 1
        elif existing.portal_service_id != portal_service.id:
            existing.portal_service_id = portal_service.id
            retargeted += 1
        else:
            unchanged += 1
    await session.flush()
    rows = await repo.for_member(session, member.instance.id)
    return Replaced(rows, added, retargeted, len(removed), unchanged)


async def replace_sets(session: AsyncSession, portal: Portal, sets: dict[str, list[tuple[str, str]]]) -> None:
    """Make each of `sets` (member name → items) that member's whole set of mappings, as replace_all
    does for one, under the same checks (the portal loaded locked by the caller, the members too): a
    manifest writes the mappings of a whole chain so, in the statements of one set, without an ORM
    object per mapping."""
    portal_id = portal.instance.id
    member_ids = await repo.members_named(session, portal_id, list(sets))
    for name in sets:
        if name not in member_ids:
            raise NotFound(f"{name} is not a member of portal {portal.instance.name}.", instance=name)
    codes = await repo.service_ids(session, [portal_id, *member_ids.values()])
    current = await repo.targets_of(session, list(member_ids.values()))
    errors: list[dict[str, str]] = []
    removed: list[str] = []
    added: list[dict[str, str]] = []
    retargeted: list[dict[str, str]] = []
    for name, items in sets.items():
        member_id = member_ids[name]
        names = (name, portal.instance.name)
        resolved, found = _check(items, codes[member_id], codes[portal_id], names, f"{name}.{{index}}.")
        errors += found
        wanted = dict(resolved)
        removed += [sid for sid in current[member_id] if sid not in wanted]
        for member_service_id, portal_service_id in resolved:
            existing = current[member_id].get(member_service_id)
            row = {"member_service_id": member_service_id, "portal_service_id": portal_service_id}
            if existing is None:
                added.append({**row, "member_id": member_id, "portal_id": portal_id})
            elif existing != portal_service_id:
                retargeted.append(row)
    if errors:
        raise _invalid(errors)
    for start in range(0, len(removed), _CHUNK):
        await repo.delete_ids(session, removed[start : start + _CHUNK])
    for start in range(0, len(retargeted), _CHUNK):
        await repo.retarget(session, retargeted[start : start + _CHUNK])
    for start in range(0, len(added), _CHUNK):
        await repo.insert_rows(session, added[start : start + _CHUNK])


async def suggestions(
    session: AsyncSession, member: Member, *, limit: int, min_score: float
) -> list[tuple[Service, list[Suggestion]]]:
    """For each unmapped member service, the portal services it most resembles."""
    member_services = await repo.services_by_code(session, member.instance.id)
    mapped = {row.member_code for row in await repo.for_member(session, member.instance.id)}
    candidates = [
        Candidate(s.code, s.name)
        for s in (await repo.services_by_code(session, member.portal.instance.id)).values()
    ]
    return [
        (service, suggest(service.code, service.name, candidates, limit=limit, min_score=min_score))
        for code, service in sorted(member_services.items())
        if code not in mapped
    ]
