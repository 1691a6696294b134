"""The whole path through the API: configure, trigger, a worker runs the real importer against the
sandbox over HTTP, then read the run, the status, the data and the report. And no secret, ever,
in a response body or a log line."""

import json
import logging
import time
from typing import Any

import sqlalchemy as sa

from app.crypto import SecretBox, new_key
from app.db.models import SyncRun, table_of
from app.domain.webhooks import sign
from app.sync.retries import RetryPolicy
from app.sync.worker import Worker
from tests.conftest import add_member, create_instance, create_portal
from tests.sync.sandbox_server import SandboxServer

FAST = {"retry": RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02, max_retry_after=0.1)}


def rules_for(sandbox: SandboxServer) -> dict[str, Any]:
    return {
        "base_url": sandbox.url,
        "resource_ids": sandbox.resource_ids,
        "credentials": {family: str(credential) for family, credential in sandbox.credentials.items()},
        "window_days": 14,
    }


async def sync_now(app, api, name, *, allow_private_networks=True, default_base_url=None):
    """Trigger a run of `name` through the API, run it with a worker here, and answer it as read back."""
    response = await api.post(f"/v1/instances/{name}/sync-runs")
    assert response.status_code == 202, response.text
    worker = Worker(
        app.state.sessionmaker,
        app.state.secret_box,
        owner="e2e",
        client_options=FAST,
        allow_private_networks=allow_private_networks,
        default_base_url=default_base_url,
    )
    assert await worker.run_once()
    return (await api.get(f"/v1/sync-runs/{response.json()['id']}")).json()


async def test_configure_trigger_import_and_read(app, api, sandbox):
    await create_portal(api, "tt_portal")
    await add_member(api, "tt_portal", "tt_clinic")
    assert (await api.put("/v1/instances/tt_clinic/gesdent", json=rules_for(sandbox))).status_code == 201
    run = await sync_now(app, api, "tt_clinic")
    assert run["status"] == "succeeded", run
    tables = sandbox.sandbox.dataset.tables
    assert run["counts"]["users"]["created"] == len(tables.user_by_id)
    assert run["counts"]["reservations"]["created"] == len(tables.reservation_by_id)
    assert run["counts"]["resources"]["created"] == len(sandbox.resource_ids)
    assert run["duration_seconds"] is not None
    assert run["error"] is None
    status = (await api.get("/v1/instances/tt_clinic/sync-status")).json()
    assert status["last_success"]["run_id"] == run["id"]
    assert status["active_run"] is None
    resources = (await api.get("/v1/instances/tt_clinic/resources")).json()["items"]
    assert sorted(r["id"] for r in resources) == sorted(sandbox.resource_ids)
    slots = (await api.get("/v1/instances/tt_clinic/availability", params={"limit": 5})).json()["items"]
    assert slots
    assert all(s["treatment_codes"] for s in slots)
    report = (await api.get("/v1/portals/tt_portal/report")).json()
    assert report["members"][0]["last_sync"] == run["finished_at"]
    again = await sync_now(app, api, "tt_clinic")
    assert again["status"] == "succeeded"
    assert sum(c["created"] + c["updated"] for c in again["counts"].values()) == 0
    # The report's last sync is the member's health record, not a scan of its runs: it outlives
    # the runs that retention prunes.
    async with app.state.engine.begin() as connection:
        await connection.execute(sa.delete(table_of(SyncRun)))
    report = (await api.get("/v1/portals/tt_portal/report")).json()
    assert report["members"][0]["last_sync"] == again["finished_at"]


async def test_no_secret_in_any_response_or_log_line(app, api, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    bodies = []
    await create_instance(api, "tt_secret")
    configured = await api.put("/v1/instances/tt_secret/gesdent", json=rules_for(sandbox))
    webhook_secret = configured.json()["webhook_secret"]
    bodies.append(configured.text.replace(webhook_secret, ""))  # shown once, on purpose
    bodies.append((await api.get("/v1/instances/tt_secret/gesdent")).text)
    bodies.append((await api.get("/v1/instances/tt_secret/gesdent")).text)
    succeeded = await sync_now(app, api, "tt_secret")
    sandbox.control.fault("wrong_credentials", endpoint="users")
    failed = await sync_now(app, api, "tt_secret")
    sandbox.control.clear_faults()
    assert succeeded["status"] == "succeeded"
    assert failed["status"] == "failed"
    assert "users" in failed["error"]
    bodies += [str(succeeded), str(failed), (await api.get("/v1/instances/tt_secret/sync-runs")).text]
    secrets = [credential.password for credential in sandbox.credentials.values()] + [webhook_secret]
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    for secret in secrets:
        assert all(secret not in body for body in bodies), secret
        assert secret not in logged, secret


async def test_the_run_checks_where_the_base_url_points_again(app, api, sandbox):
    """Rules saved while private networks were allowed (or a host whose DNS changed since) do not
    let a worker that forbids them reach a loopback address."""
    await create_instance(api, "tt_rebind")
    assert (await api.put("/v1/instances/tt_rebind/gesdent", json=rules_for(sandbox))).status_code == 201
    run = await sync_now(app, api, "tt_rebind", allow_private_networks=False)
    assert run["status"] == "failed", run["error"]
    assert "loopback" in run["error"], run["error"]
    assert sandbox.control.stats()["total"]["requests"] == 0


async def test_secrets_under_a_lost_key_fail_readably(app, api, sandbox):
    await create_instance(api, "tt_lost")
    configured = await api.put("/v1/instances/tt_lost/gesdent", json=rules_for(sandbox))
    secret = configured.json()["webhook_secret"]
    original = app.state.secret_box
    app.state.secret_box = SecretBox([new_key()])  # as after dropping the key they were encrypted with
    try:
        run = await sync_now(app, api, "tt_lost")
        assert run["status"] == "failed"
        assert "PORTICO_SECRET_KEYS" in run["error"]
        body = json.dumps({"type": "data.changed", "db_name": "tt_lost"}).encode()
        stamp = str(int(time.time()))
        headers = {
            "webhook-id": "x1",
            "webhook-timestamp": stamp,
            "webhook-signature": sign(secret, "x1", stamp, body),
            "content-type": "application/json",
        }
        answer = await api.post("/v1/webhooks/gesdent", content=body, headers=headers)
        assert answer.status_code == 401, answer.text
    finally:
        app.state.secret_box = original
