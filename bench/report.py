"""Benchmark: the summary report of a portal with 1,000 members x 100 services (JSON, CSV and the
HTML page for people), and a page of members.

    .venv/bin/python bench/report.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/report.py            # SQLite in a temporary file

Builds the data with bulk inserts in a fresh database (created and dropped by the script), then
times requests through the real application (ASGI, in-process) and prints the median latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from app.auth import DEFAULT_SCOPES
from app.config import Settings
from app.crypto import new_key
from app.db.models import ApiKey, Instance, InstanceSetting, Mapping, Membership, Partner, Service, new_id
from app.domain.api_keys import generate_key
from app.main import create_app

# A bench's key asks faster than the default limit allows (100/second): counted, never refused.
UNLIMITED = "1000000/second"


def bench_app(url: str) -> FastAPI:
    """Portico on the database at `url`, as a bench drives it in its own process: a throwaway
    master key and secret key, no scheduler."""
    settings = Settings(
        database_url=url,
        master_key="bench-" + secrets.token_urlsafe(24),
        secret_keys=new_key(),
        scheduler=False,
        rate_limit=UNLIMITED,
    )
    return create_app(settings)


async def build(app: FastAPI, members: int, services: int, mapped_share: float) -> str:
    """Insert the portal, members, services and mappings; return an API key."""
    partner_id = new_id()
    key = generate_key()
    portal_id = new_id()
    rows_instances = [
        {
            "id": portal_id,
            "partner_id": partner_id,
            "name": "tt_bench_portal",
            "display_name": "Portal",
            "comms_enabled": False,
        }
    ]
    member_ids = [new_id() for _ in range(members)]
    rows_instances += [
        {
            "id": mid,
            "partner_id": partner_id,
            "name": f"tt_bench_m{i:04d}",
            "display_name": f"Clinic {i}",
            "comms_enabled": True,
        }
        for i, mid in enumerate(member_ids)
    ]
    portal_services = [
        {
            "id": new_id(),
            "instance_id": portal_id,
            "code": f"P{j:03d}",
            "name": f"Service {j}",
            "duration_minutes": 30,
            "web_enabled": True,
        }
        for j in range(services)
    ]
    member_services, mappings = [], []
    mapped_per_member = int(services * mapped_share)
    for mid in member_ids:
        for j in range(services):
            sid = new_id()
            member_services.append(
                {
                    "id": sid,
                    "instance_id": mid,
                    "code": f"M{j:03d}",
                    "name": f"Service {j}",
                    "duration_minutes": 30,
                    "web_enabled": j % 2 == 0,
                }
            )
            if j < mapped_per_member:
                mappings.append(
                    {
                        "member_service_id": sid,
                        "portal_service_id": portal_services[j]["id"],
                        "member_id": mid,
                        "portal_id": portal_id,
                    }
                )
    async with app.state.engine.begin() as connection:
        await connection.execute(insert(Partner), [{"id": partner_id, "name": "bench"}])
        await connection.execute(
            insert(ApiKey),
            [
                {
                    "partner_id": partner_id,
                    "name": "bench",
                    "lookup": key.lookup,
                    "key_hash": key.key_hash,
                    "scopes": " ".join(DEFAULT_SCOPES),
                }
            ],
        )
        await _chunked(connection, Instance, rows_instances)
        await connection.execute(
            insert(InstanceSetting),
            [{"instance_id": portal_id, "key": "portalInstanceName", "value": "portal"}],
        )
        await _chunked(
            connection, Membership, [{"member_id": mid, "portal_id": portal_id} for mid in member_ids]
        )
        await _chunked(connection, Service, portal_services + member_services)
        await _chunked(connection, Mapping, mappings)
    async with app.state.engine.connect() as connection:
        # Fresh statistics, as autovacuum would gather soon after such a load.
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    return key.plaintext


async def _chunked(
    connection: AsyncConnection, model: type[SQLModel], rows: list[dict[str, Any]], size: int = 5000
) -> None:
    for start in range(0, len(rows), size):
        await connection.execute(insert(model), rows[start : start + size])


async def deep_page(client: httpx.AsyncClient, path: str, skipped: int) -> str:
    """The URL of the page of 50 after the first `skipped` items, by following `next_cursor`
    (cursors are signed: only the API can make one)."""
    cursor = ""
    while skipped > 0:
        step = min(skipped, 500)  # the API's largest page
        response = await client.get(path, params={"limit": step, **({"cursor": cursor} if cursor else {})})
        response.raise_for_status()
        cursor, skipped = response.json()["next_cursor"], skipped - step
    return f"{path}?limit=50&cursor={cursor}"


async def timed(client: httpx.AsyncClient, url: str, runs: int, **kwargs: Any) -> tuple[float, int]:
    timings, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        response = await client.get(url, **kwargs)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        size = len(response.content)
    return statistics.median(timings), size


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="PostgreSQL server URL (a scratch database is created on it)")
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--mapped", type=float, default=0.9, help="share of member services mapped")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    scratch = None
    if args.database_url:
        server = make_url(args.database_url)
        scratch = f"portico_bench_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(
            server.set(drivername="postgresql").render_as_string(hide_password=False)
        )
        await admin.execute(f'CREATE DATABASE "{scratch}"')
        url = server.set(database=scratch).render_as_string(hide_password=False)
    else:
        folder = tempfile.mkdtemp(prefix="portico-bench-")
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
    try:
        app = bench_app(url)
        async with app.router.lifespan_context(app):
            started = time.perf_counter()
            key = await build(app, args.members, args.services, args.mapped)
            elapsed = time.perf_counter() - started
            print(f"built {args.members} members x {args.services} services in {elapsed:.1f} s")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", headers={"Authorization": f"Bearer {key}"}
            ) as client:
                await client.get("/v1/portals/tt_bench_portal/report")  # warm-up
                report, size = await timed(client, "/v1/portals/tt_bench_portal/report", args.runs)
                csv_report, _ = await timed(
                    client, "/v1/portals/tt_bench_portal/report", args.runs, headers={"Accept": "text/csv"}
                )
                html = {"Accept": "text/html"}
                html_page, html_size = await timed(
                    client, "/v1/portals/tt_bench_portal/report", args.runs, headers=html
                )
                html_last, _ = await timed(
                    client, "/v1/portals/tt_bench_portal/report?page=50", args.runs, headers=html
                )
                page, _ = await timed(client, "/v1/portals/tt_bench_portal/members?limit=50", args.runs)
                deep = await deep_page(client, "/v1/portals/tt_bench_portal/members", args.members * 19 // 20)
                last_page, _ = await timed(client, deep, args.runs)
        backend = "postgresql" if scratch else "sqlite"
        print(f"database: {backend}; runs: {args.runs}")
        print(f"report (JSON, {size / 1024:.0f} KiB)   median {report:7.1f} ms")
        print(f"report (CSV)                median {csv_report:7.1f} ms")
        ratio = html_page / report
        print(
            f"report page (HTML, {html_size / 1024:.0f} KiB) median {html_page:7.1f} ms  ({ratio:.2f}x JSON)"
        )
        print(f"report page 50 (HTML)       median {html_last:7.1f} ms")
        print(f"members, first page of 50   median {page:7.1f} ms")
        print(f"members, page after m0950   median {last_page:7.1f} ms")
    finally:
        if scratch:
            await admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
