"""The four streams of an import run, each writing its data and its cursor in one transaction
(per resource for reservations and availability). See app/sync/importer.py for the run as a whole.

A record that breaks the contract is skipped, counted (`rejected`; `fetched` counts it too) and kept
(app/sync/rejections.py, stored in the transaction of its stream's data); the rest of the stream
imports. The cursor moves past a rejected record as past any other (by its `updated_at`, when that
field at least is valid): GESDENT sends a record again only once it changed, and sending the same
malformed record again would not mend it; holding the cursor back would only have every later run
fetch and reject it again. A rejected slot is missing from the availability snapshot, so a stored
slot at that time is removed: a slot that cannot be read is not offered."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from app.db.engine import SQLITE_WRITE
from app.db.models import (
    GesdentPatient,
    GesdentReservation,
    GesdentResource,
    GesdentSlot,
    SyncCursor,
    table_of,
    utcnow,
)
from app.domain.gesdent import ConnectionRules
from app.sync.batches import lock_rows, write_batch
from app.sync.client import GesdentClient
from app.sync.errors import GesdentProtocolError
from app.sync.item_fields import Rejected
from app.sync.pages import Page, Reading, merge_writes, read_ahead, spooled
from app.sync.queue import Fence, LeaseLost, confirm
from app.sync.records import Row, patient_row, reservation_row, resource_row, slot_row
from app.sync.rejections import Rejections
from app.sync.upsert import Tally, delete_slots, existing_keys, upsert

BATCH = 1000  # rows per upsert statement

RESOURCES = table_of(GesdentResource)
PATIENTS = table_of(GesdentPatient)
RESERVATIONS = table_of(GesdentReservation)
SLOTS = table_of(GesdentSlot)
CURSORS = table_of(SyncCursor)
# Built once (building a statement and its cache key costs more CPU than sending it): the stored
# starts of a resource's slots before a moment.
STORED_SLOTS = sa.select(SLOTS.c.starts_at).where(
    SLOTS.c.instance_id == sa.bindparam("instance"),
    SLOTS.c.resource_id == sa.bindparam("resource"),
    SLOTS.c.starts_at < sa.bindparam("end"),
)


class StreamFailed(Exception):
    """A stream failed; `progressed`: whether anything of the run (an earlier stream, or an earlier
    resource of this one) completed and committed before it."""

    def __init__(self, stream: str, cause: Exception, progressed: bool) -> None:
        super().__init__(stream)
        self.stream, self.cause, self.progressed = stream, cause, progressed


def cursor_name(stream: str, resource_id: str | None = None) -> str:
    """The sync_cursors.stream key: `users`, or `reservations:<16 hex>` per resource (resource ids
    are longer than the 32-character column, so they go in as a stable digest)."""
    if resource_id is None:
        return stream
    return f"{stream}:{hashlib.blake2b(resource_id.encode(), digest_size=8).hexdigest()}"


class Importer:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        instance_id: str,
        rules: ConnectionRules,
        client: GesdentClient,
        *,
        full_refresh: bool,
        today: date,
        fence: Fence | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.instance_id = instance_id
        self.rules = rules
        self.client = client
        self.full_refresh = full_refresh
        self.today = today
        self.fence = fence  # the run's claim, checked before every commit; None outside a run
        self.tallies: dict[str, Tally] = {}
        self.rejections = Rejections(fence.run_id if fence is not None else None)
        self.progressed = False  # some unit of work (stream, or resource of a stream) completed
        # The instance's committed cursors by stream, read at once when the first is needed, and kept
        # as the run commits new ones: only this run writes them (one active run per instance, and
        # a fence on every commit), so they need not be read again.
        self.cursors: dict[str, str] | None = None
        self.saved: dict[str, str] = {}  # written in the transaction under way
        # SQLite: one writer for the whole database, so pages are read before its lock is taken.
        self.one_writer = sessionmaker.kw["bind"].dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction, committed when the block ends without an exception — and, in a run,
        only while the run is still this worker's (LeaseLost otherwise: see queue.confirm)."""
        self.saved.clear()
        async with self.sessionmaker() as session:
            await session.connection(execution_options={SQLITE_WRITE: True})
            connection = await session.connection()
            yield connection
            if self.fence is not None:
                await confirm(connection, self.fence)
            await session.commit()
            self.progressed = True
        if self.cursors is not None:
            self.cursors.update(self.saved)

    async def run(self, stream: str) -> None:
        tally = self.tallies[stream] = Tally()
        try:
            await getattr(self, f"_{stream}")(tally)
        except LeaseLost:  # not a failure of the stream: the run is no longer ours to record
            raise
        except Exception as exc:
            raise StreamFailed(stream, exc, self.progressed) from exc
        self.progressed = True

    # --- Streams ----------------------------------------------------------------------------

    async def _resources(self, tally: Tally) -> None:
        rows = []
        for position, resource_id in enumerate(self.rules.resource_ids):
            answer = await self.client.resource(resource_id)
            tally.fetched += 1
            try:
                rows.append(resource_row(self.instance_id, answer, resource_id))
            except Rejected as rejected:
                tally.rejected += 1
                self.rejections.add(rejected, position)
        async with self.transaction() as connection:
            known = await existing_keys(
                connection, RESOURCES, self.instance_id, [r["gesdent_id"] for r in rows]
            )
            written = await upsert(connection, RESOURCES, rows, known)
            await self.rejections.store(connection)
        merge_writes(tally, written)

    async def _users(self, tally: Tally) -> None:
        await self._incremental(tally, PATIENTS, cursor_name("users"), None)

    async def _reservations(self, tally: Tally) -> None:
        for resource_id in self.rules.resource_ids:
            await self._incremental(
                tally, RESERVATIONS, cursor_name("reservations", resource_id), resource_id
            )

    async def _incremental(self, total: Tally, table: sa.Table, cursor: str, resource_id: str | None) -> None:
        """Every page since the committed cursor, written; then the new cursor, in one transaction."""
        since = None if self.full_refresh else await self._cursor(cursor)
        if resource_id is None:
            pages = self.client.users(since)
        else:
            pages = self.client.reservations(resource_id, since)
        make_row = patient_row if resource_id is None else reservation_row
        reading = Reading(self.instance_id, make_row, total, self.rejections, resource_id)
        written = await read_ahead(pages, partial(self._write, table, cursor, reading))
        merge_writes(total, written)  # counted once committed

    async def _write(
        self, table: sa.Table, cursor: str, reading: Reading, pages: AsyncIterator[Page]
    ) -> Tally:
        """The writer of a unit; its transaction is opened once the first page is in hand."""
        written = Tally()
        page = await anext(pages, None)
        if page is None:
            self.progressed = True
            return written
        if self.one_writer:
            async with spooled(page, pages, reading) as batches, self.transaction() as connection:
                await lock_rows(connection, table, self.instance_id)
                for rows in batches:
                    merge_writes(written, await write_batch(connection, table, self.instance_id, rows))
                await self._close_unit(connection, cursor, reading)
        else:
            async with self.transaction() as connection:
                await lock_rows(connection, table, self.instance_id)
                current: Page | None = page
                while current is not None:
                    rows = reading.rows(current)
                    merge_writes(written, await write_batch(connection, table, self.instance_id, rows))
                    current = await anext(pages, None)
                await self._close_unit(connection, cursor, reading)
        return written

    async def _close_unit(self, connection: AsyncConnection, cursor: str, reading: Reading) -> None:
        """What commits with a unit's rows: its rejections and its new cursor."""
        await self.rejections.store(connection)
        if reading.newest_text is not None:
            await self._save_cursor(connection, cursor, reading.newest_text)

    async def _availability(self, tally: Tally) -> None:
        first, last = self.today, self.today + timedelta(days=self.rules.window_days)
        for resource_id in self.rules.resource_ids:
            # The whole window is read and parsed before anything is written or deleted.
            answer = await self.client.availability(resource_id, first, last)
            if answer.get("resource_id", resource_id) != resource_id:
                raise GesdentProtocolError(
                    f"availability: the answer for resource {resource_id} is about another resource",
                    "availability",
                )
            rows, last_start = [], None
            for position, slot in enumerate(answer["slots"]):
                try:
                    rows.append(slot_row(self.instance_id, resource_id, slot))
                except Rejected as rejected:
                    tally.rejected += 1
                    self.rejections.add(rejected, position, resource_id)
                else:
                    last_start = slot["start"]
            # The window ends at midnight after `last`, clinic time: the answer's offsets say which.
            offset = datetime.fromisoformat(last_start).utcoffset() if last_start is not None else None
            end = datetime.combine(last + timedelta(days=1), time(0), UTC) - (offset or timedelta(0))
            tally.fetched += len(answer["slots"])
            async with self.transaction() as connection:
                merge_writes(tally, await self._replace_slots(connection, resource_id, rows, end))
                await self.rejections.store(connection)

    async def _replace_slots(
        self, connection: AsyncConnection, resource_id: str, rows: list[Row], end: datetime
    ) -> Tally:
        """Upsert the window's slots; delete the resource's stored slots before the window's end
        that the answer no longer holds (past ones too: the server never offers slots in the past).
        Slots after the window are left alone: this answer says nothing about them."""
        bound = {"instance": self.instance_id, "resource": resource_id, "end": end}
        stored = await connection.execute(STORED_SLOTS, bound)
        existing = {_aware(start) for start in stored.scalars()}
        known = {(self.instance_id, resource_id, start) for start in existing}
        written = Tally()
        for index in range(0, len(rows), BATCH):
            written.add(await upsert(connection, SLOTS, rows[index : index + BATCH], known))
        vanished = sorted(existing - {row["starts_at"] for row in rows})
        written.deleted = await delete_slots(connection, SLOTS, self.instance_id, resource_id, vanished)
        return written

    # --- Cursors ----------------------------------------------------------------------------

    async def _cursor(self, stream: str) -> str | None:
        if self.cursors is None:
            async with self.sessionmaker() as session:
                self.cursors = await _stored_cursors(session, self.instance_id)
        return self.cursors.get(stream)

    async def _save_cursor(self, connection: AsyncConnection, stream: str, updated_since: str) -> None:
        """Store the cursor; an unchanged one is not rewritten (a no-op resync writes nothing)."""
        if self.cursors is None:  # a full refresh reads none before it writes them
            self.cursors = await _stored_cursors(connection, self.instance_id)
        current = self.cursors.get(stream)
        if current == updated_since:
            return
        if current is None:
            values = {"instance_id": self.instance_id, "stream": stream, "updated_since": updated_since}
            await connection.execute(sa.insert(CURSORS).values(**values, updated_at=utcnow()))
        else:
            where = (CURSORS.c.instance_id == self.instance_id, CURSORS.c.stream == stream)
            await connection.execute(
                sa.update(CURSORS).where(*where).values(updated_since=updated_since, updated_at=utcnow())
            )
        self.saved[stream] = updated_since  # known once the transaction commits


async def _stored_cursors(executor: AsyncSession | AsyncConnection, instance_id: str) -> dict[str, str]:
    """Every committed cursor of the instance, by stream: one statement."""
    query = sa.select(CURSORS.c.stream, CURSORS.c.updated_since).where(CURSORS.c.instance_id == instance_id)
    return dict((await executor.execute(query)).all())


def _aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back naive; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
