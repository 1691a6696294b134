"""From GESDENT's pages to rows in the database: the page reader and the writer of a stream, side by
side, and two ways of writing a stream's rows — as they come (PostgreSQL), or once all are read
(SQLite, whose one writer must not wait on the network)."""

from __future__ import annotations

import asyncio
import pickle
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing, asynccontextmanager
from datetime import datetime
from typing import IO, Any, TypeVar

from app.sync.item_fields import Rejected
from app.sync.records import Row
from app.sync.rejections import Rejections
from app.sync.upsert import Tally

READ_AHEAD = 2  # pages queued ahead of the one being written

Page = list[dict[str, Any]]
T = TypeVar("T")


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


async def read_ahead(
    pages: AsyncGenerator[Page, None],
    write: Callable[[AsyncIterator[Page]], Awaitable[T]],
    depth: int = READ_AHEAD,
) -> T:
    """`write(arrived)`: the pages of `pages`, fetched by a page reader up to `depth` pages ahead of
    the one being written, so the request for the next page is already on its way while this one
    is turned into rows and written (GESDENT prepares it meanwhile). The reader and `write` run side
    by side in a task group: when `write` fails, or this task is cancelled, the reader is stopped
    and `pages` closed. A failure of the reader is raised by `arrived`, where the writer stands
    between two pages, never in the middle of a statement; either error comes out as it was raised,
    not in an ExceptionGroup."""
    queue: asyncio.Queue[Page | Exception | None] = asyncio.Queue(depth)
    try:
        async with asyncio.TaskGroup() as group:
            reader = group.create_task(_read(pages, queue))
            written = await write(_arrived(queue))
            reader.cancel()  # done already, unless `write` returned before the last page
    except BaseExceptionGroup as failed:
        # Only the writer's error can be in it (the reader hands its own over). A cancellation of
        # this task that came while the reader was being stopped is not to be lost behind it.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError from failed
        raise failed.exceptions[0] from None
    return written


async def _read(pages: AsyncGenerator[Page, None], queue: asyncio.Queue[Page | Exception | None]) -> None:
    """The page reader: each page, then None; or the error that stopped it."""
    async with aclosing(pages):
        try:
            async for page in pages:
                await queue.put(page)
        except Exception as exc:  # handed to the writer, which raises it
            await queue.put(exc)
            return
    await queue.put(None)


async def _arrived(queue: asyncio.Queue[Page | Exception | None]) -> AsyncIterator[Page]:
    while (page := await queue.get()) is not None:
        if isinstance(page, Exception):
            raise page
        yield page


@asynccontextmanager
async def spooled(
    page: Page, pages: AsyncIterator[Page], reading: Reading
) -> AsyncIterator[Iterator[list[Row]]]:
    """`page` and every later one of `pages` read and turned into rows before anything is written;
    the batches of rows wait in a temporary file (memory stays flat) and are handed back in order.
    SQLite has one writer for the whole database: a GESDENT server that slows down between two
    pages must not hold it, and with it every other write of the process."""
    with tempfile.TemporaryFile() as spool:
        current: Page | None = page
        while current is not None:
            rows = reading.rows(current)
            if rows:
                pickle.dump(rows, spool, protocol=pickle.HIGHEST_PROTOCOL)
            current = await anext(pages, None)
        spool.seek(0)
        yield _batches(spool)


def _batches(spool: IO[bytes]) -> Iterator[list[Row]]:
    while True:
        try:
            yield pickle.load(spool)  # our own file, written just above
        except EOFError:
            return


def merge_writes(total: Tally, written: Tally) -> None:
    """Add what a committed transaction wrote (not what it fetched: that is counted as it arrives)."""
    total.created += written.created
    total.updated += written.updated
    total.deleted += written.deleted
    total.unchanged += written.unchanged
