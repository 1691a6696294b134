"""One import run from GESDENT: resources → users → reservations → availability.

Transactions: each stream writes its data and its cursor in one transaction — per resource for
reservations and availability — opened from the given sessionmaker once the first answer is in
hand (on SQLite, whose write lock it takes up front, only once every page is read: the lock is
never held while GESDENT answers; see app/sync/pages.py spooled). A failure rolls back that
transaction only: what earlier streams (or earlier resources) committed stays, and the next run
resumes from the committed cursors. Cursors: `users`, and `reservations:<digest of the resource
id>` per resource; each holds the newest `updated_at` seen, sent back as the inclusive
`updated_since`, so the items tied at it come again and count as fetched and unchanged.

Failure policy: the run stops at the first failing stream. Status `succeeded` when every stream
committed, `partial` when something committed before the failure, `failed` when nothing did — and
always `failed` when GESDENT rejected a credential (a configuration problem, and every later
request with it would be rejected too). The error names the stream, the endpoint family and what
happened. A run given `run_seconds` stops when they are up, wherever it is (the client gets the
same deadline, so no request or Retry-After wait outlasts it), with the same rule for its status.
A malformed record does not stop the run: its stream skips it, counts it (`rejected`) and keeps
its id, field and reason (app/sync/rejections.py); the run then ends `partial`, its error naming
the count per stream. No error, log line or rejection quotes a record's values.

In a worker's run (`fence` given), every transaction checks before its commit that the run is
still that worker's (app/sync/queue.py); when it is not, LeaseLost propagates: nothing of the
stream is written and the run is not this worker's to record.

Memory stays flat: the page being turned into rows and written, the pages read ahead of it (two
queued, one more in the reader's hands) and the raw body of the next (≤ 1000 items each); nothing
accumulates but counters and the cursor. Only availability holds a whole answer: one resource's
window, which the contract does not page.

Speed (bench/sync.py): one page reader fetches pages ahead of one writer, side by side in a task
group (app/sync/pages.py read_ahead), and asks for each page as soon as its cursor can be read off
the body before (GesdentClient._pages); a batch whose rows are all stored already costs one indexed
read and no write (see app/sync/batches.py write_batch).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import tracing
from app.domain.gesdent import STREAMS, ConnectionRules
from app.sync.client import GesdentClient
from app.sync.errors import AddressForbidden, CredentialsRejected, GesdentError, RunDeadlineExceeded
from app.sync.queue import Fence
from app.sync.rejections import Rejection
from app.sync.streams import Importer, StreamFailed

logger = logging.getLogger("portico.sync.gesdent")

Status = Literal["succeeded", "partial", "failed"]


@dataclass
class ImportResult:
    status: Status
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # stream → fetched, created, …
    timings: dict[str, float] = field(default_factory=dict)  # stream → seconds
    error: str | None = None
    failed_stream: str | None = None
    rejections: list[Rejection] = field(default_factory=list)  # kept: at most KEEP per stream

    def as_counts(self) -> dict[str, dict[str, Any]]:
        """Per stream: the counts and `seconds`, as sync_runs.counts records them."""
        return {
            stream: {**self.counts.get(stream, {}), "seconds": self.timings.get(stream, 0.0)}
            for stream in STREAMS
            if stream in self.counts or stream in self.timings
        }


async def run_import(
    sessionmaker: async_sessionmaker[AsyncSession],
    instance_id: str,
    connection: ConnectionRules,
    *,
    full_refresh: bool = False,
    streams: Collection[str] = STREAMS,
    today: date | None = None,
    client_options: dict[str, Any] | None = None,
    run_seconds: float | None = None,
    fence: Fence | None = None,
) -> ImportResult:
    """Import the chosen streams (in the order of STREAMS) for one instance, within
    `run_seconds` if given. Never raises for GESDENT or database trouble, nor when the time is up:
    that ends up in the result's status and error. Raises LeaseLost when `fence` no longer holds."""
    if isinstance(streams, str):
        streams = streams.split()
    unknown = set(streams) - set(STREAMS)
    if unknown:
        raise ValueError(f"unknown streams: {', '.join(sorted(unknown))}")
    result = ImportResult(status="succeeded")
    options = dict(client_options or {})
    if run_seconds is not None:
        options["deadline"] = time.monotonic() + run_seconds
    async with GesdentClient(connection.base_url, connection.credentials, **options) as client:
        importer = Importer(
            sessionmaker,
            instance_id,
            connection,
            client,
            full_refresh=full_refresh,
            today=today or date.today(),
            fence=fence,
        )
        chosen = [name for name in STREAMS if name in streams]
        try:
            async with asyncio.timeout(run_seconds):
                for stream in chosen:
                    if not await _run_stream(importer, stream, result, instance_id, run_seconds):
                        break
        except TimeoutError:
            assert run_seconds is not None
            # The stream under way is the last one timed (its timing is recorded as it stops).
            result.failed_stream = list(result.timings)[-1]
            result.status = "partial" if importer.progressed else "failed"
            result.error = _out_of_time(result.failed_stream, f"the run took longer than {run_seconds:g} s")
            logger.warning(
                "GESDENT import of %s: %s", instance_id, result.error, extra={"stream": result.failed_stream}
            )
        _note_rejections(result, importer, instance_id)
    return result


def _note_rejections(result: ImportResult, importer: Importer, instance_id: str) -> None:
    """Malformed records were skipped: the run is `partial` (unless worse), and its error says how
    many per stream and where their ids and reasons are — never anything of the records."""
    result.rejections = list(importer.rejections.kept)
    rejected = {stream: tally.rejected for stream, tally in importer.tallies.items() if tally.rejected}
    if not rejected:
        return
    first: dict[str, Rejection] = {}
    for rejection in reversed(result.rejections):
        first[rejection.stream] = rejection
    note = "; ".join(
        f"{stream}: {count} record{'' if count == 1 else 's'} rejected (malformed)"
        + (f", the first {first[stream]}" if count > 1 else f": {first[stream]}")
        for stream, count in rejected.items()
    )
    if importer.rejections.run_id is not None:
        note += f"; see GET /v1/sync-runs/{importer.rejections.run_id}/rejections"
    logger.warning("GESDENT import of %s: %s", instance_id, note)
    if result.status == "succeeded":
        result.status = "partial"
    result.error = note if result.error is None else f"{result.error}; {note}"


async def _run_stream(
    importer: Importer, stream: str, result: ImportResult, instance_id: str, run_seconds: float | None
) -> bool:
    """Import one stream and record its counts and timing; False when it failed (the result then
    has the status and the error)."""
    started = time.perf_counter()
    bound = structlog.contextvars.bind_contextvars(stream=stream)  # on every line of the stream's work
    try:
        # A child of the run's span (app/tracing.py); its statements and requests nest under it.
        with tracing.span("sync.stream", {"portico.sync.stream": stream}):
            await importer.run(stream)
    except StreamFailed as failure:
        result.failed_stream = stream
        result.error = _describe(failure)
        if isinstance(failure.cause, RunDeadlineExceeded) and run_seconds is not None:
            # The client saw the time run out (or that a wait would outlast it) first.
            result.error = _out_of_time(
                stream, f"the run took longer than {run_seconds:g} s, or would have: {failure.cause}"
            )
        # A configuration problem: every further request would fail the same way.
        rejected = isinstance(failure.cause, CredentialsRejected | AddressForbidden)
        result.status = "partial" if failure.progressed and not rejected else "failed"
        if isinstance(failure.cause, GesdentError):
            logger.warning("GESDENT import of %s: %s", instance_id, result.error)
        else:
            logger.exception("GESDENT import of %s: %s", instance_id, result.error, exc_info=failure.cause)
        return False
    else:
        counts = importer.tallies[stream].as_dict() if stream in importer.tallies else {}
        logger.info("GESDENT import of %s: %s stream done", instance_id, stream, extra={"counts": counts})
    finally:
        structlog.contextvars.reset_contextvars(**bound)
        result.timings[stream] = round(time.perf_counter() - started, 3)
        if stream in importer.tallies:
            result.counts[stream] = importer.tallies[stream].as_dict()
    return True


def _out_of_time(stream: str, what: str) -> str:
    return (
        f"{stream} stream stopped, its uncommitted changes rolled back: {what}; raise "
        "PORTICO_SYNC_RUN_SECONDS, or find out why the GESDENT server answers so slowly"
    )


def _describe(failure: StreamFailed) -> str:
    cause = failure.cause
    if isinstance(cause, GesdentError):
        what = str(cause)
    elif isinstance(cause, sa.exc.SQLAlchemyError):
        what = f"database error: {_database_error(cause)}"
    else:
        # Not its text: an unexpected error's message may quote whatever value it choked on.
        what = f"unexpected {type(cause).__name__} (the service log has the details)"
    return f"{failure.stream} stream failed, its uncommitted changes rolled back: {what}"


def _database_error(cause: sa.exc.SQLAlchemyError) -> str:
    """The error's kind and code, not its message: a database's message may quote a value of the
    row it refused (PostgreSQL's `invalid input syntax for type …: "…"`)."""
    orig = getattr(cause, "orig", None)
    driver = orig.__cause__ if orig is not None and orig.__cause__ is not None else orig
    kinds = [type(cause).__name__]
    if driver is not None and type(driver).__name__ not in kinds:
        kinds.append(type(driver).__name__)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    return " / ".join(kinds) + (f" ({code})" if code else "")
