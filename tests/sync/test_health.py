"""Sync health through real runs: a worker runs the real importer against the sandbox over HTTP,
and the health read back through the API follows (never → fresh → failing → fresh), per stream too;
the ticker records what went stale, each once."""

import asyncio
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text
from sqlmodel import col

from app.db.models import Instance, utcnow
from app.sync import ticker
from app.sync.retries import RetryPolicy
from app.sync.worker import Worker
from tests.conftest import create_instance
from tests.sync.sandbox_server import SandboxServer

FAST = {"retry": RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02, max_retry_after=0.1)}
STREAMS = ("resources", "users", "reservations", "availability")


def rules_for(sandbox: SandboxServer, **changes: Any) -> dict[str, Any]:
    return {
        "base_url": sandbox.url,
        "resource_ids": sandbox.resource_ids,
        "credentials": {family: str(credential) for family, credential in sandbox.credentials.items()},
        "window_days": 14,
        **changes,
    }


async def configured(api, sandbox, name, **changes):
    await create_instance(api, name)
    response = await api.put(f"/v1/instances/{name}/gesdent", json=rules_for(sandbox, **changes))
    assert response.status_code == 201, response.text
    return response.json()


async def sync_now(app, api, name):
    response = await api.post(f"/v1/instances/{name}/sync-runs")
    assert response.status_code == 202, response.text
    worker = Worker(
        app.state.sessionmaker,
        app.state.secret_box,
        owner="health",
        client_options=FAST,
        allow_private_networks=True,
    )
    assert await worker.run_once()
    return (await api.get(f"/v1/sync-runs/{response.json()['id']}")).json()


async def health_of(api, name):
    status = await api.get(f"/v1/instances/{name}/sync-status")
    assert status.status_code == 200, status.text
    health = status.json()["health"]
    return health["state"], {stream: value["state"] for stream, value in health["streams"].items()}, health


async def test_never_fresh_failing_fresh_again(app, api, sandbox):
    rules = await configured(api, sandbox, "tt_health")
    assert (rules["stale_after_minutes"], rules["stale_after_default"]) == (45, True)
    state, streams, health = await health_of(api, "tt_health")
    assert (state, set(streams.values()), health["since"]) == ("never", {"never"}, None)

    run = await sync_now(app, api, "tt_health")
    assert run["status"] == "succeeded", run
    state, streams, health = await health_of(api, "tt_health")
    assert (state, streams) == ("fresh", dict.fromkeys(STREAMS, "fresh"))
    assert health["since"] == run["finished_at"]
    assert (health["stale_after_minutes"], health["stale_after_default"]) == (45, True)

    # Availability answers 503 until cleared: the other streams commit, the run is partial.
    sandbox.control.fault("5xx", endpoint="availability", times=20)
    failed = await sync_now(app, api, "tt_health")
    assert failed["status"] == "partial", failed
    state, streams, health = await health_of(api, "tt_health")
    assert state == "failing"
    assert health["since"] == failed["finished_at"]
    assert streams == {
        "resources": "fresh",
        "users": "fresh",
        "reservations": "fresh",
        "availability": "failing",
    }
    listed = (await api.get("/v1/sync-health")).json()
    assert listed["counts"]["failing"] == 1
    [item] = listed["items"]
    assert (item["instance"], item["state"], item["last_success_at"]) == (
        "tt_health",
        "failing",
        run["finished_at"],
    )
    assert item["last_error"]["at"] == failed["finished_at"]
    assert item["last_error"]["error"].startswith("availability stream failed")
    assert item["streams"]["availability"]["state"] == "failing"

    # A second failure keeps the moment it began failing.
    await sync_now(app, api, "tt_health")
    assert (await health_of(api, "tt_health"))[2]["since"] == failed["finished_at"]

    sandbox.control.clear_faults()
    again = await sync_now(app, api, "tt_health")
    assert again["status"] == "succeeded", again
    state, streams, health = await health_of(api, "tt_health")
    assert (state, streams) == ("fresh", dict.fromkeys(STREAMS, "fresh"))
    assert health["since"] == again["finished_at"]


async def test_rejected_credentials_fail_their_stream_only(app, api, sandbox):
    await configured(api, sandbox, "tt_creds")
    assert (await sync_now(app, api, "tt_creds"))["status"] == "succeeded"
    sandbox.control.fault("wrong_credentials", endpoint="users")
    run = await sync_now(app, api, "tt_creds")
    assert run["status"] == "failed"
    state, streams, _ = await health_of(api, "tt_creds")
    # Resources committed before users was refused; the streams after it were not reached.
    assert state == "failing"
    assert streams == {
        "resources": "fresh",
        "users": "failing",
        "reservations": "fresh",
        "availability": "fresh",
    }


async def test_malformed_records_fail_their_stream(app, api, sandbox):
    await configured(api, sandbox, "tt_malformed")
    sandbox.control.fault("malformed_record", endpoint="users")
    run = await sync_now(app, api, "tt_malformed")
    assert run["status"] == "partial", run
    state, streams, _ = await health_of(api, "tt_malformed")
    assert state == "failing"
    assert streams == {
        "resources": "fresh",
        "users": "failing",
        "reservations": "fresh",
        "availability": "fresh",
    }


async def test_the_ticker_records_what_went_stale_each_once(app, api, sandbox):
    await configured(api, sandbox, "tt_stale_a", stale_after_minutes=10)
    await configured(api, sandbox, "tt_stale_b", interval_minutes=60)
    await configured(api, sandbox, "tt_stale_never")
    for name in ("tt_stale_a", "tt_stale_b"):
        assert (await sync_now(app, api, name))["status"] == "succeeded"
    async with app.state.sessionmaker() as session:
        ids = dict((await session.execute(select(col(Instance.name), col(Instance.id)))).all())
    assert await ticker.record_stale(app.state.sessionmaker) == []

    later = utcnow() + timedelta(minutes=11)
    transitions = await ticker.record_stale(app.state.sessionmaker, later)
    # tt_stale_a (10 minutes) went stale, as a whole and each stream; tt_stale_b (3 x 60) did not.
    assert len(transitions) == 5
    assert {(t.instance_id, t.stream, t.old, t.new) for t in transitions} == {
        (ids["tt_stale_a"], stream, "fresh", "stale") for stream in (None, *STREAMS)
    }
    assert all(t.at <= later for t in transitions)
    assert await ticker.record_stale(app.state.sessionmaker, later) == []
    state, streams, health = await health_of(api, "tt_stale_a")
    assert (state, set(streams.values())) == ("stale", {"stale"})
    assert health["since"] == transitions[0].at.isoformat().replace("+00:00", "Z")
    assert (await health_of(api, "tt_stale_b"))[0] == "fresh"

    much_later = utcnow() + timedelta(minutes=181)
    assert {t.instance_id for t in await ticker.record_stale(app.state.sessionmaker, much_later)} == {
        ids["tt_stale_b"]
    }
    # A success makes it fresh again, and the ticker may turn it stale again later.
    assert (await sync_now(app, api, "tt_stale_a"))["status"] == "succeeded"
    assert (await health_of(api, "tt_stale_a"))[0] == "fresh"
    assert len(await ticker.record_stale(app.state.sessionmaker, utcnow() + timedelta(minutes=11))) == 5


async def test_a_lower_threshold_makes_it_stale_sooner(app, api, sandbox):
    await configured(api, sandbox, "tt_threshold")
    assert (await sync_now(app, api, "tt_threshold"))["status"] == "succeeded"
    assert (await health_of(api, "tt_threshold"))[0] == "fresh"
    a_minute_on = utcnow() + timedelta(seconds=61)
    assert await ticker.record_stale(app.state.sessionmaker, a_minute_on) == []  # 45 minutes: fresh
    put = await api.put("/v1/instances/tt_threshold/gesdent", json=rules_for(sandbox, stale_after_minutes=1))
    assert (put.json()["stale_after_minutes"], put.json()["stale_after_default"]) == (1, False)
    transitions = await ticker.record_stale(app.state.sessionmaker, a_minute_on)
    assert {(t.stream, t.new) for t in transitions} == {(s, "stale") for s in (None, *STREAMS)}
    # Raising it again makes it fresh: the rules decide when a success goes stale.
    await api.put("/v1/instances/tt_threshold/gesdent", json=rules_for(sandbox, stale_after_minutes=600))
    assert (await health_of(api, "tt_threshold"))[0] == "fresh"


async def test_disabled_rules_and_removed_rules(app, api, sandbox):
    await configured(api, sandbox, "tt_off", enabled=False)
    state, streams, _ = await health_of(api, "tt_off")
    assert (state, set(streams.values())) == ("disabled", {"disabled"})
    # A manual run still runs; the instance stays disabled, its success recorded.
    assert (await sync_now(app, api, "tt_off"))["status"] == "succeeded"
    assert (await health_of(api, "tt_off"))[0] == "disabled"
    [item] = (await api.get("/v1/sync-health", params={"state": "disabled"})).json()["items"]
    assert item["last_success_at"] is not None
    assert item["overdue_minutes"] is None
    # Disabled rows never go stale.
    assert await ticker.record_stale(app.state.sessionmaker, utcnow() + timedelta(days=30)) == []
    await api.put("/v1/instances/tt_off/gesdent", json=rules_for(sandbox))
    assert (await health_of(api, "tt_off"))[0] == "fresh"
    assert (await api.delete("/v1/instances/tt_off/gesdent")).status_code == 204
    status = (await api.get("/v1/instances/tt_off/sync-status")).json()
    assert (status["health"]["state"], status["health"]["stale_after_minutes"]) == ("never", None)


async def test_replicas_ticking_at_once_record_each_transition_once(app, api, sandbox):
    for name in ("tt_tick_a", "tt_tick_b"):
        await configured(api, sandbox, name)
        assert (await sync_now(app, api, name))["status"] == "succeeded"
    later = utcnow() + timedelta(minutes=46)
    ticks = await asyncio.gather(*(ticker.record_stale(app.state.sessionmaker, later) for _ in range(4)))
    recorded = [(t.instance_id, t.stream) for tick in ticks for t in tick]
    assert len(recorded) == len(set(recorded)) == 10


async def _health_events(app) -> list[tuple[str | None, str, str]]:
    """The `sync.health.changed` events written, oldest first: (stream, previous, state)."""
    async with app.state.engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT payload FROM events WHERE type = 'sync.health.changed' ORDER BY id")
            )
        ).all()
    return [(d["stream"], d["previous_state"], d["state"]) for d in (json.loads(r.payload) for r in rows)]


async def test_each_health_change_is_an_event_in_the_transaction_that_made_it(app, api, sandbox):
    await configured(api, sandbox, "tt_health_events")
    assert await _health_events(app) == []  # never, as before the rules

    await sync_now(app, api, "tt_health_events")
    assert await _health_events(app) == [(None, "never", "fresh")] + [(s, "never", "fresh") for s in STREAMS]

    sandbox.control.fault("5xx", endpoint="availability", times=20)
    assert (await sync_now(app, api, "tt_health_events"))["status"] == "partial"
    sandbox.control.clear_faults()
    new = (await _health_events(app))[5:]
    assert new == [(None, "fresh", "failing"), ("availability", "fresh", "failing")]

    later = utcnow() + timedelta(days=1)
    transitions = await ticker.record_stale(app.state.sessionmaker, later)
    assert transitions
    stale = (await _health_events(app))[7:]
    assert stale == [(t.stream, "fresh", "stale") for t in transitions]
    async with app.state.engine.connect() as connection:
        data = json.loads(
            (
                await connection.execute(
                    text("SELECT payload FROM events WHERE type = 'sync.health.changed' ORDER BY id DESC")
                )
            ).first()[0]
        )
    assert data["instance"] == "tt_health_events"
    assert data["since"].endswith("Z")

    disabled = await api.put(
        "/v1/instances/tt_health_events/gesdent", json={**rules_for(sandbox), "enabled": False}
    )
    assert disabled.status_code == 200, disabled.text
    assert (None, "failing", "disabled") in (await _health_events(app))[7 + len(stale) :]
