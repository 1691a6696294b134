"""CSV import and export of an instance's services: all rows valid or nothing written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Instance, new_id, utcnow
from app.db.repositories import services as repo
from app.domain import services_csv
from app.domain.errors import CsvTooManyRows, InvalidCsv
from app.services.services import check_removable, remove_services

# Rows written per statement: between two, the event loop answers other requests.
_CHUNK = 1000
MAX_ROWS_SETTING = "PORTICO_MAX_CSV_ROWS"


@dataclass
class ImportOutcome:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    removed_mappings: int = 0


@dataclass(frozen=True)
class ImportOptions:
    """How an import writes: `replace` also deletes the services the file lacks, `dry_run` writes
    nothing, `cascade` lets services that mappings use go with them (invariant 6), and the file has at
    most `max_rows` rows."""

    replace: bool
    dry_run: bool
    cascade: bool
    max_rows: int


@dataclass
class _Plan:
    outcome: ImportOutcome = field(default_factory=ImportOutcome)
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)


async def export_csv(session: AsyncSession, instance: Instance) -> str:
    services = await repo.all_of(session, instance.id)
    return services_csv.render(
        [(s.code, s.name, s.duration_minutes, s.price, s.web_enabled) for s in services]
    )


def read_rows(data: bytes, max_rows: int) -> list[services_csv.ServiceRow]:
    """Decode and validate the whole file: every row valid, or the problem that lists the bad ones."""
    try:
        rows, errors = services_csv.parse(services_csv.decode(data), max_rows)
    except services_csv.NotUtf8 as exc:
        raise InvalidCsv(
            f"The CSV cannot be read: {exc}.", errors=[{"line": exc.line, "field": None, "message": str(exc)}]
        ) from None
    except services_csv.TooManyRows as exc:
        raise CsvTooManyRows(
            f"The CSV has {exc}; an import takes at most {exc.limit} rows ({MAX_ROWS_SETTING}). "
            "Nothing was written: split the file, or raise the setting.",
            max_rows=exc.limit,
            setting=MAX_ROWS_SETTING,
        ) from None
    if errors:
        lines = sorted({e.line for e in errors})
        raise InvalidCsv(
            f"{len(lines)} line(s) of the CSV are invalid ({', '.join(map(str, lines[:20]))}); "
            "nothing was written.",
            errors=[e.as_dict() for e in errors],
        )
    return rows


def _plan(
    instance_id: str, rows: list[services_csv.ServiceRow], stored: list[repo.ServiceValues], replace: bool
) -> _Plan:
    """What the import changes: rows to insert, rows to update (a new version), codes to delete."""
    existing = {s.code: s for s in stored}
    plan = _Plan()
    for row in rows:
        values = {field: getattr(row, field) for field in repo.VALUE_FIELDS}
        current = existing.get(row.code)
        if current is None:
            plan.outcome.created.append(row.code)
            # The id given, not left to the column default: the audit trail names what it created.
            plan.inserts.append({"id": new_id(), "instance_id": instance_id, "code": row.code, **values})
        elif any(getattr(current, field) != value for field, value in values.items()):
            plan.outcome.updated.append(row.code)
            plan.updates.append({"id": current.id, "version": current.version + 1, **values})
        else:
            plan.outcome.unchanged.append(row.code)
    if replace:
        in_file = {row.code for row in rows}
        plan.outcome.deleted = sorted(code for code in existing if code not in in_file)
    return plan


async def import_csv(
    session: AsyncSession, instance: Instance, data: bytes, options: ImportOptions
) -> ImportOutcome:
    """Import the CSV `data` into `instance` (loaded locked by the route)."""
    (outcome,) = await import_many(session, [(instance, data)], options)
    return outcome


async def import_many(
    session: AsyncSession, files: list[tuple[Instance, bytes]], options: ImportOptions
) -> list[ImportOutcome]:
    """Import each CSV into its instance (each loaded locked by the caller), every file under the
    same rules as one import; the services of all of them read in one query and written in the
    statements of one import (a manifest imports the services of a whole chain so)."""
    # Decoding, validating and comparing thousands of rows is CPU work: done in a worker thread, it
    # does not hold up the event loop, which meanwhile answers other requests (health checks too).
    rows = await anyio.to_thread.run_sync(lambda: [read_rows(data, options.max_rows) for _, data in files])
    stored = await repo.values_of(session, {instance.id for instance, _ in files})
    plans = await anyio.to_thread.run_sync(
        lambda: [
            _plan(instance.id, file_rows, stored[instance.id], options.replace)
            for (instance, _), file_rows in zip(files, rows, strict=True)
        ]
    )
    gone = [
        await repo.of_codes(session, instance.id, plan.outcome.deleted)
        for (instance, _), plan in zip(files, plans, strict=True)
    ]
    if options.dry_run:
        # Invariant 6 still applies, so a dry run predicts the real answer.
        for plan, services in zip(plans, gone, strict=True):
            plan.outcome.removed_mappings = await check_removable(session, services, options.cascade)
        return [plan.outcome for plan in plans]
    for plan, services in zip(plans, gone, strict=True):
        plan.outcome.removed_mappings = await remove_services(session, services, options.cascade)
    now = utcnow()
    updates = [row for plan in plans for row in plan.updates]
    inserts = [row for plan in plans for row in plan.inserts]
    for start in range(0, len(updates), _CHUNK):
        await repo.update_values(session, updates[start : start + _CHUNK], now)
    for start in range(0, len(inserts), _CHUNK):
        await repo.insert_values(session, inserts[start : start + _CHUNK])
    await repo.after_bulk_write(session, len(inserts) + len(updates) + sum(map(len, gone)))
    return [plan.outcome for plan in plans]
