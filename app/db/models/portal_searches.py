"""The order of a portal availability search, kept while its pages are read."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import foreign_key, timestamp_column, utcnow


class PortalSearchOrder(SQLModel, table=True):
    """The members a search's first page ranked (by earliest slot, then name), in that order.

    The next pages read the members in this order, whatever syncs changed since: so a member whose
    earliest slot moved (booked, freed) is neither shown twice nor skipped. One row, written when a
    first page has a next one (1,000 members: about 37 kB of ids); rows older than the cursors'
    lifetime are deleted then too."""

    __tablename__ = "portal_search_orders"
    __table_args__ = (sa.Index(None, "created_at"),)

    search_id: str = Field(primary_key=True, max_length=36)
    # Member ids, space-separated: read whole, never queried into.
    member_ids: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class PortalSearchGeneration(SQLModel, table=True):
    """A portal's search generation: a number that grows in the transaction of every write that can
    change the answer of its availability search or summary (app/db/search_generations.py). A
    process keeps answers with the generation they were computed under (app/search_cache.py) and
    serves one again only while the generation read from here is the same, so every replica agrees.
    No row: generation 0 (nothing was written since the table exists)."""

    __tablename__ = "portal_search_generations"

    portal_id: str = Field(sa_column=foreign_key("instances.id", primary_key=True))
    generation: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
