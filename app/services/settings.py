"""Instance settings, under invariants 2 and 3 for `portalInstanceName`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Instance
from app.db.repositories import instances as repo
from app.db.repositories import settings_many
from app.domain import rules
from app.domain.errors import NotFound
from app.etags import check_if_match, etag_of
from app.events.sources import readiness_watched, readiness_watched_many


def map_etag(settings: dict[str, str]) -> str:
    return etag_of("settings", sorted(settings.items()))


def item_etag(key: str, value: str | None) -> str | None:
    return None if value is None else etag_of("setting", key, value)


async def get_all(session: AsyncSession, instance: Instance) -> dict[str, str]:
    return await repo.settings_of(session, instance.id)


async def merge_patch(
    session: AsyncSession, instance: Instance, patch: dict[str, str | None], if_match: str | None
) -> dict[str, str]:
    """Apply a merge patch to the settings of `instance` (loaded locked by the route)."""
    check_if_match(if_match, map_etag(await repo.settings_of(session, instance.id)))
    await merge_patch_many(session, [(instance, patch)])
    return await repo.settings_of(session, instance.id)


async def merge_patch_many(
    session: AsyncSession, patches: list[tuple[Instance, dict[str, str | None]]]
) -> None:
    """Apply each merge patch to its instance's settings (each loaded locked by the caller), as
    `merge_patch` does, together: every change checked first, then written in a few statements (a
    manifest sets a chain's settings so)."""
    instances = [instance for instance, _ in patches]
    current = await settings_many.settings_of(session, [instance.id for instance in instances])
    for (_, patch), facts in zip(patches, await repo.facts_of(session, instances), strict=True):
        for key, value in patch.items():
            rules.check_setting_change(facts, key, value)
    async with readiness_watched_many(session, instances):
        puts: dict[tuple[str, str], str] = {}
        for instance, patch in patches:
            for key, value in patch.items():
                if value is None:
                    await repo.delete_setting(session, instance.id, key)
                elif current[instance.id].get(key) != value:
                    puts[instance.id, key] = value
        await settings_many.put(session, puts)


async def get_one(session: AsyncSession, instance: Instance, key: str) -> str:
    settings = await get_all(session, instance)
    if key not in settings:
        raise NotFound(f"Instance {instance.name} has no setting {key}.", key=key)
    return settings[key]


async def put_one(
    session: AsyncSession, instance: Instance, key: str, value: str, if_match: str | None
) -> bool:
    """Set one setting of `instance` (loaded locked by the route); True when it was created."""
    current = (await repo.settings_of(session, instance.id)).get(key)
    check_if_match(if_match, item_etag(key, current))
    rules.check_setting_change(await repo.facts(session, instance), key, value)
    if current != value:
        async with readiness_watched(session, instance):
            await repo.put_setting(session, instance.id, key, value)
    return current is None


async def delete_one(session: AsyncSession, instance: Instance, key: str, if_match: str | None) -> None:
    """Remove one setting of `instance` (loaded locked by the route)."""
    current = (await repo.settings_of(session, instance.id)).get(key)
    if current is None:
        raise NotFound(f"Instance {instance.name} has no setting {key}.", key=key)
    check_if_match(if_match, item_etag(key, current))
    rules.check_setting_change(await repo.facts(session, instance), key, None)
    async with readiness_watched(session, instance):
        await repo.delete_setting(session, instance.id, key)
