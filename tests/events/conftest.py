"""Fixtures of the outbound events tests: endpoints on a loopback receiver (so private networks are
allowed, explicitly), a delivery loop with a short retry schedule, and a way to drive it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.events.delivery import Deliverer, DeliveryPolicy

FAST = DeliveryPolicy(
    schedule=(0, 0.2, 0.2, 0.2, 0.2, 0.2),
    timeout_seconds=2,
    lease_seconds=5,
    allow_private_networks=True,
    poll_seconds=0.05,
)


@pytest.fixture
async def private_networks(app: FastAPI) -> AsyncIterator[None]:
    """The receivers listen on loopback: the API must allow private networks, said here explicitly."""
    settings = app.state.settings
    before = settings.gesdent_allow_private_networks
    settings.gesdent_allow_private_networks = True
    try:
        yield
    finally:
        settings.gesdent_allow_private_networks = before


async def register(client: Any, url: str, *types: str) -> dict[str, Any]:
    response = await client.post("/v1/webhook-endpoints", json={"url": url, "event_types": list(types)})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def deliverer(app: FastAPI, policy: DeliveryPolicy = FAST, owner: str = "test-worker") -> Deliverer:
    return Deliverer(app.state.sessionmaker, app.state.secret_box, owner, policy)


async def drive(worker: Deliverer, done: Callable[[], Awaitable[bool]], seconds: float = 20) -> None:
    """Run the delivery loop's steps until `done()` (or fail after `seconds`)."""
    deadline = time.monotonic() + seconds
    while not await done():
        assert time.monotonic() < deadline, "the deliveries did not end in time"
        if not await worker.deliver_once():
            await asyncio.sleep(0.05)


async def scalar(app: FastAPI, sql: str, **params: Any) -> Any:
    async with app.state.engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar()


async def no_pending(app: FastAPI) -> bool:
    pending: int = await scalar(app, "SELECT count(*) FROM event_deliveries WHERE status = 'pending'")
    return pending == 0


def failed_run(instance: str, n: int) -> dict[str, Any]:
    """The data of a `sync.run.failed` event as the spec has it, numbered `n` (in its error)."""
    return {
        "run_id": str(uuid.UUID(int=n)),
        "instance": instance,
        "status": "failed",
        "trigger": "schedule",
        "counts": {},
        "error": f"failure {n}",
        "requested_at": datetime(2026, 12, 1, tzinfo=UTC),
        "started_at": None,
        "finished_at": None,
    }


def number_of(data: dict[str, Any]) -> int:
    """The `n` of an event made by `failed_run`."""
    return int(str(data["error"]).removeprefix("failure "))
