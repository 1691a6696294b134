"""Benchmark: the portal availability search and its summary, on a portal of 1,000 members, each with
3 GESDENT agendas and 14 days of free slots (about 300,000 slots).

    .venv/bin/python bench/availability.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/availability.py            # SQLite in a temporary file

The data is bulk-loaded into the tables a sync fills (slots, and the availability stream's health),
not imported through 1,000 sandbox syncs, which would take most of an hour: it is a benchmark, not a
test. The slots are the sandbox's own (its working days, times and treatment codes, from
gesdent_sandbox; every working-day slot free), so they look like imported ones. A member has three
web-enabled services (LIMP, BLANQ, ORT) mapped to the portal's P0, P1 and P2; one in ten maps a
web-disabled LIMP; one in
ten is in Atlantic/Canary, the rest in Europe/Madrid; one in twenty has stale data.

Times, through the real application (ASGI, in-process), `--runs` runs of `--requests` requests each:
the first page (20 members) of a one-service search over the default days, the next page (the kept
order, as a peer: the same search without ranking every member), the summary of the three services,
the first page with `explain=true`, and the portal itself (`GET /v1/portals/{portal}`: the floor of
any request, as a peer). Prints each run's median and the median and range of those.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from report import bench_app  # bench/report.py
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel
from ticker import Scratch  # bench/ticker.py

from app.auth import DEFAULT_SCOPES
from app.db.models import (
    ApiKey,
    GesdentSlot,
    Instance,
    InstanceSetting,
    Mapping,
    Membership,
    Partner,
    Service,
    SyncHealth,
    new_id,
)
from app.domain.api_keys import generate_key
from gesdent_sandbox.availability import treatment_codes
from gesdent_sandbox.clock import Clock
from gesdent_sandbox.config import SandboxConfig

CLOCK = Clock(SandboxConfig())  # the sandbox's default clinic clock: its hours, Madrid's offsets
TARGET = "PostgreSQL, 2 cores: first page of a one-service search and the summary, median < 150 ms each"
CODES = ("LIMP", "BLANQ", "ORT")
SEARCH = "/v1/portals/tt_bench_portal/availability"


def _service(instance_id: str, code: str, web: bool) -> dict[str, Any]:
    return {
        "id": new_id(),
        "instance_id": instance_id,
        "code": code,
        "name": code,
        "duration_minutes": 30,
        "web_enabled": web,
    }


def _slots(member_id: str, member: int, first: date, days: int, resources: int) -> list[dict[str, Any]]:
    """The member's slots as the sandbox serves them (working days, 10 a day), none booked or blocked."""
    rows = []
    for r in range(resources):
        resource_id = f"BENCH{member:04d}-R{r}"
        for n in range(days):
            day = first + timedelta(days=n)
            if day.weekday() >= 5:
                continue
            for slot in range(10):
                start, end = CLOCK.bounds(day, slot)
                rows.append(
                    {
                        "instance_id": member_id,
                        "resource_id": resource_id,
                        "starts_at": datetime.fromisoformat(start).astimezone(UTC),
                        "ends_at": datetime.fromisoformat(end).astimezone(UTC),
                        "treatment_codes": " ".join(treatment_codes(7, resource_id, day, slot)),
                    }
                )
    return rows


async def build(engine: AsyncEngine, members: int, days: int, resources: int) -> tuple[str, int]:
    """Insert the portal, its members, services, mappings, slots and health; an API key, and the
    number of slots."""
    partner_id, portal_id, key, now = new_id(), new_id(), generate_key(), datetime.now(UTC)
    instances: list[dict[str, Any]] = [
        {
            "id": portal_id,
            "partner_id": partner_id,
            "name": "tt_bench_portal",
            "display_name": "P",
            "time_zone": "Europe/Madrid",
            "comms_enabled": False,
        }
    ]
    portal_services = [_service(portal_id, f"P{i}", True) for i in range(len(CODES))]
    services, mappings, memberships, health, slot_count = list(portal_services), [], [], [], 0
    member_ids = [new_id() for _ in range(members)]
    first = now.date()
    async with engine.begin() as connection:
        await connection.execute(insert(Partner), [{"id": partner_id, "name": "bench"}])
        scopes = " ".join(DEFAULT_SCOPES)
        await connection.execute(
            insert(ApiKey),
            [
                {
                    "partner_id": partner_id,
                    "name": "b",
                    "lookup": key.lookup,
                    "key_hash": key.key_hash,
                    "scopes": scopes,
                }
            ],
        )
        for m, member_id in enumerate(member_ids):
            zone = "Atlantic/Canary" if m % 10 == 3 else "Europe/Madrid"
            instances.append(
                {
                    "id": member_id,
                    "partner_id": partner_id,
                    "name": f"tt_bench_m{m:04d}",
                    "display_name": f"C{m}",
                    "time_zone": zone,
                    "comms_enabled": True,
                }
            )
            memberships.append({"member_id": member_id, "portal_id": portal_id})
            for c, code in enumerate(CODES):
                mine = _service(member_id, code, web=not (c == 0 and m % 10 == 7))
                services.append(mine)
                mappings.append(
                    {
                        "member_service_id": mine["id"],
                        "portal_service_id": portal_services[c]["id"],
                        "member_id": member_id,
                        "portal_id": portal_id,
                    }
                )
            fetched = now - timedelta(hours=3 if m % 20 == 5 else 0, minutes=5)
            health.append(
                {
                    "instance_id": member_id,
                    "stream": "availability",
                    "state": "fresh",
                    "state_since": fetched,
                    "last_success_at": fetched,
                    "stale_at": fetched + timedelta(minutes=45),
                }
            )
        await _chunked(connection, Instance, instances)
        await connection.execute(
            insert(InstanceSetting),
            [{"instance_id": portal_id, "key": "portalInstanceName", "value": "portal"}],
        )
        await _chunked(connection, Membership, memberships)
        await _chunked(connection, Service, services)
        await _chunked(connection, Mapping, mappings)
        await _chunked(connection, SyncHealth, health)
        for m, member_id in enumerate(member_ids):
            rows = _slots(member_id, m, first, days, resources)
            slot_count += len(rows)
            await _chunked(connection, GesdentSlot, rows)
    async with engine.connect() as connection:
        await connection.execute(text("ANALYZE"))  # as autovacuum would soon after such a load
        await connection.commit()
    return key.plaintext, slot_count


async def _chunked(connection: AsyncConnection, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5000):
        await connection.execute(insert(model), rows[start : start + 5000])


async def timed(client: httpx.AsyncClient, url: str, requests: int, **params: Any) -> float:
    """The median of `requests` requests, in ms."""
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.get(url, params=params)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return statistics.median(timings)


def median_range(values: list[float]) -> str:
    return f"{statistics.median(values):6.1f} ms ({min(values):.1f} to {max(values):.1f})"


async def measure(client: httpx.AsyncClient, runs: int, requests: int) -> dict[str, list[float]]:
    first = await client.get(SEARCH, params={"service": "P0"})
    first.raise_for_status()
    body = first.json()
    print(f"first page: {len(body['items'])} members; earliest {body['items'][0]['next_available']}")
    cursor = body["next_cursor"]
    results: dict[str, list[float]] = {
        "search, page 1": [],
        "search, page 2": [],
        "summary": [],
        "explain": [],
        "portal (floor)": [],
    }
    for run in range(runs):
        results["search, page 1"].append(await timed(client, SEARCH, requests, service="P0"))
        results["search, page 2"].append(await timed(client, SEARCH, requests, service="P0", cursor=cursor))
        results["summary"].append(await timed(client, f"{SEARCH}/summary", requests))
        results["explain"].append(await timed(client, SEARCH, requests, service="P0", explain="true"))
        # The floor of any request here (key, lookup, one row): what the noisy machine adds shows in it.
        results["portal (floor)"].append(await timed(client, "/v1/portals/tt_bench_portal", requests))
        print(
            f"  run {run + 1}: "
            + ", ".join(f"{name} {values[-1]:.1f} ms" for name, values in results.items())
        )
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="PostgreSQL server URL (a scratch database is made on it)")
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--resources", type=int, default=3)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=9)
    args = parser.parse_args()
    print(f"Target: {TARGET}")
    async with Scratch(args.database_url) as url:
        app = bench_app(url)
        async with app.router.lifespan_context(app):
            started = time.perf_counter()
            key, slots = await build(app.state.engine, args.members, args.days, args.resources)
            print(f"built {args.members} members, {slots} slots in {time.perf_counter() - started:.0f} s")
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", headers=headers
            ) as client:
                results = await measure(client, args.runs, args.requests)
    print(f"database: {'postgresql' if args.database_url else 'sqlite'}; {args.runs} runs of {args.requests}")
    for name, values in results.items():
        print(f"  {name:16} {median_range(values)}")
    ratio = [a / b for a, b in zip(results["search, page 1"], results["search, page 2"], strict=True)]
    print(f"  page 1 / page 2   {statistics.median(ratio):.2f} (ranking every member, and keeping the order)")


if __name__ == "__main__":
    # SIGTERM as Ctrl-C: Scratch's exit drops the database.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    asyncio.run(main())
