"""From GESDENT's pages to rows in the database: a read-ahead of pages, their records turned into
rows (rejected ones counted and kept aside), and two ways of writing a stream's rows — as they come
(PostgreSQL), or once all are read (SQLite, whose one writer must not wait on the network)."""

from __future__ import annotations

import asyncio
import pickle
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.sync.records import Rejected, Row
from app.sync.rejections import Rejections
from app.sync.upsert import Tally, write_batch

READ_AHEAD = 2  # pages fetched ahead of the one being written


Page = list[dict[str, Any]]


class Reading:
    """Pages turned into rows: rejected records counted and kept aside, and the newest `updated_at`
    seen (the next cursor)."""

    def __init__(
        self,
        instance_id: str,
        make_row: Callable[[str, Any], tuple[Row, datetime]],
        total: Tally,
        rejections: Rejections,
        resource_id: str | None,
    ) -> None:
        self.instance_id, self.make_row, self.total = instance_id, make_row, total
        self.rejections, self.resource_id = rejections, resource_id
        self.fetched = 0
        self.newest: datetime | None = None
        self.newest_text: str | None = None

    def rows(self, page: Page) -> list[Row]:
        rows = []
        for position, item in enumerate(page, self.fetched):
            try:
                row, updated_at = self.make_row(self.instance_id, item)
            except Rejected as rejected:
                self.total.rejected += 1
                self.rejections.add(rejected, position, self.resource_id)
                if rejected.updated_at is None:
                    continue
                updated_at = rejected.updated_at  # the cursor moves past it too
            else:
                rows.append(row)
            if self.newest is None or updated_at > self.newest:
                self.newest, self.newest_text = updated_at, item["updated_at"]
        self.fetched += len(page)
        self.total.fetched += len(page)
        return rows


async def streamed(
    connection: AsyncConnection,
    table: sa.Table,
    instance_id: str,
    page: Page | None,
    next_page: Callable[[], Awaitable[Page | None]],
    reading: Reading,
) -> Tally:
    """Write the pages as they come: each batch in the background while the next page is turned
    into rows (the connection still runs one statement at a time: a batch's write starts once the
    previous one is done). What was written."""
    written = Tally()
    writing: asyncio.Task[Tally] | None = None
    try:
        while page is not None:
            rows = reading.rows(page)
            if writing is not None:
                merge_writes(written, await writing)
            writing = asyncio.create_task(write_batch(connection, table, instance_id, rows))
            page = await next_page()
        if writing is not None:
            merge_writes(written, await writing)
    except BaseException as exc:
        # Let a write under way finish (or stop it, if the run is being cancelled) before the
        # transaction rolls back: the connection runs one statement at a time. Its outcome no
        # longer matters; our own cancellation still goes through (asyncio.wait does not catch it).
        if writing is not None and not writing.done():
            if isinstance(exc, asyncio.CancelledError):
                writing.cancel()
            await asyncio.wait([writing])
        if writing is not None and not writing.cancelled():
            writing.exception()  # retrieved: asyncio would log an exception nobody asked for
        raise
    return written


@asynccontextmanager
async def spooled(
    page: Page | None, next_page: Callable[[], Awaitable[Page | None]], reading: Reading
) -> AsyncIterator[Iterator[list[Row]]]:
    """Every page read and turned into rows before anything is written; the batches of rows wait
    in a temporary file (memory stays flat) and are handed back in order. SQLite has one writer for
    the whole database: a GESDENT server that slows down between two pages must not hold it, and
    with it every other write of the process."""
    with tempfile.TemporaryFile() as spool:
        while page is not None:
            rows = reading.rows(page)
            if rows:
                pickle.dump(rows, spool, protocol=pickle.HIGHEST_PROTOCOL)
            page = await next_page()
        spool.seek(0)
        yield _batches(spool)


def _batches(spool: IO[bytes]) -> Iterator[list[Row]]:
    while True:
        try:
            yield pickle.load(spool)  # our own file, written just above
        except EOFError:
            return


@asynccontextmanager
async def read_ahead(
    pages: AsyncIterator[Page], depth: int = READ_AHEAD
) -> AsyncIterator[Callable[[], Awaitable[Page | None]]]:
    """`next_page()`: the pages of `pages`, then None. A task fetches up to `depth` pages ahead of
    the one handed out, so the request for a later page is already on its way while this one is
    written: GESDENT prepares it while Portico and the database work. At most depth + 1 pages are
    in memory. Leaving the block stops the fetching and closes `pages`."""
    arrived: asyncio.Queue[tuple[Page | None, BaseException | None]] = asyncio.Queue()
    room = asyncio.Semaphore(depth)

    async def fetch() -> None:
        try:
            while True:
                await room.acquire()
                page = await anext(pages, None)
                arrived.put_nowait((page, None))
                if page is None:
                    return
        except asyncio.CancelledError:  # the reader is done with us
            raise
        except Exception as exc:  # handed to the reader, which raises it
            arrived.put_nowait((None, exc))

    async def next_page() -> Page | None:
        page, error = await arrived.get()
        room.release()
        if error is not None:
            raise error
        return page

    fetcher = asyncio.create_task(fetch())
    try:
        yield next_page
    finally:
        fetcher.cancel()
        await asyncio.wait([fetcher])  # our own cancellation still goes through
        if not fetcher.cancelled():
            fetcher.exception()  # None: a failure was handed to the reader
        await pages.aclose()  # type: ignore[attr-defined]


def merge_writes(total: Tally, written: Tally) -> None:
    """Add what a committed transaction wrote (not what it fetched: that is counted as it arrives)."""
    total.created += written.created
    total.updated += written.updated
    total.deleted += written.deleted
    total.unchanged += written.unchanged
