"""Benchmark: what one incremental sync run costs, in round trips and CPU, whatever the machine's load.

    .venv/bin/python bench/run_cost.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

Runs per second (bench/fleet.py) depend on everything else the machine runs; what a run asks of the
database and of GESDENT does not. In a scratch database with one instance whose rules point at a
GESDENT sandbox with small data (as bench/fleet.py's clinics), a `Worker` in this process claims and
executes a first run (full), then `--runs` incremental runs, one at a time, each queued as a manual
run. Per incremental run it counts the statements sent, the transactions begun, committed and rolled
back, the connections checked out of the pool and the pings among them, and the HTTP requests sent
to GESDENT (Digest challenges included); and it gives the CPU time of this process per run (median
and range), beside a fixed piece of pure-Python work timed in the same run (the machine's speed).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import resource
import signal
import statistics
import time
from typing import Any

import httpx
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sync import Sandbox  # bench/sync.py
from ticker import Scratch  # bench/ticker.py

from app.crypto import SecretBox
from app.db.engine import create_engine, create_sessionmaker
from app.db.migrate import upgrade
from app.db.models import GesdentConnection, Instance, Partner, new_id, table_of, utcnow
from app.domain.gesdent import schedule_phase
from app.sync import queue
from app.sync.digest import RunDigest
from app.sync.worker import Worker


class Counter:
    """What the engine and the HTTP client did, per kind, since the last `take`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        sync = engine.sync_engine
        self.statements: list[str] = []
        self.last: list[str] = []
        event.listen(sync, "before_cursor_execute", self._statement)
        event.listen(sync, "begin", lambda *_: self._add("begun"))
        event.listen(sync, "commit", lambda *_: self._add("committed"))
        event.listen(sync, "rollback", lambda *_: self._add("rolled back"))
        event.listen(sync.pool, "checkout", lambda *_: self._add("checkouts"))
        dialect = sync.dialect
        ping = dialect.do_ping

        def counted_ping(connection: Any) -> bool:
            self._add("pings")
            return bool(ping(connection))

        setattr(dialect, "do_ping", counted_ping)  # noqa: B010
        hook = RunDigest.auth_flow  # every request of a run is sent with Digest

        def counted_flow(auth: RunDigest, request: httpx.Request) -> Any:
            flow = hook(auth, request)
            sent = next(flow)
            self._add("HTTP requests")
            response = yield sent
            while True:
                try:
                    sent = flow.send(response)
                except StopIteration:
                    return
                self._add("HTTP requests")
                response = yield sent

        setattr(RunDigest, "auth_flow", counted_flow)  # noqa: B010  (challenges counted too)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self._add("statements")
        self.statements.append(" ".join(statement.split())[:100])

    def _add(self, kind: str) -> None:
        self.counts[kind] += 1

    def take(self) -> dict[str, int]:
        self.last, self.statements = self.statements, []
        taken, self.counts = dict(self.counts), collections.Counter()
        return taken


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def speed_check() -> float:
    """A fixed piece of pure-Python work, in ms: how fast this machine is at the moment."""
    started = time.perf_counter()
    total = 0
    for n in range(300_000):
        total += n * n % 7
    return (time.perf_counter() - started) * 1000


async def make_instance(engine: AsyncEngine, box: SecretBox, sandbox: Sandbox) -> str:
    rules, partner, instance, now = sandbox.rules(), new_id(), new_id(), utcnow()
    stamps: dict[str, Any] = {"created_at": now, "updated_at": now, "version": 1}
    async with engine.begin() as connection:
        await connection.execute(
            table_of(Partner).insert(), [{"id": partner, "name": "cost", "created_at": now}]
        )
        await connection.execute(
            table_of(Instance).insert(),
            [{"id": instance, "partner_id": partner, "name": "tt_cost", "display_name": "Cost"} | stamps],
        )
        await connection.execute(
            table_of(GesdentConnection).insert(),
            [
                {"instance_id": instance, "base_url": rules.base_url}
                | {"resource_ids": " ".join(rules.resource_ids), "window_days": 3}
                | {f"{family}_username": rules.credentials[family][0] for family in rules.credentials}
                | {
                    f"{family}_password": box.encrypt(rules.credentials[family][1])
                    for family in rules.credentials
                }
                | {"webhook_secret": box.encrypt("x" * 32), "enabled": False, "interval_minutes": 15}
                | {"schedule_phase": schedule_phase(instance)}
                | stamps
            ],
        )
    return instance


async def one_run(worker: Worker, sessionmaker: Any, instance: str) -> None:
    async with sessionmaker() as session:
        await queue.enqueue(session, instance, "manual")
        await session.commit()
    assert await worker.run_once()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", required=True, help="a PostgreSQL server (the script makes its database)"
    )
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--show", action="store_true", help="print the statements of the last run")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
    sandbox = Sandbox(20, 40, 2, seed=7).wait()
    key = Fernet.generate_key().decode()
    box = SecretBox([key])
    try:
        async with Scratch(args.database_url) as url:
            engine = create_engine(url, pool_size=4)
            try:
                await upgrade(engine)
                sessionmaker = create_sessionmaker(engine)
                instance = await make_instance(engine, box, sandbox)
                worker = Worker(sessionmaker, box, allow_private_networks=True)
                counter = Counter(engine)
                await one_run(worker, sessionmaker, instance)  # the first, full
                counter.take()
                per_run: list[dict[str, int]] = []
                cpu: list[float] = []
                speed = [speed_check()]
                for _ in range(args.runs):
                    before = own_cpu()
                    await one_run(worker, sessionmaker, instance)
                    cpu.append(own_cpu() - before)
                    per_run.append(counter.take())
                speed.append(speed_check())
                async with engine.connect() as connection:
                    statuses = await connection.execute(
                        sa.text("SELECT status, count(*) FROM sync_runs GROUP BY 1")
                    )
                    print(f"runs: {dict(statuses.all())}")
            finally:
                await engine.dispose()
    finally:
        sandbox.stop()
    if args.show:
        print("\n".join(counter.last))
    kinds = sorted({kind for counts in per_run for kind in counts})
    print(f"per incremental run ({args.runs} runs, one at a time, a worker in this process):")
    for kind in kinds:
        values = [counts.get(kind, 0) for counts in per_run]
        print(f"  {kind:<14} {statistics.median(values):>5.0f}  ({min(values)} to {max(values)})")
    print(
        f"  CPU (this process) {1000 * statistics.median(cpu):.1f} ms "
        f"({1000 * min(cpu):.1f} to {1000 * max(cpu):.1f}); speed check {speed[0]:.0f} and {speed[1]:.0f} ms"
    )


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    arguments = parse_args()
    if arguments.loop == "uvloop":
        import uvloop

        uvloop.run(main(arguments))
    else:
        asyncio.run(main(arguments))
