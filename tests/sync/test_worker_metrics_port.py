"""`portico worker --metrics-port`: a real worker process serves its own metrics, guarded by
PORTICO_METRICS_TOKEN, and they show the scheduled run it ran against the sandbox."""

import asyncio
import time

import httpx

from tests.conftest import SECRET_KEY, create_instance
from tests.metrics_text import Scrape
from tests.processes import LoggedProcess, clean_env, free_port, portico_command, start, stop
from tests.sync.test_end_to_end import rules_for

TOKEN = "tt-worker-metrics-token"


async def test_the_worker_serves_its_metrics_on_its_port(api, sandbox, database_url, tmp_path):
    await create_instance(api, "tt_worker_metered")
    rules = {**rules_for(sandbox), "interval_minutes": 1440}
    assert (await api.put("/v1/instances/tt_worker_metered/gesdent", json=rules)).status_code == 201
    port = free_port()
    env = clean_env(
        database_url=database_url,
        secret_keys=SECRET_KEY,
        scheduler_tick_seconds="0.5",
        sync_workers="1",
        gesdent_allow_private_networks="true",  # the sandbox listens on loopback
        metrics_token=TOKEN,
    )
    command = portico_command("worker", "--metrics-port", str(port))
    url = f"http://127.0.0.1:{port}/metrics"
    worker = start("portico worker", command, tmp_path / "worker.log", env=env)
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            scrape = await _scrape_until_run_finished(client, url, worker)
            assert (await client.get(url)).status_code == 401
            assert (await client.get(f"http://127.0.0.1:{port}/other")).status_code == 404
    finally:
        stop(worker, seconds=20)
    assert worker.popen.returncode == 0, worker.output()  # SIGTERM stops the metrics port too
    assert scrape.value("portico_sync_ticker_duration_seconds_count") >= 1
    assert scrape.value("portico_sync_records_total", stream="users", outcome="created") > 0
    assert "portico_db_pool_checked_out" in scrape.names()
    assert "tt_worker_metered" not in scrape.label_values()
    assert "portico_http_requests_total" not in scrape.names()  # no HTTP API in a worker


async def _scrape_until_run_finished(client: httpx.AsyncClient, url: str, worker: LoggedProcess) -> Scrape:
    deadline, last = time.monotonic() + 90, "no answer"
    while time.monotonic() < deadline:
        assert worker.popen.poll() is None, worker.output()
        try:
            response = await client.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
        except httpx.TransportError as exc:
            last = repr(exc)
        else:
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
            scrape = Scrape.parse(response.text)
            if scrape.value("portico_sync_runs_finished_total", status="succeeded", trigger="schedule") == 1:
                return scrape
            last = "no finished run yet"
        await asyncio.sleep(0.3)
    raise AssertionError(f"the worker's metrics never showed its run ({last}):\n{worker.output()}")
