"""An audit context: who writes through a session, in which request and operation, and the changes
collected so far (app/audit/recorder.py fills them in and writes them at commit)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.audit.targets import REDACTED, Kind, shown
from app.events.outbox import ordered_id

INFO_KEY = "portico_audit"


@dataclass(frozen=True)
class Actor:
    """Who made a change: an API key (`api_key`, with its partner, id and prefix — never the key), or
    the operator, through the master key (`via` "master_key") or the `portico` command ("cli")."""

    type: str
    via: str
    partner_id: str | None = None
    key_id: str | None = None
    key_prefix: str | None = None


OPERATOR_CLI = Actor("operator", "cli")
OPERATOR_MASTER_KEY = Actor("operator", "master_key")
UNKNOWN = Actor("unknown", "api")  # a write before any authentication: none records a change today


@dataclass
class Change:
    """One target's change within a transaction: its fields before (None: created) and after (None:
    deleted), raw, secrets included; they are redacted when the row is written."""

    kind: Kind
    target_id: str
    partner_id: str | None
    instance_name: str | None
    target_name: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass
class AuditContext:
    operation: str
    request_id: str
    idempotency_key: str | None = None
    actor: Actor = UNKNOWN
    changes: dict[tuple[str, str], Change] = field(default_factory=dict)
    # Names of instances and codes of services met in this transaction (they never change).
    instances: dict[str, tuple[str, str]] = field(default_factory=dict)
    services: dict[str, str] = field(default_factory=dict)

    def record(self, change: Change) -> None:
        """Merge `change` into what the transaction changed of the same target: created then
        changed is a creation, changed twice one change, created then deleted nothing."""
        key = (change.kind.name, change.target_id)
        earlier = self.changes.pop(key, None)
        if earlier is not None:
            change.before = earlier.before
        if change.before is None and change.after is None:
            return
        self.changes[key] = change

    def batches(self, now: datetime, size: int) -> Iterator[list[dict[str, Any]]]:
        """The `audit_events` rows of the changes collected, secrets redacted, `size` at a time;
        cleared. Built batch by batch: the caller writes each before the next is built, so a
        transaction of 50,000 changes never holds the event loop for all of them at once."""
        changes, self.changes = list(self.changes.values()), {}
        for start in range(0, len(changes), size):
            rows = [self._row(change, now) for change in changes[start : start + size]]
            yield [row for row in rows if row is not None]

    def _row(self, change: Change, now: datetime) -> dict[str, Any] | None:
        fields = _changed(change)
        if fields is None or change.partner_id is None:
            return None
        action = "create" if change.before is None else "delete" if change.after is None else "update"
        return {
            "id": ordered_id(),
            "occurred_at": now,
            "partner_id": change.partner_id,
            "actor_type": self.actor.type,
            "actor_via": self.actor.via,
            "actor_partner_id": self.actor.partner_id,
            "actor_key_id": self.actor.key_id,
            "actor_key_prefix": self.actor.key_prefix,
            "request_id": self.request_id,
            "operation": self.operation,
            "idempotency_key": self.idempotency_key,
            "instance_name": change.instance_name,
            "target_kind": change.kind.name,
            "target_id": change.target_id,
            "target_name": change.target_name,
            "action": action,
            "changes": json.dumps(fields, separators=(",", ":")),
        }


def _changed(change: Change) -> dict[str, dict[str, Any]] | None:
    """Field -> {before, after} of the fields that changed; None when none did (nothing to tell)."""
    before, after = change.before or {}, change.after or {}
    fields: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys([*before, *after]):
        old, new = before.get(name), after.get(name)
        if change.before is not None and change.after is not None and old == new:
            continue
        if (change.before is None and new is None) or (change.after is None and old is None):
            continue  # a creation tells what was set, a deletion what was there
        if name in change.kind.secrets:
            old, new = (None if old is None else REDACTED), (None if new is None else REDACTED)
        fields[name] = {"before": shown(old), "after": shown(new)}
    if not fields and change.before is not None and change.after is not None:
        return None
    return fields


def current(session: AsyncSession | Session) -> AuditContext | None:
    context = session.info.get(INFO_KEY)
    return context if isinstance(context, AuditContext) else None


def begin(
    session: AsyncSession | Session,
    *,
    operation: str,
    request_id: str,
    idempotency_key: str | None = None,
    actor: Actor = UNKNOWN,
) -> AuditContext:
    """Record the configuration changes written through `session` from now on, as `operation`."""
    context = AuditContext(operation, request_id, idempotency_key, actor)
    session.info[INFO_KEY] = context
    return context


def set_operation(session: AsyncSession | Session, operation: str) -> None:
    """Name what the session's writes do from now on (e.g. `manifest.apply` for a manifest applied
    through the services); every change not yet committed is recorded under it."""
    context = current(session)
    if context is not None:
        context.operation = operation


def set_actor(session: AsyncSession | Session, actor: Actor) -> None:
    context = current(session)
    if context is not None:
        context.actor = actor
