"""An instance read with its facts in one query, by a statement built once.

`GET /v1/instances/{name}` is what a booking front end asks for every patient: it read the instance,
then its facts, two statements that SQLAlchemy built and looked up in its cache on every request.
These statements are built at import with bound parameters, and answer both at once. The one of
`GET /v1/instances/{name}` reads the columns its answer shows and runs on PostgreSQL by the driver
itself (app/db/driver_reads.py); the portal search's loads the ORM's instance, which the search
hands on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.db.driver_reads import FirstRow
from app.db.models import Instance, InstanceSetting, Membership, PortalSearchGeneration
from app.domain.rules import PORTAL_SETTING, InstanceFacts

_Portal = aliased(Instance, name="portal_row")


@dataclass(frozen=True, slots=True)
class InstanceShown:
    """The columns of an instance that its representation and its ETag show."""

    id: str
    name: str
    display_name: str
    member_code: str | None
    cloned_from: str | None
    time_zone: str
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class InstanceWithFacts:
    instance: InstanceShown
    facts: InstanceFacts


@dataclass(frozen=True, slots=True)
class PortalCandidate:
    """An instance loaded by the ORM, its facts, and its portal search generation (0 while it has none)."""

    instance: Instance
    facts: InstanceFacts
    generation: int


# What makes the facts: the portal setting, the portal the instance is a member of, its members.
_FACTS: tuple[ColumnElement[Any], ...] = (
    select(col(InstanceSetting.value))
    .where(col(InstanceSetting.instance_id) == Instance.id, col(InstanceSetting.key) == PORTAL_SETTING)
    .scalar_subquery(),
    select(col(_Portal.name))
    .join(Membership, col(Membership.portal_id) == _Portal.id)
    .where(col(Membership.member_id) == Instance.id)
    .scalar_subquery(),
    select(func.count()).where(col(Membership.portal_id) == Instance.id).scalar_subquery(),
)
_NAMED = (col(Instance.partner_id) == bindparam("partner_id"), col(Instance.name) == bindparam("name"))
_SHOWN_COLUMNS = [col(getattr(Instance, field)) for field in InstanceShown.__dataclass_fields__]

_with_facts = FirstRow(select(*_SHOWN_COLUMNS, col(Instance.comms_enabled), *_FACTS).where(*_NAMED))


async def get_with_facts(session: AsyncSession, partner_id: str, name: str) -> InstanceWithFacts | None:
    """The partner's instance `name` and what the invariants know of it (as `instances.facts`)."""
    row = await _with_facts(session, partner_id=partner_id, name=name)
    if row is None:
        return None
    shown = InstanceShown(*row[: len(_SHOWN_COLUMNS)])
    comms_enabled, portal_setting, member_of, member_count = row[len(_SHOWN_COLUMNS) :]
    facts = InstanceFacts(shown.name, portal_setting, comms_enabled, member_of, member_count)
    return InstanceWithFacts(shown, facts)


# The portal search's lookup: the instance as the ORM loads it, with its search generation
# (app/search_cache.py).
_WITH_GENERATION = select(
    Instance,
    *_FACTS,
    select(col(PortalSearchGeneration.generation))
    .where(col(PortalSearchGeneration.portal_id) == Instance.id)
    .scalar_subquery(),
).where(*_NAMED)


async def get_with_generation(session: AsyncSession, partner_id: str, name: str) -> PortalCandidate | None:
    """The partner's instance `name` loaded by the ORM, its facts and its portal search generation."""
    row = (await session.execute(_WITH_GENERATION, {"partner_id": partner_id, "name": name})).first()
    if row is None:
        return None
    instance, portal_setting, member_of, member_count, generation = row
    facts = InstanceFacts(instance.name, portal_setting, instance.comms_enabled, member_of, member_count)
    return PortalCandidate(instance, facts, int(generation or 0))
