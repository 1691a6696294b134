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
from app.db.repositories import gesdent, instances
from app.domain.gesdent import FAMILIES, ConnectionRules
from app.metrics import Metrics
from app.sync import queue

# Imported up front: a first import inside a claimed run could outlast a short lease.
from app.sync.importer import run_import

log = logging.getLogger("portico.sync")
RENEW_BACKOFF = 0.25  # seconds before the first retry of a failed renewal; doubles, up to lease / 6
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
        self._sqlite = sessionmaker.kw["bind"].dialect.name == "sqlite"
        self.tracer_provider = tracer_provider
        self._tracer = tracer_provider.get_tracer("portico.sync") if tracer_provider else None

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; an error in one run never stops the loop."""
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
            claim = await queue.claim(self.sessionmaker, self.owner, self.lease)
        if claim is None:
            return False
        if claim.taken_over and self.metrics is not None:
            self.metrics.lease_takeovers.inc()
        if self._tracer is None:
            await self._execute(claim)
            return True
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
        return True

    async def _execute(self, claim: queue.Claim, span: Span | None = None) -> None:
        # Every line of the run carries its id and instance (app/logs.py); the importer adds the stream.
        async with self.sessionmaker() as session:
            name = await instances.name_by_id(session, claim.instance_id)
        if span is not None and name is not None:
            span.set_attribute("portico.instance", name)
        bound = structlog.contextvars.bind_contextvars(
            run_id=claim.run_id, instance=name, instance_id=claim.instance_id
        )
        try:
            await self._execute_bound(claim)
        finally:
            structlog.contextvars.reset_contextvars(**bound)

    async def _execute_bound(self, claim: queue.Claim) -> None:
        log.info(
            "sync run %s for instance %s: started (attempt %s)",
            claim.run_id,
            claim.instance_id,
            claim.attempts,
        )
        started = time.monotonic()
        try:
            async with asyncio.TaskGroup() as group:
                importing = group.create_task(self._outcome(claim))
                keeping = group.create_task(self._keep_lease(claim.fence))
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

    async def _outcome(self, claim: queue.Claim) -> Outcome:
        try:
            return await self._import(claim)
        except queue.LeaseLost:
            raise
        except Exception as exc:  # an importer bug must still end the run with a reason
            log.exception("sync run %s failed unexpectedly", claim.run_id)
            return "failed", {}, f"internal error: {type(exc).__name__}", None

    async def _import(self, claim: queue.Claim) -> Outcome:
        async with self.sessionmaker() as session:
            row = await gesdent.get(session, claim.instance_id)
        if row is None:
            return "failed", {}, "the instance has no GESDENT connection rules", None
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
            # Where base_url leads is checked again on every connection the run opens: DNS may
            # point the host elsewhere since the rules were saved (app/sync/network.py).
            client_options={
                **(self.client_options or {}),
                "allow_private_networks": self.allow_private_networks,
                **({"tracer_provider": self.tracer_provider} if self.tracer_provider else {}),
            },
        )
        return result.status, result.as_counts(), result.error, result.failed_stream

    async def _keep_lease(self, fence: queue.Fence) -> None:
        """Renew the lease every third of its length, until cancelled. Raises LeaseLost when another
        worker holds the run, or when no renewal (nor a commit of the run, which extends the lease
        too) succeeded before the lease would run out."""
        lease = self.lease.total_seconds()
        while True:
            await asyncio.sleep(max(0.0, fence.renewed_at + lease / 3 - time.monotonic()))
            failures, busy = 0, False
            while True:
                attempted = time.monotonic()
                # While SQLite answers "busy", a writer holds the database (often this run's own
                # import, in a long stream): no other worker can claim the run meanwhile either.
                if attempted >= fence.renewed_at + lease and not busy:
                    raise queue.LeaseLost(
                        f"{fence!r}: the lease could not be renewed in {lease:g} s "
                        f"({failures} failed attempts); another worker will take the run over"
                    )
                # SQLite's busy_timeout bounds a renewal there; cancelling it would not stop the
                # driver's thread from waiting for the lock anyway.
                left = None if self._sqlite else max(fence.renewed_at + lease - attempted, RENEW_BACKOFF)
                try:
                    async with asyncio.timeout(left):
                        renewed = await queue.renew(self.sessionmaker, fence)
                except Exception as exc:  # the database unreachable, or too slow to answer in time
                    failures, busy = failures + 1, _sqlite_busy(exc)
                    log.log(
                        logging.INFO if busy else logging.WARNING,
                        "sync run %s: renewing the lease failed (%s); retrying",
                        fence.run_id,
                        "the database is locked by a writer" if busy else _first_line(exc),
                    )
                    pause = min(RENEW_BACKOFF * 2 ** (failures - 1), lease / 6)
                    await asyncio.sleep(max(0.0, min(pause, fence.renewed_at + lease - time.monotonic())))
                    continue
                if not renewed:
                    raise queue.LeaseLost(f"{fence!r} was taken over by another worker")
                if failures:
                    log.info("sync run %s: lease renewed after %s failed attempts", fence.run_id, failures)
                break


def _first_line(exc: Exception) -> str:
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _sqlite_busy(exc: Exception) -> bool:
    """SQLite's "database is locked": another connection held the write lock for busy_timeout."""
    return getattr(getattr(exc, "orig", None), "sqlite_errorname", None) == "SQLITE_BUSY"
