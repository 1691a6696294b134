"""The worker: claims runs from the queue, imports under a renewed lease, records the outcome.

A run has two deadlines. Its own, `run_seconds`: the import stops then, wherever it is (see
app/sync/importer.py), so one slow GESDENT server holds one worker for a bounded time. And its
lease: renewed every third of its length; a renewal that fails (the database briefly unreachable)
is retried with a short backoff until the lease would run out. When the lease is taken over, or
could not be renewed in time, the import is cancelled and nothing is recorded: the run belongs to
whichever worker claims it next, and the fence checked before every commit (app/sync/queue.py)
keeps this one from writing even if it did not notice in time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import tracing
from app.crypto import SecretBox
from app.db.models import new_id
from app.db.repositories import gesdent
from app.db.repositories.gesdent import RunStart
from app.domain import time_zones
from app.domain.gesdent import FAMILIES, ConnectionRules
from app.metrics import Metrics
from app.sync import queue

# Imported up front: a first import inside a claimed run could outlast a short lease.
from app.sync.importer import run_import
from app.sync.lease import keep_lease

log = logging.getLogger("portico.sync")
NO_ADDRESS = (
    "no GESDENT address: the connection rules have no base_url and this process has no "
    "PORTICO_GESDENT_BASE_URL; set one of them"
)


# A run's end: status, counts per stream, error, and the stream it stopped at when one failed.
Outcome = tuple[str, dict[str, Any], str | None, str | None]


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_id()[-8:]}"


class Worker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        box: SecretBox,
        *,
        owner: str | None = None,
        lease: timedelta = timedelta(seconds=60),
        run_seconds: float = 900,
        poll_seconds: float = 1.0,
        client_options: dict[str, Any] | None = None,
        importer: Callable[..., Any] | None = None,
        allow_private_networks: bool = False,
        default_base_url: str | None = None,
        tracer_provider: TracerProvider | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.metrics = metrics  # the process's (app/metrics.py): runs, streams, records, takeovers
        self.box = box
        self.owner = owner or default_owner()
        self.lease = lease
        self.run_seconds = run_seconds  # PORTICO_SYNC_RUN_SECONDS
        self.poll_seconds = poll_seconds
        self.client_options = client_options
        self._importer = importer
        self.allow_private_networks = allow_private_networks
        self.default_base_url = default_base_url  # PORTICO_GESDENT_BASE_URL
        self.tracer_provider = tracer_provider
        self._tracer = tracer_provider.get_tracer("portico.sync") if tracer_provider else None
        # The run under way's claim; still set when its task was cancelled, for `hand_back`.
        self.holding: queue.Claim | None = None
        self._stopping: asyncio.Event | None = None

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set (the run under way ends first); an error in a run never stops it."""
        self._stopping = stop
        while not stop.is_set():
            try:
                worked = await self.run_once()
            except Exception:  # the database may be briefly unreachable; try again after a pause
                log.exception("sync worker: claiming a run failed")
                worked = False
            if not worked:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)

    async def run_once(self) -> bool:
        """Claim and execute one run; False when the queue had nothing to do."""
        # Polling is not traced: it would make a trace of one statement every poll_seconds per worker.
        with suppress_instrumentation():
            claim = await queue.claim(self.sessionmaker, self.owner, self.lease, abandoned=self._abandoned)
        if claim is None:
            return False
        self.holding = claim
        if self._stopping is not None and self._stopping.is_set():
            # Claimed while the process began to stop: another worker can start it at once.
            await self.hand_back()
            return True
        if claim.taken_over and self.metrics is not None:
            self.metrics.lease_takeovers.inc()
        try:
            await self._traced(claim)
        except Exception:
            self.holding = None
            raise
        self.holding = None  # not in a `finally`: a cancelled run is still held, to be handed back
        return True

    def _abandoned(self, trigger: str) -> None:
        """A run this worker found abandoned and recorded failed: a finished run like another."""
        if self.metrics is not None:
            self.metrics.sync_runs.labels("failed", trigger).inc()

    async def hand_back(self) -> bool:
        """Give back the run held when this worker's task was cancelled (the task ended), for another
        worker to resume at once; False when there was none, or it was no longer this worker's."""
        claim, self.holding = self.holding, None
        if claim is None:
            return False
        about = {"run_id": claim.run_id, "instance_id": claim.instance_id}
        if not await queue.hand_back(self.sessionmaker, claim.fence):
            log.warning("sync run %s: not handed back (ended, or taken over)", claim.run_id, extra=about)
            return False
        log.info("sync run %s: handed back to the queue, to resume at once", claim.run_id, extra=about)
        if self.metrics is not None:
            self.metrics.handed_back.inc()
        return True

    async def _traced(self, claim: queue.Claim) -> None:
        if self._tracer is None:
            await self._execute(claim)
            return
        # A trace of its own (never under whatever called this), linked to the one that queued the
        # run: a request's, when that was traced.
        with (
            self._tracer.start_as_current_span(
                "sync.run",
                context=Context(),
                links=tracing.link_to(claim.traceparent),
                attributes={
                    "portico.sync.run_id": claim.run_id,
                    "portico.instance_id": claim.instance_id,
                    "portico.sync.trigger": claim.trigger,
                    "portico.sync.attempt": claim.attempts,
                },
            ) as span,
            tracing.run_tracer(self._tracer),
        ):
            await self._execute(claim, span)

    async def _execute(self, claim: queue.Claim, span: Span | None = None) -> None:
        async with self.sessionmaker() as session:
            start = await gesdent.for_run(session, claim.instance_id)
        name = start.name if start is not None else None
        if span is not None and name is not None:
            span.set_attribute("portico.instance", name)
        # Every line of the run carries its id and instance (app/logs.py); the importer adds the stream.
        bound = structlog.contextvars.bind_contextvars(
            run_id=claim.run_id, instance=name, instance_id=claim.instance_id
        )
        try:
            await self._execute_bound(claim, start)
        finally:
            structlog.contextvars.reset_contextvars(**bound)

    async def _execute_bound(self, claim: queue.Claim, start: RunStart | None) -> None:
        log.info(
            "sync run %s for instance %s: started (attempt %s)",
            claim.run_id,
            claim.instance_id,
            claim.attempts,
        )
        started = time.monotonic()
        try:
            async with asyncio.TaskGroup() as group:
                importing = group.create_task(self._outcome(claim, start))
                keeping = group.create_task(keep_lease(self.sessionmaker, claim.fence, self.lease))
                importing.add_done_callback(lambda _: keeping.cancel())
        except* queue.LeaseLost as lost:
            log.warning("sync run %s stopped, nothing recorded: %s", claim.run_id, lost.exceptions[0])
        else:
            status, counts, error, failed_stream = importing.result()
            trace.get_current_span().set_attribute("portico.sync.status", status)  # no-op untraced
            finished = queue.finish(
                self.sessionmaker, claim.fence, status, counts, error, failed_stream=failed_stream
            )
            if await finished:
                log.info("sync run %s: %s", claim.run_id, status, extra={"outcome": status})
                if self.metrics is not None:
                    self.metrics.run_finished(status, claim.trigger, time.monotonic() - started, counts)
            else:
                log.warning("sync run %s: taken over before its outcome was recorded", claim.run_id)

    async def _outcome(self, claim: queue.Claim, start: RunStart | None) -> Outcome:
        try:
            return await self._import(claim, start)
        except queue.LeaseLost:
            raise
        except Exception as exc:  # an importer bug must still end the run with a reason
            log.exception("sync run %s failed unexpectedly", claim.run_id)
            return "failed", {}, f"internal error: {type(exc).__name__}", None

    async def _import(self, claim: queue.Claim, start: RunStart | None) -> Outcome:
        if start is None or start.rules is None:
            return "failed", {}, "the instance has no GESDENT connection rules", None
        row, time_zone = start.rules, start.time_zone
        base_url = row.base_url or self.default_base_url
        if not base_url:
            return "failed", {}, NO_ADDRESS, None
        try:
            credentials: dict[str, tuple[str, str]] = {
                family: (
                    getattr(row, f"{family}_username"),
                    self.box.decrypt(getattr(row, f"{family}_password")),
                )
                for family in FAMILIES
            }
        except ValueError as exc:  # PORTICO_SECRET_KEYS lacks the key these were encrypted with
            return "failed", {}, str(exc), None
        rules = ConnectionRules(
            base_url=base_url,
            resource_ids=row.resource_ids.split(),
            credentials=credentials,
            window_days=row.window_days,
        )
        importer = self._importer or run_import
        result = await importer(
            self.sessionmaker,
            claim.instance_id,
            rules,
            full_refresh=claim.full_refresh,
            streams=claim.streams,
            run_seconds=self.run_seconds,
            fence=claim.fence,
            # The availability window starts on the clinic's today, not the server's: in New York at
            # 20:00 it is already tomorrow in UTC, and the evening's slots would be left out.
            today=time_zones.today(time_zones.zone(time_zone)),
            # Where base_url leads is checked again on every connection the run opens: DNS may
            # point the host elsewhere since the rules were saved (app/sync/network.py).
            client_options={
                **(self.client_options or {}),
                "allow_private_networks": self.allow_private_networks,
                **({"tracer_provider": self.tracer_provider} if self.tracer_provider else {}),
            },
        )
        return result.status, result.as_counts(), result.error, result.failed_stream
