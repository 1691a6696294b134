"""Batched upserts that leave unchanged rows alone and count exactly what they did.

`INSERT … ON CONFLICT (primary key) DO UPDATE SET … WHERE <some column differs>`, one statement per
batch, on PostgreSQL and SQLite alike. A row whose values are all the same is neither rewritten nor
returned, so a no-op resync writes nothing: no new tuple versions on PostgreSQL, no page writes on
SQLite. PostgreSQL gets the batch as one array per column (`INSERT … SELECT unnest(…)`: a handful of
parameters, one plan, little Python work per row); SQLite as multi-row VALUES (SQLAlchemy's
insertmanyvalues).

Counting: RETURNING yields the inserted and the updated rows. PostgreSQL tells them apart by
`xmax = 0` (a freshly inserted tuple has no locker); SQLite cannot, so there the batch's existing keys
are read first (one indexed query per batch).

`write_batch` is what the incremental streams (patients, reservations) use: it reads the batch's
stored rows first (one indexed query) and compares them with the incoming ones in Python, so the
upsert only ever sees rows that are new or changed. A no-op resync then only reads: on PostgreSQL an
`ON CONFLICT DO UPDATE … WHERE false` still locks each conflicting row (xmax, a WAL record, a dirty
page), and sending every column of every row costs more than reading it back. New rows go in
without ON CONFLICT — binary COPY on PostgreSQL, a plain executemany INSERT on SQLite — which is safe
because the writers of an instance's rows are serialised (`lock_rows` on PostgreSQL, the write lock
taken up front on SQLite).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

Row = dict[str, Any]
DELETE_BATCH = 500


@dataclass
class Tally:
    fetched: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0

    def add(self, other: Tally) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(table: sa.Table, dialect: str) -> Any:
    key = (table.name, dialect)
    if key not in _STATEMENTS:
        keys = [column.name for column in table.primary_key.columns]
        if dialect == "postgresql":
            arrays = sa.select(
                *(
                    sa.func.unnest(sa.cast(sa.bindparam(column.name), postgresql.ARRAY(_array_type(column))))
                    for column in table.columns
                )
            )
            statement: Any = postgresql.insert(table).from_select(
                [column.name for column in table.columns], arrays
            )
        else:
            statement = sqlite.insert(table)
        values = {
            column.name: statement.excluded[column.name]
            for column in table.columns
            if column.name not in keys
        }
        differs = sa.or_(*(table.c[name].is_distinct_from(value) for name, value in values.items()))
        upsert = statement.on_conflict_do_update(index_elements=keys, set_=values, where=differs)
        if dialect == "postgresql":
            _STATEMENTS[key] = upsert.returning(sa.literal_column("xmax = 0", sa.Boolean).label("inserted"))
        else:
            _STATEMENTS[key] = upsert.returning(*table.primary_key.columns)
    return _STATEMENTS[key]


def _array_type(column: sa.Column[Any]) -> sa.types.TypeEngine[Any]:
    # text[], not varchar(n)[]: an explicit cast to varchar(n) would silently truncate a long value,
    # where assigning text to the varchar(n) column refuses it.
    return sa.Text() if isinstance(column.type, sa.String) else column.type


_GETTERS: dict[str, tuple[Any, list[Any]]] = {}


def _getters(table: sa.Table) -> tuple[Any, list[Any]]:
    """itemgetters for a row's key and for each column: C-speed access, per row and per column."""
    if table.name not in _GETTERS:
        keys = [column.name for column in table.primary_key.columns]
        key = operator.itemgetter(*keys) if len(keys) > 1 else lambda row: (row[keys[0]],)
        _GETTERS[table.name] = (key, [operator.itemgetter(column.name) for column in table.columns])
    return _GETTERS[table.name]


async def upsert(
    connection: AsyncConnection,
    table: sa.Table,
    rows: Sequence[Row],
    existing: set[tuple[Any, ...]] | None = None,
) -> Tally:
    """Upsert one batch. `existing` (SQLite only): the keys of the batch already stored (see
    existing_keys). The last of several rows with one key wins."""
    tally = Tally()
    if not rows:
        return tally
    key, columns = _getters(table)
    unique = list({key(row): row for row in rows}.values())
    dialect = connection.dialect.name
    if dialect == "postgresql":
        arrays = {
            column.name: list(map(get, unique)) for column, get in zip(table.columns, columns, strict=True)
        }
        flags = (await connection.execute(_statement(table, dialect), arrays)).scalars().all()
        tally.created = sum(1 for inserted in flags if inserted)
        tally.updated = len(flags) - tally.created
    else:
        if existing is None:
            raise ValueError("SQLite needs the batch's existing keys")
        written = len((await connection.execute(_statement(table, dialect), unique)).all())
        tally.created = sum(1 for row in unique if key(row) not in existing)
        tally.updated = written - tally.created
    tally.unchanged = len(unique) - tally.created - tally.updated
    return tally


async def existing_keys(
    connection: AsyncConnection, table: sa.Table, instance_id: str, ids: Iterable[str]
) -> set[tuple[Any, ...]] | None:
    """The (instance_id, gesdent_id) keys among `ids` already stored; None where upsert() does not
    need them (PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        return None
    query = sa.select(table.c.instance_id, table.c.gesdent_id).where(
        table.c.instance_id == instance_id, table.c.gesdent_id.in_(list(ids))
    )
    return {tuple(row) for row in await connection.execute(query)}


async def lock_rows(connection: AsyncConnection, table: sa.Table, instance_id: str) -> None:
    """PostgreSQL: hold, until the transaction ends, a lock that every writer of this instance's rows
    of `table` takes first, so that two imports of one instance (a run taken over while its old worker
    still writes) take turns instead of racing on new keys. SQLite serialises writers already."""
    if connection.dialect.name == "postgresql":
        await connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"portico-sync:{table.name}:{instance_id}"},
        )


_STORED: dict[tuple[str, str], Any] = {}


def _stored_statement(table: sa.Table, dialect: str) -> Any:
    key = (table.name, dialect)
    if key not in _STORED:
        if dialect == "postgresql":
            ids = sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.Text)))
            matches = table.c.gesdent_id == ids
        else:
            matches = table.c.gesdent_id.in_(sa.bindparam("ids", expanding=True))
        _STORED[key] = sa.select(*table.columns).where(
            table.c.instance_id == sa.bindparam("instance_id"), matches
        )
    return _STORED[key]


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
    values = operator.itemgetter(*(column.name for column in table.columns))
    dialect = connection.dialect.name
    result = await connection.execute(
        _stored_statement(table, dialect), {"instance_id": instance_id, "ids": list(unique)}
    )
    position = list(table.columns.keys()).index("gesdent_id")
    if dialect == "postgresql":
        stored = {row[position]: tuple(row) for row in result}
    else:  # SQLite hands timestamps back naive; they were stored in UTC
        stored = {row[position]: tuple(map(_aware, row)) for row in result}
    fresh, changed = [], []
    for gesdent_id, row in unique.items():
        current = stored.get(gesdent_id)
        if current is None:
            fresh.append(row)
        elif current != values(row):
            changed.append(row)
    tally.unchanged = len(unique) - len(fresh) - len(changed)
    if fresh:
        await _insert(connection, table, fresh, values)
        tally.created = len(fresh)
    if changed:
        tally.add(
            await upsert(connection, table, changed, {(instance_id, gesdent_id) for gesdent_id in stored})
        )
    return tally


async def _insert(connection: AsyncConnection, table: sa.Table, rows: list[Row], values: Any) -> None:
    """Rows known to be new, without ON CONFLICT: binary COPY on PostgreSQL (no statement to plan,
    each value encoded once in C), executemany on SQLite."""
    if connection.dialect.name != "postgresql":
        await connection.execute(sa.insert(table), rows)
        return
    # The transaction is already open: the caller's earlier statements went through SQLAlchemy.
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    try:
        await driver.copy_records_to_table(
            table.name, records=list(map(values, rows)), columns=list(table.columns.keys())
        )
    except asyncpg.PostgresError as exc:
        raise sa.exc.DatabaseError(f"COPY {table.name} FROM STDIN", None, exc) from exc


def _aware(value: Any) -> Any:
    if value.__class__ is datetime and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


async def delete_slots(
    connection: AsyncConnection, table: sa.Table, instance_id: str, resource_id: str, starts: Sequence[Any]
) -> int:
    deleted = 0
    for offset in range(0, len(starts), DELETE_BATCH):
        batch = list(starts[offset : offset + DELETE_BATCH])
        result = await connection.execute(
            sa.delete(table).where(
                table.c.instance_id == instance_id,
                table.c.resource_id == resource_id,
                table.c.starts_at.in_(batch),
            )
        )
        deleted += result.rowcount
    return deleted
