"""A real `portico worker` killed (SIGKILL) while the receiver holds its delivery's request: another
worker delivers the event once the lease expires, and the instance's later events after it, in order.
Nothing is lost."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from app.events import emit
from tests.conftest import SECRET_KEY
from tests.events.conftest import failed_run, number_of, register, scalar
from tests.events.receiver import Receiver
from tests.processes import LoggedProcess, portico_command, start, stop

pytestmark = pytest.mark.postgres_only


@pytest.fixture(autouse=True)
def _postgres_only(backend):
    if backend != "postgres":
        pytest.skip("leases across processes are shown on PostgreSQL (SQLite serialises its writers)")


def _worker(database_url: str, log: Path) -> LoggedProcess:
    env = {
        **os.environ,
        "PORTICO_DATABASE_URL": database_url,
        "PORTICO_SECRET_KEYS": SECRET_KEY,
        "PORTICO_SCHEDULER_TICK_SECONDS": "30",
        "PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS": "true",  # the receiver listens on loopback
        "PORTICO_WEBHOOK_TIMEOUT_SECONDS": "5",
        "PORTICO_WEBHOOK_LEASE_SECONDS": "6",
        "PORTICO_WEBHOOK_RETRY_SCHEDULE": "0,1,1,1",
    }
    return start("portico worker", portico_command("worker"), log, env=env)


async def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def test_a_delivery_whose_worker_is_killed_is_delivered_by_another(
    app, api, private_networks, database_url, tmp_path
) -> None:
    with Receiver(lambda n, r: (0, {}) if n == 0 else (200, {})) as receiver:
        endpoint = await register(api, receiver.url, "sync.run.failed")
        ids = []
        for n in range(3):
            async with app.state.sessionmaker() as session:
                ids.append(
                    await emit(
                        session, api.partner_id, "sync.run.failed", failed_run("i", n), instance_id="i"
                    )
                )
                await session.commit()
        first = _worker(database_url, tmp_path / "first.log")
        try:
            await _wait(lambda: asyncio.to_thread(receiver.held.wait, 0.1), 30, "the first delivery")
        finally:
            first.popen.kill()  # SIGKILL: no goodbye, its lease stays
            first.popen.wait(10)
        assert len(receiver.requests) == 1  # the later events wait behind the one in flight
        receiver.release.set()
        second = _worker(database_url, tmp_path / "second.log")
        try:

            async def all_delivered() -> bool:
                done: int = await scalar(
                    app, "SELECT count(*) FROM event_deliveries WHERE status = 'delivered'"
                )
                return done == 3

            await _wait(all_delivered, 40, f"the deliveries; the worker wrote:\n{second.output()}")
        finally:
            stop(second, seconds=20)
        delivered = receiver.delivered()
        assert [r.webhook_id for r in delivered] == ids  # each once, in order
        assert receiver.requests[0].webhook_id == ids[0]  # the one the killed worker held
        hook = Webhook(endpoint["secret"])
        assert [number_of(hook.verify(r.body, r.headers)["data"]) for r in delivered] == [0, 1, 2]
        assert json.loads(delivered[0].body)["type"] == "sync.run.failed"
    attempts = await scalar(app, "SELECT attempts FROM event_deliveries WHERE event_id = :id", id=ids[0])
    assert attempts == 2
