"""Sync metrics after real runs: a manual run against the GESDENT sandbox moves the run, stream and
record counters as the run's recorded counts say; a takeover of an expired lease is counted; the
ticker is timed. Read back through `GET /metrics` and prometheus_client's parser."""

from datetime import timedelta

from app.db.models import SyncRun
from app.sync import queue
from app.sync.importer import ImportResult
from app.sync.scheduler import SyncService
from app.sync.worker import Worker
from tests.api.test_metrics import scrape
from tests.conftest import configure_gesdent
from tests.sync.test_end_to_end import FAST, rules_for

OUTCOMES = ("created", "updated", "deleted", "unchanged")


async def test_a_manual_run_moves_the_run_stream_and_record_counters(app, api, sandbox):
    await configure_gesdent(api, "tt_metered")
    assert (await api.put("/v1/instances/tt_metered/gesdent", json=rules_for(sandbox))).status_code == 200
    before = await scrape(app)
    triggered = await api.post("/v1/instances/tt_metered/sync-runs")
    assert triggered.status_code == 202, triggered.text
    worker = Worker(
        app.state.sessionmaker,
        app.state.secret_box,
        owner="metrics",
        client_options=FAST,
        allow_private_networks=True,
        metrics=app.state.metrics,
    )
    assert await worker.run_once()
    run = (await api.get(f"/v1/sync-runs/{triggered.json()['id']}")).json()
    assert run["status"] == "succeeded", run
    after = await scrape(app)

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert moved("portico_sync_runs_finished_total", status="succeeded", trigger="manual") == 1
    assert moved("portico_sync_run_duration_seconds_count", status="succeeded") == 1
    assert set(run["counts"]) == {"resources", "users", "reservations", "availability"}
    for stream, counts in run["counts"].items():
        assert moved("portico_sync_stream_duration_seconds_count", stream=stream) == 1
        for outcome in OUTCOMES:
            assert moved("portico_sync_records_total", stream=stream, outcome=outcome) == counts[outcome]
    assert moved("portico_sync_records_total", stream="users", outcome="created") > 0
    assert "tt_metered" not in after.label_values()
    assert run["id"] not in after.label_values()


async def test_a_run_claimed_after_its_lease_expired_is_a_takeover(app, api):
    await configure_gesdent(api, "tt_taken")
    assert (await api.post("/v1/instances/tt_taken/sync-runs")).status_code == 202
    # A first worker claims it with a lease that has run out at once, as if it had died.
    first = await queue.claim(app.state.sessionmaker, "gone", timedelta(seconds=-1))
    assert first is not None
    assert not first.taken_over
    before = await scrape(app)

    async def importer(*args, **kwargs) -> ImportResult:
        return ImportResult(status="succeeded")

    worker = Worker(
        app.state.sessionmaker,
        app.state.secret_box,
        owner="next",
        importer=importer,
        metrics=app.state.metrics,
    )
    assert await worker.run_once()
    after = await scrape(app)
    assert (
        after.value("portico_sync_lease_takeovers_total")
        == before.value("portico_sync_lease_takeovers_total") + 1
    )
    async with app.state.sessionmaker() as session:
        run = await session.get(SyncRun, first.run_id)
    assert run is not None
    assert (run.attempts, run.status) == (2, "succeeded")


async def test_the_ticker_is_timed(app):
    before = await scrape(app)
    service = SyncService(app.state.sessionmaker, app.state.secret_box, workers=0, metrics=app.state.metrics)
    await service.tick()
    after = await scrape(app)
    count = "portico_sync_ticker_duration_seconds_count"
    assert after.value(count) == before.value(count) + 1


async def test_a_run_found_abandoned_counts_as_a_failed_run(app, api):
    await configure_gesdent(api, "tt_abandoned")
    assert (await api.post("/v1/instances/tt_abandoned/sync-runs")).status_code == 202
    for attempt in range(queue.MAX_ATTEMPTS):  # workers that died with it, one after another
        assert await queue.claim(app.state.sessionmaker, f"died{attempt}", timedelta(seconds=-1))
    before = await scrape(app)
    worker = Worker(app.state.sessionmaker, app.state.secret_box, owner="next", metrics=app.state.metrics)
    assert not await worker.run_once()  # nothing left to run: the run was recorded failed
    after = await scrape(app)
    labels = {"status": "failed", "trigger": "manual"}
    assert (
        after.value("portico_sync_runs_finished_total", **labels)
        == before.value("portico_sync_runs_finished_total", **labels) + 1
    )
