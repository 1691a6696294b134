"""The one mechanism that records changes: SQLAlchemy session events, active only on a session that
carries an audit context (app/audit/context.py).

- `after_flush`: the ORM's inserts, updates and deletes of audited models (app/audit/targets.py),
  with each attribute's value before the flush. After, not before: a flush that fails records nothing.
- `do_orm_execute`: the Core statements run through the session on an audited table (bulk inserts
  and updates of services, deletes of mappings, memberships, settings, services), which the ORM's
  flush never sees. A DELETE or an UPDATE with a WHERE reads the rows it is about to change first.
- `before_commit`: the changes collected, merged per target, become `audit_events` rows in the same
  transaction; a transaction that rolls back takes its changes with it.

Ids are turned into names while the rows exist (a mapping shows its member service's and portal
service's codes), from the session's identity map where it holds them, else in one query per batch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.engine import Result
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction
from sqlalchemy.orm.util import identity_key

from app.audit import context as _context
from app.audit.context import AuditContext, Change, current
from app.audit.targets import BY_TABLE, KINDS, Kind, columns, keys
from app.db.models import AuditEvent, Instance, Service, table_of, utcnow

_events = table_of(AuditEvent)
_instances = table_of(Instance)
_services = table_of(Service)
Values = Mapping[str, Any]
_BATCH = 1_000
_SERVICE = KINDS[Service]


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    context = current(session)
    if context is None:
        return
    found: list[tuple[Kind, Values | None, Values | None]] = []
    for obj in session.new:
        kind = KINDS.get(type(obj))
        if kind is not None:
            found.append((kind, None, {c: getattr(obj, c) for c in columns(kind)}))
    for obj in session.dirty:
        kind = KINDS.get(type(obj))
        if kind is not None and session.is_modified(obj, include_collections=False):
            state = inspect(obj)
            before: dict[str, Any] = {}
            for name in columns(kind):
                history = state.attrs[name].history
                before[name] = history.deleted[0] if history.deleted else getattr(obj, name)
            found.append((kind, before, {c: getattr(obj, c) for c in columns(kind)}))
    for obj in session.deleted:
        kind = KINDS.get(type(obj))
        if kind is not None:
            loaded = inspect(obj).dict  # the row is gone: read what was loaded, never the database
            found.append((kind, {c: loaded.get(c) for c in columns(kind)}, None))
    _record(session, context, found)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> Result[Any] | None:
    context = current(state.session)
    if context is None or not (state.is_insert or state.is_update or state.is_delete):
        return None
    table = getattr(state.statement, "table", None)
    entry = BY_TABLE.get(getattr(table, "name", ""))
    if entry is None:
        return None
    kind = entry[1]
    table = table_of(entry[0])
    keys = [c.name for c in table.primary_key.columns]
    wanted = [table.c[name] for name in dict.fromkeys([*keys, *columns(kind)])]
    params = state.parameters
    rows = [params] if isinstance(params, Mapping) else list(params or [])
    connection = state.session.connection()
    if state.is_insert:
        _record(state.session, context, [(kind, None, row) for row in rows])
        return None
    where = getattr(state.statement, "whereclause", None)
    if state.is_update and where is None:  # a bulk update by primary key: one dict per row
        ids = [row[keys[0]] for row in rows]
        found = {
            r._mapping[keys[0]]: dict(r._mapping) for r in _chunks(connection, wanted, table.c[keys[0]], ids)
        }
        _record(
            state.session,
            context,
            [(kind, found[row[keys[0]]], {**found[row[keys[0]]], **row}) for row in rows],
        )
        return None
    assert where is not None  # an UPDATE or DELETE without WHERE (all rows) is never run here
    before = [dict(r._mapping) for r in connection.execute(select(*wanted).where(where))]
    if state.is_delete:
        _record(state.session, context, [(kind, row, None) for row in before])
        return None
    result = state.invoke_statement()
    ids = [row[keys[0]] for row in before]
    after = {
        r._mapping[keys[0]]: dict(r._mapping) for r in _chunks(connection, wanted, table.c[keys[0]], ids)
    }
    _record(state.session, context, [(kind, row, after.get(row[keys[0]])) for row in before])
    return result


def _chunks(connection: Any, wanted: list[Any], key: Any, ids: list[Any]) -> Iterable[Any]:
    for start in range(0, len(ids), 500):
        yield from connection.execute(select(*wanted).where(key.in_(ids[start : start + 500])))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    context = current(session)
    # SQLAlchemy calls this as a savepoint ends too: the rows are written once, as the transaction
    # itself commits, so that what it changed of a target across savepoints is one event.
    if context is None or session.in_nested_transaction():
        return
    session.flush()  # the changes still pending are recorded by the flush
    for rows in context.batches(utcnow(), _BATCH):
        if rows:  # each insert awaits the database: the event loop runs between two batches
            session.connection().execute(insert(_events), rows)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    context = current(session)
    if context is not None and not previous.nested:
        context.changes.clear()


def _record(
    session: Session, context: AuditContext, found: list[tuple[Kind, Values | None, Values | None]]
) -> None:
    """Name the targets of `found` (kind, row before, row after) and merge them into the context."""
    instance_ids: set[str | None] = set()
    service_ids: set[str | None] = set()
    for kind, before, after in found:
        for row in (before, after):
            if row is not None:
                if kind is _SERVICE and row.get("id") and row.get("code"):
                    context.services[row["id"]] = row["code"]  # a mapping written next names it
                instance_ids.update(row.get(c) for c in [kind.instance, *kind.instance_names] if c)
                service_ids.update(row.get(c) for c in kind.service_codes)
    _resolve_instances(session, context, {i for i in instance_ids if i is not None})
    _resolve_services(session, context, {i for i in service_ids if i is not None})
    for kind, before, after in found:
        row = after if after is not None else before
        assert row is not None
        context.record(_change(context, kind, row, before, after))


def _change(
    context: AuditContext, kind: Kind, row: Values, before: Values | None, after: Values | None
) -> Change:
    owner = context.instances.get(row.get(kind.instance) or "") if kind.instance else None
    partner = row.get(kind.partner) if kind.partner else (owner[1] if owner else None)
    shown_before, shown_after = _fields(context, kind, before), _fields(context, kind, after)
    label = (shown_after or shown_before or {}).get(kind.label) if kind.label else None
    target_id = ":".join(str(row.get(c)) for c in keys(kind))
    return Change(
        kind,
        target_id,
        partner or context.actor.partner_id,
        owner[0] if owner else None,
        str(label if label is not None else owner[0] if owner else target_id),
        shown_before,
        shown_after,
    )


def _fields(context: AuditContext, kind: Kind, row: Values | None) -> dict[str, Any] | None:
    """The reported fields of a row: its own, then its ids as names and codes."""
    if row is None:
        return None
    values = {name: row.get(name) for name in (*kind.fields, *kind.secrets)}
    for column, name in kind.instance_names.items():
        known = context.instances.get(row.get(column) or "")
        values[name] = known[0] if known else row.get(column)
    for column, name in kind.service_codes.items():
        values[name] = context.services.get(row.get(column) or "", row.get(column))
    return values


def _resolve_instances(session: Session, context: AuditContext, ids: set[str]) -> None:
    missing = []
    for instance_id in ids - context.instances.keys():
        loaded = session.identity_map.get(identity_key(Instance, instance_id))
        if isinstance(loaded, Instance):
            context.instances[instance_id] = (loaded.name, loaded.partner_id)
        else:
            missing.append(instance_id)
    if missing:
        stmt = select(_instances.c.id, _instances.c.name, _instances.c.partner_id)
        for row in session.connection().execute(stmt.where(_instances.c.id.in_(missing))):
            context.instances[row.id] = (row.name, row.partner_id)


def _resolve_services(session: Session, context: AuditContext, ids: set[str]) -> None:
    missing = []
    for service_id in ids - context.services.keys():
        loaded = session.identity_map.get(identity_key(Service, service_id))
        if isinstance(loaded, Service):
            context.services[service_id] = loaded.code
        else:
            missing.append(service_id)
    if missing:
        connection = session.connection()
        for row in _chunks(connection, [_services.c.id, _services.c.code], _services.c.id, missing):
            context.services[row.id] = row.code


# Whoever records imports this module (which registers the listeners above) and starts a context.
begin = _context.begin
OPERATOR_CLI = _context.OPERATOR_CLI
