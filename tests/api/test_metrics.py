"""`GET /metrics`: the Prometheus text, parsed by prometheus_client's parser; HTTP requests counted
by route template, the pool and the queue read at scrape time, and the token guard."""

import math
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app.config import Settings
from app.db.models import SyncRun, table_of
from app.main import create_app
from tests.conftest import BASE_URL, MASTER_KEY, SECRET_KEY, configure_gesdent
from tests.metrics_text import Scrape


def _plain(app: FastAPI, **headers: str) -> httpx.AsyncClient:
    # Not the contract-checked clients of tests/conftest.py: /metrics is not in the spec, on purpose.
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=headers)


async def scrape(app: FastAPI) -> Scrape:
    async with _plain(app) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Scrape.parse(response.text)


async def test_requests_are_counted_by_route_template_never_by_path(app, api):
    before = await scrape(app)
    for _ in range(2):
        assert (await api.get("/v1/instances/tt_secret_name")).status_code == 404
    async with _plain(app) as client:
        assert (await client.get("/no/such/tt_other_secret")).status_code == 404
    after = await scrape(app)
    labels = {"route": "/v1/instances/{name}", "method": "GET", "status": "404"}
    assert (
        after.value("portico_http_requests_total", **labels)
        - before.value("portico_http_requests_total", **labels)
        == 2
    )
    timed = {"route": "/v1/instances/{name}", "method": "GET"}
    count = "portico_http_request_duration_seconds_count"
    assert after.value(count, **timed) - before.value(count, **timed) == 2
    unmatched = {"route": "(unmatched)", "method": "GET", "status": "404"}
    assert after.value("portico_http_requests_total", **unmatched) > before.value(
        "portico_http_requests_total", **unmatched
    )
    # The paths' names never become labels (a route template may say "secret": rotate-secret).
    assert not any("tt_secret_name" in value or "tt_other_secret" in value for value in after.label_values())


async def test_a_method_of_the_callers_choosing_is_one_label(app):
    before = await scrape(app)
    async with _plain(app) as client:
        await client.request("BREWCOFFEE", "/healthz")
    after = await scrape(app)
    assert "BREWCOFFEE" not in after.label_values()
    other = {"route": "/healthz", "method": "other", "status": "405"}
    assert (
        after.value("portico_http_requests_total", **other)
        == before.value("portico_http_requests_total", **other) + 1
    )


async def test_queued_runs_and_the_age_of_the_oldest_are_read_at_scrape_time(app, api):
    empty = await scrape(app)
    assert empty.value("portico_sync_queued_runs") == 0
    assert empty.value("portico_sync_oldest_queued_run_age_seconds") == 0
    await configure_gesdent(api, "tt_queued")
    assert (await api.post("/v1/instances/tt_queued/sync-runs")).status_code == 202
    queued = await scrape(app)
    assert queued.value("portico_sync_queued_runs") == 1
    assert 0 <= queued.value("portico_sync_oldest_queued_run_age_seconds") < 60


async def test_a_run_handed_back_has_waited_since_it_was_handed_back(app, api):
    await configure_gesdent(api, "tt_handed")
    assert (await api.post("/v1/instances/tt_handed/sync-runs")).status_code == 202
    # As `queue.hand_back` leaves a run that began an hour ago: queued again, its lease ended now.
    now = datetime.now(UTC)
    async with app.state.engine.begin() as connection:
        await connection.execute(
            update(table_of(SyncRun)).values(requested_at=now - timedelta(hours=1), lease_expires_at=now)
        )
    assert 0 <= (await scrape(app)).value("portico_sync_oldest_queued_run_age_seconds") < 60


async def test_the_pool_gauges_are_read_from_the_engine(app):
    metrics = await scrape(app)
    pool = app.state.engine.sync_engine.pool
    if not hasattr(pool, "checkedout"):
        pytest.skip(f"{type(pool).__name__} keeps no count of its connections")
    assert metrics.value("portico_db_pool_size") == pool.size()
    assert metrics.value("portico_db_pool_checked_out") >= 0
    assert not math.isnan(metrics.value("portico_db_pool_overflow"))


@pytest.fixture
async def guarded(database_url):
    settings = Settings(
        database_url=database_url,
        master_key=MASTER_KEY,
        secret_keys=SECRET_KEY,
        scheduler=False,
        auto_migrate=False,
        metrics_token="tt-metrics-token",
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_the_token_guards_metrics_when_it_is_set(guarded):
    async with _plain(guarded) as client:
        refused = await client.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "tt-metrics-token" not in refused.text
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer tt-wrong"})
        assert wrong.status_code == 401
        master = await client.get("/metrics", headers={"Authorization": f"Bearer {MASTER_KEY}"})
        assert master.status_code == 401  # the token, not an API key
        allowed = await client.get("/metrics", headers={"Authorization": "Bearer tt-metrics-token"})
    assert allowed.status_code == 200
    assert "portico_http_requests_total" in Scrape.parse(allowed.text).names()


async def test_metrics_is_open_without_a_token_and_not_in_the_spec(app):
    assert app.state.settings.metrics_token is None
    await scrape(app)  # 200 without any Authorization
    assert "/metrics" not in app.openapi()["paths"]
