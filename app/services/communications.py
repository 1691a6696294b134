"""The general switch for automatic SMS, voice and e-mail, under invariant 2."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Instance
from app.db.repositories import instances as repo
from app.domain import rules
from app.etags import check_if_match, etag_of
from app.events.sources import readiness_watched
from app.schemas.communications import CommunicationsPut


def etag(instance: Instance) -> str:
    return etag_of(
        "communications",
        instance.comms_enabled,
        instance.comms_sms,
        instance.comms_voice,
        instance.comms_email,
    )


async def put(
    session: AsyncSession, instance: Instance, data: CommunicationsPut, if_match: str | None
) -> Instance:
    """Switch the communications of `instance` (loaded locked by the route)."""
    check_if_match(if_match, etag(instance))
    rules.check_communications_change(await repo.facts(session, instance), data.enabled)
    async with readiness_watched(session, instance):
        instance.comms_enabled = data.enabled
        for channel in ("sms", "voice", "email"):
            value = getattr(data, channel)
            if value is not None:
                setattr(instance, f"comms_{channel}", value)
    return instance
