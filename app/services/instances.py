"""Instances: create, read, list, update, delete."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.models import Instance
from app.db.repositories import instance_facts
from app.db.repositories import instances as repo
from app.db.repositories import mappings as mappings_repo
from app.db.repositories.instance_facts import InstanceShown, InstanceWithFacts
from app.db.repositories.pages import PageRequest
from app.domain import rules
from app.domain.conflicts import NameTaken
from app.domain.errors import NotFound
from app.domain.matching import closest_names
from app.domain.values import INSTANCE_PREFIX
from app.etags import check_if_match, etag_of
from app.schemas.instances import InstanceCreate, InstanceUpdate
from app.services.changes import apply, changed_fields, reject_nulls


def etag(instance: Instance | InstanceShown, facts: rules.InstanceFacts) -> str:
    """Covers what the representation shows: the row's version, and the kind and portal, which
    change without a new version when the instance joins or leaves a portal."""
    return etag_of("instance", instance.id, instance.version, facts.kind, facts.member_of)


def partner_of(principal: Principal) -> str:
    assert principal.partner_id is not None, "instance routes take partner keys only"
    return principal.partner_id


def new_facts(instance: Instance) -> rules.InstanceFacts:
    """The facts of an instance just created: standalone, communications on."""
    return rules.InstanceFacts(instance.name, None, instance.comms_enabled)


async def require(session: AsyncSession, principal: Principal, name: str, *, lock: bool = False) -> Instance:
    """The caller's instance `name`, or 404 (also when another partner owns it)."""
    instance = await repo.get_by_name(session, partner_of(principal), name, lock=lock)
    if instance is None:
        raise await not_found(session, principal, name)
    return instance


async def require_with_facts(session: AsyncSession, principal: Principal, name: str) -> InstanceWithFacts:
    """The caller's instance `name` with its facts, read in one query; or 404, as `require`."""
    found = await instance_facts.get_with_facts(session, partner_of(principal), name)
    if found is None:
        raise await not_found(session, principal, name)
    return found


# Suggestions after a typo compare the name with the caller's own instances, never another partner's.
SUGGESTION_POOL = 50_000


async def not_found(session: AsyncSession, principal: Principal, name: str) -> NotFound:
    """The 404 for an unknown instance name, suggesting the caller's closest instance names."""
    names = await repo.names_of(session, partner_of(principal), SUGGESTION_POOL)
    suggestions = closest_names(name, names, prefix=INSTANCE_PREFIX)
    hint = f" Did you mean {' or '.join(suggestions)}?" if suggestions else ""
    return NotFound(f"Instance {name} not found.{hint}", instance=name, suggestions=suggestions)


async def facts(session: AsyncSession, instance: Instance) -> rules.InstanceFacts:
    return await repo.facts(session, instance)


async def list_page(
    session: AsyncSession, principal: Principal, page: PageRequest, kind: str | None, q: str | None
) -> tuple[list[repo.InstanceRow], str | None]:
    return await repo.list_page(session, partner_of(principal), page, kind, q)


async def create(
    session: AsyncSession,
    principal: Principal,
    data: InstanceCreate,
    *,
    default_time_zone: str,
    cloned_from: str | None = None,
) -> Instance:
    """A new instance; in `default_time_zone` (the deployment's, or a clone's source's) unless `data`
    names a zone."""
    (instance,) = await create_many(session, principal, [NewInstance(data, default_time_zone, cloned_from)])
    return instance


@dataclass(frozen=True)
class NewInstance:
    data: InstanceCreate
    default_time_zone: str
    cloned_from: str | None = None


async def create_many(
    session: AsyncSession, principal: Principal, wanted: list[NewInstance]
) -> list[Instance]:
    """New instances, each as `create` makes one, inserted together (a manifest creates a chain's so)."""
    taken = await repo.names_taken(session, [w.data.name for w in wanted])
    if taken:
        raise _taken(taken[0])
    instances = [
        Instance(
            partner_id=partner_of(principal),
            name=w.data.name,
            display_name=w.data.display_name or w.data.name,
            member_code=w.data.member_code,
            cloned_from=w.cloned_from,
            time_zone=w.data.time_zone or w.default_time_zone,
        )
        for w in wanted
    ]
    try:
        async with session.begin_nested():
            session.add_all(instances)
    except IntegrityError:  # created concurrently between our check and the insert
        taken = await repo.names_taken(session, [w.data.name for w in wanted])
        raise _taken(taken[0] if taken else wanted[0].data.name) from None
    return instances


def _taken(name: str) -> NameTaken:
    return NameTaken(f"An instance named {name} already exists.", instance=name)


async def update(
    session: AsyncSession, instance: Instance, data: InstanceUpdate, if_match: str | None
) -> rules.InstanceFacts:
    """Change the instance (loaded locked by the route); returns its facts after the change."""
    changes = data.model_dump(exclude_unset=True)
    reject_nulls(changes, ["display_name", "time_zone"])  # an invalid body is a 422 whatever its If-Match
    check_if_match(if_match, etag(instance, await repo.facts(session, instance)))
    if apply(instance, changed_fields(instance, changes)):
        await session.flush()
    return await repo.facts(session, instance)


async def delete(
    session: AsyncSession, instance: Instance, *, cascade: bool, if_match: str | None
) -> tuple[list[str], int]:
    """Delete the instance (loaded locked by the route). Returns the members a cascade detached and
    the mappings it removed."""
    current = await repo.facts(session, instance)
    check_if_match(if_match, etag(instance, current))
    rules.check_can_delete_instance(current, cascade)
    own_mappings = await mappings_repo.count_for_member(session, instance.id)
    rules.check_can_detach_member(instance.name, own_mappings, cascade)
    detached, removed = await repo.detach_all(session, instance.id)
    removed += await mappings_repo.delete_for_member(session, instance.id)
    await repo.detach_member(session, instance.id)
    await session.delete(instance)
    await session.flush()
    return detached, removed
