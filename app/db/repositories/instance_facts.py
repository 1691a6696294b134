"""An instance read with its facts in one query, by a statement built once.

`GET /v1/instances/{name}` is what a booking front end asks for every patient: it read the instance,
then its facts, two statements that SQLAlchemy built and looked up in its cache on every request.
This statement is built at import with bound parameters, and answers both at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.db.models import Instance, InstanceSetting, Membership, PortalSearchGeneration
from app.domain.rules import PORTAL_SETTING, InstanceFacts

_Portal = aliased(Instance, name="portal_row")


@dataclass(frozen=True, slots=True)
class InstanceWithFacts:
    instance: Instance
    facts: InstanceFacts


_WITH_FACTS = select(
    Instance,
    select(col(InstanceSetting.value))
    .where(col(InstanceSetting.instance_id) == Instance.id, col(InstanceSetting.key) == PORTAL_SETTING)
    .scalar_subquery(),
    select(col(_Portal.name))
    .join(Membership, col(Membership.portal_id) == _Portal.id)
    .where(col(Membership.member_id) == Instance.id)
    .scalar_subquery(),
    select(func.count()).where(col(Membership.portal_id) == Instance.id).scalar_subquery(),
).where(col(Instance.partner_id) == bindparam("partner_id"), col(Instance.name) == bindparam("name"))


async def get_with_facts(session: AsyncSession, partner_id: str, name: str) -> InstanceWithFacts | None:
    """The partner's instance `name` and what the invariants know of it (as `instances.facts`)."""
    row = (await session.execute(_WITH_FACTS, {"partner_id": partner_id, "name": name})).first()
    if row is None:
        return None
    instance, portal_setting, member_of, member_count = row
    facts = InstanceFacts(instance.name, portal_setting, instance.comms_enabled, member_of, member_count)
    return InstanceWithFacts(instance, facts)


# The portal search's lookup: the same, with the portal's search generation (app/search_cache.py).
_WITH_GENERATION = _WITH_FACTS.add_columns(
    select(col(PortalSearchGeneration.generation))
    .where(col(PortalSearchGeneration.portal_id) == Instance.id)
    .scalar_subquery()
)


async def get_with_generation(
    session: AsyncSession, partner_id: str, name: str
) -> tuple[InstanceWithFacts, int] | None:
    """`get_with_facts`, and the instance's portal search generation (0 while it has none)."""
    row = (await session.execute(_WITH_GENERATION, {"partner_id": partner_id, "name": name})).first()
    if row is None:
        return None
    instance, portal_setting, member_of, member_count, generation = row
    facts = InstanceFacts(instance.name, portal_setting, instance.comms_enabled, member_of, member_count)
    return InstanceWithFacts(instance, facts), int(generation or 0)
