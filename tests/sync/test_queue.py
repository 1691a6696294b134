"""The run queue on both databases: scheduled runs once per slot, claims, leases, takeover."""

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlmodel import col

from app.db.models import SyncRun
from app.sync import queue, ticker
from app.sync.worker import Worker
from tests.conftest import create_instance

RULES = {
    "base_url": "http://127.0.0.1:9/",
    "resource_ids": ["AAAA1111-BBBB2222"],
    "credentials": {"users": "u:pw", "reservations": "r:pw", "availability": "a:pw"},
    "interval_minutes": 15,
}


async def _instances(api, count, **rules):
    for i in range(count):
        await create_instance(api, f"tt_q{i}")
        assert (await api.put(f"/v1/instances/tt_q{i}/gesdent", json={**RULES, **rules})).status_code == 201


async def _runs(app):
    async with app.state.sessionmaker() as session:
        return list((await session.execute(select(SyncRun).order_by(col(SyncRun.requested_at)))).scalars())


async def test_due_runs_are_queued_once_per_slot(app, api):
    await _instances(api, 3)
    await create_instance(api, "tt_off")
    await api.put("/v1/instances/tt_off/gesdent", json={**RULES, "enabled": False})
    now = datetime(2026, 11, 21, 10, 7, tzinfo=UTC)
    # Several replicas tick at the same moment.
    created = await asyncio.gather(*(ticker.enqueue_due(app.state.sessionmaker, now) for _ in range(5)))
    assert sum(created) == 3
    assert await ticker.enqueue_due(app.state.sessionmaker, now + timedelta(minutes=5)) == 0  # same slot
    runs = await _runs(app)
    assert len(runs) == 3
    assert {r.trigger for r in runs} == {"schedule"}
    # The next slot while the runs are still queued: one active run per instance, nothing more.
    assert await ticker.enqueue_due(app.state.sessionmaker, now + timedelta(minutes=15)) == 0
    slot, next_start = ticker.slot_of(now, 15)
    assert next_start == datetime(2026, 11, 21, 10, 15, tzinfo=UTC)
    assert slot.startswith("15m:")


async def test_one_claim_per_run_however_many_workers(app, api):
    await _instances(api, 1)
    await api.post("/v1/instances/tt_q0/sync-runs")
    claims = await asyncio.gather(
        *(queue.claim(app.state.sessionmaker, f"worker-{i}", timedelta(seconds=30)) for i in range(8))
    )
    taken = [c for c in claims if c is not None]
    assert len(taken) == 1
    (run,) = await _runs(app)
    assert (run.status, run.lease_owner, run.attempts) == ("running", f"worker-{claims.index(taken[0])}", 1)


async def test_an_expired_lease_is_taken_over_and_the_old_owner_cannot_finish(app, api):
    await _instances(api, 1)
    await api.post("/v1/instances/tt_q0/sync-runs")
    first = await queue.claim(app.state.sessionmaker, "dead-worker", timedelta(milliseconds=200))
    assert first is not None
    assert (
        await queue.claim(app.state.sessionmaker, "other", timedelta(seconds=30)) is None
    )  # lease still valid
    await asyncio.sleep(0.3)
    second = await queue.claim(app.state.sessionmaker, "other", timedelta(seconds=30))
    assert second is not None
    assert second.run_id == first.run_id
    assert second.attempts == 2
    assert not await queue.renew(app.state.sessionmaker, first.fence)
    assert not await queue.finish(app.state.sessionmaker, first.fence, "succeeded", {}, None)
    assert await queue.finish(app.state.sessionmaker, second.fence, "succeeded", {}, None)
    (run,) = await _runs(app)
    assert run.status == "succeeded"
    assert run.finished_at is not None


async def test_a_run_abandoned_too_often_fails_with_a_reason(app, api):
    await _instances(api, 1)
    await api.post("/v1/instances/tt_q0/sync-runs")
    for attempt in range(queue.MAX_ATTEMPTS):
        assert await queue.claim(app.state.sessionmaker, f"w{attempt}", timedelta(milliseconds=1)) is not None
        await asyncio.sleep(0.01)
    assert await queue.claim(app.state.sessionmaker, "last", timedelta(seconds=30)) is None
    (run,) = await _runs(app)
    assert run.status == "failed"
    assert "abandoned" in run.error
    # An outcome like any other: the sync health says so, for the whole and every stream.
    health = (await api.get("/v1/instances/tt_q0/sync-status")).json()["health"]
    assert health["state"] == "failing"
    assert {stream["state"] for stream in health["streams"].values()} == {"failing"}


@dataclass
class _Result:
    status: str
    error: str | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    failed_stream: str | None = None

    def as_counts(self):
        return self.counts


async def test_worker_records_the_outcome(app, api):
    await _instances(api, 1)
    await api.post("/v1/instances/tt_q0/sync-runs", json={"full_refresh": True})
    seen = []

    async def importer(sessionmaker, instance_id, rules, **options):
        seen.append((rules.credentials["users"], rules.resource_ids, options["full_refresh"]))
        return _Result(
            "partial",
            "availability: HTTP 503 after 4 attempts",
            {"users": {"fetched": 3, "created": 3}},
            failed_stream="availability",
        )

    worker = Worker(
        app.state.sessionmaker,
        app.state.secret_box,
        owner="w1",
        importer=importer,
        allow_private_networks=True,
    )
    assert await worker.run_once() is True
    assert await worker.run_once() is False
    assert seen == [(("u", "pw"), ["AAAA1111-BBBB2222"], True)]
    run = (await api.get("/v1/instances/tt_q0/sync-runs")).json()["items"][0]
    assert (run["status"], run["error"], run["counts"]["users"]["created"]) == (
        "partial",
        "availability: HTTP 503 after 4 attempts",
        3,
    )
    status = (await api.get("/v1/instances/tt_q0/sync-status")).json()
    assert status["last_error"]["run_id"] == run["id"]
    # The stream the importer stopped at fails; the streams it did not reach were never synced.
    assert status["health"]["state"] == "failing"
    assert {name: stream["state"] for name, stream in status["health"]["streams"].items()} == {
        "resources": "never",
        "users": "fresh",
        "reservations": "never",
        "availability": "failing",
    }
    assert status["active_run"] is None
    async with app.state.engine.connect() as connection:
        stored = (await connection.execute(text("SELECT counts FROM sync_runs"))).scalar_one()
    assert json.loads(stored)["users"]["fetched"] == 3


async def test_worker_survives_an_importer_crash(app, api):
    await _instances(api, 1)
    await api.post("/v1/instances/tt_q0/sync-runs")

    async def importer(*args, **kwargs):
        raise RuntimeError("boom")

    worker = Worker(
        app.state.sessionmaker,
        app.state.secret_box,
        owner="w1",
        importer=importer,
        allow_private_networks=True,
    )
    assert await worker.run_once() is True
    run = (await api.get("/v1/instances/tt_q0/sync-runs")).json()["items"][0]
    assert run["status"] == "failed"
    assert run["error"] == "internal error: RuntimeError"
