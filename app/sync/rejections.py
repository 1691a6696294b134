"""Records GESDENT sent that break the contract: skipped by their stream and counted (the stream's
`rejected`), and the first KEEP of each stream per run stored in sync_rejections, in the
transaction of the data they came with. A rejection says which record (its id, or its resource and
position), which field and what was wrong; never a value (see app/sync/records.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.models import SyncRejection, table_of
from app.sync.item_fields import Rejected

KEEP = 100  # rejections stored per stream and run; the count has them all

REJECTIONS = table_of(SyncRejection)


@dataclass(frozen=True)
class Rejection:
    stream: str
    resource_id: str | None
    position: int
    record_id: str | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        if self.record_id is not None:
            where = f"record {self.record_id!r}"
        else:
            of = f" of resource {self.resource_id}" if self.resource_id is not None else ""
            where = f"record at position {self.position}{of}"
        return f"{where}: field {self.field!r} {self.reason}" if self.field else f"{where} {self.reason}"


class Rejections:
    """One import's rejections: the ones kept (at most KEEP per stream), and which of them are yet
    to be stored under `run_id`. An import outside a queued run (a test, the benchmark) has no run
    and stores nothing: `kept` is all there is."""

    def __init__(self, run_id: str | None) -> None:
        self.run_id = run_id
        self.kept: list[Rejection] = []
        self._per_stream: dict[str, int] = {}
        self._pending: list[Rejection] = []

    def add(self, rejected: Rejected, position: int, resource_id: str | None = None) -> None:
        stream = rejected.stream
        if self._per_stream.get(stream, 0) >= KEEP:
            return
        self._per_stream[stream] = self._per_stream.get(stream, 0) + 1
        rejection = Rejection(
            stream, resource_id, position, rejected.record_id, rejected.field, rejected.problem
        )
        self.kept.append(rejection)
        self._pending.append(rejection)

    async def store(self, connection: AsyncConnection) -> None:
        """Write the rejections not stored yet, in the caller's transaction (with the data of their
        stream: a rolled-back stream leaves none behind)."""
        pending, self._pending = self._pending, []
        if pending and self.run_id is not None:
            rows = [{"run_id": self.run_id, **asdict(rejection)} for rejection in pending]
            await connection.execute(sa.insert(REJECTIONS), rows)
