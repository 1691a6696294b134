"""Export a portal as a manifest: planning it straight back shows no change, applying it is a no-op.
Passwords are never in it: each credential keeps the stored one."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.repositories import manifests as repo
from app.domain.gesdent import FAMILIES
from app.domain.manifest_state import InstanceState, ServiceValues
from app.domain.rules import PORTAL_SETTING
from app.schemas.manifests import PortalManifest
from app.services.instances import partner_of
from app.services.portals import Portal


async def export(session: AsyncSession, principal: Principal, portal: Portal) -> dict[str, Any]:
    """The portal (the caller's, loaded by the route) and every member, as they are."""
    partner, name = partner_of(principal), portal.instance.name
    members = (await repo.load_state(session, partner, name, ())).members
    state = await repo.load_state(session, partner, name, members)
    current = state.instances[name]
    comms = current.communications
    document: dict[str, Any] = {
        "portal": {
            "name": name,
            "display_name": current.display_name,
            "settings": {k: v for k, v in current.settings.items() if k != PORTAL_SETTING},
            "communications": {
                "enabled": comms.enabled,
                "sms": comms.sms,
                "voice": comms.voice,
                "email": comms.email,
            },
            "services": _services(current),
        },
        "members": [_member(state.instances[m]) for m in sorted(members) if m in state.instances],
    }
    PortalManifest.model_validate(document)  # what it exports, it takes back
    return document


def _services(instance: InstanceState) -> list[dict[str, Any]]:
    return [_service(s) for _, s in sorted(instance.services.items())]


def _service(service: ServiceValues) -> dict[str, Any]:
    return {
        "code": service.code,
        "name": service.name,
        "duration_minutes": service.duration_minutes,
        "price": None if service.price is None else f"{service.price:.2f}",
        "web_enabled": service.web_enabled,
    }


def _member(instance: InstanceState) -> dict[str, Any]:
    member: dict[str, Any] = {
        "name": instance.name,
        "display_name": instance.display_name,
        "settings": dict(sorted(instance.settings.items())),
        "services": _services(instance),
        "mappings": dict(sorted(instance.mappings.items())),
    }
    if instance.member_code is not None:
        member["member_code"] = instance.member_code
    rules = instance.gesdent
    if rules is not None and rules.resource_ids.split():  # rules a clone left incomplete stay unmanaged
        member["gesdent"] = {
            "base_url": rules.base_url,
            "resource_ids": rules.resource_ids.split(),
            "credentials": {f: {"username": rules.usernames[f]} for f in FAMILIES},
            "enabled": rules.enabled,
            "interval_minutes": rules.interval_minutes,
            "window_days": rules.window_days,
            "stale_after_minutes": rules.stale_after_minutes,
        }
    return member
