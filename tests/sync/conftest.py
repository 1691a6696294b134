"""Fixtures for sync tests: a GESDENT sandbox over real HTTP.

`sandbox` is one server for the whole session, reset (initial data, no faults, zero stats) before
each test: starting it once keeps the tests fast. `make_sandbox(**config)` starts a dedicated one
(another seed, algorithm, size or path prefix), stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gesdent_sandbox import SandboxConfig
from tests.sync.sandbox_server import SandboxServer, start_sandbox

# Small enough to walk in full in a test, big enough for several pages and timestamp ties.
TEST_CONFIG = SandboxConfig(seed=1, patients=250, reservations=1200, resources=2)


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    server = start_sandbox(TEST_CONFIG)
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The session's sandbox, freshly reset."""
    sandbox_server.control.reset()
    return sandbox_server


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., SandboxServer]]:
    """Factory: a dedicated sandbox for `TEST_CONFIG` with the given fields changed."""
    servers: list[SandboxServer] = []

    def factory(**fields: Any) -> SandboxServer:
        server = start_sandbox(TEST_CONFIG, **fields)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()
