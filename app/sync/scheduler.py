"""The sync machinery of one process: an APScheduler ticker that only enqueues due runs, and
workers that take runs from the queue. The database decides; any number of replicas may run this.

Several workers by default: an instance has at most one active run, so however slow its GESDENT
server, it holds one worker (for at most `run_seconds`) while the others serve the rest in the
queue's fair order (app/sync/queue.py).

The ticker also runs the pruning pass (app/sync/retention.py) every `prune_seconds`, the first a
minute after start; every replica may run it, as its batches never wait on another pruner's rows."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.crypto import SecretBox
from app.metrics import Metrics
from app.sync import ticker
from app.sync.retention import RetentionPolicy, prune
from app.sync.worker import Worker

log = logging.getLogger("portico.sync")


class SyncService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        box: SecretBox,
        *,
        tick_seconds: float = 30,
        workers: int = 4,
        lease_seconds: float = 60,
        run_seconds: float = 900,
        allow_private_networks: bool = False,
        default_base_url: str | None = None,
        client_options: dict[str, Any] | None = None,
        retention: RetentionPolicy | None = None,
        prune_seconds: float = 3600,
        tracer_provider: TracerProvider | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.metrics = metrics
        self.tick_seconds = tick_seconds
        self.retention = retention
        self.prune_seconds = prune_seconds
        self.workers = [
            Worker(
                sessionmaker,
                box,
                lease=timedelta(seconds=lease_seconds),
                run_seconds=run_seconds,
                allow_private_networks=allow_private_networks,
                default_base_url=default_base_url,
                client_options=client_options,
                tracer_provider=tracer_provider,
                metrics=metrics,
            )
            for _ in range(max(workers, 0))
        ]
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def tick(self) -> None:
        started = time.monotonic()
        try:
            # Not traced: a trace every tick_seconds would bury the ones worth reading.
            with suppress_instrumentation():
                created = await ticker.enqueue_due(self.sessionmaker)
                stale = await ticker.record_stale(self.sessionmaker)
        except Exception:  # a tick that fails (database restarting) is retried at the next one
            log.exception("sync ticker: enqueuing due runs failed")
            return
        finally:
            if self.metrics is not None:
                self.metrics.ticker_duration.observe(time.monotonic() - started)
        if created:
            log.info("sync ticker: queued %s scheduled run(s)", created)
        if stale:
            log.info("sync ticker: %s instance(s) or stream(s) went stale", len(stale))

    async def prune(self) -> None:
        if self.retention is None:
            return
        try:
            pruned = await prune(self.sessionmaker, self.retention)
        except Exception:  # like a tick: the next pass deletes what this one left
            log.exception("sync ticker: pruning failed")
            return
        if pruned.runs or pruned.deliveries:
            log.info(
                "sync ticker: pruned %s run(s), %s rejection(s), %s webhook delivery record(s)",
                pruned.runs,
                pruned.rejections,
                pruned.deliveries,
            )

    def start(self) -> None:
        self._scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.tick_seconds,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            id="enqueue-due-runs",
        )
        if self.retention is not None:
            self._scheduler.add_job(
                self.prune,
                "interval",
                seconds=self.prune_seconds,
                next_run_time=datetime.now(UTC) + timedelta(seconds=min(self.prune_seconds, 60)),
                max_instances=1,
                coalesce=True,
                id="prune",
            )
        self._scheduler.start()
        self._tasks = [asyncio.create_task(worker.run_forever(self._stop)) for worker in self.workers]

    async def stop(self) -> None:
        self._scheduler.shutdown(wait=False)
        self._stop.set()
        # A run in progress keeps its lease until it expires; another replica then takes it over.
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
