"""Portals: promote in one step, read readiness, demote (invariants 2, 3 and 6)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.models import Instance
from app.db.repositories import instance_facts
from app.db.repositories import instances as repo
from app.db.repositories.pages import PageRequest
from app.domain import rules
from app.domain.errors import NotFound
from app.etags import etag_of
from app.events.sources import readiness_watched
from app.services.instances import not_found, partner_of, require


@dataclass(frozen=True)
class Portal:
    """A portal of the caller's, and its facts as read when it was loaded."""

    instance: Instance
    facts: rules.InstanceFacts


def etag(instance: Instance, member_count: int) -> str:
    return etag_of("portal", instance.id, instance.version, instance.comms_enabled, member_count)


async def require_portal(
    session: AsyncSession, principal: Principal, name: str, *, lock: bool = False
) -> Portal:
    """The caller's portal `name` and its facts, or 404 when it is not (or not the caller's) portal."""
    instance = await require(session, principal, name, lock=lock)
    facts = await repo.facts(session, instance)
    if not facts.is_portal:
        raise _not_a_portal(name)
    return Portal(instance, facts)


@dataclass(frozen=True)
class SearchedPortal:
    """A portal looked up for its availability search, with its search generation then."""

    portal: Portal
    generation: int


async def require_for_search(session: AsyncSession, principal: Principal, name: str) -> SearchedPortal:
    """`require_portal` in one statement that also reads the portal's search generation: read before
    anything the answer is computed from, so an answer kept under it is never older than it."""
    found = await instance_facts.get_with_generation(session, partner_of(principal), name)
    if found is None:
        raise await not_found(session, principal, name)
    if not found.facts.is_portal:
        raise _not_a_portal(name)
    return SearchedPortal(Portal(found.instance, found.facts), found.generation)


def _not_a_portal(name: str) -> NotFound:
    return NotFound(
        f"{name} is not a portal (setting {rules.PORTAL_SETTING} is not 'portal').", instance=name
    )


async def list_page(
    session: AsyncSession, principal: Principal, page: PageRequest
) -> tuple[list[repo.PortalRow], str | None]:
    return await repo.portals_page(session, partner_of(principal), page)


async def promote(session: AsyncSession, principal: Principal, name: str) -> tuple[Instance, int, bool]:
    """Set portalInstanceName=portal and switch communications off. Returns (portal, members, changed)."""
    instance = await require(session, principal, name, lock=True)
    facts = await repo.facts(session, instance)
    rules.check_can_promote(facts)
    changed = not facts.is_portal or instance.comms_enabled
    async with readiness_watched(session, instance):
        if not facts.is_portal:
            await repo.put_setting(session, instance.id, rules.PORTAL_SETTING, rules.PORTAL_VALUE)
        instance.comms_enabled = False
    return instance, facts.member_count, changed


async def demote(session: AsyncSession, portal: Portal, *, cascade: bool) -> tuple[list[str], int]:
    """Remove portalInstanceName of the portal (loaded locked by the route); with cascade, detach the
    members first (and their mappings). Returns the members detached and the mappings removed."""
    rules.check_can_demote(portal.facts, cascade)
    async with readiness_watched(session, portal.instance):
        detached, removed = await repo.detach_all(session, portal.instance.id)
        await repo.delete_setting(session, portal.instance.id, rules.PORTAL_SETTING)
    return detached, removed
