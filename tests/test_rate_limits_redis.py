"""Replicas share rate limits through Redis (PORTICO_REDIS_URL): two `portico serve` processes on
loopback, one database, one Redis database and a key prefix of this run's own; a key's requests
spread over both are allowed exactly as many times as its limit says, and an address's failed
authentications add up across both too."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from app.crypto import new_key
from tests.conftest import IN_CI, fresh_database
from tests.processes import clean_env, replicas

MASTER_KEY = "ptc_master_rate_limits_test_0123456789abcdef"
SECRET_KEY = new_key()
LIMIT = 10
FAILURES = 4
REDIS = os.environ.get("PORTICO_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")


def _redis_reachable() -> str | None:
    host, port = "127.0.0.1", 6379
    try:
        with socket.create_connection((host, port), timeout=2) as connection:
            connection.sendall(b"PING\r\n")
            if connection.recv(16).startswith(b"+PONG"):
                return None
            return "it does not answer PING"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture(scope="module")
async def two_processes(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[list[str]]:
    """The base URLs of two `portico serve` processes sharing a database and a Redis."""
    reason = _redis_reachable()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true but Redis is unreachable at 127.0.0.1:6379: {reason}")
        pytest.skip(f"Redis unreachable at 127.0.0.1:6379 ({reason})")
    prefix = f"portico-test-{secrets.token_hex(6)}"  # this run's keys only, whatever else the db holds
    async with fresh_database("sqlite") as database_url:
        folder = tmp_path_factory.mktemp("rate-limits")
        env = clean_env(
            database_url=database_url,
            master_key=MASTER_KEY,
            secret_keys=SECRET_KEY,
            scheduler="false",
            redis_url=REDIS,
            rate_limit_prefix=prefix,
            rate_limit=f"{LIMIT}/minute",
            auth_failure_limit=f"{FAILURES}/minute",
        )
        with ExitStack() as stack:
            # Started in a thread: the event loop stays free meanwhile.
            yield await asyncio.to_thread(stack.enter_context, replicas(2, Path(folder), env=env))


async def test_two_processes_allow_a_key_its_limit_in_all(two_processes: list[str]) -> None:
    master = {"Authorization": f"Bearer {MASTER_KEY}"}
    async with httpx.AsyncClient(base_url=two_processes[0], headers=master) as admin:
        partner = await admin.post("/v1/partners", json={"name": "Shared"})
        created = await admin.post(f"/v1/partners/{partner.json()['id']}/api-keys", json={"name": "k"})
        assert created.status_code == 201, created.text
    key = {"Authorization": f"Bearer {created.json()['key']}"}
    async with (
        httpx.AsyncClient(base_url=two_processes[0], headers=key) as a,
        httpx.AsyncClient(base_url=two_processes[1], headers=key) as b,
    ):
        # One after the other, alternating: each process sees what the other counted.
        first = [await client.get("/v1/instances") for client in [a, b] * 2]
        # Then side by side, half through each process: more than what is left, in all.
        rest = await asyncio.gather(*(client.get("/v1/instances") for client in [a, b] * LIMIT))
    assert [int(answer.headers["ratelimit-remaining"]) for answer in first] == [9, 8, 7, 6]
    statuses = [answer.status_code for answer in [*first, *rest]]
    assert statuses.count(200) == LIMIT, statuses
    assert statuses.count(429) == 2 * LIMIT + 4 - LIMIT, statuses
    refused = [answer for answer in rest if answer.status_code == 429]
    assert all(0 < int(answer.headers["retry-after"]) <= 60 for answer in refused)
    assert all(answer.headers["ratelimit-remaining"] == "0" for answer in refused)


async def test_failed_authentications_add_up_across_processes(two_processes: list[str]) -> None:
    wrong = {"Authorization": "Bearer ptc_0123456789abcdef_" + "y" * 32}
    async with (
        httpx.AsyncClient(base_url=two_processes[0], headers=wrong) as a,
        httpx.AsyncClient(base_url=two_processes[1], headers=wrong) as b,
    ):
        statuses = [(await client.get("/v1/instances")).status_code for client in [a, b] * FAILURES]
    assert statuses == [401] * FAILURES + [429] * FAILURES
