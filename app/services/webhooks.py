"""The GESDENT change notification: verify, drop replays, queue a run."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.crypto import SecretBox
from app.db.models import GesdentConnection, Instance, SyncRun, WebhookDelivery
from app.domain.errors import InvalidSignature
from app.domain.gesdent import notified_streams
from app.domain.webhooks import verification_problem
from app.services.sync_runs import trigger_for

log = logging.getLogger("portico.sync")


@dataclass(frozen=True)
class Delivery:
    run: SyncRun | None  # None for a replay
    instance: str
    created: bool


def _verify(
    box: SecretBox, stored: str, webhook_id: str, timestamp: str, signatures: str, body: bytes
) -> str | None:
    if not stored:
        return "no webhook secret issued yet"  # rules cloned and not completed
    try:
        secret = box.decrypt(stored)
    except ValueError as exc:
        log.warning("webhook for an instance whose secret cannot be decrypted: %s", exc)
        return "secret unreadable"
    return verification_problem(secret, webhook_id, timestamp, signatures, body, time.time())


async def receive(
    session: AsyncSession,
    box: SecretBox,
    *,
    db_name: str,
    streams: Sequence[str] | None,
    webhook_id: str,
    timestamp: str,
    signatures: str,
    body: bytes,
    default_base_url: str | None,
) -> Delivery:
    """Every failure answers the same 401, so the endpoint tells a stranger nothing about which
    databases exist."""
    stmt = (
        select(Instance, col(GesdentConnection.webhook_secret))
        .join(GesdentConnection, col(GesdentConnection.instance_id) == Instance.id)
        .where(col(Instance.name) == db_name)
    )
    row = (await session.execute(stmt)).first()
    problem = "unknown database" if row is None else None
    if row is not None:
        problem = _verify(box, row[1], webhook_id, timestamp, signatures, body)
    if problem is not None:
        raise InvalidSignature(
            "The webhook could not be verified (unknown database, bad signature or stale timestamp)."
        )
    instance: Instance = row[0]  # type: ignore[index]
    # Keyed by (instance, webhook-id): ids are chosen by the senders, so another tenant's delivery
    # with the same id must not make this one a replay.
    try:
        async with session.begin_nested():
            session.add(WebhookDelivery(id=webhook_id, instance_id=instance.id))
    except IntegrityError:  # delivered to this instance before: at-least-once delivery, act once
        return Delivery(None, instance.name, False)
    run, created = await trigger_for(
        session, instance, "webhook", False, default_base_url, notified_streams(streams)
    )
    return Delivery(run, instance.name, created)
