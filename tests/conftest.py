"""Test fixtures: a real database per backend (SQLite file, fresh PostgreSQL database), migrated by
Alembic, and HTTP clients over ASGI holding the master key or a partner's key."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import logs
from app.config import Settings
from app.crypto import new_key
from app.main import create_app
from tests import contract

MASTER_KEY = "ptc_master_" + secrets.token_urlsafe(32)
SECRET_KEY = new_key()
POSTGRES_URL = os.environ.get(
    "PORTICO_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Limits no test reaches, for every app the tests build in this process (Settings reads them): the
# suite is never throttled, and every request still goes through the limiter and gets its headers.
# tests/api/test_rate_limits.py sets its own; servers started with clean_env() get the defaults.
TEST_RATE_LIMIT = "1000000/second"
os.environ.setdefault("PORTICO_RATE_LIMIT", TEST_RATE_LIMIT)
os.environ.setdefault("PORTICO_AUTH_FAILURE_LIMIT", "1000000/minute")
# A developer's collector never receives the tests' spans, from this process or the servers it
# starts: tests that trace pass a provider of their own (the `traced` fixture).
os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)


async def _postgres_reachable(url: str) -> str | None:
    """None when the server answers, else the reason it does not."""
    try:
        connection = await asyncpg.connect(_dsn(url), timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await connection.close()
    return None


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def fresh_database(backend: str) -> AsyncIterator[str]:
    """URL of a new, empty database on `backend`, dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="portico-test-") as folder:
            yield f"sqlite+aiosqlite:///{Path(folder) / 'portico.db'}"
        return
    reason = await _postgres_reachable(POSTGRES_URL)
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL is unreachable at {POSTGRES_URL}: {reason}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL} ({reason}); set PORTICO_TEST_POSTGRES_URL")
    name = f"portico_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(_dsn(POSTGRES_URL))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A fresh, empty database for the whole run, on each backend."""
    async with fresh_database(request.param) as url:
        yield url


@pytest.fixture(scope="session")
def backend(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgres"


def app_settings(database_url: str, **overrides: Any) -> Settings:
    """The settings of a test app on `database_url`: the tests' keys, GESDENT sandboxes on loopback
    allowed, and no scheduler (tests drive the queue and the workers themselves)."""
    given: dict[str, Any] = {
        "database_url": database_url,
        "master_key": MASTER_KEY,
        "secret_keys": SECRET_KEY,
        "gesdent_allow_private_networks": True,
        "scheduler": False,
    }
    return Settings(**(given | overrides))


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(app_settings(database_url, db_pool_size=30))
    async with application.router.lifespan_context(application):
        yield application


async def _wipe(app: FastAPI) -> None:
    # Every row hangs off a partner through ON DELETE CASCADE.
    async with app.state.engine.begin() as connection:
        await connection.execute(text("DELETE FROM partners"))


BASE_URL = "http://portico.test"


# Every answer a test client receives is checked against the spec (tests/contract.py).
CHECKED = {"response": [contract.check]}


def _client(app: FastAPI, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=headers, event_hooks=CHECKED
    )


class PartnerClient(httpx.AsyncClient):
    """A client holding one of a partner's API keys; `partner_id` is that partner's id."""

    def __init__(self, app: FastAPI, key: str, partner_id: str) -> None:
        super().__init__(
            transport=httpx.ASGITransport(app=app),
            base_url=BASE_URL,
            headers={"Authorization": f"Bearer {key}"},
            event_hooks=CHECKED,
        )
        self.partner_id = partner_id


@pytest.fixture
async def admin(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding the master key. The database is emptied after each test."""
    async with _client(app, MASTER_KEY) as client:
        yield client
    await _wipe(app)


KeyFactory = Callable[..., Awaitable[PartnerClient]]


@pytest.fixture
async def make_client(app: FastAPI, admin: httpx.AsyncClient) -> AsyncIterator[KeyFactory]:
    """Factory: a client for a new (or given) partner, with the given scopes (default: all)."""
    clients: list[PartnerClient] = []

    async def factory(scopes: list[str] | None = None, partner_id: str | None = None) -> PartnerClient:
        if partner_id is None:
            created = await admin.post("/v1/partners", json={"name": f"partner {len(clients)}"})
            assert created.status_code == 201, created.text
            partner_id = created.json()["id"]
        body: dict[str, Any] = {"name": "test key", "scopes": scopes or ALL_SCOPES}
        key = await admin.post(f"/v1/partners/{partner_id}/api-keys", json=body)
        assert key.status_code == 201, key.text
        client = PartnerClient(app, key.json()["key"], partner_id)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


ALL_SCOPES = [
    "instances:read",
    "instances:write",
    "portals:write",
    "sync:read",
    "sync:run",
    "patients:read",
    "webhooks:read",
    "webhooks:write",
    "audit:read",
]


@pytest.fixture
async def api(make_client: KeyFactory) -> PartnerClient:
    """A partner's client with every scope."""
    return await make_client()


@pytest.fixture
async def other(make_client: KeyFactory) -> PartnerClient:
    """Another partner's client with every scope: it must never see `api`'s data."""
    return await make_client()


@pytest.fixture
def anon(app: FastAPI) -> httpx.AsyncClient:
    return _client(app, None)


async def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def create_instance(client: httpx.AsyncClient, name: str, **fields: Any) -> dict[str, Any]:
    return await _created(await client.post("/v1/instances", json={"name": name, **fields}))


async def create_portal(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    await create_instance(client, name)
    return await _created(await client.post("/v1/portals", json={"instance": name}))


async def add_member(client: httpx.AsyncClient, portal: str, member: str) -> dict[str, Any]:
    await create_instance(client, member)
    return await _created(await client.post(f"/v1/portals/{portal}/members", json={"instance": member}))


# GESDENT connection rules that can be synced (a run is queued; nothing listens on the address).
GESDENT_RULES = {
    "base_url": "http://127.0.0.1:9/",
    "resource_ids": ["AAAA1111-BBBB2222"],
    "credentials": {"users": "u:pw", "reservations": "r:pw", "availability": "a:pw"},
}


async def configure_gesdent(client: httpx.AsyncClient, name: str = "tt_c") -> str:
    """A new instance `name` with GESDENT_RULES; returns its webhook secret."""
    await create_instance(client, name)
    response = await client.put(f"/v1/instances/{name}/gesdent", json=GESDENT_RULES)
    assert response.status_code == 201, response.text
    secret: str = response.json()["webhook_secret"]
    return secret


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}", body
    assert body["status"] == status
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]  # the answer's own id
    return body


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Logging as `portico serve` configures it, in JSON, into a buffer: a function that returns
    every line written so far, each parsed (a line that is not JSON fails the test)."""
    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level
    logs.configure("info", "json", buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    for handler in [h for h in root.handlers if h.get_name() == logs.HANDLER_NAME]:
        root.removeHandler(handler)
    root.setLevel(level)


@dataclass
class Traced:
    """An app on the session's database, traced with a provider of its own into `spans`."""

    app: FastAPI
    provider: TracerProvider
    spans: InMemorySpanExporter

    def client(self, partner: httpx.AsyncClient) -> httpx.AsyncClient:
        """A client of this app holding `partner`'s key."""
        headers = {"Authorization": partner.headers["Authorization"]}
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers)


@pytest.fixture
async def traced(database_url: str, app: FastAPI) -> AsyncIterator[Traced]:
    """Tracing without the global provider (which a process sets once): exported as each span ends."""
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    application = create_app(app_settings(database_url), tracer_provider=provider)
    async with application.router.lifespan_context(application):
        yield Traced(application, provider, spans)
    provider.shutdown()
