"""Sync runs through the API: trigger, one active run, list, read, status, legacy URL, webhook."""

import contextlib
import json
import sqlite3
import time

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from app.domain.webhooks import sign
from tests.conftest import assert_problem, create_instance

RULES = {
    "base_url": "http://127.0.0.1:9/",
    "resource_ids": ["AAAA1111-BBBB2222"],
    "credentials": {"users": "u:pw", "reservations": "r:pw", "availability": "a:pw"},
}


async def _configured(api, name="tt_c"):
    await create_instance(api, name)
    response = await api.put(f"/v1/instances/{name}/gesdent", json=RULES)
    assert response.status_code == 201, response.text
    return response.json()["webhook_secret"]


async def test_trigger_returns_the_active_run(api):
    await _configured(api)
    first = await api.post("/v1/instances/tt_c/sync-runs", json={"full_refresh": True})
    assert first.status_code == 202, first.text
    run = first.json()
    assert (run["status"], run["trigger"], run["full_refresh"], run["instance"]) == (
        "queued",
        "manual",
        True,
        "tt_c",
    )
    assert first.headers["location"] == f"/v1/sync-runs/{run['id']}"
    again = await api.post("/v1/instances/tt_c/sync-runs")
    assert again.status_code == 200 and again.json()["id"] == run["id"]
    assert (await api.get(f"/v1/sync-runs/{run['id']}")).json()["status"] == "queued"
    listed = (await api.get("/v1/instances/tt_c/sync-runs")).json()
    assert [r["id"] for r in listed["items"]] == [run["id"]]
    status = (await api.get("/v1/instances/tt_c/sync-status")).json()
    assert status["configured"] is True and status["active_run"]["id"] == run["id"]
    assert status["last_success"] is None and status["next_scheduled_at"].endswith("Z")


async def test_not_configured_and_unknown(api, other):
    await create_instance(api, "tt_c")
    assert_problem(await api.post("/v1/instances/tt_c/sync-runs"), 409, "gesdent-not-configured")
    assert_problem(await api.post("/v1/instances/tt_none/sync-runs"), 404, "not-found")
    assert_problem(await api.get("/v1/sync-runs/01a1ff51-c028-7076-b35e-6d2c56bfe716"), 404, "not-found")
    await _configured(api, "tt_d")
    run = (await api.post("/v1/instances/tt_d/sync-runs")).json()
    assert_problem(await other.get(f"/v1/sync-runs/{run['id']}"), 404, "not-found")
    assert_problem(
        await api.post("/v1/instances/tt_d/sync-runs", json={"full_refresh": "yes"}), 422, "validation-error"
    )


async def test_scopes(api, make_client):
    await _configured(api)
    reader = await make_client(["sync:read"], partner_id=api.partner_id)
    assert_problem(await reader.post("/v1/instances/tt_c/sync-runs"), 403, "missing-scope")
    assert (await reader.get("/v1/instances/tt_c/sync-status")).status_code == 200
    runner = await make_client(["sync:run"], partner_id=api.partner_id)
    assert_problem(await runner.get("/v1/instances/tt_c/sync-runs"), 403, "missing-scope")


async def test_legacy_trigger(api, anon):
    await _configured(api)
    response = await api.get("/cron_importer_gesdent.php", params={"dbName": "tt_c"})
    assert response.status_code == 202 and response.json()["trigger"] == "manual"
    assert (await api.get("/cron_importer_gesdent.php", params={"dbName": "tt_c"})).status_code == 200
    assert (await anon.get("/cron_importer_gesdent.php", params={"dbName": "tt_c"})).status_code == 401
    assert (await api.get("/cron_importer_gesdent.php", params={"dbName": "c"})).status_code == 200  # tt_c
    assert_problem(
        await api.get("/cron_importer_gesdent.php", params={"dbName": "TT-C"}), 422, "validation-error"
    )
    assert_problem(await api.get("/cron_importer_gesdent.php", params={"dbName": "tt_zz"}), 404, "not-found")


def _signed(secret, body, *, webhook_id="msg_1", at=None):
    timestamp = str(int(time.time() if at is None else at))
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": sign(secret, webhook_id, timestamp, body),
        "content-type": "application/json",
    }


async def test_webhook_signature_timestamp_and_replay(api, anon):
    secret = await _configured(api)
    body = json.dumps({"type": "data.changed", "db_name": "tt_c", "streams": ["reservations"]}).encode()
    url = "/v1/webhooks/gesdent"
    ok = await anon.post(url, content=body, headers=_signed(secret, body))
    assert ok.status_code == 202, ok.text
    assert ok.json()["status"] == "queued"
    assert (ok.json()["run"]["trigger"], ok.json()["run"]["streams"]) == ("webhook", ["reservations"])
    replay = await anon.post(url, content=body, headers=_signed(secret, body))
    assert replay.status_code == 200 and replay.json() == {"status": "duplicate", "run": None}
    again = await anon.post(url, content=body, headers=_signed(secret, body, webhook_id="msg_2"))
    assert again.status_code == 200 and again.json()["status"] == "already_active"
    # Refused, all alike: a wrong secret, a tampered body, a stale or future timestamp, an unknown db.
    wrong = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    tampered = body.replace(b"reservations", b"availability")
    cases = [
        _signed(wrong, body, webhook_id="m3"),
        {**_signed(secret, body, webhook_id="m4")},
        _signed(secret, body, webhook_id="m5", at=time.time() - 360),
        _signed(secret, body, webhook_id="m6", at=time.time() + 360),
    ]
    for index, headers in enumerate(cases):
        content = tampered if index == 1 else body
        assert_problem(await anon.post(url, content=content, headers=headers), 401, "invalid-signature")
    unknown = json.dumps({"type": "data.changed", "db_name": "tt_nope"}).encode()
    assert_problem(
        await anon.post(url, content=unknown, headers=_signed(secret, unknown)), 401, "invalid-signature"
    )
    missing = await anon.post(url, content=body, headers={"content-type": "application/json"})
    assert_problem(missing, 422, "validation-error")
    junk = b'{"type": "other"}'
    assert_problem(
        await anon.post(url, content=junk, headers=_signed(secret, junk, webhook_id="m7")),
        422,
        "validation-error",
    )


@pytest.mark.parametrize(
    ("named", "streams"),
    [
        (["availability", "patients"], ["users", "availability"]),  # `patients` is the users stream
        ([], ["resources", "users", "reservations", "availability"]),  # none named: all of them
    ],
)
async def test_a_webhook_runs_the_streams_it_names_in_import_order(api, anon, named, streams):
    secret = await _configured(api)
    body = json.dumps({"type": "data.changed", "db_name": "tt_c", "streams": named}).encode()
    answer = await anon.post("/v1/webhooks/gesdent", content=body, headers=_signed(secret, body))
    assert answer.status_code == 202, answer.text
    assert answer.json()["run"]["streams"] == streams


async def test_another_partner_cannot_trigger_by_database_name(api, other):
    await _configured(api)
    assert_problem(await other.get("/cron_importer_gesdent.php", params={"dbName": "tt_c"}), 404, "not-found")
    assert_problem(await other.post("/v1/instances/tt_c/sync-runs"), 404, "not-found")
    assert (await api.get("/v1/instances/tt_c/sync-runs")).json()["items"] == []


async def test_webhook_names_the_database_with_or_without_tt(api, anon):
    secret = await _configured(api)
    body = json.dumps(
        {"type": "data.changed", "db_name": "c"}
    ).encode()  # tt_c, as the procedure may write it
    answer = await anon.post("/v1/webhooks/gesdent", content=body, headers=_signed(secret, body))
    assert answer.status_code == 202, answer.text
    assert answer.json()["run"]["instance"] == "tt_c"
    near = json.dumps({"type": "data.changed", "db_name": "TT-C"}).encode()
    refused = await anon.post(
        "/v1/webhooks/gesdent", content=near, headers=_signed(secret, near, webhook_id="m2")
    )
    assert "did you mean 'tt_c'" in assert_problem(refused, 422, "validation-error")["detail"]


async def test_the_legacy_get_writes_under_the_write_lock(app, api, backend, database_url):
    """The old importer's URL is a GET that starts a run. On SQLite a transaction that read first
    cannot wait for the write lock later: when another writer commits in between (a worker, every
    second), its first write fails at once with 'database is locked'. Here another connection
    commits exactly in between; the run must be queued all the same."""
    if backend != "sqlite":
        pytest.skip("a question of SQLite's one writer")
    await _configured(api)
    path = make_url(database_url).database

    def commit_elsewhere(conn, cursor, statement, *args):
        if statement.startswith("INSERT INTO sync_runs"):
            other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
            with contextlib.suppress(sqlite3.OperationalError):  # locked out: the lock was taken first
                other.execute("UPDATE partners SET name = name || '.'")  # a real change
            other.close()

    event.listen(app.state.engine.sync_engine, "before_cursor_execute", commit_elsewhere)
    try:
        response = await api.get("/cron_importer_gesdent.php", params={"dbName": "tt_c"})
    finally:
        event.remove(app.state.engine.sync_engine, "before_cursor_execute", commit_elsewhere)
    assert response.status_code == 202, response.text
