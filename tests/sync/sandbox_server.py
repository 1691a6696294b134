"""Run a GESDENT sandbox under uvicorn in a background thread, on a free loopback port.

server = start_sandbox(SandboxConfig(patients=100))
server.url                      # the base_url to configure, e.g. "http://127.0.0.1:53211/"
server.auth("users")            # httpx.DigestAuth with that family's credentials
server.control.fault("429", retry_after=2)
server.stop()
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

from gesdent_sandbox import Credential, Sandbox, SandboxConfig, create_sandbox_app
from gesdent_sandbox.config import CREDENTIAL_OF, CredentialFamily, Endpoint

START_TIMEOUT = 30.0  # a 100k-reservation sandbox generates its data before it listens


class SandboxControl:
    """Synchronous client of the control API (/_sandbox/). Each call answers the decoded JSON."""

    def __init__(self, root: str) -> None:
        self._client = httpx.Client(base_url=root + "_sandbox/", timeout=30)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._client.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = self._call("GET", "info")
        return info

    def fault(self, mode: str, **options: Any) -> dict[str, Any]:
        """Queue one fault: times=1, endpoint=None, retry_after=1, delay=1.0, status=503 by default."""
        queued: dict[str, Any] = self._call("POST", "faults", {"mode": mode, **options})
        return queued

    def faults(self) -> list[dict[str, Any]]:
        faults: list[dict[str, Any]] = self._call("GET", "faults")["faults"]
        return faults

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def mutate(self, **changes: Any) -> dict[str, Any]:
        """patients=n, reservations=n, availability=bool, new_patients=n, new_reservations=n."""
        mutated: dict[str, Any] = self._call("POST", "mutate", changes)
        return mutated

    def stats(self) -> dict[str, dict[str, int]]:
        stats: dict[str, dict[str, int]] = self._call("GET", "stats")
        return stats

    def clear_stats(self) -> None:
        self._call("DELETE", "stats")

    def reset(self) -> None:
        self._call("POST", "reset")

    def close(self) -> None:
        self._client.close()


class SandboxServer:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.app = create_sandbox_app(config)
        # The live state, for reading expected data in tests; change it through `control` only
        # (the server thread owns it).
        self.sandbox: Sandbox = self.app.state.sandbox
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.root = f"http://127.0.0.1:{self.port}/"
        # What Portico's connection rules hold as base_url: the root plus the configured prefix.
        self.url = self.root + config.path_prefix.lstrip("/")
        self.control = SandboxControl(self.root)
        uvicorn_config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(uvicorn_config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="gesdent-sandbox", daemon=True
        )

    @property
    def resource_ids(self) -> list[str]:
        return list(self.sandbox.dataset.resource_ids)

    @property
    def credentials(self) -> dict[CredentialFamily, Credential]:
        return dict(self.sandbox.credentials)

    def credential(self, endpoint: Endpoint) -> Credential:
        """The credential an endpoint family takes (resources take the availability one)."""
        return self.sandbox.credentials[CREDENTIAL_OF[endpoint]]

    def auth(self, endpoint: Endpoint) -> httpx.DigestAuth:
        username, password = self.credential(endpoint)
        return httpx.DigestAuth(username, password)

    def start(self) -> SandboxServer:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the GESDENT sandbox failed to start")
            if time.monotonic() > deadline:
                raise TimeoutError("the GESDENT sandbox did not start in time")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.control.close()
        self._socket.close()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(config: SandboxConfig | None = None, **fields: Any) -> SandboxServer:
    """A running sandbox for `config` (default SandboxConfig()), with `fields` overriding it."""
    base = config or SandboxConfig()
    # Validate again rather than model_copy(update=...), which would skip normalising the fields.
    return SandboxServer(SandboxConfig.model_validate({**base.model_dump(), **fields})).start()
