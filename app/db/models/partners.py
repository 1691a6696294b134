"""Partners and their API keys."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.db.models.base import foreign_key, new_id, timestamp_column, utcnow
from app.domain.values import LABEL_LENGTH


class Partner(SQLModel, table=True):
    __tablename__ = "partners"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=LABEL_LENGTH)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    # Requests per window for each of its keys, as app/domain/rate_limits.py writes it; None: the default.
    rate_limit: str | None = Field(default=None, max_length=40)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    partner_id: str = Field(sa_column=foreign_key("partners.id", nullable=False, index=True))
    name: str = Field(max_length=LABEL_LENGTH)
    lookup: str = Field(max_length=32, unique=True)
    key_hash: str = Field(max_length=64)
    scopes: str = Field(max_length=400)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
