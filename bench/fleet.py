"""Benchmark: a fleet of clinics (10,000 by default) kept in sync by `portico worker` processes.

    .venv/bin/python bench/fleet.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

In a scratch PostgreSQL database (created, migrated and dropped by the script), one partner with
`--instances` instances, each with enabled connection rules every 15 minutes pointing at one GESDENT
sandbox with small per-clinic data (the sandbox serves the same few patients, reservations and
free slots to every clinic). Then, in order:

1. **Ticks**, in this process: one tick with the whole fleet due (the first tick after the rules
   were made, or after an upgrade), `--rounds` ticks a minute apart once the fleet is phased (each
   queues the fifteenth of the fleet whose slots start in that minute), and ticks with nothing due.
   The runs they queue are removed afterwards.
2. **Workers**: `--processes` `portico worker` processes of `--workers` each start. Their first tick
   queues every clinic's run (a first, full sync); the script waits until every clinic has synced
   once (**first wave**; meanwhile the ticker queues the next slots of those done). It then queues
   a manual run for every clinic that has no run queued (all runs are incremental now: the cursors
   are there) and measures how fast the workers finish runs, the scheduled ones beside them
   included (**incremental wave**: runs/s between 10 % and 90 % of the manual runs, so that the
   start and the tail do not count); then waits for the queue to drain.
3. **Steady state**, for `--observe-minutes`: the ticker queues each clinic's run when its slot
   starts; the **lag** of a scheduled run is the time from the start of its slot to the moment a
   worker started it (tick period included).
4. **Events**: the partner has a webhook endpoint taking every run's outcome, answered by a receiver
   on loopback in this process; every finished run writes an event, and the script reports the
   deliveries per second during each wave, and how many were delivered, pending and failed at the end.

Memory: the resident set of each worker process, sampled every few seconds (at the end of the first
wave, the largest, and the last). Options: --instances, --processes, --workers, --rounds,
--observe-minutes, --patients, --reservations, --window-days.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet
from procs import cpu_seconds  # bench/procs.py
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sync import Sandbox  # bench/sync.py
from ticker import Scratch  # bench/ticker.py

from app.crypto import SecretBox
from app.db.engine import create_engine, create_sessionmaker
from app.db.migrate import upgrade
from app.db.models import (
    EventDelivery,
    GesdentConnection,
    Instance,
    Partner,
    SyncRun,
    WebhookEndpoint,
    new_id,
    table_of,
    utcnow,
)
from app.db.models.sync_runs import ACTIVE_RUN
from app.domain.gesdent import STREAMS, schedule_phase
from app.services.gesdent import new_webhook_secret
from app.sync import ticker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.events.receiver import Receiver  # noqa: E402
from tests.processes import clean_env, portico_command, start  # noqa: E402

TARGETS = (
    "PostgreSQL, 2 cores, 10,000 instances: tick < 200 ms; >= 30 incremental runs/s sustained; "
    "lag < 1 min at a 15-minute interval; flat memory"
)
BASE = datetime(2026, 12, 7, 0, 0, 30, tzinfo=UTC)
FINISHED = ("succeeded", "partial", "failed")


def median_range(values: list[float], unit: str = "ms", scale: float = 1000) -> str:
    if not values:
        return "n/a"
    return (
        f"{statistics.median(values) * scale:.1f} {unit} "
        f"({min(values) * scale:.1f} to {max(values) * scale:.1f})"
    )


# --- The fleet --------------------------------------------------------------------------------------


async def populate(
    sessionmaker: async_sessionmaker[AsyncSession], box: SecretBox, size: int, sandbox: Sandbox, window: int
) -> str:
    """`size` instances of one partner, each with the sandbox's rules; the partner's id."""
    rules, partner, now = sandbox.rules(), new_id(), utcnow()
    stamps: dict[str, Any] = {"created_at": now, "updated_at": now, "version": 1}
    secret = {family: box.encrypt(password) for family, (_, password) in rules.credentials.items()}
    async with sessionmaker() as session:
        await session.execute(
            table_of(Partner).insert(), [{"id": partner, "name": "fleet", "created_at": now}]
        )
        for start_at in range(0, size, 2000):
            ids = [new_id() for _ in range(start_at, min(size, start_at + 2000))]
            await session.execute(
                table_of(Instance).insert(),
                [
                    {"id": i, "partner_id": partner, "name": f"tt_fleet_{start_at + n:05d}"}
                    | {"display_name": f"Clinic {start_at + n}", "comms_enabled": False}
                    | {"comms_sms": False, "comms_voice": False, "comms_email": False}
                    | stamps
                    for n, i in enumerate(ids)
                ],
            )
            await session.execute(
                table_of(GesdentConnection).insert(),
                [
                    {
                        "instance_id": i,
                        "base_url": rules.base_url,
                        "resource_ids": " ".join(rules.resource_ids),
                    }
                    | {f"{family}_username": rules.credentials[family][0] for family in rules.credentials}
                    | {f"{family}_password": secret[family] for family in rules.credentials}
                    | {"webhook_secret": secret["users"], "enabled": True, "interval_minutes": 15}
                    | {"window_days": window, "schedule_phase": schedule_phase(i)}
                    | stamps
                    for i in ids
                ],
            )
        await session.commit()
        await session.execute(sa.text("ANALYZE"))
    return partner


async def reset_queue(engine: AsyncEngine) -> None:
    """No runs, every rule due; vacuumed, as autovacuum would have left the tables in production
    (without it the dead rows of the previous round slow the next one down several times)."""
    async with engine.begin() as connection:
        await connection.execute(sa.delete(table_of(SyncRun)))
        await connection.execute(sa.update(table_of(GesdentConnection)).values(due_minute=0))
    await vacuum(engine)


async def vacuum(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(sa.text("VACUUM ANALYZE sync_runs, gesdent_connections"))


async def finish_all(engine: AsyncEngine) -> None:
    runs = table_of(SyncRun)
    async with engine.begin() as connection:
        await connection.execute(
            runs.update().where(runs.c.status == "queued").values(status="succeeded", finished_at=utcnow())
        )


async def timed_tick(sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> tuple[float, int]:
    started = time.perf_counter()
    created = await ticker.enqueue_due(sessionmaker, now)
    return time.perf_counter() - started, created


async def bench_ticks(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], rounds: int
) -> None:
    """The ticks of a fleet that is due all at once (its first ticks: a batch each), then ticks a
    minute apart (each queues the share of the fleet whose slots start in that minute), then ticks
    with nothing due."""
    all_due: list[float] = []
    ticks_to_queue: list[int] = []
    for round_ in range(max(rounds // 3, 1)):
        await reset_queue(engine)
        now, queued, ticks = BASE + timedelta(hours=round_), 0, 0
        while True:
            elapsed, created = await timed_tick(sessionmaker, now)
            if not created:
                break
            all_due.append(elapsed)
            queued, ticks, now = queued + created, ticks + 1, now + timedelta(seconds=1)
        assert queued == await count_instances(engine), queued
        ticks_to_queue.append(ticks)
    await finish_all(engine)
    await vacuum(engine)
    steady: list[float] = []
    idle: list[float] = []
    queued_each: list[int] = []
    last = now
    for minute in range(1, rounds + 1):
        elapsed, created = await timed_tick(sessionmaker, last + timedelta(minutes=minute))
        steady.append(elapsed)
        queued_each.append(created)
        await finish_all(engine)
        elapsed, created = await timed_tick(sessionmaker, last + timedelta(minutes=minute, seconds=20))
        assert created == 0, created
        idle.append(elapsed)
    print(
        f"  whole fleet due: {statistics.median(ticks_to_queue):.0f} ticks of at most "
        f"{ticker.TICK_BATCH} runs, each {median_range(all_due)}"
    )
    print(
        f"  ticks a minute apart (phased): {median_range(steady)}, "
        f"{statistics.median(queued_each):.0f} runs each ({min(queued_each)} to {max(queued_each)})"
    )
    print(f"  ticks with nothing due:        {median_range(idle)}")
    await reset_queue(engine)


async def count_instances(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return (
            await connection.execute(sa.select(sa.func.count()).select_from(table_of(Instance)))
        ).scalar_one()


# --- The workers ----------------------------------------------------------------------------------


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Watch:
    """Samples of the queue and of the workers' memory, every `period` seconds."""

    engine: AsyncEngine
    pids: list[int]
    period: float = 2.0
    rss: dict[int, list[float]] = field(default_factory=dict)

    async def counts(self) -> dict[str, int]:
        """Runs by status; `synced`, the instances with a finished run; `manual`, finished manual runs."""
        runs = table_of(SyncRun)
        finished = runs.c.status.in_(FINISHED)
        async with self.engine.connect() as connection:
            rows = await connection.execute(sa.select(runs.c.status, sa.func.count()).group_by(runs.c.status))
            counts: dict[str, int] = {status: count for status, count in rows.all()}  # noqa: C416
            synced = sa.select(sa.func.count(sa.distinct(runs.c.instance_id))).where(finished)
            counts["synced"] = (await connection.execute(synced)).scalar_one()
            manual = sa.select(sa.func.count()).where(finished, runs.c.trigger == "manual")
            counts["manual"] = (await connection.execute(manual)).scalar_one()
            deliveries = table_of(EventDelivery)
            by_status = sa.select(deliveries.c.status, sa.func.count()).group_by(deliveries.c.status)
            for status, count in (await connection.execute(by_status)).all():
                counts[f"deliveries_{status}"] = count
            return counts

    def sample_memory(self) -> None:
        for pid in self.pids:
            value = rss_mb(pid)
            if value is not None:
                self.rss.setdefault(pid, []).append(value)

    async def until(
        self, done: Callable[[dict[str, int]], bool], limit: float
    ) -> list[tuple[float, dict[str, int]]]:
        """Sample until `done(counts)`; the (time, counts) series."""
        series: list[tuple[float, dict[str, int]]] = []
        deadline = time.monotonic() + limit
        while True:
            counts = await self.counts()
            self.sample_memory()
            series.append((time.monotonic(), counts))
            if done(counts):
                return series
            if time.monotonic() > deadline:
                raise TimeoutError(f"the workers did not get there in {limit:.0f} s: {counts}")
            await asyncio.sleep(self.period)


@dataclass
class CpuUse:
    """The CPU time the bench's processes use over a span: the workers, the sandbox and this process
    (the receiver of events); not the database server's, whose processes this one may not see. Per
    run it is a figure that a busy machine hardly changes, where runs per second depend on what else
    runs."""

    parts: dict[str, list[int]]
    start: dict[tuple[str, int], float] = field(default_factory=dict)

    def _read(self) -> dict[tuple[str, int], float]:
        readings = {}
        for part, pids in self.parts.items():
            for pid in pids:
                value = cpu_seconds(pid)
                if value is not None:
                    readings[(part, pid)] = value
        return readings

    def begin(self) -> None:
        self.start = self._read()

    def per_run(self, runs: float) -> str:
        """CPU milliseconds per run since `begin`, by part."""
        used: dict[str, float] = {}
        for (part, pid), value in self._read().items():
            if (part, pid) in self.start:
                used[part] = used.get(part, 0.0) + value - self.start[(part, pid)]
        shown = ", ".join(f"{part} {1000 * value / runs:.1f}" for part, value in used.items())
        return f"CPU per run, in ms: {shown}"


def finished(counts: dict[str, int]) -> int:
    return sum(counts.get(status, 0) for status in FINISHED)


def wave_rate(series: list[tuple[float, dict[str, int]]], progress: str, total: int) -> float:
    """Runs finished per second (all of them, whatever their trigger) between the moments the wave
    `progress` counts was 10 % and 90 % done, so that its start and its tail do not count."""
    base = series[0][1][progress]

    def moment(share: float) -> tuple[float, float]:
        """When the wave reached `share`, and how many runs had finished then (interpolated)."""
        goal = base + share * total
        for (t0, c0), (t1, c1) in itertools.pairwise(series):
            if c1[progress] >= goal:
                part = (
                    (goal - c0[progress]) / (c1[progress] - c0[progress])
                    if c1[progress] > c0[progress]
                    else 1
                )
                return t0 + (t1 - t0) * part, finished(c0) + (finished(c1) - finished(c0)) * part
        return series[-1][0], float(finished(series[-1][1]))

    (t10, n10), (t90, n90) = moment(0.1), moment(0.9)
    return (n90 - n10) / max(t90 - t10, 1e-9)


async def queue_manual_runs(engine: AsyncEngine) -> int:
    """A manual run for every instance that has none under way; how many were queued."""
    runs, rules = table_of(SyncRun), table_of(GesdentConnection)
    busy = sa.select(runs.c.id).where(runs.c.instance_id == rules.c.instance_id, ACTIVE_RUN)
    ids = sa.select(rules.c.instance_id).where(~sa.exists(busy))
    async with engine.begin() as connection:
        queued = [row[0] for row in (await connection.execute(ids)).all()]
        now = utcnow()
        await connection.execute(
            runs.insert(),
            [
                {"id": new_id(), "instance_id": i, "trigger": "manual", "status": "queued"}
                | {"full_refresh": False, "streams": " ".join(STREAMS)}
                | {"requested_at": now, "attempts": 0, "counts": "{}"}
                for i in queued
            ],
        )
    return len(queued)


async def scheduled_lags(engine: AsyncEngine, since: datetime) -> list[float]:
    """Seconds from the start of each scheduled run's slot to the moment it started, for the slots
    that started after `since`."""
    runs, rules = table_of(SyncRun), table_of(GesdentConnection)
    query = (
        sa.select(runs.c.slot, runs.c.started_at, rules.c.schedule_phase, rules.c.interval_minutes)
        .join(rules, rules.c.instance_id == runs.c.instance_id)
        .where(runs.c.trigger == "schedule", runs.c.started_at.is_not(None))
    )
    lags = []
    async with engine.connect() as connection:
        for slot, started_at, phase, interval in (await connection.execute(query)).all():
            index = int(slot.split(":")[1])
            slot_start = datetime.fromtimestamp((index * interval + phase % interval) * 60, tz=UTC)
            started = started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
            if slot_start >= since:
                lags.append((started - slot_start).total_seconds())
    return lags


def worker_env(url: str, key: str, workers: int) -> dict[str, str]:
    return clean_env(
        database_url=url,
        secret_keys=key,
        sync_workers=str(workers),
        gesdent_allow_private_networks="true",
        log_level="WARNING",
    )


async def add_endpoint(engine: AsyncEngine, key: str, partner: str, url: str) -> None:
    """A webhook endpoint of the partner taking every run's outcome: each run writes an event."""
    now = utcnow()
    async with engine.begin() as connection:
        await connection.execute(
            table_of(WebhookEndpoint).insert(),
            [
                {"id": new_id(), "partner_id": partner, "url": url, "description": "bench"}
                | {"event_types": "sync.run.succeeded sync.run.partial sync.run.failed"}
                | {"secret": SecretBox([key]).encrypt(new_webhook_secret()), "enabled": True}
                | {"version": 1, "created_at": now, "updated_at": now}
            ],
        )


def delivery_rate(series: list[tuple[float, dict[str, int]]]) -> float:
    (t0, c0), (t1, c1) = series[0], series[-1]
    return (c1.get("deliveries_delivered", 0) - c0.get("deliveries_delivered", 0)) / max(t1 - t0, 1e-9)


async def bench_workers(
    url: str,
    key: str,
    engine: AsyncEngine,
    args: argparse.Namespace,
    receiver: Receiver,
    *,
    sandbox_pid: int,
) -> None:
    logs = Path(tempfile.mkdtemp(prefix="portico-bench-fleet-"))
    processes = [
        start(
            f"worker {n}",
            portico_command("worker"),
            logs / f"worker-{n}.log",
            env=worker_env(url, key, args.workers),
        )
        for n in range(args.processes)
    ]
    watch = Watch(engine, [process.popen.pid for process in processes])
    try:
        size = args.instances
        began = time.monotonic()
        first = await watch.until(lambda c: c["synced"] >= size, 7200)
        print(
            f"  first wave (full syncs): {size} instances in {first[-1][0] - began:.0f} s, "
            f"{wave_rate(first, 'synced', size):.1f} runs/s"
        )
        warm = {pid: values[-1] for pid, values in watch.rss.items()}
        total = await queue_manual_runs(engine)
        cpu = CpuUse({"workers": watch.pids, "sandbox": [sandbox_pid], "bench": [os.getpid()]})
        cpu.begin()
        second = await watch.until(lambda c: c["manual"] >= total, 3600)
        print(
            f"  incremental wave: {total} manual runs beside the scheduled ones, "
            f"{wave_rate(second, 'manual', total):.1f} runs/s (all runs, 10 % to 90 % of the wave)"
        )
        print(f"    {cpu.per_run(finished(second[-1][1]) - finished(second[0][1]))}")
        print(
            f"  events: {delivery_rate(first):.1f} deliveries/s in the first wave, "
            f"{delivery_rate(second):.1f} in the incremental one"
        )
        drained = await watch.until(lambda c: c.get("queued", 0) < args.workers * args.processes, 3600)
        print(f"  queue drained {drained[-1][0] - second[-1][0]:.0f} s later")
        window_start = utcnow()
        watch.sample_memory()
        steady = {pid: values[-1] for pid, values in watch.rss.items()}
        print(f"  steady state for {args.observe_minutes} min …", flush=True)
        end = time.monotonic() + args.observe_minutes * 60
        while time.monotonic() < end:
            watch.sample_memory()
            await asyncio.sleep(watch.period)
        lags = await scheduled_lags(engine, window_start)
        counts = await watch.counts()
        failed = counts.get("failed", 0) + counts.get("partial", 0)
        if lags:
            lags.sort()
            p95 = lags[int(len(lags) * 0.95)]
            print(
                f"  lag of {len(lags)} scheduled runs: median {statistics.median(lags):.1f} s, "
                f"p95 {p95:.1f} s, max {lags[-1]:.1f} s"
            )
        print(f"  runs not succeeded: {failed}")
        print(
            f"  events at the end: {counts.get('deliveries_delivered', 0)} delivered "
            f"({len(receiver.requests)} requests received), {counts.get('deliveries_pending', 0)} pending, "
            f"{counts.get('deliveries_failed', 0)} failed"
        )
        for n, (pid, values) in enumerate(watch.rss.items()):
            print(
                f"  worker {n} RSS: {warm.get(pid, 0):.0f} MB after the first wave, "
                f"{steady.get(pid, 0):.0f} when the steady state began, max {max(values):.0f}, "
                f"last {values[-1]:.0f}"
            )
    finally:
        for process in processes:
            process.popen.terminate()
        for process in processes:
            try:
                process.popen.wait(timeout=60)
            except Exception:
                process.popen.kill()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", required=True, help="a PostgreSQL server (the script makes its database)"
    )
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=2, help="worker processes (0: the ticks only)")
    parser.add_argument("--workers", type=int, default=8, help="sync workers per process")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--observe-minutes", type=float, default=5)
    parser.add_argument("--patients", type=int, default=20)
    parser.add_argument("--reservations", type=int, default=40)
    parser.add_argument("--window-days", type=int, default=3)
    parser.add_argument("--skip-ticks", action="store_true")
    args = parser.parse_args()
    print(f"Targets: {TARGETS}")
    sandbox = Sandbox(args.patients, args.reservations, 2, seed=7).wait()
    key = Fernet.generate_key().decode()
    try:
        async with Scratch(args.database_url) as url:
            engine = create_engine(url, pool_size=4)
            try:
                await upgrade(engine)
                sessionmaker = create_sessionmaker(engine)
                partner = await populate(
                    sessionmaker, SecretBox([key]), args.instances, sandbox, args.window_days
                )
                print(f"{args.instances} instances, rules every 15 minutes, phased")
                if not args.skip_ticks:
                    await bench_ticks(engine, sessionmaker, args.rounds)
                if args.processes:
                    with Receiver(lambda _number, _request: (204, {})) as receiver:
                        await add_endpoint(engine, key, partner, receiver.url)
                        await bench_workers(url, key, engine, args, receiver, sandbox_pid=sandbox.process.pid)
            finally:
                await engine.dispose()
    finally:
        sandbox.stop()


if __name__ == "__main__":
    # SIGTERM as Ctrl-C: the `finally` blocks stop the workers and the sandbox and drop the database.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    asyncio.run(main())
