"""A revoked API key is refused everywhere within two seconds, although each process caches the keys
it has seen (app/key_cache.py): two `portico serve` processes on one database, the key revoked
through one of them, then refused at once by that one and within two seconds by the other."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from app.crypto import new_key
from tests.conftest import fresh_database
from tests.processes import clean_env, replicas

MASTER_KEY = "ptc_master_revocation_test_0123456789abcdef"
SECRET_KEY = new_key()
PROMISED_SECONDS = 2.0


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def two_processes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[str]]:
    """The base URLs of two `portico serve` processes sharing a fresh database of the backend."""
    async with fresh_database(request.param) as database_url:
        folder = tmp_path_factory.mktemp(f"revocation-{request.param}")
        env = clean_env(
            database_url=database_url, master_key=MASTER_KEY, secret_keys=SECRET_KEY, scheduler="false"
        )
        with ExitStack() as stack:
            # Started in a thread: the event loop stays free meanwhile.
            yield await asyncio.to_thread(stack.enter_context, replicas(2, Path(folder), env=env))


@pytest.fixture
def clients(two_processes: list[str]) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    with httpx.Client(base_url=two_processes[0]) as a, httpx.Client(base_url=two_processes[1]) as b:
        yield a, b


def _new_key(client: httpx.Client) -> tuple[str, str]:
    """A new partner's key through the master key: (its id, the key)."""
    master = {"Authorization": f"Bearer {MASTER_KEY}"}
    partner = client.post("/v1/partners", json={"name": "Revocation"}, headers=master)
    assert partner.status_code == 201, partner.text
    created = client.post(f"/v1/partners/{partner.json()['id']}/api-keys", json={"name": "k"}, headers=master)
    assert created.status_code == 201, created.text
    return created.json()["id"], created.json()["key"]


def _status(client: httpx.Client, key: str) -> int:
    return client.get("/v1/instances", headers={"Authorization": f"Bearer {key}"}).status_code


def test_a_revoked_key_is_refused_at_once_here_and_within_two_seconds_elsewhere(
    clients: tuple[httpx.Client, httpx.Client],
) -> None:
    a, b = clients
    key_id, key = _new_key(a)
    # A key created through one process works at once through the other: no answer was cached.
    assert _status(b, key) == 200
    # Both processes now hold the key's principal in their cache; it is revoked through the first.
    assert _status(a, key) == 200
    revoked = a.delete(f"/v1/api-keys/{key_id}", headers={"Authorization": f"Bearer {MASTER_KEY}"})
    assert revoked.status_code == 200, revoked.text
    revoked_at = time.monotonic()
    assert _status(a, key) == 401
    statuses = []
    while time.monotonic() - revoked_at < PROMISED_SECONDS + 1:
        statuses.append(_status(b, key))
        if statuses[-1] == 401:
            break
        time.sleep(0.05)
    waited = time.monotonic() - revoked_at
    assert statuses[-1] == 401, f"still {statuses[-1]} after {waited:.1f} s"
    assert waited < PROMISED_SECONDS, f"refused after {waited:.2f} s"
    # It stays refused: the refusal is not cached the other way round either.
    assert _status(b, key) == 401


def test_another_key_is_not_affected(clients: tuple[httpx.Client, httpx.Client]) -> None:
    a, b = clients
    first_id, first = _new_key(a)
    _second_id, second = _new_key(a)
    assert _status(b, first) == _status(b, second) == 200
    assert a.delete(f"/v1/api-keys/{first_id}", headers={"Authorization": f"Bearer {MASTER_KEY}"}).is_success
    assert _status(a, first) == 401
    assert _status(a, second) == _status(b, second) == 200
