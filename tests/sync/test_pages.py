"""The page reader and the writer of a stream, side by side (app/sync/pages.py read_ahead): the
reader works ahead of the writer within its depth, and a failure or a cancellation of either stops
both, comes out as it was raised and closes the pages. No database, no network."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

import pytest

from app.sync.pages import Page, read_ahead


class Pages:
    """`count` pages of one item each, the fetch of each logged; `fail_at`: the page whose fetch fails."""

    def __init__(self, count: int, events: list[str], fail_at: int | None = None) -> None:
        self.count, self.events, self.fail_at = count, events, fail_at
        self.closed = False

    async def __call__(self) -> AsyncGenerator[Page, None]:
        try:
            for number in range(1, self.count + 1):
                await asyncio.sleep(0)  # a request: the writer may run meanwhile
                if number == self.fail_at:
                    raise LookupError(f"page {number}")
                self.events.append(f"fetched {number}")
                yield [{"id": number}]
        finally:
            self.closed = True


async def test_the_reader_works_ahead_of_the_writer_within_its_depth() -> None:
    events: list[str] = []
    pages = Pages(6, events)
    go_on = asyncio.Event()

    async def write(arrived: AsyncIterator[Page]) -> int:
        written = 0
        async for page in arrived:
            if page[0]["id"] == 1:
                await go_on.wait()  # a slow first write
            events.append(f"written {page[0]['id']}")
            written += 1
        return written

    writing = asyncio.ensure_future(read_ahead(pages(), write, depth=2))
    for _ in range(50):
        await asyncio.sleep(0)
    # Page 1 is being written; pages 2 and 3 wait in the queue, page 4 in the reader's hands.
    assert events == ["fetched 1", "fetched 2", "fetched 3", "fetched 4"]
    go_on.set()
    assert await writing == 6
    assert events[-1] == "written 6"
    assert pages.closed
    assert [event for event in events if event.startswith("written")] == [f"written {n}" for n in range(1, 7)]


async def test_a_failed_fetch_is_raised_by_the_writer_as_it_was_after_the_pages_before() -> None:
    events: list[str] = []
    pages = Pages(5, events, fail_at=3)
    written: list[int] = []

    async def write(arrived: AsyncIterator[Page]) -> None:
        # One by one, as they arrive: the pages written before the failure must be kept.
        async for page in arrived:
            written.append(page[0]["id"])  # noqa: PERF401

    with pytest.raises(LookupError, match="page 3"):
        await read_ahead(pages(), write)
    assert written == [1, 2]
    assert pages.closed


async def test_a_failed_write_stops_the_reader_and_closes_the_pages() -> None:
    events: list[str] = []
    pages = Pages(100, events)

    async def write(arrived: AsyncIterator[Page]) -> None:
        async for page in arrived:
            if page[0]["id"] == 2:
                raise ValueError("the database said no")

    with pytest.raises(ValueError, match="the database said no"):
        await read_ahead(pages(), write, depth=2)
    assert pages.closed
    assert len(events) <= 5  # the reader stopped within its depth


async def test_cancellation_stops_both_and_goes_through() -> None:
    events: list[str] = []
    pages = Pages(100, events)
    writing_started = asyncio.Event()

    async def write(arrived: AsyncIterator[Page]) -> None:
        async for _ in arrived:
            writing_started.set()
            await asyncio.sleep(3600)  # a statement that takes long

    task = asyncio.ensure_future(read_ahead(pages(), write))
    await writing_started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pages.closed


async def test_a_cancellation_during_a_failing_write_is_not_lost() -> None:
    """The writer fails while this task is being cancelled (a driver that answers a cancelled
    statement with its own error): the cancellation still goes through."""
    events: list[str] = []
    pages = Pages(100, events)
    writing_started = asyncio.Event()

    async def write(arrived: AsyncIterator[Page]) -> None:
        async for _ in arrived:
            writing_started.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                raise ConnectionResetError("connection lost") from None

    task = asyncio.ensure_future(read_ahead(pages(), write))
    await writing_started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pages.closed
