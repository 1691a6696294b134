"""GESDENT connection rules of an instance: secrets write-only, encrypted at rest."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto import SecretBox
from app.db.models import GesdentConnection, Instance, utcnow
from app.db.repositories import gesdent as repo
from app.domain import gesdent as rules
from app.domain.errors import NotFound, ValidationFailed
from app.etags import check_if_match, etag_of
from app.events.sources import health_changed
from app.schemas.gesdent import CredentialIn, GesdentPut
from app.sync import health
from app.sync.network import AddressRefused, public_addresses

WEBHOOK_SECRET_PREFIX = "whsec_"


def etag(connection: GesdentConnection) -> str:
    return etag_of("gesdent", connection.instance_id, connection.version)


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


async def get(session: AsyncSession, instance: Instance) -> GesdentConnection:
    connection = await repo.get(session, instance.id)
    if connection is None:
        raise NotFound(f"Instance {instance.name} has no GESDENT connection rules.", instance=instance.name)
    return connection


@dataclass(frozen=True)
class Safeguards:
    """What guards the rules in this deployment: the box that encrypts their secrets, and whether
    their base URL may name a private address (PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS)."""

    box: SecretBox
    allow_private: bool


@dataclass(frozen=True)
class Saved:
    connection: GesdentConnection
    created: bool
    webhook_secret: str | None  # in clear, only when just issued


async def put(
    session: AsyncSession,
    instance: Instance,
    data: GesdentPut,
    *,
    if_match: str | None,
    guards: Safeguards,
) -> Saved:
    """Set the rules of `instance` (loaded locked by the route)."""
    current = await repo.get(session, instance.id)
    resource_ids, errors = await _validate(data, current, guards.allow_private)
    if errors:  # an invalid body is a 422 whatever its If-Match, as FastAPI's own checks are
        raise ValidationFailed(
            f"{len(errors)} invalid field(s): " + "; ".join(e["message"] for e in errors), errors
        )
    check_if_match(if_match, None if current is None else etag(current))
    values: dict[str, Any] = {
        "base_url": None if data.base_url is None else rules.normalise_base_url(data.base_url),
        "resource_ids": " ".join(resource_ids),
        "enabled": data.enabled,
        "interval_minutes": data.interval_minutes,
        "window_days": data.window_days,
        "stale_after_minutes": data.stale_after_minutes,
        "due_minute": 0,  # the ticker looks at the instance again at its next tick
    }
    for family in rules.FAMILIES:
        credential: CredentialIn = getattr(data.credentials, family)
        values[f"{family}_username"] = credential.username
        if credential.password is not None:
            values[f"{family}_password"] = guards.box.encrypt(credential.password)
    needs_secret = current is None or not current.webhook_secret or data.rotate_webhook_secret
    issued = new_webhook_secret() if needs_secret else None
    if issued is not None:
        values["webhook_secret"] = guards.box.encrypt(issued)
    if current is None:
        current = GesdentConnection(
            instance_id=instance.id, schedule_phase=rules.schedule_phase(instance.id), **values
        )
        session.add(current)
        created = True
    else:
        for key, value in values.items():
            setattr(current, key, value)
        current.version += 1
        current.updated_at = utcnow()
        created = False
    await session.flush()
    # Enabled, interval and threshold decide the health: its transitions are events.
    await health_changed(session, await health.rules_changed(session, instance.id, current, utcnow()))
    return Saved(current, created, issued)


async def _validate(
    data: GesdentPut, current: GesdentConnection | None, allow_private: bool
) -> tuple[list[str], list[dict[str, str]]]:
    errors: list[dict[str, str]] = []
    resource_ids, problems = rules.normalise_resource_ids(data.resource_id_list)
    if isinstance(data.resource_ids, str) and (listed := rules.listed_ids_problem(data.resource_ids)):
        problems.append(listed)
    errors += [{"field": "body.resource_ids", "message": p} for p in problems]
    if data.base_url is not None:
        problem = (
            rules.base_url_problem(data.base_url)
            or rules.base_url_form_problem(data.base_url)
            or await address_problem(data.base_url, allow_private)
        )
        if problem:
            errors.append({"field": "body.base_url", "message": f"base_url {problem}"})
    for family in rules.FAMILIES:
        stored = current is not None and bool(getattr(current, f"{family}_password"))
        if getattr(data.credentials, family).password is None and not stored:
            field = f"body.credentials.{family}.password"
            errors.append({"field": field, "message": f"{family}: a password is needed (none is stored)"})
    return resource_ids, errors


async def address_problem(url: str, allow_private: bool) -> str | None:
    """By default a GESDENT server must be on the public internet: public unicast addresses only
    (app/domain/addresses.py), whether written literally or reached through DNS (SSRF). The
    message never tells what a host name resolves to. The sync checks again on every connection
    it opens (app/sync/network.py)."""
    if allow_private:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        await public_addresses(host, parts.port or (443 if parts.scheme == "https" else 80))
    except AddressRefused as exc:
        return str(exc)
    except OSError:
        return f"host {host} does not resolve"
    return None


async def delete(session: AsyncSession, instance: Instance, if_match: str | None) -> None:
    connection = await get(session, instance)
    check_if_match(if_match, etag(connection))
    await session.delete(connection)
    await session.flush()
    # Nothing syncs it now: `never`.
    await health_changed(session, await health.rules_changed(session, instance.id, None, utcnow()))


def missing_parts(connection: GesdentConnection, default_base_url: str | None) -> list[str]:
    """What the rules still lack before they can sync: a cloned set has no resource IDs or passwords
    yet, and without PORTICO_GESDENT_BASE_URL every set needs its own base_url."""
    missing = [] if connection.base_url or default_base_url else ["base_url"]
    missing += [] if connection.resource_ids.strip() else ["resource_ids"]
    missing += [f"{f} password" for f in rules.FAMILIES if not getattr(connection, f"{f}_password")]
    return missing


def rotate_all_rows(rows: list[GesdentConnection], box: SecretBox) -> int:
    """Re-encrypt every secret of `rows` under the first key; returns how many values changed."""
    count = 0
    for row in rows:
        for column in (*(f"{family}_password" for family in rules.FAMILIES), "webhook_secret"):
            if getattr(row, column):  # a cloned rule may have no password yet
                setattr(row, column, box.rotate(getattr(row, column)))
                count += 1
    return count
