"""Benchmark: a portal manifest of 200 members x 100 services, each member service mapped to one of
the portal's 100 services (20,100 services and 20,000 mappings): plan it from nothing, apply it, plan
it again (no change: the whole state compared), export it.

    .venv/bin/python bench/manifest.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/manifest.py            # SQLite in a temporary file

Through the real application (ASGI, in-process). Each of `--runs` runs builds its own portal, under
its own partner, from nothing. Counts the SQL statements of a plan too: a set-based plan runs the
same number whatever the size of the manifest. Prints the median and range of the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import time
from typing import Any

import httpx
from report import bench_app  # bench/report.py
from sqlalchemy import event
from ticker import Scratch  # bench/ticker.py

JSON = {"content-type": "application/json"}
TARGET = "PostgreSQL, 2 cores: 200 members x 100 services with mappings plans in < 2 s, applies in < 15 s"


def document(run: int, members: int, services: int) -> dict[str, Any]:
    def listed(prefix: str) -> list[dict[str, Any]]:
        return [
            {"code": f"{prefix}{i:03d}", "name": f"Service {i}", "duration_minutes": 30, "web_enabled": True}
            for i in range(services)
        ]

    return {
        "portal": {"name": f"bench_portal_{run}", "display_name": "Bench portal", "services": listed("P")},
        "members": [
            {
                "name": f"bench_{run}_clinic_{m:03d}",
                "member_code": f"C{m:03d}",
                "settings": {"colour": "blue"},
                "services": listed("M"),
                "mappings": {f"M{i:03d}": f"P{i:03d}" for i in range(services)},
            }
            for m in range(members)
        ],
    }


class Statements:
    """Counts the SQL statements the engine runs while `counting`."""

    def __init__(self) -> None:
        self.count, self.counting = 0, False

    def __call__(self, *_: object) -> None:
        if self.counting:
            self.count += 1


async def _key(admin: httpx.AsyncClient, run: int) -> str:
    partner = (await admin.post("/v1/partners", json={"name": f"bench {run}"})).json()
    key = await admin.post(f"/v1/partners/{partner['id']}/api-keys", json={"name": "bench"})
    value: str = key.json()["key"]
    return value


async def one_run(
    admin: httpx.AsyncClient, statements: Statements, run: int, members: int, services: int
) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {await _key(admin, run)}"}
    client = httpx.AsyncClient(
        transport=admin._transport, base_url="http://bench", headers=headers, timeout=600
    )
    body = document(run, members, services)
    # Client and server share this process: the client's own work (encoding the ~2.5 MB document,
    # decoding the answers) is done outside the timers, which time Portico's.
    plan_body = json.dumps(body).encode()
    times: dict[str, float] = {}
    async with client:
        started, cpu = time.perf_counter(), time.process_time()
        answered = await client.post("/v1/portal-manifests/plan", content=plan_body, headers=JSON)
        times["plan, from nothing"] = time.perf_counter() - started
        times["plan, CPU"] = time.process_time() - cpu
        plan = answered.json()
        assert plan["summary"]["create"] > members * services * 2, plan["summary"]
        apply_body = json.dumps({"manifest": body, "fingerprint": plan["fingerprint"]}).encode()
        statements.count, statements.counting = 0, True
        started, cpu = time.perf_counter(), time.process_time()
        applied = await client.post("/v1/portal-manifests/apply", content=apply_body, headers=JSON)
        times["apply"] = time.perf_counter() - started
        times["apply, CPU"] = time.process_time() - cpu
        statements.counting = False
        times["apply statements"] = statements.count
        assert applied.status_code == 200, applied.text[:500]
        statements.count, statements.counting = 0, True
        started = time.perf_counter()
        answered = await client.post("/v1/portal-manifests/plan", content=plan_body, headers=JSON)
        times["plan, no change"] = time.perf_counter() - started
        statements.counting = False
        times["plan statements"] = statements.count
        again = answered.json()
        assert again["changes"] == [], again["changes"][:3]
        started = time.perf_counter()
        exported = await client.get(f"/v1/portals/tt_bench_portal_{run}/manifest")
        times["export"] = time.perf_counter() - started
        assert len(exported.json()["members"]) == members
    return times


def median_range(values: list[float], unit: str = "s") -> str:
    if unit != "s":
        return f"{statistics.median(values):7.0f}    ({min(values):.0f} to {max(values):.0f})"
    return f"{statistics.median(values):7.2f} s  ({min(values):.2f} to {max(values):.2f})"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="PostgreSQL server URL (a scratch database is made on it)")
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"Target: {TARGET}")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    results: dict[str, list[float]] = {}
    async with Scratch(args.database_url) as url:
        app = bench_app(url)
        async with app.router.lifespan_context(app):
            statements = Statements()
            event.listen(app.state.engine.sync_engine, "before_cursor_execute", statements)
            transport = httpx.ASGITransport(app=app)
            master = {"Authorization": f"Bearer {app.state.master_key}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", headers=master
            ) as admin:
                for run in range(args.runs):
                    for name, value in (
                        await one_run(admin, statements, run, args.members, args.services)
                    ).items():
                        results.setdefault(name, []).append(value)
    print(
        f"database: {'postgresql' if args.database_url else 'sqlite'}; {args.members} members x "
        f"{args.services} services, {args.runs} runs; load average after: "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    for name, values in results.items():
        print(f"  {name:20} {median_range(values, 'n' if name.endswith('statements') else 's')}")


if __name__ == "__main__":
    # SIGTERM as Ctrl-C: Scratch's exit drops the database.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    asyncio.run(main())
