"""What `portico serve` itself guarantees, against a real process over raw sockets: a request's head
(request line and headers) is bounded in size and count, refused with a 431 and a closed connection
before the rest is read, so that memory stays bounded; forwarded headers count only from trusted
proxies; the keys generated on the first start are never printed."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.serving import server_config
from tests.processes import LoggedProcess, clean_env, free_port, portico_command, running, wait_ready

MAX_HEADER_BYTES = 8192  # the fixture's limits, lower than the defaults, to keep the slow test short
MAX_HEADERS = 40


@dataclass
class Served:
    port: int
    process: LoggedProcess
    folder: Path

    def log(self) -> str:
        return self.process.output()

    def rss(self, field: str = "VmRSS") -> int:
        """A figure of the server's memory, in bytes, from /proc."""
        status = Path(f"/proc/{self.process.popen.pid}/status").read_text()
        match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
        assert match, status
        return int(match.group(1)) * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A first start of `portico serve` on a new SQLite database."""
    folder = tmp_path_factory.mktemp("served")
    port = free_port()
    env = clean_env(
        database_url=f"sqlite+aiosqlite:///{folder}/portico.db",
        port=str(port),
        scheduler="false",
        max_header_bytes=str(MAX_HEADER_BYTES),
        max_headers=str(MAX_HEADERS),
    )
    log = folder / "serve.log"
    with running(
        "portico serve", portico_command("serve"), log, env=env, cwd=folder, stop_seconds=20
    ) as process:
        wait_ready(f"http://127.0.0.1:{port}/readyz", process, 30)
        yield Served(port, process, folder)


class Connection:
    """A raw connection to the server, and the responses read off it."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        # A small send buffer, so that what the server has not read piles up in few places.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self.reader.close()
        self.sock.close()

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        """The next response: status, headers (lower-case names) and body."""
        status_line = self.reader.readline()
        assert status_line, "the connection closed without an answer"
        headers = {}
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.lower()] = value.strip()
        body = self.reader.read(int(headers.get("content-length", "0")))
        return int(status_line.split()[1]), headers, body


@dataclass
class Sent:
    accepted: int  # bytes the connection took before it failed (or all of them)
    seconds: float
    failed: bool


def _send(connection: Connection, head: bytes, total: int, piece: int = 65536) -> Sent:
    """Send `head`, then `total` bytes of a header value in pieces of `piece` bytes."""
    started, accepted = time.monotonic(), 0
    try:
        connection.sock.sendall(head)
        accepted += len(head)
        filler = b"a" * piece
        while accepted < total:
            connection.sock.sendall(filler)
            accepted += piece
    except OSError:  # the server closed the connection: a reset, a broken pipe or a full window
        return Sent(accepted, time.monotonic() - started, True)
    return Sent(accepted, time.monotonic() - started, False)


def _assert_431(connection: Connection) -> dict[str, object]:
    status, headers, body = connection.answer()
    assert status == 431, (status, body)
    assert headers["connection"] == "close"
    assert headers["content-type"] == "application/problem+json"
    problem: dict[str, object] = json.loads(body)
    assert problem["type"] == "/problems/request-header-fields-too-large"
    assert problem["status"] == 431
    with contextlib.suppress(ConnectionResetError):
        assert connection.sock.recv(1) == b""  # and the server closed the connection
    return problem


GET = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def test_an_oversized_header_is_refused_before_it_is_read(served):
    total = 64 * 1024 * 1024
    with Connection(served.port) as connection:
        sent = _send(connection, GET + b"X-Big: ", total)
        # The server stopped reading at the limit: the sender was stopped long before the end (what
        # it got rid of sits in the kernels' buffers), and quickly.
        assert sent.failed, sent
        assert sent.accepted < 16 * 1024 * 1024, sent
        assert sent.seconds < 5, sent
        problem = _assert_431(connection)
    assert str(MAX_HEADER_BYTES) in str(problem["detail"])


def test_a_header_sent_byte_by_byte_is_refused_at_the_limit(served):
    with Connection(served.port) as connection:
        connection.sock.settimeout(5)
        sent = _send(connection, GET + b"X-Slow: ", 4 * MAX_HEADER_BYTES, piece=1)
        assert sent.failed, sent
        assert sent.accepted < 2 * MAX_HEADER_BYTES, sent
        _assert_431(connection)


def test_a_long_request_line_is_refused(served):
    with Connection(served.port) as connection:
        connection.sock.sendall(b"GET /" + b"a" * MAX_HEADER_BYTES + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        _assert_431(connection)


def _head(size: int) -> bytes:
    """A GET whose head (request line, headers, blank line) is `size` bytes long."""
    start, end = GET + b"X-Pad: ", b"\r\n\r\n"
    return start + b"a" * (size - len(start) - len(end)) + end


def test_a_head_at_the_limit_is_served_and_one_byte_more_is_not(served):
    with Connection(served.port) as connection:
        for request in (GET + b"\r\n", _head(MAX_HEADER_BYTES), GET + b"\r\n" + GET + b"\r\n"):
            connection.sock.sendall(request)  # the last, two requests in one write (pipelined)
            assert connection.answer()[0] == 200
        assert connection.answer()[0] == 200
        # A body is not part of the head: a body longer than the head's limit is not refused for it.
        body = b"{" + b" " * (2 * MAX_HEADER_BYTES) + b"}"
        post = b"POST /v1/partners HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        connection.sock.sendall(post + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        assert connection.answer()[0] in (401, 422)  # no key, no name; not a 431
        connection.sock.sendall(_head(MAX_HEADER_BYTES + 1))
        _assert_431(connection)


def test_too_many_headers_are_refused(served):
    with Connection(served.port) as connection:
        most = b"".join(b"X-%d: 1\r\n" % i for i in range(MAX_HEADERS - 1))  # and Host
        connection.sock.sendall(GET + most + b"\r\n")
        assert connection.answer()[0] == 200
        connection.sock.sendall(GET + most + b"X-One-Too-Many: 1\r\n\r\n")
        assert f"more than {MAX_HEADERS} headers" in str(_assert_431(connection)["detail"])


def test_memory_stays_bounded_under_parallel_oversized_heads(served):
    before = served.rss("VmHWM")  # the peak so far
    results: list[Sent] = []

    def attack() -> None:
        with Connection(served.port) as connection:
            results.append(_send(connection, GET + b"X-Big: ", 32 * 1024 * 1024))

    threads = [threading.Thread(target=attack) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    grown = served.rss("VmHWM") - before
    assert grown < 32 * 1024 * 1024, f"the server's peak memory grew by {grown / 2**20:.0f} MiB"
    assert len(results) == 8, results
    assert all(r.failed for r in results), results
    assert httpx.get(f"http://127.0.0.1:{served.port}/healthz", timeout=5).status_code == 200


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(served):
    forged = {"X-Forwarded-For": "203.0.113.99", "X-Forwarded-Proto": "https", "Host": "evil.example"}
    response = httpx.get(f"http://127.0.0.1:{served.port}/readyz", headers=forged, timeout=5)
    assert response.status_code == 200
    assert all("evil.example" not in value for value in response.headers.values())
    response = httpx.get(f"http://127.0.0.1:{served.port}/readyz", headers={**forged, "X-Request-ID": "fwd"})
    time.sleep(0.2)  # the request's log line
    log = served.log()
    [line] = [json.loads(line) for line in log.splitlines() if '"fwd"' in line]
    assert (line["route"], line["status"], line["client"]) == ("/readyz", 200, "127.0.0.1")
    assert "203.0.113.99" not in log  # the request line names the real peer


def test_trusted_proxies_are_the_ones_named():
    settings = Settings(trusted_proxies="10.0.0.0/8, 127.0.0.1")
    config = server_config(settings, "app.main:create_app", "127.0.0.1", 8000)
    assert config.proxy_headers
    assert config.forwarded_allow_ips == ["10.0.0.0/8", "127.0.0.1"]
    untrusting = server_config(Settings(), "app.main:create_app", "127.0.0.1", 8000)
    assert not untrusting.proxy_headers
    with pytest.raises(ValueError, match="PORTICO_TRUSTED_PROXIES"):
        Settings(trusted_proxies="10.0.0.0/8, proxy.example")


def test_the_first_start_says_where_the_keys_are_but_not_the_keys(served):
    master = (served.folder / "portico.db.master.key").read_text().strip()
    secret = (served.folder / "portico.db.secret.key").read_text().strip()
    log = served.log()
    assert master not in log
    assert secret not in log
    assert f"{served.folder / 'portico.db.master.key'} (mode 0600)" in log
    assert "portico show-master-key" in log
    for name in ("portico.db.master.key", "portico.db.secret.key"):
        assert oct(os.stat(served.folder / name).st_mode & 0o777) == "0o600"
