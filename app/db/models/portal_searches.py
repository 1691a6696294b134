"""The order of a portal availability search, kept while its pages are read."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import foreign_key, timestamp_column, utcnow


class PortalSearchRank(SQLModel, table=True):
    """A member's place in a search's order (by earliest slot, then name) as its first page saw it.

    The next pages read the members in this order, whatever syncs changed since: so a member whose
    earliest slot moved (booked, freed) is neither shown twice nor skipped. Written in one statement
    when a first page has a next one; rows older than the cursors' lifetime are deleted then too."""

    __tablename__ = "portal_search_ranks"
    __table_args__ = (sa.Index(None, "created_at"),)

    search_id: str = Field(primary_key=True, max_length=36)
    rank: int = Field(primary_key=True)
    member_id: str = Field(sa_column=foreign_key("instances.id", nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
