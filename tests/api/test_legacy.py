"""The old importer's manual run URL, `cron_importer_gesdent.php?dbName=…`, kept for bookmarks and cron
lines (app/routers/legacy.py); its pages for people: tests/api/test_pages.py."""

import contextlib
import sqlite3

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from tests.api.test_pages import as_browser
from tests.conftest import assert_problem, configure_gesdent


async def test_legacy_trigger(api, anon):
    await configure_gesdent(api)
    response = await api.get("/cron_importer_gesdent.php", params={"dbName": "tt_c"})
    assert response.status_code == 202
    assert response.json()["trigger"] == "manual"
    assert (await api.get("/cron_importer_gesdent.php", params={"dbName": "tt_c"})).status_code == 200
    assert (await anon.get("/cron_importer_gesdent.php", params={"dbName": "tt_c"})).status_code == 401
    assert (await api.get("/cron_importer_gesdent.php", params={"dbName": "c"})).status_code == 200  # tt_c
    assert_problem(
        await api.get("/cron_importer_gesdent.php", params={"dbName": "TT-C"}), 422, "validation-error"
    )
    assert_problem(await api.get("/cron_importer_gesdent.php", params={"dbName": "tt_zz"}), 404, "not-found")


async def test_another_partner_cannot_trigger_by_database_name(api, other):
    await configure_gesdent(api)
    assert_problem(await other.get("/cron_importer_gesdent.php", params={"dbName": "tt_c"}), 404, "not-found")
    assert_problem(await other.post("/v1/instances/tt_c/sync-runs"), 404, "not-found")
    assert (await api.get("/v1/instances/tt_c/sync-runs")).json()["items"] == []


async def test_the_legacy_get_writes_under_the_write_lock(app, api, backend, database_url):
    """The old importer's URL is a GET that starts a run. On SQLite a transaction that read first
    cannot wait for the write lock later: when another writer commits in between (a worker, every
    second), its first write fails at once with 'database is locked'. Here another connection
    commits exactly in between; the run must be queued all the same."""
    if backend != "sqlite":
        pytest.skip("a question of SQLite's one writer")
    await configure_gesdent(api)
    path = make_url(database_url).database
    assert path is not None

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


async def test_every_answer_of_a_run_says_the_url_is_deprecated_and_names_its_successor(api):
    await configure_gesdent(api)
    started = await api.get("/cron_importer_gesdent.php", params={"dbName": "c"})
    shown = await api.get("/cron_importer_gesdent.php", params={"dbName": "c", "run": started.json()["id"]})
    page = await api.get(
        "/cron_importer_gesdent.php", params={"dbName": "c"}, headers=as_browser(api, Origin="http://test")
    )
    assert page.headers["content-type"].startswith("text/html")
    for response in (started, shown, page):
        assert response.headers["Deprecation"] == "@1796515200"  # RFC 9745: 2026-12-06T00:00:00Z
        assert response.headers["Link"] == '</v1/instances/tt_c/sync-runs>; rel="successor-version"'
