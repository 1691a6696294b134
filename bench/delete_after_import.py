"""Benchmark: deleting an instance right after it imported many services, on PostgreSQL.

    .venv/bin/python bench/delete_after_import.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

The foreign key from a mapping to its portal service is checked at commit for every deleted
service, with a plan the connection prepared once and keeps. The script makes a connection keep that
plan while `services` is small (as a long-lived pool connection does), then, per round, in a fresh
scratch database: imports N services for one instance through the real import (app/services/
services_csv.py) and times `DELETE FROM instances` on that same connection. Two variants run
alternately: `stale`, where the import's closing `ANALYZE` is skipped (the code before the fix), and
`analyzed`, the code as it is. Medians and ranges over the rounds, and their ratio.

Options: --rows (default 20,000), --rounds (default 3).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import migrate
from app.db.engine import create_engine
from app.db.models import Instance, Partner, Service
from app.db.repositories import services as services_repo
from app.services.services_csv import ImportOptions, import_csv

HEADER = "code,name,duration_minutes,price,web_enabled\n"


async def _scratch(url: str, name: str) -> str:
    admin = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return make_url(url).set(database=name).render_as_string(False)


async def one_round(url: str, rows: int, *, analyze: bool) -> float:
    """Seconds the DELETE of an instance with `rows` freshly imported services takes to commit."""
    engine = create_engine(await _scratch(url, "portico_bench_delete"), pool_size=1)
    try:
        await migrate.upgrade(engine)
        async with (
            engine.connect() as connection,
            AsyncSession(bind=connection, expire_on_commit=False) as session,
        ):
            partner = Partner(name="bench")
            session.add(partner)
            await session.flush()
            instances = [
                Instance(partner_id=partner.id, name=f"tt_bench_{i}", display_name="b") for i in range(3)
            ]
            session.add_all(instances)
            await session.flush()
            session.add_all(
                Service(instance_id=instances[i % 3].id, code=f"S{i}", name="s", duration_minutes=30)
                for i in range(30)
            )
            await session.commit()
            await session.execute(text("ANALYZE"))
            # The connection prepares and keeps its plan for the check while the table is small.
            for i in range(8):
                await session.execute(text("DELETE FROM services WHERE code = :code"), {"code": f"S{i}"})
                await session.commit()
            csv = (HEADER + "".join(f"C{i},Service {i},30,10.00,true\n" for i in range(rows))).encode()
            target = instances[0]
            keep = services_repo.after_bulk_write
            if not analyze:
                services_repo.after_bulk_write = _nothing
            try:
                await import_csv(
                    session,
                    target,
                    csv,
                    ImportOptions(replace=False, dry_run=False, cascade=False, max_rows=rows),
                )
            finally:
                services_repo.after_bulk_write = keep
            await session.commit()
            started = time.perf_counter()
            await session.execute(text("DELETE FROM instances WHERE id = :id"), {"id": target.id})
            await session.commit()
            return time.perf_counter() - started
    finally:
        await engine.dispose()


async def _nothing(session: AsyncSession, rows: int) -> None:
    return None


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"stale": [], "analyzed": []}
    for _ in range(args.rounds):  # alternately, so that the machine's noise falls on both
        for variant, seconds in times.items():
            seconds.append(await one_round(args.database_url, args.rows, analyze=variant == "analyzed"))
    for variant, seconds in times.items():
        print(
            f"{variant:9} median {statistics.median(seconds):8.3f} s, "
            f"range {min(seconds):.3f} to {max(seconds):.3f} s"
        )
    print(
        "stale / analyzed: "
        f"{statistics.median(times['stale']) / statistics.median(times['analyzed']):.0f} times"
    )


if __name__ == "__main__":
    asyncio.run(main())
