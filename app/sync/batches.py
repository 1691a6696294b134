"""The batches of the incremental streams (patients, reservations), compared before they are written.

`write_batch` reads the batch's stored rows first (one indexed query) and compares them with the
incoming ones in Python, so the upsert (app/sync/upsert.py) only ever sees rows that are new or
changed. A no-op resync then only reads: on PostgreSQL an `ON CONFLICT DO UPDATE … WHERE false`
still locks each conflicting row (xmax, a WAL record, a dirty page), and sending every column of
every row costs more than reading it back. New rows go in without ON CONFLICT — binary COPY on
PostgreSQL, a plain executemany INSERT on SQLite — which is safe because the writers of an
instance's rows are serialised (`lock_rows` on PostgreSQL, the write lock taken up front on SQLite).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.sync.upsert import Row, Tally, upsert

# What asyncpg raises when used directly (write_batch's read and COPY); reported as a database error
# like the same failure through SQLAlchemy.
DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError)


async def lock_rows(connection: AsyncConnection, table: sa.Table, instance_id: str) -> None:
    """Ready a transaction for write_batch on `table`. PostgreSQL: hold, until the transaction ends,
    a lock that every writer of this instance's rows of `table` takes first, so that two imports of
    one instance (a run taken over while its old worker still writes) take turns instead of racing
    on new keys; and discourage sorts for the rest of the transaction (see _compared). SQLite
    serialises writers already."""
    if connection.dialect.name == "postgresql":
        await connection.execute(
            sa.text(
                "SELECT pg_advisory_xact_lock(hashtextextended(:key, 0)), "
                "set_config('enable_sort', 'off', true)"
            ),
            {"key": f"portico-sync:{table.name}:{instance_id}"},
        )


@dataclass(frozen=True)
class _Compared:
    """What write_batch reads back and compares: every column but instance_id (the same for the
    whole batch), GESDENT id first; and the statements that read them."""

    columns: list[str]
    values: Any  # row dict → tuple of `columns`
    postgresql: str
    sqlite: Any


_COMPARED: dict[str, _Compared] = {}


def _compared(table: sa.Table) -> _Compared:
    if table.name not in _COMPARED:
        others = (column.name for column in table.columns if column.name not in ("instance_id", "gesdent_id"))
        columns = ["gesdent_id", *others]
        # One primary-key probe per id, whatever the statistics say, so a batch costs the same in a
        # table of 2,000 rows as of 2 million. The planner cannot be trusted with this while a first
        # import fills the table (no statistics yet): `gesdent_id = ANY($1)` got a generic plan that
        # walked every row of the instance testing it against the whole array (minutes for 100,000
        # rows), and a plain lateral `gesdent_id = wanted.id` probed the (instance_id, resource_id,
        # starts_at) index of a table of a few thousand rows and filtered them all, per id (0.3 s a
        # batch). Here the id is a range of one key, read in primary-key order with LIMIT 1 (which
        # keeps the nested loop): only the primary key yields that order without a sort, and
        # lock_rows turns sorts off for the transaction, so the plan is one index descent per id.
        postgresql = (
            f"SELECT stored.* FROM unnest($1::text[]) AS wanted (id) CROSS JOIN LATERAL "
            f"(SELECT {', '.join(columns)} FROM {table.name} WHERE instance_id = $2 "
            "AND gesdent_id >= wanted.id AND gesdent_id <= wanted.id ORDER BY gesdent_id LIMIT 1) AS stored"
        )
        sqlite = sa.select(*(table.c[name] for name in columns)).where(
            table.c.instance_id == sa.bindparam("instance_id"),
            table.c.gesdent_id.in_(sa.bindparam("ids", expanding=True)),
        )
        _COMPARED[table.name] = _Compared(columns, operator.itemgetter(*columns), postgresql, sqlite)
    return _COMPARED[table.name]


async def _driver(connection: AsyncConnection) -> Any:
    """The asyncpg connection under `connection`, for what SQLAlchemy would slow down (a 1000-row
    result, COPY). The transaction is already open: the caller went through SQLAlchemy first."""
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    return driver


async def _stored(
    connection: AsyncConnection, table: sa.Table, instance_id: str, ids: list[str]
) -> dict[str, Sequence[Any]]:
    """GESDENT id → the stored values of the compared columns, for the ids already stored."""
    compared = _compared(table)
    if connection.dialect.name == "postgresql":
        driver = await _driver(connection)
        try:
            records = await driver.fetch(compared.postgresql, ids, instance_id)
        except DRIVER_ERRORS as exc:
            raise sa.exc.DatabaseError(compared.postgresql, None, exc) from exc
        # An asyncpg Record compares equal to the tuple of its values.
        return {record[0]: record for record in records}
    result = await connection.execute(compared.sqlite, {"instance_id": instance_id, "ids": ids})
    # SQLite hands timestamps back naive; they were stored in UTC.
    return {row[0]: tuple(map(_aware, row)) for row in result}


async def write_batch(
    connection: AsyncConnection, table: sa.Table, instance_id: str, rows: Sequence[Row]
) -> Tally:
    """Write one batch of an instance's rows keyed by (instance_id, gesdent_id): new rows inserted,
    changed rows upserted, rows equal to the stored ones (every column) left alone and counted
    unchanged. The last of several rows with one id wins. On PostgreSQL, call lock_rows first in the
    transaction."""
    tally = Tally()
    if not rows:
        return tally
    unique = {row["gesdent_id"]: row for row in rows}
    stored = await _stored(connection, table, instance_id, list(unique))
    values = _compared(table).values
    fresh, changed = [], []
    for gesdent_id, row in unique.items():
        current = stored.get(gesdent_id)
        if current is None:
            fresh.append(row)
        elif current != values(row):
            changed.append(row)
    tally.unchanged = len(unique) - len(fresh) - len(changed)
    if fresh:
        await _insert(connection, table, fresh)
        tally.created = len(fresh)
    if changed:
        existing = {(instance_id, gesdent_id) for gesdent_id in stored}
        tally.add(await upsert(connection, table, changed, existing))
    return tally


async def _insert(connection: AsyncConnection, table: sa.Table, rows: list[Row]) -> None:
    """Rows known to be new, without ON CONFLICT: binary COPY on PostgreSQL (no statement to plan,
    each value encoded once, in C), executemany on SQLite."""
    if connection.dialect.name != "postgresql":
        await connection.execute(sa.insert(table), rows)
        return
    columns = [column.name for column in table.columns]
    records = list(map(operator.itemgetter(*columns), rows))
    driver = await _driver(connection)
    try:
        await driver.copy_records_to_table(table.name, records=records, columns=columns)
    except DRIVER_ERRORS as exc:
        raise sa.exc.DatabaseError(f"COPY {table.name} FROM STDIN", None, exc) from exc


def _aware(value: Any) -> Any:
    if value.__class__ is datetime and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
