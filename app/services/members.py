"""Members of a portal: attach (invariants 1 and 3), read, detach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Instance, Membership
from app.db.repositories import instances as repo
from app.db.repositories import mappings as mappings_repo
from app.db.repositories.pages import PageRequest
from app.domain import rules
from app.domain.conflicts import AlreadyMember
from app.domain.errors import NotFound
from app.services.portals import Portal


@dataclass(frozen=True)
class Member:
    """A member of a portal of the caller's, and when it joined."""

    portal: Portal
    instance: Instance
    joined_at: datetime


async def list_page(
    session: AsyncSession, portal: Portal, page: PageRequest
) -> tuple[list[repo.MemberRow], str | None]:
    return await repo.members_page(session, portal.instance.id, page)


async def add(session: AsyncSession, portal: Instance, member: Instance) -> datetime:
    """Attach `member` to `portal` (both the caller's, loaded unlocked); returns when it joined."""
    (joined_at,) = await add_many(session, portal, [member])
    return joined_at


async def add_many(session: AsyncSession, portal: Instance, members: list[Instance]) -> list[datetime]:
    """Attach each of `members` to `portal`, as `add` attaches one, together (a manifest attaches a
    chain's so); returns when each joined."""
    # The rows locked in id order: a concurrent promotion, demotion or second membership waits its turn.
    await repo.lock_rows(session, [portal.id, *(member.id for member in members)])
    await session.refresh(portal)
    portal_facts = await repo.facts(session, portal)
    for member_facts in await repo.facts_of(session, members):
        rules.check_can_add_member(portal_facts, member_facts)
    memberships = [Membership(member_id=member.id, portal_id=portal.id) for member in members]
    try:
        async with session.begin_nested():
            session.add_all(memberships)
    except IntegrityError:  # the primary key on member_id caught a concurrent attach
        attached = [f for f in await repo.facts_of(session, members) if f.member_of is not None]
        name, where = (attached[0].name, attached[0].member_of) if attached else (members[0].name, None)
        raise AlreadyMember(f"{name} is already a member of portal {where}", portal=where) from None
    return [membership.created_at for membership in memberships]


async def get(session: AsyncSession, portal: Portal, name: str, *, lock: bool = False) -> Member:
    """Member `name` of `portal`, or 404. With `lock`, the member's row is locked, after the portal's
    (the caller locked it): the order every write on a portal and its member takes."""
    row = await repo.get_member(session, portal.instance.id, name)
    if row is None:
        raise NotFound(f"{name} is not a member of portal {portal.instance.name}.", instance=name)
    if lock:
        await repo.lock_rows(session, [row.instance.id])
    return Member(portal, row.instance, row.joined_at)


async def remove(session: AsyncSession, member: Member, *, cascade: bool) -> int:
    """Detach a member (loaded with its portal, both locked); returns how many of its mappings the
    cascade removed."""
    rules.check_can_detach_member(
        member.instance.name, await mappings_repo.count_for_member(session, member.instance.id), cascade
    )
    removed = await mappings_repo.delete_for_member(session, member.instance.id)
    await repo.detach_member(session, member.instance.id)
    await session.flush()
    return removed
