"""SIGTERM on a real `portico worker` (and `portico serve`) mid-run, on both databases: the process
exits within its grace (plus a margin), and another worker resumes the run at once, well before the
120 s lease would have run out, and the data ends complete; a run that ends within the grace is
recorded by the stopping worker itself."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from app.db.models import SyncRun
from tests.conftest import MASTER_KEY, SECRET_KEY, create_instance
from tests.processes import LoggedProcess, clean_env, free_port, portico_command, start, stop, wait_ready
from tests.sync.importing import cursors, stored
from tests.sync.sandbox_server import SandboxServer
from tests.sync.test_end_to_end import rules_for
from tests.sync.test_shutdown import LONG_LEASE, _worker

MARGIN = 8.0  # seconds beyond the grace for the process to hand back, close its pool and exit


def _portico_worker(database_url: str, log: Path, grace: float) -> LoggedProcess:
    env = {
        **os.environ,
        "PORTICO_DATABASE_URL": database_url,
        "PORTICO_SECRET_KEYS": SECRET_KEY,
        "PORTICO_SCHEDULER_TICK_SECONDS": "3600",
        "PORTICO_SYNC_LEASE_SECONDS": str(LONG_LEASE.total_seconds()),
        "PORTICO_SYNC_WORKERS": "2",
        "PORTICO_SHUTDOWN_GRACE_SECONDS": str(grace),
        "PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS": "true",  # the sandbox listens on loopback
        "PORTICO_LOG_FORMAT": "console",
    }
    return start("portico worker", portico_command("worker"), log, env=env)


async def _queued_run(api: httpx.AsyncClient, sandbox: SandboxServer, name: str) -> str:
    await create_instance(api, name)
    rules = {**rules_for(sandbox), "enabled": False}  # no scheduled runs: only ours
    assert (await api.put(f"/v1/instances/{name}/gesdent", json=rules)).status_code == 201
    run_id: str = (await api.post(f"/v1/instances/{name}/sync-runs")).json()["id"]
    return run_id


async def _read(app: FastAPI, run_id: str) -> SyncRun:
    async with app.state.sessionmaker() as session:
        run: SyncRun | None = await session.get(SyncRun, run_id)
        assert run is not None
        return run


async def _sigterm_when_slow(process: LoggedProcess, sandbox: SandboxServer) -> float:
    """SIGTERM once the worker waits for the slow reservations page; how long it took to exit."""
    deadline = time.monotonic() + 60
    while sandbox.control.stats()["reservations"]["faults"] < 1:
        assert process.popen.poll() is None, process.output()
        assert time.monotonic() < deadline, f"the worker never reached the slow page:\n{process.output()}"
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # well inside the slow answer
    process.popen.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    try:
        await asyncio.to_thread(process.popen.wait, 60)
    except subprocess.TimeoutExpired:
        stop(process, seconds=1)
        raise AssertionError(f"the worker ignored SIGTERM:\n{process.output()}") from None
    return time.monotonic() - sent


async def test_sigterm_mid_run_hands_it_to_another_worker_at_once(
    app: FastAPI, api: httpx.AsyncClient, sandbox: SandboxServer, database_url: str, tmp_path: Path
) -> None:
    run_id = await _queued_run(api, sandbox, "tt_sigterm")
    # The first reservations page takes far longer than the grace: the run must be cut.
    sandbox.control.fault("slow", endpoint="reservations", delay=30, times=1)
    grace = 2.0
    process = _portico_worker(database_url, tmp_path / "worker.log", grace)
    try:
        exited_in = await _sigterm_when_slow(process, sandbox)
    finally:
        stop(process, seconds=5)
    output = process.output()
    assert process.popen.returncode == 0, output
    assert grace - 0.5 < exited_in < grace + MARGIN, (exited_in, output)
    assert f"sync run {run_id}: handed back to the queue" in output, output
    run = await _read(app, run_id)
    assert (run.status, run.lease_owner, run.attempts) == ("queued", None, 0), output
    instance_id = run.instance_id
    assert "users" in await cursors(app, instance_id)  # committed before the cut: kept

    rescuer = _worker(app, "rescuer")
    asked = time.monotonic()
    assert await rescuer.run_once(), "the handed-back run was not claimable"
    assert time.monotonic() - asked < LONG_LEASE.total_seconds() / 4
    run = await _read(app, run_id)
    assert (run.status, run.attempts, run.lease_owner) == ("succeeded", 1, "rescuer"), run.error
    counts: dict[str, Any] = json.loads(run.counts)
    tables = sandbox.sandbox.dataset.tables
    assert counts["users"]["created"] == 0  # resumed from the committed cursor, not from scratch
    assert len(await stored(app, "users", instance_id)) == len(tables.user_by_id)
    assert len(await stored(app, "reservations", instance_id)) == len(tables.reservation_by_id)


async def test_a_run_ending_within_the_grace_is_recorded_by_the_stopping_worker(
    app: FastAPI, api: httpx.AsyncClient, sandbox: SandboxServer, database_url: str, tmp_path: Path
) -> None:
    run_id = await _queued_run(api, sandbox, "tt_sigterm_done")
    sandbox.control.fault("slow", endpoint="reservations", delay=2, times=1)
    grace = 30.0
    process = _portico_worker(database_url, tmp_path / "worker.log", grace)
    try:
        exited_in = await _sigterm_when_slow(process, sandbox)
    finally:
        stop(process, seconds=5)
    output = process.output()
    assert process.popen.returncode == 0, output
    assert exited_in < grace / 2, (exited_in, output)  # once the run ended, not after the grace
    assert "handed back" not in output, output
    run = await _read(app, run_id)
    assert (run.status, run.attempts) == ("succeeded", 1), (run.error, output)
    assert run.lease_owner is not None
    assert f":{process.popen.pid}:" in run.lease_owner  # the stopping process recorded it
    tables = sandbox.sandbox.dataset.tables
    assert len(await stored(app, "reservations", run.instance_id)) == len(tables.reservation_by_id)


async def test_sigterm_on_portico_serve_hands_its_run_back_too(
    app: FastAPI, api: httpx.AsyncClient, sandbox: SandboxServer, database_url: str, tmp_path: Path
) -> None:
    port, grace = free_port(), 2.0
    env = clean_env(
        database_url=database_url,
        port=str(port),
        master_key=MASTER_KEY,
        secret_keys=SECRET_KEY,
        scheduler_tick_seconds="3600",
        sync_workers="1",
        sync_lease_seconds=str(LONG_LEASE.total_seconds()),
        shutdown_grace_seconds=str(grace),
        gesdent_allow_private_networks="true",
    )
    process = start("portico serve", portico_command("serve"), tmp_path / "serve.log", env=env, cwd=tmp_path)
    try:
        await asyncio.to_thread(wait_ready, f"http://127.0.0.1:{port}/readyz", process, 30)
        sandbox.control.fault("slow", endpoint="reservations", delay=30, times=1)
        run_id = await _queued_run(api, sandbox, "tt_sigterm_serve")
        exited_in = await _sigterm_when_slow(process, sandbox)
    finally:
        stop(process, seconds=5)
    output = process.output()
    assert process.popen.returncode == 0, output
    assert exited_in < grace + MARGIN, (exited_in, output)
    assert f"sync run {run_id}: handed back to the queue" in output, output
    run = await _read(app, run_id)
    assert (run.status, run.lease_owner, run.attempts) == ("queued", None, 0), output
    assert await _worker(app, "rescuer").run_once()
    run = await _read(app, run_id)
    assert (run.status, run.attempts, run.lease_owner) == ("succeeded", 1, "rescuer"), run.error
    tables = sandbox.sandbox.dataset.tables
    assert len(await stored(app, "reservations", run.instance_id)) == len(tables.reservation_by_id)
