"""CSV import and export of an instance's services: all rows valid or nothing written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.models import Service, utcnow
from app.db.repositories import services as repo
from app.domain import services_csv
from app.domain.errors import InvalidCsv
from app.services.changes import apply, changed_fields
from app.services.instances import require
from app.services.services import check_removable, remove_services

_FIELDS = ("name", "duration_minutes", "price", "web_enabled")


@dataclass
class ImportOutcome:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    removed_mappings: int = 0


async def export_csv(session: AsyncSession, principal: Principal, name: str) -> str:
    instance = await require(session, principal, name)
    services = await repo.all_of(session, instance.id)
    return services_csv.render(
        [(s.code, s.name, s.duration_minutes, s.price, s.web_enabled) for s in services]
    )


async def import_csv(
    session: AsyncSession,
    principal: Principal,
    name: str,
    data: bytes,
    *,
    replace: bool,
    dry_run: bool,
    cascade: bool,
) -> ImportOutcome:
    instance = await require(session, principal, name, lock=True)
    try:
        text = services_csv.decode(data)
    except services_csv.NotUtf8 as exc:
        raise InvalidCsv(
            f"The CSV cannot be read: {exc}.", errors=[{"line": exc.line, "field": None, "message": str(exc)}]
        ) from None
    rows, errors = services_csv.parse(text)
    if errors:
        lines = sorted({e.line for e in errors})
        raise InvalidCsv(
            f"{len(lines)} line(s) of the CSV are invalid ({', '.join(map(str, lines[:20]))}); "
            "nothing was written.",
            errors=[e.as_dict() for e in errors],
        )
    existing = {s.code: s for s in await repo.all_of(session, instance.id)}
    outcome = ImportOutcome()
    new_services: list[Service] = []
    changes: list[tuple[Service, dict[str, object]]] = []
    for row in rows:
        values: dict[str, Any] = {
            "name": row.name,
            "duration_minutes": row.duration_minutes,
            "price": row.price,
            "web_enabled": row.web_enabled,
        }
        current = existing.get(row.code)
        if current is None:
            outcome.created.append(row.code)
            new_services.append(Service(instance_id=instance.id, code=row.code, **values))
            continue
        changed = changed_fields(current, values)
        (outcome.updated if changed else outcome.unchanged).append(row.code)
        if changed:
            changes.append((current, changed))
    in_file = {row.code for row in rows}
    gone = [s for code, s in existing.items() if code not in in_file] if replace else []
    outcome.deleted = [s.code for s in gone]
    if dry_run:
        # Invariant 6 still applies, so a dry run predicts the real answer.
        outcome.removed_mappings = await check_removable(session, gone, cascade)
        return outcome
    outcome.removed_mappings = await remove_services(session, gone, cascade)
    now = utcnow()
    for service, changed in changes:
        apply(service, changed, now)
    await repo.insert_many(session, new_services)
    await session.flush()
    return outcome
