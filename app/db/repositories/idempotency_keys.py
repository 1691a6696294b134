"""Queries of the idempotency keys (app/services/idempotency.py): each one statement on its key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import IdempotencyKey, table_of
from app.db.repositories.sync_health import aware

keys = table_of(IdempotencyKey)


@dataclass(frozen=True)
class StoredKey:
    """A key's row as a request finds it."""

    api_key_id: str | None
    fingerprint: str
    method: str
    path: str
    state: str
    claim: str
    claimed_at: datetime
    expires_at: datetime
    status: int | None
    headers: str | None
    body: str | None


def _where(owner: str, key: str) -> Any:
    return sa.and_(keys.c.owner == owner, keys.c.key == key)


async def insert(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert the key's row unless it exists (then nothing): whether this call inserted it."""
    insert_of = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert_of(keys).values(values).on_conflict_do_nothing().returning(keys.c.owner)
    return (await session.execute(statement)).first() is not None


async def get(session: AsyncSession, owner: str, key: str) -> StoredKey | None:
    columns = [keys.c[name] for name in StoredKey.__dataclass_fields__]
    row = (await session.execute(sa.select(*columns).where(_where(owner, key)))).first()
    if row is None:
        return None
    found = StoredKey(**row._mapping)
    return replace(found, claimed_at=aware(found.claimed_at), expires_at=aware(found.expires_at))


async def retake(session: AsyncSession, owner: str, key: str, held_by: str, values: dict[str, Any]) -> bool:
    """Give the key to another request if `held_by` still holds it: whether it did. Two requests
    retaking at once: the second's UPDATE waits for the first's, then finds another claim, and
    changes nothing."""
    statement = sa.update(keys).where(_where(owner, key), keys.c.claim == held_by).values(values)
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def complete(session: AsyncSession, owner: str, key: str, claim: str, values: dict[str, Any]) -> bool:
    """Store the answer of the request holding `claim`: whether it still held it."""
    statement = sa.update(keys).where(_where(owner, key), keys.c.claim == claim).values(values)
    return bool((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]


async def release(session: AsyncSession, owner: str, key: str, claim: str) -> None:
    """Free the key, if the request holding `claim` still holds it."""
    await session.execute(sa.delete(keys).where(_where(owner, key), keys.c.claim == claim))


async def expired(session: AsyncSession, now: datetime, batch: int) -> Sequence[tuple[str, str]]:
    """Up to `batch` keys past their expiry, oldest first, locked (others' locked ones skipped)."""
    statement = (
        sa.select(keys.c.owner, keys.c.key)
        .where(keys.c.expires_at <= now)
        .order_by(keys.c.expires_at)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return [(row.owner, row.key) for row in await session.execute(statement)]


async def delete_expired(session: AsyncSession, chosen: Sequence[tuple[str, str]], now: datetime) -> int:
    """Delete the keys chosen, unless one was retaken meanwhile (its expiry moved)."""
    statement = sa.delete(keys).where(
        sa.tuple_(keys.c.owner, keys.c.key).in_(chosen), keys.c.expires_at <= now
    )
    return int((await session.execute(statement)).rowcount or 0)  # type: ignore[attr-defined]


async def all_done_locked(session: AsyncSession) -> list[tuple[str, str, str]]:
    """Every kept answer's (owner, key, encrypted body), locked: for `portico rotate-secrets`."""
    statement = (
        sa.select(keys.c.owner, keys.c.key, keys.c.body).where(keys.c.body.is_not(None)).with_for_update()
    )
    return [(row.owner, row.key, row.body) for row in await session.execute(statement)]


async def set_body(session: AsyncSession, owner: str, key: str, body: str) -> None:
    await session.execute(sa.update(keys).where(_where(owner, key)).values(body=body))
