"""Text search shared by the list queries."""

from __future__ import annotations

from sqlalchemy import ColumnElement, SQLColumnExpression, func, or_


def contains(q: str, *columns: SQLColumnExpression[str]) -> ColumnElement[bool]:
    """Case-insensitive substring match on any of `columns`; `%` and `_` in `q` are literal."""
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(*(func.lower(column).like(f"%{escaped}%", escape="\\") for column in columns))
