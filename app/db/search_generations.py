"""Portal search generations: each write that can change a portal's availability search grows the
portal's generation (`portal_search_generations`) in its own transaction, so that an answer kept by
any process (app/search_cache.py) is served again only while nothing it depends on was written.

One mechanism, at the depth every write goes through: the engine's events, seen by the ORM's flushes,
the statements a session runs, and those run on a connection (the sync's slots) alike.

- `before_execute`: an INSERT, UPDATE or DELETE on a table the search reads (WATCHED) names the
  instances it touches, from its parameters or its WHERE clause (an equality or IN on the owner
  column; else the rows it is about to change, read first). Owners are portals (memberships and
  mappings carry their portal) or instances, whose portal is looked up at commit (a member belongs to
  one portal at most) — or before a DELETE of instances, whose cascade takes the membership with it.
- `commit`: the portals collected get generation + 1 in one statement, just before COMMIT: the row
  is locked only while the transaction commits, so member syncs of one portal wait on each other
  only for that instant. `rollback` forgets them. A savepoint rolled back keeps what it collected: a
  generation grown for nothing only costs one recomputation.

A write whose instances cannot be told (a statement shape none of the above reads) grows every
portal's generation: never a stale answer, and a warning names the table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList

from app.db.models import (
    GesdentSlot,
    Instance,
    Membership,
    PortalSearchGeneration,
    Service,
    SyncHealth,
    table_of,
)
from app.db.models import (
    Mapping as MappingModel,
)

log = logging.getLogger("portico")
_GENERATIONS = table_of(PortalSearchGeneration)
_MEMBERSHIPS = table_of(Membership)
_INSTANCES = table_of(Instance)
_KEY = "portico_search_writes"
_CHUNK = 500


@dataclass(frozen=True)
class Owner:
    """Which column of a watched table names what a row belongs to: a portal (`portal`), or an
    instance whose portal's answers it changes (and, with `itself`, the instance's own, when it is a
    portal: its name, its services)."""

    column: str
    portal: bool = False
    itself: bool = False


WATCHED: dict[str, Owner] = {
    table_of(Instance).name: Owner("id", itself=True),
    table_of(Service).name: Owner("instance_id", itself=True),
    table_of(Membership).name: Owner("portal_id", portal=True),
    table_of(MappingModel).name: Owner("portal_id", portal=True),
    table_of(GesdentSlot).name: Owner("instance_id"),
    table_of(SyncHealth).name: Owner("instance_id"),
}


@dataclass
class Touched:
    """What a transaction wrote that the search reads: portals, and instances (theirs to look up)."""

    portals: set[str] = field(default_factory=set)
    instances: set[str] = field(default_factory=set)
    everything: bool = False


def watch(engine: AsyncEngine) -> None:
    """Keep the generations on every transaction of `engine` (app/db/engine.py calls it)."""
    sync = engine.sync_engine
    event.listen(sync, "before_execute", _before_execute)
    event.listen(sync, "commit", _commit)
    event.listen(sync, "rollback", _forget)


def _forget(connection: Connection) -> None:
    connection.info.pop(_KEY, None)


def _before_execute(
    connection: Connection,
    statement: Any,
    multiparams: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    _options: Any,
) -> None:
    if not getattr(statement, "is_dml", False):
        return
    table = getattr(statement, "table", None)
    owner = WATCHED.get(getattr(table, "name", ""))
    if owner is None or not isinstance(table, sa.Table):
        return
    touched: Touched = connection.info.setdefault(_KEY, Touched())
    if touched.everything:
        return
    rows = list(multiparams) or [params]
    ids = _owners(connection, statement, table, owner, rows)
    if ids is None:
        log.warning("a write on %s names no instance: every portal's search generation grows", table.name)
        touched.everything = True
        return
    if owner.portal:
        touched.portals.update(ids)
        return
    if owner.itself:
        touched.portals.update(ids)
    if getattr(statement, "is_delete", False) and table is _INSTANCES:
        # The cascade takes the memberships with the instances: their portals are read now.
        touched.portals.update(_portals_of(connection, ids))
    else:
        touched.instances.update(ids)


def _owners(
    connection: Connection, statement: Any, table: sa.Table, owner: Owner, rows: list[Mapping[str, Any]]
) -> set[str] | None:
    """The owner ids a statement writes, or None when they cannot be told."""
    if getattr(statement, "is_insert", False):
        written = statement._values  # insert().values(...): one row, in the statement itself
        if written:
            found = [v for k, v in written.items() if getattr(k, "key", k) == owner.column]
            return (
                _values(_bound(v, {}) for v in found)
                if found and isinstance(found[0], BindParameter)
                else None
            )
        if any(owner.column not in row for row in rows):
            return None  # a row without its owner: not a shape used here
        return _values(row[owner.column] for row in rows)
    where = getattr(statement, "whereclause", None)
    if where is None:
        return None
    return _changed(connection, where, table, owner, rows)


def _changed(
    connection: Connection, where: Any, table: sa.Table, owner: Owner, rows: list[Mapping[str, Any]]
) -> set[str]:
    """The owners of the rows an UPDATE or DELETE changes: from its WHERE when it names them, else
    read from those rows before it runs (by primary key when it names that)."""
    column = table.c[owner.column]
    equal = _equalities(where, table)
    if owner.column in equal:
        return _values(_bound(equal[owner.column], row) for row in rows)
    found: set[str] = set()
    key = next(iter(table.primary_key.columns))
    if len(table.primary_key.columns) == 1 and key.name in equal:  # an ORM flush, a bulk update
        keys = sorted(_values(_bound(equal[key.name], row) for row in rows))
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            found.update(connection.execute(sa.select(column).where(key.in_(chunk))).scalars())
        return found
    for row in rows:
        found.update(connection.execute(sa.select(column).where(where).distinct(), dict(row)).scalars())
    return found


def _equalities(where: Any, table: sa.Table) -> dict[str, BindParameter[Any]]:
    """The columns of `table` a WHERE clause holds equal to (or in) a bound value, at its top level."""
    anded = isinstance(where, BooleanClauseList) and where.operator is operators.and_
    found: dict[str, BindParameter[Any]] = {}
    for term in where.clauses if anded else [where]:
        if (
            isinstance(term, BinaryExpression)
            and term.operator in (operators.eq, operators.in_op)
            and isinstance(term.left, sa.Column)
            and getattr(term.left.table, "name", None) == table.name
            and isinstance(term.right, BindParameter)
        ):
            found[term.left.name] = term.right
    return found


def _bound(parameter: BindParameter[Any], row: Mapping[str, Any]) -> Any:
    if parameter.callable is not None:
        return parameter.callable()
    return row.get(parameter.key, parameter.value)


def _values(values: Iterable[Any]) -> set[str]:
    """Ids out of parameters: one each, or lists of them (PostgreSQL's unnested arrays, IN lists)."""
    found: set[str] = set()
    for value in values:
        if isinstance(value, (list, tuple)):
            found.update(str(v) for v in value if v is not None)
        elif value is not None:
            found.add(str(value))
    return found


def _portals_of(connection: Connection, instance_ids: Iterable[str]) -> set[str]:
    ids = sorted(instance_ids)
    found: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        stmt = sa.select(_MEMBERSHIPS.c.portal_id).where(_MEMBERSHIPS.c.member_id.in_(chunk)).distinct()
        found.update(connection.execute(stmt).scalars())
    return found


def _commit(connection: Connection) -> None:
    touched: Touched | None = connection.info.pop(_KEY, None)
    if touched is None:
        return
    if touched.everything:
        _grow(connection, sa.select(_INSTANCES.c.id))
        return
    # One statement for what a transaction usually touches (a sync: one member's slots and health):
    # the portals named, and those of the instances named, looked up by the statement itself.
    portals, instances = sorted(touched.portals), sorted(touched.instances)
    for start in range(0, max(len(portals), len(instances)), _CHUNK):
        named, members = portals[start : start + _CHUNK], instances[start : start + _CHUNK]
        theirs = sa.select(_MEMBERSHIPS.c.portal_id).where(_MEMBERSHIPS.c.member_id.in_(members))
        _grow(
            connection,
            sa.select(_INSTANCES.c.id).where(_INSTANCES.c.id.in_(named) | _INSTANCES.c.id.in_(theirs)),
        )


def _grow(connection: Connection, portals: sa.Select[Any]) -> None:
    """Generation + 1 for each of these instances (a first row at 1), in the order of their ids, so
    that two transactions growing the same portals never wait on each other in a circle. Instances
    deleted by the transaction are not among them (their rows went with them)."""
    source = portals.add_columns(sa.literal(1)).order_by(_INSTANCES.c.id)
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(_GENERATIONS).from_select(["portal_id", "generation"], source)
    connection.execute(
        insert.on_conflict_do_update(
            index_elements=["portal_id"], set_={"generation": _GENERATIONS.c.generation + 1}
        )
    )
