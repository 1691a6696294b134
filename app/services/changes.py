"""Partial updates of versioned rows: what changed, and applying it with a new version."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from app.db.models import utcnow
from app.domain.errors import ValidationFailed


def reject_nulls(changes: dict[str, Any], required: Iterable[str]) -> None:
    """422 when a PATCH sets a field that cannot be empty to null."""
    nulls = [field for field in required if field in changes and changes[field] is None]
    if nulls:
        raise ValidationFailed(
            f"{', '.join(nulls)} cannot be null.",
            errors=[{"field": f"body.{field}", "message": "cannot be null"} for field in nulls],
        )


def changed_fields(row: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The subset of `values` that differs from `row`."""
    return {key: value for key, value in values.items() if getattr(row, key) != value}


def apply(row: Any, changed: dict[str, Any], now: datetime | None = None) -> bool:
    """Write `changed` into a versioned row; a new version only when something changed."""
    if not changed:
        return False
    for key, value in changed.items():
        setattr(row, key, value)
    row.version += 1
    row.updated_at = now or utcnow()
    return True
