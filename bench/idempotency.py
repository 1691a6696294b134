"""Benchmark: what `Idempotency-Key` costs (app/idempotency.py).

    .venv/bin/python bench/idempotency.py            # SQLite in a temporary file
    .venv/bin/python bench/idempotency.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

1. The middleware alone, on a request without the header (what every other request pays): an ASGI
   app that answers at once, called directly and through `Idempotency`, the difference per request.
2. Through the real application (ASGI, in-process), `POST /v1/partners` with the master key: without
   the header, with a new key each time (a claim and a completion, two short transactions more), and
   replays of one key. Median latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
from report import bench_app  # bench/report.py
from sqlalchemy.engine import make_url
from starlette.routing import Router
from starlette.types import Message, Receive, Scope, Send

from app.idempotency import Idempotency

SCOPE: Scope = {
    "type": "http",
    "method": "POST",
    "path": "/v1/partners",
    "root_path": "",
    "query_string": b"",
    "headers": [
        (b"host", b"portico"),
        (b"content-type", b"application/json"),
        (b"authorization", b"Bearer x"),
    ],
}


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _receive() -> Message:
    return {"type": "http.request", "body": b"{}"}


async def _send(message: Message) -> None:
    return None


async def _per_call(app: Callable[[Scope, Receive, Send], Awaitable[None]], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await app(SCOPE, _receive, _send)
    return (time.perf_counter() - started) / calls


async def middleware_alone(calls: int) -> None:
    wrapped = Idempotency(_answer, Router())
    bare = min([await _per_call(_answer, calls) for _ in range(5)])
    through = min([await _per_call(wrapped, calls) for _ in range(5)])
    print(
        f"without the header: {bare * 1e6:.2f} µs bare, {through * 1e6:.2f} µs through the middleware, ",
        end="",
    )
    print(f"+{(through - bare) * 1e6:.2f} µs a request")


async def _median_ms(
    client: httpx.AsyncClient, requests: int, headers: Callable[[], dict[str, str]]
) -> float:
    times = []
    for number in range(requests):
        started = time.perf_counter()
        response = await client.post("/v1/partners", json={"name": f"bench {number}"}, headers=headers())
        times.append(time.perf_counter() - started)
        assert response.status_code == 201, response.text
    return statistics.median(times) * 1000


async def through_the_app(url: str, requests: int) -> None:
    app = bench_app(url)
    async with app.router.lifespan_context(app):
        master = {"Authorization": f"Bearer {app.state.master_key}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://portico", headers=master
        ) as client:
            await _median_ms(client, 20, dict)  # warm up
            plain = await _median_ms(client, requests, dict)
            keyed = await _median_ms(client, requests, lambda: {"Idempotency-Key": secrets.token_hex(16)})
            one = {"Idempotency-Key": secrets.token_hex(16)}
            await client.post("/v1/partners", json={"name": "bench 0"}, headers=one)
            replayed = await _median_ms_replay(client, requests, one)
    print(
        f"{app.state.engine.dialect.name}: POST /v1/partners median {plain:.2f} ms without the header, ",
        end="",
    )
    print(f"{keyed:.2f} ms with a new key, {replayed:.2f} ms a replay")


async def _median_ms_replay(client: httpx.AsyncClient, requests: int, headers: dict[str, str]) -> float:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.post("/v1/partners", json={"name": "bench 0"}, headers=headers)
        times.append(time.perf_counter() - started)
        assert response.headers["idempotent-replayed"] == "true"
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL URL (a fresh database is created in it)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--calls", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(middleware_alone(args.calls))
    if args.database_url:
        asyncio.run(_on_postgres(args.database_url, args.requests))
    else:
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(through_the_app(f"sqlite+aiosqlite:///{folder}/bench.db", args.requests))


async def _on_postgres(url: str, requests: int) -> None:
    """On a scratch database of the server at `url`, dropped afterwards."""
    server = make_url(url)
    scratch = f"portico_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server.set(drivername="postgresql").render_as_string(hide_password=False))
    await admin.execute(f'CREATE DATABASE "{scratch}"')
    try:
        await through_the_app(server.set(database=scratch).render_as_string(hide_password=False), requests)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    main()
