"""Events are written in the transaction of their change: a sync run's outcome, a portal's readiness;
a change that fails writes none. The delivery log, redelivery and the test event, through the API;
the secret appears in no log line."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from standardwebhooks import Webhook

from app.crypto import SecretBox, new_key
from app.db.repositories import webhook_endpoints as repo
from app.events import emit
from app.services.webhook_endpoints import rotate_all_rows
from app.sync import queue
from app.sync.worker import Worker
from tests.conftest import (
    SECRET_KEY,
    add_member,
    assert_problem,
    configure_gesdent,
    create_instance,
    create_portal,
)
from tests.events.conftest import deliverer, drive, failed_run, no_pending, register, scalar
from tests.events.receiver import Receiver

ALL_TYPES = ("sync.run.succeeded", "sync.run.partial", "sync.run.failed", "portal.readiness.changed")


async def events_of(app, event_type: str | None = None) -> list[dict[str, Any]]:
    """The events written, oldest first: their type and data."""
    async with app.state.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT type, payload FROM events ORDER BY id"))).all()
    return [
        {"type": row.type, **json.loads(row.payload)}
        for row in rows
        if event_type is None or row.type == event_type
    ]


@dataclass
class _Result:
    status: str
    error: str | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    failed_stream: str | None = None

    def as_counts(self) -> dict[str, dict[str, int]]:
        return self.counts


async def test_a_run_outcome_is_an_event_delivered_with_its_payload(app, api, private_networks) -> None:
    await configure_gesdent(api, "tt_q0")
    run_id = (await api.post("/v1/instances/tt_q0/sync-runs")).json()["id"]

    async def importer(*_args: Any, **_options: Any) -> _Result:
        return _Result("partial", "availability: HTTP 503 after 4 attempts", {"users": {"created": 3}})

    with Receiver(lambda n, r: (200, {})) as receiver:
        endpoint = await register(api, receiver.url, *ALL_TYPES)
        worker = Worker(app.state.sessionmaker, app.state.secret_box, owner="w1", importer=importer)
        assert await worker.run_once() is True
        await drive(deliverer(app), lambda: no_pending(app))
        (request,) = receiver.delivered()
        body = Webhook(endpoint["secret"]).verify(request.body, request.headers)
    assert body["type"] == "sync.run.partial"
    data = body["data"]
    assert (data["run_id"], data["instance"], data["status"], data["trigger"]) == (
        run_id,
        "tt_q0",
        "partial",
        "manual",
    )
    assert data["counts"] == {"users": {"created": 3}}
    assert data["error"] == "availability: HTTP 503 after 4 attempts"
    assert data["finished_at"] is not None


async def test_an_abandoned_run_is_a_failed_event(app, api) -> None:
    await configure_gesdent(api, "tt_q0")
    await api.post("/v1/instances/tt_q0/sync-runs")
    for attempt in range(queue.MAX_ATTEMPTS):
        assert await queue.claim(app.state.sessionmaker, f"w{attempt}", timedelta(milliseconds=1))
        await asyncio.sleep(0.01)
    assert await queue.claim(app.state.sessionmaker, "last", timedelta(seconds=30)) is None
    (event,) = await events_of(app, "sync.run.failed")
    assert "abandoned" in event["error"]
    # Its health changed too, in the same transaction: never synced, now failing.
    health = await events_of(app, "sync.health.changed")
    first = health[0]
    assert (first["stream"], first["previous_state"], first["state"]) == (None, "never", "failing")


async def test_a_run_taken_over_writes_no_event(app, api) -> None:
    await configure_gesdent(api, "tt_q0")
    await api.post("/v1/instances/tt_q0/sync-runs")
    stale = await queue.claim(app.state.sessionmaker, "w1", timedelta(milliseconds=1))
    assert stale is not None
    await asyncio.sleep(0.01)
    assert await queue.claim(app.state.sessionmaker, "w2", timedelta(seconds=30))
    assert not await queue.finish(app.state.sessionmaker, stale.fence, "succeeded", {}, None)
    assert await events_of(app) == []


async def test_readiness_changes_are_events_and_failed_changes_are_not(app, api) -> None:
    await create_instance(api, "tt_solo")
    await api.put("/v1/instances/tt_solo/communications", json={"enabled": False})
    assert await events_of(app) == []  # a standalone instance has no readiness to report

    await create_portal(api, "tt_portal")  # promoted: ready
    await add_member(api, "tt_portal", "tt_member")
    refused = await api.put("/v1/instances/tt_portal/communications", json={"enabled": True})
    assert_problem(refused, 409, "portal-has-members")  # the failed change: no event
    await api.delete("/v1/portals/tt_portal/members/tt_member")
    await api.put("/v1/instances/tt_portal/communications", json={"enabled": True})  # not ready
    await api.delete("/v1/instances/tt_portal/settings/portalInstanceName")  # no longer a portal
    await create_instance(api, "tt_other")
    await api.put("/v1/instances/tt_other/settings/portalInstanceName", json={"value": "portal"})
    await api.patch("/v1/instances/tt_other/settings", json={"colour": "blue"})  # nothing changes

    seen = [
        (e["instance"], e["is_portal"], e["ready"], [u["code"] for u in e["unmet"]])
        for e in await events_of(app)
    ]
    assert seen == [
        ("tt_portal", True, True, []),
        ("tt_portal", True, False, ["communications-enabled"]),
        ("tt_portal", False, False, ["portal-instance-name", "communications-enabled"]),
        ("tt_other", True, False, ["communications-enabled"]),
    ]
    assert {e["type"] for e in await events_of(app)} == {"portal.readiness.changed"}


async def test_an_event_rolled_back_with_its_change_is_not_written(app, api, private_networks) -> None:
    await register(api, "http://127.0.0.1:9/hooks", "sync.run.failed")
    async with app.state.sessionmaker() as session:
        await emit(session, api.partner_id, "sync.run.failed", failed_run("i", 1), instance_id="i")
        await session.rollback()
    assert await scalar(app, "SELECT count(*) FROM events") == 0
    assert await scalar(app, "SELECT count(*) FROM event_deliveries") == 0


async def test_only_subscribed_enabled_endpoints_get_a_delivery(app, api, other, private_networks) -> None:
    wanted = await register(api, "http://127.0.0.1:9/a", "sync.run.failed")
    await register(api, "http://127.0.0.1:9/b", "sync.run.succeeded")
    off = await register(api, "http://127.0.0.1:9/c", "sync.run.failed")
    await api.patch(f"/v1/webhook-endpoints/{off['id']}", json={"enabled": False})
    await register(other, "http://127.0.0.1:9/d", "sync.run.failed")
    async with app.state.sessionmaker() as session:
        await emit(session, api.partner_id, "sync.run.failed", failed_run("i", 1), instance_id="i")
        await session.commit()
    endpoints = await scalar(app, "SELECT min(endpoint_id) || ',' || count(*) FROM event_deliveries")
    assert endpoints == f"{wanted['id']},1"


async def test_test_event_log_and_redelivery(app, api, private_networks, log_lines) -> None:
    with Receiver(lambda n, r: (500, {}) if n == 0 else (200, {})) as receiver:
        endpoint = await register(api, receiver.url, "sync.run.failed")  # not subscribed to the test type
        item = f"/v1/webhook-endpoints/{endpoint['id']}"
        queued = await api.post(f"{item}/test")
        assert queued.status_code == 202
        assert queued.json()["event_type"] == "webhook.test"
        assert queued.json()["status"] == "pending"
        await drive(deliverer(app), lambda: no_pending(app))
        (delivery,) = (await api.get(f"{item}/deliveries")).json()["items"]
        assert (delivery["id"], delivery["status"], delivery["attempts"]) == (
            queued.json()["id"],
            "delivered",
            2,
        )
        again = await api.post(f"{item}/deliveries/{delivery['id']}/redeliver")
        assert again.status_code == 202
        assert (again.json()["status"], again.json()["attempts"]) == ("pending", 0)
        await drive(deliverer(app), lambda: no_pending(app))
        assert [r.webhook_id for r in receiver.delivered()] == [delivery["event_id"]] * 2
        assert json.loads(receiver.delivered()[0].body)["type"] == "webhook.test"
        unknown = f"{item}/deliveries/{endpoint['id']}/redeliver"
        assert_problem(await api.post(unknown), 404, "not-found")
    text = json.dumps(log_lines())
    assert "event delivery" in text
    assert endpoint["secret"] not in text
    assert endpoint["secret"].removeprefix("whsec_") not in text


async def test_endpoint_secrets_are_re_encrypted_under_the_first_key(app, api, private_networks) -> None:
    endpoint = await register(api, "http://127.0.0.1:9/a", "sync.run.failed")
    await api.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret")
    newer = new_key()
    keys = SecretBox([newer, SECRET_KEY])
    async with app.state.sessionmaker() as session:
        assert rotate_all_rows(await repo.all_locked(session), keys) == 2
        await session.commit()
    async with app.state.sessionmaker() as session:
        (row,) = await repo.all_locked(session)
    assert row.previous_secret is not None
    assert SecretBox([newer]).decrypt(row.previous_secret) == endpoint["secret"]
