"""What every table model shares: the metadata and its naming convention, ids, UTC timestamps."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = SQLModel.metadata


def new_id() -> str:
    """A UUIDv7: random, yet ordered by creation time, so keyset pages follow creation order."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def utcnow() -> datetime:
    return datetime.now(UTC)


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table of a table model, for Core statements."""
    # SQLModel sets `__table__` on every table=True class but does not declare it for type checkers.
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return table


def timestamp_column(**kwargs: object) -> sa.Column[Any]:
    """A UTC timestamp column; a NOT NULL one defaults to now, for Core inserts as for the ORM."""
    if kwargs.get("nullable") is False:
        kwargs.setdefault("default", utcnow)
    return sa.Column(sa.DateTime(timezone=True), **kwargs)  # type: ignore[arg-type]


def foreign_key(target: str, **kwargs: object) -> sa.Column[Any]:
    """A column holding the id of `target`'s row, deleted with it."""
    return sa.Column(sa.String(36), sa.ForeignKey(target, ondelete="CASCADE"), **kwargs)  # type: ignore[arg-type]
