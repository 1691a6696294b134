"""Benchmark: the pruning pass (app/sync/retention.py) on a large backlog, and how long a writer
beside it waits.

    .venv/bin/python bench/retention.py                     # SQLite, temporary file
    .venv/bin/python bench/retention.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

Per round, in a scratch database: `--instances` instances with `--runs` finished runs each, all
older than the retention, every tenth with 20 rejections, and `--deliveries` old webhook deliveries;
then one pruning pass (the defaults: keep 10 per instance, batches of 1,000 rows) while a probe
renews a running run's lease every 10 ms, as a worker does, and records how long each renewal takes.
A long lock would show as a long renewal. Medians and ranges over the rounds.

Options: --instances (default 200), --runs (default 500), --deliveries (default 20,000),
--batch (default 1,000), --rounds (default 3).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import insert, text, update
from sqlalchemy.engine import make_url

from app.db import migrate
from app.db.engine import SQLITE_WRITE, create_engine, create_sessionmaker
from app.db.models import Instance, Partner, SyncRejection, SyncRun, WebhookDelivery, new_id, utcnow
from app.db.models.base import table_of
from app.sync.retention import RetentionPolicy, prune


@dataclass
class Round:
    seconds: float
    rows: int
    batches: int
    renewal_median: float
    renewal_max: float


async def _scratch(url: str | None, folder: Path) -> str:
    if url is None:
        return f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    admin = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await admin.execute('DROP DATABASE IF EXISTS "portico_bench_retention" WITH (FORCE)')
        await admin.execute('CREATE DATABASE "portico_bench_retention"')
    finally:
        await admin.close()
    return make_url(url).set(database="portico_bench_retention").render_as_string(False)


async def one_round(url: str, args: argparse.Namespace) -> Round:
    engine = create_engine(url, pool_size=4)
    try:
        await migrate.upgrade(engine)
        now = utcnow()
        old = now - timedelta(days=40)
        async with engine.begin() as connection:
            partner = new_id()
            await connection.execute(insert(table_of(Partner)).values(id=partner, name="bench"))
            instances = [new_id() for _ in range(args.instances + 1)]
            await connection.execute(
                insert(table_of(Instance)),
                [
                    {"id": i, "partner_id": partner, "name": f"tt_bench_{n}", "display_name": "b"}
                    for n, i in enumerate(instances)
                ],
            )
            probe = new_id()  # the run the probe keeps renewing, on an instance of its own
            await connection.execute(
                insert(table_of(SyncRun)).values(
                    id=probe, instance_id=instances[-1], trigger="manual", status="running"
                )
            )
            runs, rejections = [], []
            for n, instance in enumerate(instances[:-1]):
                for r in range(args.runs):
                    run_id = new_id()
                    at = old + timedelta(minutes=15 * r + n % 15)
                    runs.append(
                        {
                            "id": run_id,
                            "instance_id": instance,
                            "trigger": "schedule",
                            "status": "succeeded",
                            "requested_at": at,
                            "finished_at": at,
                        }
                    )
                    if r % 10 == 0:
                        rejections += [
                            {"run_id": run_id, "stream": "users", "position": p, "reason": "bad"}
                            for p in range(20)
                        ]
            await connection.execute(insert(table_of(SyncRun)), runs)
            await connection.execute(insert(table_of(SyncRejection)), rejections)
            await connection.execute(
                insert(table_of(WebhookDelivery)),
                [
                    {"id": f"msg_{d}", "instance_id": instances[d % args.instances], "received_at": old}
                    for d in range(args.deliveries)
                ],
            )
        async with engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
            await connection.commit()
        sessionmaker = create_sessionmaker(engine)
        renewals: list[float] = []
        done = asyncio.Event()

        async def renew() -> None:
            while not done.is_set():
                started = time.perf_counter()
                async with sessionmaker() as session:
                    await session.connection(execution_options={SQLITE_WRITE: True})
                    await session.execute(
                        update(table_of(SyncRun))
                        .where(table_of(SyncRun).c.id == probe)
                        .values(lease_expires_at=utcnow())
                    )
                    await session.commit()
                renewals.append(time.perf_counter() - started)
                await asyncio.sleep(0.01)

        policy = RetentionPolicy(batch=args.batch)
        async with asyncio.TaskGroup() as group:
            group.create_task(renew())
            started = time.perf_counter()
            pruned = await prune(sessionmaker, policy, now)
            seconds = time.perf_counter() - started
            done.set()
        return Round(
            seconds,
            pruned.runs + pruned.rejections + pruned.deliveries,
            pruned.batches,
            statistics.median(renewals),
            max(renewals),
        )
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url")
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="portico-bench-") as folder:
            rounds.append(await one_round(await _scratch(args.database_url, Path(folder)), args))

    def show(name: str, values: list[float], unit: str, scale: float = 1) -> None:
        scaled = [v * scale for v in values]
        middle, low, high = statistics.median(scaled), min(scaled), max(scaled)
        print(f"{name:22} median {middle:9.1f} {unit}, range {low:.1f}-{high:.1f}")

    print(f"rows deleted per round: {rounds[0].rows:,} in {rounds[0].batches} batches")
    show("pass", [r.seconds for r in rounds], "s")
    show("rows per second", [r.rows / r.seconds for r in rounds], "")
    show("renewal, median", [r.renewal_median for r in rounds], "ms", 1000)
    show("renewal, longest", [r.renewal_max for r in rounds], "ms", 1000)


if __name__ == "__main__":
    asyncio.run(main())
