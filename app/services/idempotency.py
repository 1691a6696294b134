"""Idempotency keys: claim a key before the request runs, keep its answer after, or free it.

Unlike the other services, each step here is its own short transaction, committed at once: the claim
must be seen by every replica before the request's own transaction starts (the primary key makes
exactly one of many simultaneous claims win), and the answer is stored only once that transaction
committed and its answer is known (app/idempotency.py calls `complete` after the route returned)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.crypto import SecretBox
from app.db.engine import SQLITE_WRITE
from app.db.models import utcnow
from app.db.models.idempotency import DONE, RUNNING
from app.db.repositories import idempotency_keys as repo
from app.domain.idempotency import HEADER, IdempotencyKeyInUse, IdempotencyKeyReused

ATTEMPTS = 3  # a key freed between our INSERT and our SELECT: try again (twice at most, in practice)
RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True)
class KeyedRequest:
    """A request with an `Idempotency-Key`, as its key's row records it."""

    owner: str  # the partner's id, or "master"
    partner_id: str | None
    api_key_id: str | None
    key: str
    fingerprint: str
    method: str
    path: str


@dataclass(frozen=True)
class Claim:
    """The key is this request's to run: `token` proves it when the answer is stored or the key freed."""

    request: KeyedRequest
    token: str


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Policy:
    keep: timedelta  # how long an answer is replayed
    abandoned_after: timedelta  # a running claim this old is deemed dead


Sessions = async_sessionmaker[AsyncSession]


async def claim(sessions: Sessions, request: KeyedRequest, policy: Policy, box: SecretBox) -> Claim | Answer:
    """The key for this request to run, or the answer kept for it; IdempotencyKeyReused when the key
    belongs to another request, IdempotencyKeyInUse while its first request runs."""
    for _ in range(ATTEMPTS):
        now = utcnow()
        token = secrets.token_hex(16)
        values = _claim_values(request, token, now, policy)
        async with sessions() as session:
            await session.connection(execution_options={SQLITE_WRITE: True})
            if await repo.insert(session, values):
                await session.commit()
                return Claim(request, token)
            found = await repo.get(session, request.owner, request.key)
            if found is None:
                continue  # freed meanwhile
            if found.expires_at <= now or (
                found.state == RUNNING
                and found.claimed_at <= now - policy.abandoned_after
                and _same(found, request)
            ):
                if not await repo.retake(session, request.owner, request.key, found.claim, values):
                    raise _in_use()  # another request retook it first
                await session.commit()
                return Claim(request, token)
        if not _same(found, request):
            raise IdempotencyKeyReused(_reused(found, request))
        if found.state == RUNNING or found.status is None or found.body is None:
            raise _in_use()
        headers = [(name, value) for name, value in json.loads(found.headers or "[]")]
        return Answer(found.status, headers, box.decrypt_bytes(found.body))
    raise _in_use()


async def complete(sessions: Sessions, claim: Claim, answer: Answer, policy: Policy, box: SecretBox) -> None:
    """Keep `answer` as the key's, for `policy.keep` from now."""
    values = {
        "state": DONE,
        "status": answer.status,
        "headers": json.dumps(answer.headers),
        "body": box.encrypt_bytes(answer.body),
        "expires_at": utcnow() + policy.keep,
    }
    async with sessions() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        await repo.complete(session, claim.request.owner, claim.request.key, claim.token, values)
        await session.commit()


async def release(sessions: Sessions, claim: Claim) -> None:
    """Free the key: the request's answer is not kept, so the next request with it runs."""
    async with sessions() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        await repo.release(session, claim.request.owner, claim.request.key, claim.token)
        await session.commit()


def rotate_all_rows(rows: list[tuple[str, str, str]], box: SecretBox) -> list[tuple[str, str, str]]:
    """The kept answers' bodies re-encrypted under the first key (`portico rotate-secrets`)."""
    return [(owner, key, box.rotate(body)) for owner, key, body in rows]


def _claim_values(request: KeyedRequest, token: str, now: datetime, policy: Policy) -> dict[str, object]:
    return {
        "owner": request.owner,
        "key": request.key,
        "partner_id": request.partner_id,
        "api_key_id": request.api_key_id,
        "fingerprint": request.fingerprint,
        "method": request.method,
        "path": request.path,
        "state": RUNNING,
        "claim": token,
        "claimed_at": now,
        # An abandoned claim is pruned like an answer; a kept answer's lifetime starts when it is kept.
        "expires_at": now + policy.keep,
        "status": None,
        "headers": None,
        "body": None,
    }


def _same(found: repo.StoredKey, request: KeyedRequest) -> bool:
    return found.fingerprint == request.fingerprint and found.api_key_id == request.api_key_id


def _reused(found: repo.StoredKey, request: KeyedRequest) -> str:
    if found.api_key_id != request.api_key_id:
        return f"This {HEADER} was first sent with another API key; use a new key for this request."
    if (found.method, found.path) != (request.method, request.path):
        return (
            f"This {HEADER} was first sent with {found.method} {found.path}; use a new key for this request."
        )
    return (
        f"This {HEADER} was first sent with another query string or body to {found.method} {found.path}; "
        "use a new key for this request."
    )


def _in_use() -> IdempotencyKeyInUse:
    error = IdempotencyKeyInUse(
        f"The first request with this {HEADER} is still running; retry in a moment for its answer."
    )
    error.headers = [("Retry-After", str(RETRY_AFTER_SECONDS))]
    return error
