"""One `Idempotency-Key` sent by 24 requests at the same moment, over real HTTP, to two `portico serve`
processes sharing one database (two replicas): exactly one request runs and writes; every other one
gets its answer replayed or the 409 of a key in use. On PostgreSQL (the production case) and SQLite."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from app.crypto import new_key
from tests.conftest import fresh_database
from tests.processes import clean_env, replicas

MASTER_KEY = "ptc_master_idempotency_test_0123456789abcdef"
MASTER = {"Authorization": f"Bearer {MASTER_KEY}"}
SIMULTANEOUS = 24


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
async def two_replicas(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[str]]:
    async with fresh_database(request.param) as database_url:
        folder = tmp_path_factory.mktemp(f"idempotency-{request.param}")
        env = clean_env(
            database_url=database_url, master_key=MASTER_KEY, secret_keys=new_key(), scheduler="false"
        )
        with ExitStack() as stack:
            # Started in a thread: the event loop stays free meanwhile.
            yield await asyncio.to_thread(stack.enter_context, replicas(2, Path(folder), env=env))


async def test_simultaneous_requests_with_one_key_write_once(two_replicas: list[str]) -> None:
    name = f"Chain {secrets.token_hex(4)}"
    headers = {**MASTER, "Idempotency-Key": secrets.token_hex(16)}
    limits = httpx.Limits(max_connections=SIMULTANEOUS)
    clients = [httpx.AsyncClient(base_url=url, limits=limits, timeout=30) for url in two_replicas]
    try:
        # Connections opened first, so that the requests leave together.
        await asyncio.gather(*(c.get("/healthz") for c in clients for _ in range(SIMULTANEOUS // 2)))
        answers = await asyncio.gather(
            *(
                clients[i % 2].post("/v1/partners", json={"name": name}, headers=headers)
                for i in range(SIMULTANEOUS)
            )
        )
        kinds = Counter(
            "replayed"
            if a.headers.get("idempotent-replayed") == "true"
            else "in-use"
            if a.status_code == 409 and a.json()["type"] == "/problems/idempotency-key-in-use"
            else f"ran {a.status_code}"
            for a in answers
        )
        assert kinds["ran 201"] == 1, kinds
        assert kinds["replayed"] + kinds["in-use"] == SIMULTANEOUS - 1, kinds
        first = next(a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers)
        assert all(a.json() == first.json() for a in answers if a.status_code == 201)
        partners = (await clients[0].get("/v1/partners", params={"limit": 500}, headers=MASTER)).json()[
            "items"
        ]
        assert [p["id"] for p in partners if p["name"] == name] == [first.json()["id"]]
        # Once the first answer is kept, every retry, on either replica, gets it.
        for client in clients:
            retry = await client.post("/v1/partners", json={"name": name}, headers=headers)
            assert retry.headers["idempotent-replayed"] == "true"
            assert retry.json() == first.json()
    finally:
        for client in clients:
            await client.aclose()
