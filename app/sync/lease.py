"""A run's lease, kept by its worker while the import goes on: renewed every third of its length; a
renewal that fails (the database briefly unreachable) is retried with a short backoff until the
lease would run out, and then the run is given up (`queue.LeaseLost`) for another worker to take."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.sync import queue

log = logging.getLogger("portico.sync")
RENEW_BACKOFF = 0.25  # seconds before the first retry of a failed renewal; doubles, up to lease / 6


async def keep_lease(
    sessionmaker: async_sessionmaker[AsyncSession], fence: queue.Fence, lease_length: timedelta
) -> None:
    """Renew the lease every third of its length, until cancelled. Raises LeaseLost when another
    worker holds the run, or when no renewal (nor a commit of the run, which extends the lease
    too) succeeded before the lease would run out."""
    lease = lease_length.total_seconds()
    sqlite = sessionmaker.kw["bind"].dialect.name == "sqlite"
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
            left = None if sqlite else max(fence.renewed_at + lease - attempted, RENEW_BACKOFF)
            try:
                async with asyncio.timeout(left):
                    renewed = await queue.renew(sessionmaker, fence)
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
