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

The incremental streams (patients, reservations) compare a batch with what is stored before any of
this: app/sync/batches.py write_batch.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

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
    rejected: int = 0  # records skipped as malformed (app/sync/rejections.py); `fetched` counts them

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
