"""A webhook receiver on loopback, in a background thread: it records every request it gets and
answers each as a script says (a status, headers, or holding the request until released).

with Receiver(lambda n, request: (500, {}) if n < 3 else (200, {})) as receiver:
    receiver.url          # the endpoint URL to register
    receiver.requests     # every request received, in order of arrival
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int | None = None  # what it was answered; None: not (yet) answered

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


# (request number from 0, the request) -> (status, headers); status 0 holds the request open until
# `release` is set, then closes the connection without an answer.
Script = Callable[[int, Received], tuple[int, dict[str, str]]]


@dataclass
class Receiver:
    script: Script
    requests: list[Received] = field(default_factory=list)
    held: threading.Event = field(default_factory=threading.Event)  # a request is being held
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the stdlib's name
                length = int(self.headers.get("content-length", "0"))
                received = Received({k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                with receiver._lock:
                    number = len(receiver.requests)
                    receiver.requests.append(received)
                status, headers = receiver.script(number, received)
                if status == 0:  # hold the request, then drop it unanswered
                    receiver.held.set()
                    receiver.release.wait(60)
                    self.close_connection = True
                    return
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()
                received.status = status

            def log_message(self, *args: Any) -> None:
                pass

        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def delivered(self) -> list[Received]:
        """The requests answered 2xx, in order of arrival."""
        return [r for r in self.requests if r.status is not None and 200 <= r.status < 300]

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
