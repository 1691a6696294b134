"""Members of a portal: attach (invariants 1 and 3), read, detach."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.models import Instance, Membership
from app.db.repositories import instances as repo
from app.db.repositories import mappings as mappings_repo
from app.db.repositories.pages import PageRequest
from app.domain import rules
from app.domain.errors import AlreadyMember, NotFound
from app.services.instances import require
from app.services.portals import require_portal


async def list_page(
    session: AsyncSession, principal: Principal, portal: str, page: PageRequest
) -> tuple[list[repo.MemberRow], str | None]:
    instance, _ = await require_portal(session, principal, portal)
    return await repo.members_page(session, instance.id, page)


async def add(
    session: AsyncSession, principal: Principal, portal: str, member: str
) -> tuple[Instance, datetime]:
    portal_row = await require(session, principal, portal)
    member_row = await require(session, principal, member)
    # Both rows locked in id order: a concurrent promotion, demotion or second membership waits its turn.
    await repo.lock_rows(session, [portal_row.id, member_row.id])
    await session.refresh(portal_row)
    rules.check_can_add_member(await repo.facts(session, portal_row), await repo.facts(session, member_row))
    membership = Membership(member_id=member_row.id, portal_id=portal_row.id)
    try:
        async with session.begin_nested():
            session.add(membership)
    except IntegrityError:  # the primary key on member_id caught a concurrent attach
        facts = await repo.facts(session, member_row)
        raise AlreadyMember(
            f"{member} is already a member of portal {facts.member_of}", portal=facts.member_of
        ) from None
    return member_row, membership.created_at


async def get(
    session: AsyncSession, principal: Principal, portal: str, member: str
) -> tuple[Instance, datetime]:
    portal_row, _ = await require_portal(session, principal, portal)
    row = await repo.get_member(session, portal_row.id, member)
    if row is None:
        raise NotFound(f"{member} is not a member of portal {portal}.", instance=member)
    return row.instance, row.joined_at


async def remove(session: AsyncSession, principal: Principal, portal: str, member: str, cascade: bool) -> int:
    """Detach a member; returns how many of its mappings the cascade removed."""
    await require_portal(session, principal, portal, lock=True)
    member_row, _ = await get(session, principal, portal, member)
    await repo.lock_rows(session, [member_row.id])
    rules.check_can_detach_member(
        member, await mappings_repo.count_for_member(session, member_row.id), cascade
    )
    removed = await mappings_repo.delete_for_member(session, member_row.id)
    await repo.detach_member(session, member_row.id)
    await session.flush()
    return removed
