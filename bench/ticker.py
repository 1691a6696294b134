"""Benchmark: one tick of the sync ticker at 2,000, 10,000 and 20,000 enabled instances.

    .venv/bin/python bench/ticker.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/ticker.py            # SQLite in a temporary file

Per size, in a fresh scratch database (created, migrated and dropped by the script): one partner,
that many instances with enabled connection rules (every 15 minutes) and `--history` finished
scheduled runs each (the queue's past, which the "has this slot a run?" probe has to look through),
then ANALYZE. Each round times, for the code before (`per_row_enqueue_due`, the per-instance
INSERTs this branch replaced, kept here as the peer) and the code after (`ticker.enqueue_due`), in
alternating order:

  all due      a new slot starts: every instance gets its scheduled run (checked: N created);
  nothing due  the runs finished, the same slot ticks again (checked: 0 created).

Each implementation ticks in a slot of its own. Shown: median and range over the rounds, the
after ÷ before ratio of the medians, and the statements each tick sent (counted with a
`before_cursor_execute` listener). Options: --sizes, --rounds (default 5), --history (default 4).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.db.engine import SQLITE_WRITE, create_engine, create_sessionmaker
from app.db.migrate import upgrade
from app.db.models import GesdentConnection, Instance, Partner, SyncRun, new_id, table_of, utcnow
from app.sync import ticker

Tick = Callable[[async_sessionmaker[AsyncSession], datetime], Awaitable[int]]
BASE = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


async def per_row_enqueue_due(sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """The ticker before: read every enabled instance, then one INSERT each (as of commit 21e70a5)."""
    async with sessionmaker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        rows = (
            await session.execute(
                select(col(GesdentConnection.instance_id), col(GesdentConnection.interval_minutes)).where(
                    col(GesdentConnection.enabled).is_(True)
                )
            )
        ).all()
        if not rows:
            return 0
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        created = 0
        for instance_id, interval in rows:
            value = {
                "id": new_id(),
                "instance_id": instance_id,
                "trigger": "schedule",
                "status": "queued",
                "slot": ticker.slot_of(now, interval)[0],
                "requested_at": now,
            }
            result = await session.execute(insert(SyncRun).values(**value).on_conflict_do_nothing())
            created += result.rowcount or 0  # type: ignore[attr-defined]
        await session.commit()
        return created


class Scratch:
    """A fresh database: created on the given PostgreSQL server and dropped after, or SQLite."""

    def __init__(self, server_url: str | None) -> None:
        self.server_url = server_url
        self.name = f"portico_bench_ticker_{secrets.token_hex(4)}"
        self.folder: str | None = None

    def _admin_dsn(self) -> str:
        assert self.server_url
        return make_url(self.server_url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def __aenter__(self) -> str:
        if self.server_url:
            admin = await asyncpg.connect(self._admin_dsn())
            try:
                await admin.execute(f'CREATE DATABASE "{self.name}"')
            finally:
                await admin.close()
            return make_url(self.server_url).set(database=self.name).render_as_string(hide_password=False)
        self.folder = tempfile.mkdtemp(prefix="portico-bench-ticker-")
        return f"sqlite+aiosqlite:///{self.folder}/bench.db"

    async def __aexit__(self, *exc: object) -> None:
        if self.server_url:
            admin = await asyncpg.connect(self._admin_dsn())
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            finally:
                await admin.close()
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)


async def populate(sessionmaker: async_sessionmaker[AsyncSession], size: int, history: int) -> None:
    """`size` instances with enabled rules, and `history` finished scheduled runs each."""
    partner, now = new_id(), utcnow()
    stamps = {"created_at": now, "updated_at": now, "version": 1}
    comms = {"comms_enabled": True, "comms_sms": True, "comms_voice": True, "comms_email": True}
    instances = [
        {"id": new_id(), "partner_id": partner, "name": f"tt_bench_{i:05d}", "display_name": f"Bench {i}"}
        | comms
        | stamps
        for i in range(size)
    ]
    secret = "v1:bench"  # never decrypted: the ticker reads only enabled and interval_minutes
    users = {"users_username": "u", "reservations_username": "r", "availability_username": "a"}
    secrets_ = {"users_password": secret, "reservations_password": secret, "availability_password": secret}
    rules = [
        {"instance_id": row["id"], "resource_ids": "RES-1", "webhook_secret": secret, "base_url": None}
        | users
        | secrets_
        | {"enabled": True, "interval_minutes": 15, "window_days": 14}
        | stamps
        for row in instances
    ]
    past = [
        {
            "id": new_id(),
            "instance_id": row["id"],
            "trigger": "schedule",
            "status": "succeeded",
            "full_refresh": False,
            "streams": "resources",
            "slot": ticker.slot_of(BASE - timedelta(minutes=15 * (h + 1)), 15)[0],
            "requested_at": now,
            "attempts": 1,
            "counts": "{}",
        }
        for row in instances
        for h in range(history)
    ]
    async with sessionmaker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        await session.execute(
            table_of(Partner).insert(), [{"id": partner, "name": "bench", "created_at": now}]
        )
        for model, rows in ((Instance, instances), (GesdentConnection, rules), (SyncRun, past)):
            for start in range(0, len(rows), 5000):
                await session.execute(table_of(model).insert(), rows[start : start + 5000])
        await session.commit()


async def finish_all(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Every queued run finished, as the workers would have done."""
    async with sessionmaker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        await session.execute(text("UPDATE sync_runs SET status = 'succeeded' WHERE status = 'queued'"))
        await session.commit()


class Statements:
    """Counts the statements sent on an engine while `counting` is set."""

    def __init__(self, engine: Any) -> None:
        self.count = 0
        self.counting = False
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: object) -> None:
        if self.counting:
            self.count += 1


async def timed(
    tick: Tick,
    sessionmaker: async_sessionmaker[AsyncSession],
    now: datetime,
    statements: Statements,
    expected: int,
) -> tuple[float, int]:
    statements.count, statements.counting = 0, True
    started = time.perf_counter()
    created = await tick(sessionmaker, now)
    elapsed = time.perf_counter() - started
    statements.counting = False
    if created != expected:
        raise SystemExit(f"{tick.__name__} at {now}: {created} runs queued, {expected} expected")
    return elapsed, statements.count


def summary(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):8.1f} ms ({min(ms):.1f} to {max(ms):.1f})"


async def bench_size(url: str | None, size: int, rounds: int, history: int) -> None:
    peers: dict[str, Tick] = {"before": per_row_enqueue_due, "after": ticker.enqueue_due}
    times: dict[tuple[str, str], list[float]] = {
        (c, p): [] for c in peers for p in ("all due", "nothing due")
    }
    sent: dict[tuple[str, str], int] = {}
    async with Scratch(url) as database:
        engine = create_engine(database, null_pool=False)
        try:
            await upgrade(engine)
            sessionmaker = create_sessionmaker(engine)
            await populate(sessionmaker, size, history)
            async with engine.connect() as connection:
                await connection.execute(text("ANALYZE"))
                await connection.commit()
            statements = Statements(engine)
            slot = 0
            for round_ in range(rounds):
                order = list(peers) if round_ % 2 == 0 else list(reversed(peers))
                for code in order:
                    now = BASE + timedelta(minutes=15 * slot, seconds=7)
                    slot += 1
                    for phase, expected in (("all due", size), ("nothing due", 0)):
                        elapsed, count = await timed(peers[code], sessionmaker, now, statements, expected)
                        times[code, phase].append(elapsed)
                        sent[code, phase] = count
                        if phase == "all due":
                            await finish_all(sessionmaker)
        finally:
            await engine.dispose()
    for phase in ("all due", "nothing due"):
        before, after = times["before", phase], times["after", phase]
        ratio = statistics.median(after) / statistics.median(before)
        print(
            f"{size:>6} {phase:<12} before {summary(before)} [{sent['before', phase]} stmts]"
            f"   after {summary(after)} [{sent['after', phase]} stmts]   after/before {ratio:.3f}",
            flush=True,
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL server (a scratch database is made there)")
    parser.add_argument("--sizes", default="2000,10000,20000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--history", type=int, default=4)
    args = parser.parse_args()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{backend}, {args.rounds} rounds, {args.history} finished runs per instance", flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        await bench_size(args.database_url, size, args.rounds, args.history)


if __name__ == "__main__":
    asyncio.run(main())
