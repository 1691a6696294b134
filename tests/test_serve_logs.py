"""The log of a real `portico serve`, configured as an operator runs it: stderr is a file, so every
line is JSON; every request has its line, with the id it was answered under; and no key, password
or webhook secret appears anywhere in it, however the requests carried them."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_gesdent import PASSWORDS, RULES
from tests.processes import LoggedProcess, clean_env, free_port, portico_command, running, wait_ready


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, LoggedProcess, Path]]:
    folder = tmp_path_factory.mktemp("serve-logs")
    port = free_port()
    database_url = f"sqlite+aiosqlite:///{folder}/portico.db"
    # Private networks: the GESDENT rules name a loopback address (nothing is synced: no scheduler).
    env = clean_env(
        database_url=database_url, port=str(port), scheduler="false", gesdent_allow_private_networks="true"
    )
    with running(
        "portico serve", portico_command("serve"), folder / "serve.log", env=env, cwd=folder, stop_seconds=20
    ) as process:
        wait_ready(f"http://127.0.0.1:{port}/readyz", process, 30)
        yield f"http://127.0.0.1:{port}", process, folder


def _lines(process: LoggedProcess) -> list[dict[str, Any]]:
    time.sleep(0.2)  # a request's line is written once its answer is sent
    lines = []
    for line in process.output().splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
    return lines


def test_every_line_is_json_and_requests_have_theirs(server):
    base, process, folder = server
    master = (folder / "portico.db.master.key").read_text().strip()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {master}"}) as admin:
        partner = admin.post("/v1/partners", json={"name": "Logs"}).json()["id"]
        key = admin.post(f"/v1/partners/{partner}/api-keys", json={"name": "logs"}).json()["key"]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as api:
        assert api.post("/v1/instances", json={"name": "tt_logs"}).status_code == 201
        configured = api.put(
            "/v1/instances/tt_logs/gesdent", json={**RULES, "base_url": "http://127.0.0.1:9"}
        )
        assert configured.status_code == 201, configured.text
        webhook_secret = configured.json()["webhook_secret"]
        missing = api.get("/v1/instances/tt_nowhere", headers={"X-Request-ID": "serve-404"})
        api.get("/cron_importer_gesdent.php", params={"dbName": "tt_logs", "api_key": key})
    assert missing.headers["x-request-id"] == "serve-404"
    assert missing.json()["request_id"] == "serve-404"
    with httpx.Client(base_url=base) as anon:
        anon.get("/v1/instances", auth=("someone", key), headers={"Accept": "text/html"})
        anon.get("/v1/instances", headers={"Authorization": f"Bearer {key[:-3]}xyz"})

    lines = _lines(process)
    [line] = [line for line in lines if line.get("request_id") == "serve-404"]
    assert line["logger"] == "portico.requests"
    assert (line["method"], line["route"], line["status"]) == ("GET", "/v1/instances/{name}", 404)
    assert line["partner_id"] == partner
    assert line["duration_ms"] >= 0
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]  # one line per request
    assert any(line["event"].startswith("Uvicorn running on") for line in lines)
    written = process.output()
    for secret in (master, key, key[:-3] + "xyz", webhook_secret, *PASSWORDS):
        assert secret not in written


def test_a_431_carries_the_request_id_too(server):
    base, process, _ = server
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-ID: big-1\r\nX-Big: " + b"a" * 40_000)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431")
    assert b"x-request-id: big-1" in head.lower()
    assert json.loads(body)["request_id"] == "big-1"
    assert any(line.get("request_id") == "big-1" and line["status"] == 431 for line in _lines(process))
