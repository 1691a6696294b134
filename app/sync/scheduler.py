"""The sync machinery of one process: an APScheduler ticker that only enqueues due runs, and
workers that take runs from the queue. The database decides; any number of replicas may run this.

Several workers by default: an instance has at most one active run, so however slow its GESDENT
server, it holds one worker (for at most `run_seconds`) while the others serve the rest in the
queue's fair order (app/sync/queue.py).

The ticker also runs the pruning pass (app/sync/retention.py) every `prune_seconds`, the first a
minute after start; every replica may run it, as its batches never wait on another pruner's rows.

Stopping (`stop`, on SIGTERM): every loop stops taking work at once; the work in hand (runs, a tick,
a pruning pass) has `shutdown_grace` seconds to end normally, its outcome recorded; then what is
left is cancelled and each loop hands back what it held: a run goes back to the queue, and another
worker resumes it at once from the cursors its streams committed (a stream cut in the middle of its
transaction loses only that transaction). Every loop (`Loop`) gets the same stop event and grace."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import INVALID_SPAN
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.crypto import SecretBox
from app.events.delivery import Deliverer, DeliveryPolicy
from app.metrics import Metrics
from app.sync import ticker
from app.sync.client import client_limits
from app.sync.retention import RetentionPolicy, prune
from app.sync.worker import Worker, default_owner

log = logging.getLogger("portico.sync")


class Loop(Protocol):
    """A loop of the service (a worker, say): works until `stop` is set, the work in hand ending
    first; when cancelled in the middle instead (the grace ran out), `hand_back` then gives back
    what it held, for another process to take up at once."""

    async def run_forever(self, stop: asyncio.Event) -> None: ...

    async def hand_back(self) -> bool: ...


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
        shutdown_grace: float = 20,
        events: DeliveryPolicy | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.shutdown_grace = shutdown_grace  # PORTICO_SHUTDOWN_GRACE_SECONDS
        self.metrics = metrics
        self.tick_seconds = tick_seconds
        self.retention = retention
        self.prune_seconds = prune_seconds
        self._tracer = tracer_provider.get_tracer("portico.sync") if tracer_provider else None
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
        # Outbound events (app/events): one delivery loop, sending its batch side by side.
        self.deliverer = (
            None if events is None else Deliverer(sessionmaker, box, default_owner(), events, metrics)
        )
        # What start() runs side by side; each stops and hands back as `stop` says.
        self.loops: list[Loop] = [*self.workers, *([self.deliverer] if self.deliverer else [])]
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._jobs: set[asyncio.Task[Any]] = set()  # a tick or pruning pass under way
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        box: SecretBox,
        *,
        metrics: Metrics,
        tracer_provider: TracerProvider | None,
        min_workers: int = 0,
    ) -> SyncService:
        """The service as the PORTICO_* settings configure it, for `portico serve` and `portico worker`
        (which runs at least `min_workers`: it exists to run syncs)."""
        return cls(
            sessionmaker,
            box,
            tick_seconds=settings.scheduler_tick_seconds,
            workers=max(settings.sync_workers, min_workers),
            lease_seconds=settings.sync_lease_seconds,
            run_seconds=settings.sync_run_seconds,
            client_options=client_limits(settings),
            allow_private_networks=settings.gesdent_allow_private_networks,
            default_base_url=settings.gesdent_base_url,
            retention=RetentionPolicy.from_settings(settings),
            prune_seconds=settings.prune_interval_seconds,
            tracer_provider=tracer_provider,
            metrics=metrics,
            shutdown_grace=settings.shutdown_grace_seconds,
            events=DeliveryPolicy.from_settings(settings),
        )

    async def tick(self) -> None:
        started = time.monotonic()
        # A tick's span is kept only when the tick queued runs, which link to it: a trace of every
        # tick (every tick_seconds on every replica, nearly all queuing nothing) would bury the
        # ones worth reading. Its statements are not traced either.
        span = self._tracer.start_span("sync.tick", context=Context()) if self._tracer else None
        try:
            with trace.use_span(span or INVALID_SPAN, end_on_exit=False), suppress_instrumentation():
                created = await ticker.enqueue_due(self.sessionmaker)
                stale = await ticker.record_stale(self.sessionmaker)
        except Exception:  # a tick that fails (database restarting) is retried at the next one
            log.exception("sync ticker: enqueuing due runs failed")
            return
        finally:
            if self.metrics is not None:
                self.metrics.ticker_duration.observe(time.monotonic() - started)
        if created:
            if span is not None:
                span.set_attribute("portico.sync.queued", created)
                span.end()  # exported; a span never ended is never exported
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
        if pruned.runs or pruned.deliveries or pruned.events:
            log.info(
                "sync ticker: pruned %s run(s), %s rejection(s), %s webhook delivery record(s), "
                "%s event(s) with %s outbound delivery(ies)",
                pruned.runs,
                pruned.rejections,
                pruned.deliveries,
                pruned.events,
                pruned.event_deliveries,
            )

    def _job(self, work: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """`work` as a scheduled job that `stop` can wait for (APScheduler's shutdown would cancel it)."""

        async def job() -> None:
            if self._stop.is_set():
                return
            task = asyncio.current_task()
            assert task is not None
            self._jobs.add(task)
            try:
                await work()
            finally:
                self._jobs.discard(task)

        return job

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._scheduler.add_job(
            self._job(self.tick),
            "interval",
            seconds=self.tick_seconds,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            id="enqueue-due-runs",
        )
        if self.retention is not None:
            self._scheduler.add_job(
                self._job(self.prune),
                "interval",
                seconds=self.prune_seconds,
                next_run_time=datetime.now(UTC) + timedelta(seconds=min(self.prune_seconds, 60)),
                max_instances=1,
                coalesce=True,
                id="prune",
            )
        self._scheduler.start()
        self._tasks = [asyncio.create_task(loop.run_forever(self._stop)) for loop in self.loops]

    def stop_taking_work(self) -> None:
        """Let no loop take new work from now on (what `stop` does first). Safe from a signal handler
        and from another thread: `portico serve` calls it on SIGTERM, before uvicorn has closed its
        connections and runs the lifespan's end, where `stop` is awaited."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)

    async def stop(self) -> None:
        """Stop taking work; give the work in hand `shutdown_grace` seconds to end normally; then
        cancel what is left, and hand back what each loop held (see the module's doc)."""
        self._stop.set()
        if self._tasks:
            under_way = sum(worker.holding is not None for worker in self.workers)
            grace = self.shutdown_grace
            log.info("sync service stopping: %s run(s) under way, %g s to end", under_way, grace)
        if self._scheduler.running:
            self._scheduler.pause()  # no new tick or pass; the one under way goes on
        busy = {*self._tasks, *self._jobs}
        late: set[asyncio.Task[Any]] = set()
        if busy:
            _, late = await asyncio.wait(busy, timeout=self.shutdown_grace)
        for task in late:
            task.cancel()
        # Awaited before any hand-back: a run's transaction rolled back, its writer gone.
        await asyncio.gather(*busy, return_exceptions=True)
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        for loop in self.loops:
            try:
                await loop.hand_back()
            except Exception:  # the database unreachable: this run waits for its lease to run out
                log.exception("sync service: handing a run back failed; it is resumed when its lease expires")
