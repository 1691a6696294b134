"""The GESDENT change notification: verify, drop replays, queue a run."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto import SecretBox
from app.db.models import SyncRun
from app.db.repositories import webhooks as repo
from app.domain.errors import InvalidSignature
from app.domain.gesdent import notified_streams
from app.domain.webhooks import verification_problem
from app.services.sync_runs import RunOrder, trigger

log = logging.getLogger("portico.sync")


@dataclass(frozen=True)
class Delivery:
    run: SyncRun | None  # None for a replay
    instance: str
    created: bool


@dataclass(frozen=True)
class SignedNotification:
    """A change notification as received: the database and streams its body names, and what
    Standard Webhooks signs (the id and timestamp headers, and the exact bytes of the body)."""

    db_name: str
    streams: Sequence[str] | None
    webhook_id: str
    timestamp: str
    signatures: str
    body: bytes


def _verify(box: SecretBox, stored: str, notification: SignedNotification) -> str | None:
    if not stored:
        return "no webhook secret issued yet"  # rules cloned and not completed
    try:
        secret = box.decrypt(stored)
    except ValueError as exc:
        log.warning("webhook for an instance whose secret cannot be decrypted: %s", exc)
        return "secret unreadable"
    n = notification
    return verification_problem(secret, n.webhook_id, n.timestamp, n.signatures, n.body, now=time.time())


async def receive(
    session: AsyncSession, box: SecretBox, notification: SignedNotification, default_base_url: str | None
) -> Delivery:
    """Every failure answers the same 401, so the endpoint tells a stranger nothing about which
    databases exist."""
    addressee = await repo.addressee(session, notification.db_name)
    problem = "unknown database" if addressee is None else None
    if addressee is not None:
        problem = _verify(box, addressee.webhook_secret, notification)
    if addressee is None or problem is not None:
        raise InvalidSignature(
            "The webhook could not be verified (unknown database, bad signature or stale timestamp)."
        )
    instance = addressee.instance
    # Keyed by (instance, webhook-id): ids are chosen by the senders, so another tenant's delivery
    # with the same id must not make this one a replay.
    if not await repo.record_delivery(session, instance.id, notification.webhook_id):
        return Delivery(None, instance.name, False)  # delivered before: at-least-once delivery, act once
    order = RunOrder("webhook", streams=notified_streams(notification.streams))
    run, created = await trigger(session, instance, order, default_base_url)
    return Delivery(run, instance.name, created)
