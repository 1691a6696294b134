"""An unexpected error is a 500 problem, logged once, on a keep-alive connection that stays usable:
a real uvicorn serving the app, and a raw socket holding one connection."""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy.exc import OperationalError

from app.config import Settings
from app.main import create_app
from tests.conftest import MASTER_KEY, SECRET_KEY
from tests.test_serving import Connection


@pytest.fixture
def failing_port(tmp_path: Path) -> Iterator[int]:
    """The port of a server whose app has, besides its own routes, one that fails."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/portico.db",
        master_key=MASTER_KEY,
        secret_keys=SECRET_KEY,
        scheduler=False,
    )
    app = create_app(settings)

    async def fail() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/test-failure", fail)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # log_config=None: the records reach pytest's caplog rather than uvicorn's own handlers.
    server = uvicorn.Server(uvicorn.Config(app, http="httptools", log_config=None))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "the server did not start"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


REQUEST = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def test_after_a_500_the_connection_serves_the_next_request(failing_port, caplog, log_lines):
    caplog.set_level(logging.INFO)
    with Connection(failing_port) as connection:
        connection.sock.sendall(REQUEST % b"/test-failure")
        status, headers, body = connection.answer()
        assert status == 500
        assert headers["content-type"] == "application/problem+json"
        assert headers.get("connection") != "close"
        problem = json.loads(body)
        assert problem["type"] == "/problems/internal-error"
        assert problem["request_id"] == headers["x-request-id"]  # the request's own id
        # The same connection, again: it was neither closed nor reset.
        connection.sock.sendall(REQUEST % b"/healthz")
        assert connection.answer()[0] == 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]  # logged once, by us, not uvicorn too
    assert problem["request_id"] in errors[0].getMessage()
    assert "GET /test-failure" in errors[0].getMessage()
    assert errors[0].exc_info
    assert "a bug" in str(errors[0].exc_info[1])
    # As written: one JSON line with the request's id and the traceback, and the request's line.
    [error] = [line for line in log_lines() if line["level"] == "error"]
    assert error["request_id"] == problem["request_id"]
    assert "RuntimeError: a bug" in error["exception"]
    [request] = [line for line in log_lines() if line.get("route") == "/test-failure"]
    assert (request["request_id"], request["status"]) == (problem["request_id"], 500)


async def test_a_locked_sqlite_database_is_a_503_to_retry(tmp_path: Path) -> None:
    """SQLite's "database is locked" (another writer held it past busy_timeout) is a condition to
    retry, not a bug: a 503 problem with Retry-After. Other database errors stay 500s."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/portico.db",
        master_key=MASTER_KEY,
        secret_keys=SECRET_KEY,
        scheduler=False,
    )
    app = create_app(settings)

    def failing(errorname: str):
        async def fail() -> None:
            orig = sqlite3.OperationalError("database is locked")
            orig.sqlite_errorname = errorname  # as sqlite3 sets it
            raise OperationalError("INSERT INTO sync_runs …", {}, orig)

        return fail

    app.add_api_route("/test-busy", failing("SQLITE_BUSY"), methods=["POST"])
    app.add_api_route("/test-other", failing("SQLITE_IOERR"), methods=["POST"])
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://portico.test"
        ) as client,
    ):
        busy = await client.post("/test-busy")
        other = await client.post("/test-other")
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "2"
    assert busy.json()["type"] == "/problems/database-busy"
    assert other.status_code == 500
    assert other.json()["type"] == "/problems/internal-error"
