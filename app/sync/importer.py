"""One import run from GESDENT: resources → users → reservations → availability.

Transactions: each stream writes its data and its cursor in one transaction — per resource for
reservations and availability — opened from the given sessionmaker once the first answer is in
hand (on SQLite with the write lock taken up front, so the lock is held while the later pages of
that stream are fetched). A failure rolls back that transaction only: what earlier streams (or
earlier resources) committed stays, and the next run resumes from the committed cursors. Cursors:
`users`, and `reservations:<digest of the resource id>` per resource; each holds the newest
`updated_at` seen, sent back as the inclusive `updated_since`, so the items tied at it come again
and count as fetched and unchanged.

Failure policy: the run stops at the first failing stream. Status `succeeded` when every stream
committed, `partial` when something committed before the failure, `failed` when nothing did — and
always `failed` when GESDENT rejected a credential (a configuration problem, and every later
request with it would be rejected too). The error names the stream, the endpoint family and what
happened.

Memory stays flat: the batch being written, the page being turned into rows, up to two pages
fetched ahead and the raw body of the next (≤ 1000 items each); nothing accumulates but counters
and the cursor. Only availability holds a whole answer: one resource's window, which the contract
does not page.

Speed (bench/sync.py): the next page is asked for before the current one is parsed (see
GesdentClient._pages); fetching, turning items into rows and writing overlap (see
Importer._incremental); and a batch whose rows are all stored already costs one indexed read and no
write (see app/sync/upsert.py write_batch).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.sync.client import AddressForbidden, CredentialsRejected, GesdentClient, GesdentError
from app.sync.streams import Importer, StreamFailed

logger = logging.getLogger("portico.sync.gesdent")

ALL_STREAMS: tuple[str, ...] = ("resources", "users", "reservations", "availability")
Status = Literal["succeeded", "partial", "failed"]


@dataclass(frozen=True)
class ConnectionRules:
    """An instance's connection rules, passwords decrypted: (username, password) per family."""

    base_url: str
    resource_ids: list[str]
    credentials: Mapping[str, tuple[str, str]]
    window_days: int = 14

    def __repr__(self) -> str:  # never show the passwords
        users = {family: username for family, (username, _) in self.credentials.items()}
        return (
            f"ConnectionRules(base_url={self.base_url!r}, resource_ids={self.resource_ids!r}, "
            f"window_days={self.window_days}, usernames={users!r})"
        )


@dataclass
class ImportResult:
    status: Status
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # stream → fetched, created, …
    timings: dict[str, float] = field(default_factory=dict)  # stream → seconds
    error: str | None = None
    failed_stream: str | None = None

    def as_counts(self) -> dict[str, dict[str, Any]]:
        """Per stream: the counts and `seconds`, as sync_runs.counts records them."""
        return {
            stream: {**self.counts.get(stream, {}), "seconds": self.timings.get(stream, 0.0)}
            for stream in ALL_STREAMS
            if stream in self.counts or stream in self.timings
        }


async def run_import(
    sessionmaker: async_sessionmaker[AsyncSession],
    instance_id: str,
    connection: ConnectionRules,
    *,
    full_refresh: bool = False,
    streams: Collection[str] = ALL_STREAMS,
    today: date | None = None,
    client_options: dict[str, Any] | None = None,
) -> ImportResult:
    """Import the chosen streams (in the order of ALL_STREAMS) for one instance. Never raises for
    GESDENT or database trouble: that ends up in the result's status and error."""
    if isinstance(streams, str):
        streams = streams.split()
    unknown = set(streams) - set(ALL_STREAMS)
    if unknown:
        raise ValueError(f"unknown streams: {', '.join(sorted(unknown))}")
    result = ImportResult(status="succeeded")
    async with GesdentClient(connection.base_url, connection.credentials, **(client_options or {})) as client:
        importer = Importer(
            sessionmaker, instance_id, connection, client, full_refresh, today or date.today()
        )
        for stream in (name for name in ALL_STREAMS if name in streams):
            started = time.perf_counter()
            try:
                await importer.run(stream)
            except StreamFailed as failure:
                result.failed_stream = stream
                result.error = _describe(failure)
                # A configuration problem: every further request would fail the same way.
                rejected = isinstance(failure.cause, CredentialsRejected | AddressForbidden)
                result.status = "partial" if failure.progressed and not rejected else "failed"
                if isinstance(failure.cause, GesdentError):
                    logger.warning("GESDENT import of %s: %s", instance_id, result.error)
                else:
                    logger.exception(
                        "GESDENT import of %s: %s", instance_id, result.error, exc_info=failure.cause
                    )
                break
            finally:
                result.timings[stream] = round(time.perf_counter() - started, 3)
                if stream in importer.tallies:
                    result.counts[stream] = importer.tallies[stream].as_dict()
    return result


def _describe(failure: StreamFailed) -> str:
    cause = failure.cause
    if isinstance(cause, GesdentError):
        what = str(cause)
    elif isinstance(cause, sa.exc.SQLAlchemyError):
        what = f"database error: {type(cause).__name__}: {str(cause).splitlines()[0]}"
    else:
        what = f"unexpected {type(cause).__name__}: {cause}"
    return f"{failure.stream} stream failed, its uncommitted changes rolled back: {what}"
