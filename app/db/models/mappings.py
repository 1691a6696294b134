"""Mappings of a member's services to its portal's services."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import timestamp_column, utcnow


class Mapping(SQLModel, table=True):
    """Member service → portal service. The database holds invariants 4 and 5 by itself:
    the primary key allows one target per member service; the composite foreign keys require the
    member service to belong to a member of the portal, and the target to belong to that portal;
    and a mapped portal service or a membership with mappings cannot vanish (invariant 6)."""

    __tablename__ = "mappings"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["member_id", "member_service_id"], ["services.instance_id", "services.id"], ondelete="CASCADE"
        ),
        # Checked at commit rather than at once, so that deleting a whole partner or instance may
        # cascade through services, memberships and mappings in whatever order the database picks.
        sa.ForeignKeyConstraint(
            ["portal_id", "portal_service_id"],
            ["services.instance_id", "services.id"],
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.ForeignKeyConstraint(
            ["member_id", "portal_id"],
            ["memberships.member_id", "memberships.portal_id"],
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.Index(None, "portal_id", "portal_service_id"),
        sa.Index(None, "member_id"),
        # The portal search's explanations ask, per (member, portal service), for its mappings.
        sa.Index(None, "member_id", "portal_service_id"),
    )

    member_service_id: str = Field(primary_key=True, max_length=36)
    portal_service_id: str = Field(max_length=36)
    member_id: str = Field(max_length=36)
    portal_id: str = Field(max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
