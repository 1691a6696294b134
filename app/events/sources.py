"""The changes that emit events, each in the transaction of its change: a sync run's outcome
(app/sync/queue.py), an instance's sync health (where it is recorded: a run's outcome, the ticker's
stale pass, a change of the rules; app/sync/health.py) and a portal's readiness (the services that
can change it)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Instance, SyncRun, table_of
from app.db.repositories import instances as instance_repo
from app.domain import rules
from app.domain.events import (
    HEALTH_CHANGED,
    READINESS_CHANGED,
    SYNC_RUN_TYPES,
    Readiness,
    readiness_changed,
)
from app.domain.sync_health import Transition
from app.events.outbox import emit

instances = table_of(Instance)


async def _owners(session: AsyncSession, instance_ids: set[str]) -> dict[str, Any]:
    """The name and partner of each instance, by id; one missing is being deleted: nobody to tell."""
    query = select(instances.c.id, instances.c.name, instances.c.partner_id).where(
        instances.c.id.in_(instance_ids)
    )
    return {row.id: row for row in (await session.execute(query)).all()}


async def run_finished(session: AsyncSession, run: SyncRun) -> None:
    """`sync.run.<status>` for a run whose outcome is being recorded in `session`."""
    found = (await _owners(session, {run.instance_id})).get(run.instance_id)
    if found is None:
        return
    data = {
        "run_id": run.id,
        "instance": found.name,
        "status": run.status,
        "trigger": run.trigger,
        "counts": json.loads(run.counts or "{}"),
        "error": run.error,
        "requested_at": run.requested_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }
    await emit(session, found.partner_id, SYNC_RUN_TYPES[run.status], data, instance_id=run.instance_id)


async def health_changed(session: AsyncSession, transitions: list[Transition]) -> None:
    """`sync.health.changed` for each transition recorded in `session`'s transaction: the instance's
    as a whole (`stream` null) and each stream's, in the order they were made."""
    if not transitions:
        return
    owners = await _owners(session, {t.instance_id for t in transitions})
    for transition in transitions:
        owner = owners.get(transition.instance_id)
        if owner is None:
            continue
        data = {
            "instance": owner.name,
            "stream": transition.stream,
            "state": transition.new,
            "previous_state": transition.old,
            "since": transition.at,
        }
        await emit(session, owner.partner_id, HEALTH_CHANGED, data, instance_id=transition.instance_id)


async def readiness_of(
    session: AsyncSession, instance: Instance
) -> tuple[Readiness, list[rules.Requirement]]:
    return _readiness(await instance_repo.facts(session, instance))


def _readiness(facts: rules.InstanceFacts) -> tuple[Readiness, list[rules.Requirement]]:
    unmet = rules.unmet_requirements(facts.portal_setting, facts.communications_enabled)
    return Readiness(facts.is_portal, tuple(r.code for r in unmet)), unmet


@asynccontextmanager
async def readiness_watched(session: AsyncSession, instance: Instance) -> AsyncIterator[None]:
    """Around a change of `instance`: emit `portal.readiness.changed` when its readiness differs after
    (app/domain/events.py `readiness_changed`). Nothing is emitted when the change raises."""
    async with readiness_watched_many(session, [instance]):
        yield


@asynccontextmanager
async def readiness_watched_many(session: AsyncSession, instances: list[Instance]) -> AsyncIterator[None]:
    """`readiness_watched` around a change of many instances at once, their facts read together."""
    before = [_readiness(facts)[0] for facts in await instance_repo.facts_of(session, instances)]
    yield
    await session.flush()
    after = await instance_repo.facts_of(session, instances)
    for instance, was, facts in zip(instances, before, after, strict=True):
        now, unmet = _readiness(facts)
        if not readiness_changed(was, now):
            continue
        data = {
            "instance": instance.name,
            "is_portal": now.is_portal,
            "ready": now.ready,
            "was_ready": was.ready,
            "unmet": [{"code": r.code, "message": r.message} for r in unmet],
        }
        await emit(session, instance.partner_id, READINESS_CHANGED, data, instance_id=instance.id)
