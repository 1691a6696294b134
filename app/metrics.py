"""The process's Prometheus metrics: one `Metrics` per app or worker process, each with its own
`CollectorRegistry` rather than prometheus_client's global one, so that several apps in one process
(the tests build many) never collide on a metric name, and each scrape shows only its own.

Counters and histograms are moved where things happen: HTTP requests by app/request_log.py, sync
runs by app/sync/worker.py, the ticker by app/sync/scheduler.py. Gauges of state (the database pool,
the queue, instances by sync health state) are read when scraped, by `scrape`: two aggregate
queries, bounded by QUEUE_QUERY_SECONDS.

Labels stay bounded: route templates (never paths), a fixed set of methods, status codes, run
statuses and triggers, stream names and record outcomes. Never an instance, a partner or an id."""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.exposition import generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db.repositories import sync_health, sync_runs, webhook_endpoints
from app.domain.sync_health import STATES

log = logging.getLogger("portico.metrics")
# No `_created` series beside every counter and histogram: in the 0.0.4 text they are gauges of
# their own, doubling the series for a timestamp Prometheus does not use. (A switch of the library's,
# for the whole process: Portico's registries are its only ones.)
disable_created_metrics()  # type: ignore[no-untyped-call]  # the library leaves it unannotated

# The text format 0.0.4, which every Prometheus reads: what generate_latest writes for names without
# dots (ours). Not the library's CONTENT_TYPE_LATEST, which says 1.0.0 since 0.22.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
QUEUE_QUERY_SECONDS = 2.0
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "(unmatched)"  # the route label of a request that no route matches
OUTCOMES = ("created", "updated", "deleted", "unchanged")
# Seconds: requests take milliseconds; runs and streams take seconds to PORTICO_SYNC_RUN_SECONDS.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SYNC_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0)


class Metrics:
    """The metrics of one process, in a registry of its own (see the module's doc)."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.http_requests = Counter(
            "portico_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "portico_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        self.sync_runs = Counter(
            "portico_sync_runs_finished",
            "Sync runs whose outcome this process recorded, by status and trigger.",
            ["status", "trigger"],
            registry=registry,
        )
        self.sync_run_duration = Histogram(
            "portico_sync_run_duration_seconds",
            "Duration of a sync run, from its claim to its recorded outcome, by status.",
            ["status"],
            buckets=SYNC_BUCKETS,
            registry=registry,
        )
        self.sync_stream_duration = Histogram(
            "portico_sync_stream_duration_seconds",
            "Duration of one stream of a sync run, by stream.",
            ["stream"],
            buckets=SYNC_BUCKETS,
            registry=registry,
        )
        self.sync_records = Counter(
            "portico_sync_records",
            "Records imported by sync runs, by stream and outcome (created, updated, deleted, unchanged).",
            ["stream", "outcome"],
            registry=registry,
        )
        self.lease_takeovers = Counter(
            "portico_sync_lease_takeovers",
            "Runs this process claimed after another worker's lease on them expired.",
            registry=registry,
        )
        self.handed_back = Counter(
            "portico_sync_runs_handed_back",
            "Runs this process gave back to the queue as it stopped, for another worker to resume at once.",
            registry=registry,
        )
        self.ticker_duration = Histogram(
            "portico_sync_ticker_duration_seconds",
            "Duration of one tick of the sync ticker: queuing due scheduled runs, recording what went stale.",
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        self.webhook_deliveries = Counter(
            "portico_webhook_deliveries",
            "Attempts to deliver an outbound event, by result: delivered, retried (to be sent again), "
            "gave_up (its retry schedule spent), gone (410: the endpoint disabled), lost (its lease "
            "expired before the outcome was recorded; sent again).",
            ["result"],
            registry=registry,
        )
        self.queued_runs = Gauge(
            "portico_sync_queued_runs", "Sync runs waiting in the queue (all processes).", registry=registry
        )
        self.oldest_queued = Gauge(
            "portico_sync_oldest_queued_run_age_seconds",
            "How long the oldest queued sync run has waited; 0 when none waits.",
            registry=registry,
        )
        self.pending_deliveries = Gauge(
            "portico_webhook_pending_deliveries",
            "Outbound event deliveries not yet delivered to enabled endpoints: due, in flight or "
            "waiting for a retry (all processes).",
            registry=registry,
        )
        self.oldest_due_delivery = Gauge(
            "portico_webhook_oldest_due_delivery_age_seconds",
            "How long the delivery due the longest has been due; 0 when none is.",
            registry=registry,
        )
        self.health_instances = Gauge(
            "portico_sync_health_instances",
            "Instances by sync health state (fresh, stale, failing, disabled, never), all partners.",
            ["state"],
            registry=registry,
        )
        self.pool_checked_out = Gauge(
            "portico_db_pool_checked_out", "Database connections in use.", registry=registry
        )
        self.pool_size = Gauge(
            "portico_db_pool_size",
            "The most connections the database pool holds (opened as load needs them, then kept).",
            registry=registry,
        )
        self.pool_overflow = Gauge(
            "portico_db_pool_overflow",
            "Connections opened minus the pool's size (negative: room left to open).",
            registry=registry,
        )

    def request(self, route: str | None, method: str, status: int | None, seconds: float) -> None:
        """Count one HTTP request (status None: no answer was sent, the client went away)."""
        shown = route or UNMATCHED
        method = method if method in METHODS else "other"  # a client chooses the method: bound it
        self.http_requests.labels(shown, method, str(status) if status is not None else "none").inc()
        self.http_duration.labels(shown, method).observe(seconds)

    def run_finished(
        self, status: str, trigger: str, seconds: float, counts: dict[str, dict[str, float]]
    ) -> None:
        """Count a run whose outcome was recorded, its streams' durations and their records."""
        self.sync_runs.labels(status, trigger).inc()
        self.sync_run_duration.labels(status).observe(seconds)
        for stream, tally in counts.items():
            if "seconds" in tally:
                self.sync_stream_duration.labels(stream).observe(tally["seconds"])
            for outcome in OUTCOMES:
                self.sync_records.labels(stream, outcome).inc(tally.get(outcome, 0))

    async def scrape(self, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]) -> bytes:
        """Read the gauges of state, then the text of every metric."""
        self._read_pool(engine)
        await self._read_queue(sessionmaker)
        return generate_latest(self.registry)

    def _read_pool(self, engine: AsyncEngine) -> None:
        pool = engine.sync_engine.pool
        # A QueuePool has all three; another pool (NullPool, SQLite's in-memory one) has none of them.
        for gauge, name in (
            (self.pool_checked_out, "checkedout"),
            (self.pool_size, "size"),
            (self.pool_overflow, "overflow"),
        ):
            read = getattr(pool, name, None)
            gauge.set(read() if callable(read) else math.nan)

    async def _read_queue(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        try:
            async with asyncio.timeout(QUEUE_QUERY_SECONDS), sessionmaker() as session:
                waiting, oldest = await sync_runs.queue_depth(session)
                health = await sync_health.counts(session, None, datetime.now(UTC))
                pending, due_since = await webhook_endpoints.delivery_backlog(session, datetime.now(UTC))
        except Exception as exc:  # a scrape still answers while the database does not: NaN, not stale
            log.warning("metrics: reading the sync queue failed (%s)", type(exc).__name__)
            for gauge in (
                self.queued_runs,
                self.oldest_queued,
                self.pending_deliveries,
                self.oldest_due_delivery,
            ):
                gauge.set(math.nan)
            for state in STATES:
                self.health_instances.labels(state).set(math.nan)
            return
        self.queued_runs.set(waiting)
        age = (datetime.now(UTC) - _aware(oldest)).total_seconds() if oldest is not None else 0.0
        self.oldest_queued.set(max(age, 0.0))
        self.pending_deliveries.set(pending)
        late = (datetime.now(UTC) - _aware(due_since)).total_seconds() if due_since is not None else 0.0
        self.oldest_due_delivery.set(max(late, 0.0))
        for state, count in health.items():
            self.health_instances.labels(state).set(count)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
