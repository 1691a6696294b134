"""The delivery loop against a loopback receiver: retries until it recovers, every event delivered
once and in order per instance, signatures valid; Retry-After; 410 disables; a spent schedule
disables; the previous secret signs beside the new one after a rotation."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from app.events import emit
from app.events.delivery import Deliverer, DeliveryPolicy
from app.sync.scheduler import SyncService
from tests.events.conftest import FAST, deliverer, drive, failed_run, no_pending, number_of, register, scalar
from tests.events.receiver import Receiver
from tests.metrics_text import Scrape


async def emit_many(app, partner_id: str, plan: list[tuple[str, int]]) -> list[str]:
    """Emit `sync.run.failed` for each (instance, n), in one transaction each; the event ids."""
    ids = []
    for instance, n in plan:
        async with app.state.sessionmaker() as session:
            data = failed_run(instance, n)
            ids.append(await emit(session, partner_id, "sync.run.failed", data, instance_id=instance))
            await session.commit()
    return ids


async def test_a_failing_receiver_that_recovers_gets_every_event_once_in_order(
    app, api, private_networks
) -> None:
    # The first 7 requests fail (5xx, then a slow 429), then all succeed.
    def script(number: int, _request):
        if number < 5:
            return 500 + number % 4, {}
        if number < 7:
            return 429, {"Retry-After": "0"}
        return 204, {}

    with Receiver(script) as receiver:
        endpoint = await register(api, receiver.url, "sync.run.failed")
        plan = [(instance, n) for n in range(6) for instance in ("inst-a", "inst-b", "inst-c")]
        ids = await emit_many(app, api.partner_id, plan)
        await drive(deliverer(app), lambda: no_pending(app))

        delivered = receiver.delivered()
        assert sorted(r.webhook_id for r in delivered) == sorted(ids)  # every event, once
        assert len(receiver.requests) > len(ids)  # some were retried
        for instance in ("inst-a", "inst-b", "inst-c"):
            seen = [
                number_of(json.loads(r.body)["data"])
                for r in receiver.requests
                if json.loads(r.body)["data"]["instance"] == instance
            ]
            # In order per instance, retries included: never an event before an earlier one is done.
            assert seen == sorted(seen), seen
            assert [
                number_of(json.loads(r.body)["data"])
                for r in delivered
                if json.loads(r.body)["data"]["instance"] == instance
            ] == list(range(6))
        hook = Webhook(endpoint["secret"])
        for request in receiver.requests:
            body = hook.verify(request.body, request.headers)
            assert body["type"] == "sync.run.failed"
            assert body["timestamp"].endswith("Z")
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 43).verify(delivered[0].body, delivered[0].headers)
    log = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", params={"limit": 500})).json()
    assert {d["status"] for d in log["items"]} == {"delivered"}
    assert {d["event_id"] for d in log["items"]} == set(ids)
    assert all(d["last_status_code"] == 204 for d in log["items"])
    assert max(d["attempts"] for d in log["items"]) > 1


async def test_retry_after_is_honoured(app, api, private_networks) -> None:
    with Receiver(lambda n, r: (429, {"Retry-After": "3600"})) as receiver:
        endpoint = await register(api, receiver.url, "sync.run.failed")
        await emit_many(app, api.partner_id, [("inst-a", 0)])
        assert await deliverer(app).deliver_once() == 1
        assert len(receiver.requests) == 1
    log = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries")).json()["items"]
    assert log[0]["status"] == "pending"
    assert log[0]["last_status_code"] == 429
    due = datetime.fromisoformat(log[0]["next_attempt_at"])
    assert 3500 < (due - datetime.now(UTC)).total_seconds() <= 3600


async def test_410_gone_disables_the_endpoint(app, api, private_networks) -> None:
    with Receiver(lambda n, r: (410, {})) as receiver:
        endpoint = await register(api, receiver.url, "sync.run.failed")
        await emit_many(app, api.partner_id, [("inst-a", 0), ("inst-a", 1)])
        worker = deliverer(app)
        await worker.deliver_once()
        await worker.deliver_once()
        assert len(receiver.requests) == 1  # the second (after the first) waits: the endpoint is disabled
        shown = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()
        assert shown["enabled"] is False
        assert "410 Gone" in shown["disabled_reason"]
        await emit_many(app, api.partner_id, [("inst-a", 2)])  # not queued to a disabled endpoint
        assert await scalar(app, "SELECT count(*) FROM event_deliveries") == 2
        statuses = sorted(
            d["status"]
            for d in (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries")).json()["items"]
        )
        assert statuses == ["failed", "pending"]


async def test_a_spent_schedule_gives_up_and_disables(app, api, private_networks) -> None:
    policy = DeliveryPolicy(
        schedule=(0, 0.1), timeout_seconds=2, lease_seconds=5, allow_private_networks=True
    )
    with Receiver(lambda n, r: (503, {})) as receiver:
        endpoint = await register(api, receiver.url, "sync.run.failed")
        await emit_many(app, api.partner_id, [("inst-a", 0)])
        await drive(deliverer(app, policy), lambda: no_pending(app))
        assert len(receiver.requests) == 2
    shown = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()
    assert shown["enabled"] is False
    assert "every attempt" in shown["disabled_reason"]
    log = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries")).json()["items"]
    assert log[0]["status"] == "failed"
    assert log[0]["attempts"] == 2
    assert log[0]["last_error"] == "answered 503"


async def test_a_delivery_with_no_answer_is_retried(app, api, private_networks) -> None:
    with Receiver(lambda n, r: (200, {})) as receiver:
        url = receiver.url
    endpoint = await register(api, url, "sync.run.failed")  # nobody listens there any more
    await emit_many(app, api.partner_id, [("inst-a", 0)])
    await deliverer(app).deliver_once()
    log = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries")).json()["items"]
    assert log[0]["status"] == "pending"
    assert log[0]["last_status_code"] is None
    assert "Connect" in log[0]["last_error"]


async def test_after_a_rotation_both_secrets_sign(app, api, private_networks) -> None:
    with Receiver(lambda n, r: (200, {})) as receiver:
        endpoint = await register(api, receiver.url, "sync.run.failed")
        rotated = (await api.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret")).json()
        await emit_many(app, api.partner_id, [("inst-a", 0)])
        await drive(deliverer(app), lambda: no_pending(app))
        request = receiver.delivered()[0]
        assert len(request.headers["webhook-signature"].split()) == 2
        Webhook(endpoint["secret"]).verify(request.body, request.headers)
        Webhook(rotated["secret"]).verify(request.body, request.headers)


async def test_deliveries_are_counted_by_result(app, api, anon, private_networks) -> None:
    before = Scrape.parse((await anon.get("/metrics")).text)
    with Receiver(lambda n, r: (500, {}) if n == 0 else (200, {})) as receiver:
        await register(api, receiver.url, "sync.run.failed")
        await emit_many(app, api.partner_id, [("inst-a", 0)])
        worker = Deliverer(app.state.sessionmaker, app.state.secret_box, "w", FAST, app.state.metrics)
        await drive(worker, lambda: no_pending(app))
    after = Scrape.parse((await anon.get("/metrics")).text)
    name = "portico_webhook_deliveries_total"
    for result, moved in (("retried", 1), ("delivered", 1), ("gone", 0)):
        assert after.value(name, result=result) - before.value(name, result=result) == moved


async def test_a_delivery_to_a_private_address_is_refused_when_sent(app, api, private_networks) -> None:
    """Saved while private networks were allowed; the deliverer of a process without the switch
    checks again on connecting, and sends nothing there."""
    with Receiver(lambda n, r: (200, {})) as receiver:
        endpoint = await register(api, receiver.url, "sync.run.failed")
        await emit_many(app, api.partner_id, [("inst-a", 0)])
        strict = DeliveryPolicy(schedule=(0, 60), timeout_seconds=2, lease_seconds=5)
        assert await deliverer(app, strict).deliver_once() == 1
        assert receiver.requests == []
    (delivery,) = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries")).json()["items"]
    assert delivery["status"] == "pending"
    assert "points at a loopback address (127.0.0.1)" in delivery["last_error"], delivery["last_error"]


async def test_a_stop_hands_back_what_it_cut_short(app, api, private_networks) -> None:
    """The grace runs out while the receiver holds the request: the delivery goes back to the queue at
    once (its attempt not counted), and the next worker sends it without waiting for a lease."""
    with Receiver(lambda n, r: (0, {}) if n == 0 else (200, {})) as receiver:
        endpoint = await register(api, receiver.url, "sync.run.failed")
        (event_id,) = await emit_many(app, api.partner_id, [("inst-a", 0)])
        policy = DeliveryPolicy(timeout_seconds=30, lease_seconds=60, allow_private_networks=True)
        service = SyncService(
            app.state.sessionmaker,
            app.state.secret_box,
            tick_seconds=3600,
            workers=0,
            events=policy,
            shutdown_grace=0.2,
        )
        service.start()
        try:
            assert await asyncio.to_thread(receiver.held.wait, 20)
        finally:
            await service.stop()
        log = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries")).json()["items"]
        assert (log[0]["status"], log[0]["attempts"]) == ("pending", 0)
        assert await deliverer(app).deliver_once() == 1  # at once: no lease to wait for
        assert [r.webhook_id for r in receiver.delivered()] == [event_id]


async def test_an_endpoint_that_hangs_does_not_hold_up_the_others(app, api, private_networks) -> None:
    # Endpoint A holds every request until released; endpoint B answers at once. B's events written
    # after A's request is under way are delivered while A still hangs: each delivery takes one place
    # in the loop, and a free place is filled as soon as there is something to deliver.
    policy = DeliveryPolicy(
        schedule=(0, 0.2),
        timeout_seconds=30,
        lease_seconds=60,
        allow_private_networks=True,
        poll_seconds=0.05,
    )
    stop = asyncio.Event()
    with Receiver(lambda n, r: (0, {})) as hanging, Receiver(lambda n, r: (204, {})) as quick:
        await register(api, hanging.url, "sync.run.failed")
        await emit_many(app, api.partner_id, [("inst-a", 0)])
        loop = asyncio.create_task(deliverer(app, policy).run_forever(stop))
        try:
            await asyncio.wait_for(asyncio.to_thread(hanging.held.wait, 10), 15)
            await register(api, quick.url, "sync.run.failed")
            await emit_many(app, api.partner_id, [("inst-b", 1), ("inst-b", 2)])
            for _ in range(100):  # 5 s at most; the hanging request would hold them 30 s
                if len(quick.delivered()) == 2:
                    break
                await asyncio.sleep(0.05)
            assert [number_of(json.loads(r.body)["data"]) for r in quick.delivered()] == [1, 2]
            assert hanging.held.is_set()
            assert not loop.done()
        finally:
            stop.set()
            hanging.release.set()
            await asyncio.wait_for(loop, 15)


async def test_the_backlog_of_deliveries_is_a_gauge(app, api, anon, private_networks) -> None:
    async def gauges() -> tuple[float, float]:
        scraped = Scrape.parse((await anon.get("/metrics")).text)
        return (
            scraped.value("portico_webhook_pending_deliveries"),
            scraped.value("portico_webhook_oldest_due_delivery_age_seconds"),
        )

    assert await gauges() == (0, 0)
    with Receiver(lambda n, r: (503, {})) as receiver:
        endpoint = await register(api, receiver.url, "sync.run.failed")
        await emit_many(app, api.partner_id, [("inst-a", 0), ("inst-a", 1)])
        await asyncio.sleep(1.1)
        pending, late = await gauges()
        assert pending == 2
        assert 1 <= late < 60  # due since they were written
        await deliverer(
            app
        ).deliver_once()  # the first fails: it waits for its retry; the second waits for it
        assert len(receiver.requests) == 1
    pending, late = await gauges()
    assert pending == 2
    assert late >= 1  # the second is still due since it was written: it waits behind the first
    # A disabled endpoint's deliveries wait for it: nobody's backlog.
    assert (
        await api.patch(f"/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": False})
    ).status_code == 200
    assert await gauges() == (0, 0)


async def test_an_endpoints_last_success_is_written_once_a_minute(app, api, private_networks) -> None:
    # Every delivery of a partner goes to its endpoint's row: writing it each time would queue the
    # outcomes recorded side by side behind its lock. Once a minute is all the "given up" rule needs.
    with Receiver(lambda n, r: (204, {})) as receiver:
        endpoint = await register(api, receiver.url, "sync.run.failed")
        worker = deliverer(app)
        await emit_many(app, api.partner_id, [("inst-a", 0)])
        assert await worker.deliver_once() == 1
        sql = "SELECT last_success_at FROM webhook_endpoints WHERE id = :id"
        first = await scalar(app, sql, id=endpoint["id"])
        assert first is not None
        await emit_many(app, api.partner_id, [("inst-a", 1)])
        assert await worker.deliver_once() == 1
        assert len(receiver.delivered()) == 2
        assert await scalar(app, sql, id=endpoint["id"]) == first
