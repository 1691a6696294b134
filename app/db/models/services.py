"""An instance's services."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import foreign_key, new_id, timestamp_column, utcnow
from app.domain.values import LABEL_LENGTH


class Service(SQLModel, table=True):
    """A bookable service ("prestation") of an instance, keyed in URLs and CSV by its code."""

    __tablename__ = "services"
    __table_args__ = (
        sa.UniqueConstraint("instance_id", "code"),
        # Target of the composite foreign keys that tie a mapping's services to their instances.
        sa.UniqueConstraint("instance_id", "id"),
        sa.CheckConstraint("duration_minutes > 0", name="duration_positive"),
        sa.CheckConstraint("price IS NULL OR price >= 0", name="price_not_negative"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    instance_id: str = Field(sa_column=foreign_key("instances.id", nullable=False))
    code: str = Field(max_length=32)
    name: str = Field(max_length=LABEL_LENGTH)
    duration_minutes: int
    price: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(10, 2), nullable=True))
    web_enabled: bool = False
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
