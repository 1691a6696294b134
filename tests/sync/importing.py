"""Helpers for the importer tests: an instance row to import into, connection rules for a sandbox,
reading back what was stored, and a transport that injects a sandbox fault after N good answers."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from app.db.models import GesdentPatient, GesdentReservation, GesdentResource, GesdentSlot, Instance, Partner
from app.db.models.base import table_of
from app.domain.gesdent import ConnectionRules
from app.sync.importer import ImportResult, run_import
from app.sync.retries import RetryPolicy
from tests.sync.sandbox_server import SandboxServer

# Tiny delays so retry tests take milliseconds; 3 attempts in all.
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=5.0)
READ_TIMEOUT = 1.0  # generous for a loaded machine; "slow" faults wait SLOW, well beyond it
SLOW = 2.5

TABLES: dict[str, sa.Table] = {
    "resources": table_of(GesdentResource),
    "users": table_of(GesdentPatient),
    "reservations": table_of(GesdentReservation),
    "availability": table_of(GesdentSlot),
}


async def create_instance(app: FastAPI) -> str:
    async with app.state.sessionmaker() as session:
        partner = Partner(name="sync test partner")
        session.add(partner)
        await session.flush()
        instance = Instance(partner_id=partner.id, name=f"sync-{secrets.token_hex(4)}", display_name="Sync")
        session.add(instance)
        await session.commit()
        return instance.id


async def delete_instance(app: FastAPI, instance_id: str) -> None:
    async with app.state.sessionmaker() as session:
        instance = await session.get(Instance, instance_id)
        assert instance is not None
        await session.execute(sa.delete(Partner).where(Partner.id == instance.partner_id))
        await session.commit()


def rules_for(server: SandboxServer, **changes: Any) -> ConnectionRules:
    fields: dict[str, Any] = {
        "base_url": server.url,
        "resource_ids": server.resource_ids,
        "credentials": {family: tuple(credential) for family, credential in server.credentials.items()},
        "window_days": 14,
    }
    return ConnectionRules(**{**fields, **changes})


async def run(
    app: FastAPI,
    instance_id: str,
    server: SandboxServer,
    *,
    page_limit: int = 1000,
    transport: httpx.AsyncBaseTransport | None = None,
    rules: ConnectionRules | None = None,
    **options: Any,
) -> ImportResult:
    client_options = {
        "retry": FAST_RETRY,
        "timeout": httpx.Timeout(5.0, read=READ_TIMEOUT),
        "page_limit": page_limit,
        "transport": transport,
        "allow_private_networks": True,  # the sandbox listens on loopback
    }
    return await run_import(
        app.state.sessionmaker,
        instance_id,
        rules or rules_for(server),
        today=server.sandbox.dataset.today,
        client_options=client_options,
        **options,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return value


async def stored(app: FastAPI, stream: str, instance_id: str) -> dict[Any, dict[str, Any]]:
    """The stream's rows of the instance, keyed by GESDENT id (slots: by (resource, start))."""
    table = TABLES[stream]
    async with app.state.sessionmaker() as session:
        rows = (await session.execute(sa.select(table).where(table.c.instance_id == instance_id))).mappings()
        result = {}
        for row in rows:
            plain = {name: _plain(value) for name, value in row.items() if name != "instance_id"}
            key = (
                (plain["resource_id"], plain["starts_at"])
                if stream == "availability"
                else plain["gesdent_id"]
            )
            result[key] = plain
        return result


async def cursors(app: FastAPI, instance_id: str) -> dict[str, str]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            sa.text("SELECT stream, updated_since FROM sync_cursors WHERE instance_id = :id"),
            {"id": instance_id},
        )
        return dict(rows.all())


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


class FaultAfter(httpx.AsyncBaseTransport):
    """Real HTTP to the sandbox; once `after` answers of `endpoint` came back 200, queue `fault`
    there, so it strikes in the middle of a stream (a later page, a later resource)."""

    def __init__(self, server: SandboxServer, endpoint: str, after: int, **fault: Any) -> None:
        self.server, self.endpoint, self.after, self.fault = server, endpoint, after, fault
        self.inner = httpx.AsyncHTTPTransport()
        self.good = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        segment = request.url.path.rstrip("/").split("/")[-2 if self.endpoint == "resources" else -1]
        if segment == self.endpoint and response.status_code == 200:
            self.good += 1
            if self.good == self.after:
                self.server.control.fault(endpoint=self.endpoint, **self.fault)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
