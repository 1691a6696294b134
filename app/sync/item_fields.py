"""An item of a GESDENT answer, field by field: typed access to what it holds, and the rejection
that says which record and which field broke the contract, never what the field held (patient data;
see app/sync/records.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.domain.gesdent import ID_LENGTH, MOMENT_LENGTH
from app.sync.errors import GesdentProtocolError


class Rejected(GesdentProtocolError):
    """An item that breaks the contract. `record_id`: the item's id when it is usable (a printable
    string of 1 to 100 characters), else None; `field`: None when the item is not even an object;
    `updated_at`: the item's own `updated_at` when that field is valid, so that the stream's cursor
    still moves past the item."""

    def __init__(
        self,
        stream: str,
        record_id: str | None,
        field: str | None,
        problem: str,
        updated_at: datetime | None = None,
    ) -> None:
        where = f"record {record_id!r}" if record_id is not None else "a record without a usable id"
        what = f"field {field!r} {problem}" if field is not None else problem
        super().__init__(f"{stream}: {where}: {what}", stream)
        self.stream, self.record_id, self.field, self.problem = stream, record_id, field, problem
        self.updated_at = updated_at


def usable_id(value: Any) -> str | None:
    """An item's id as a rejection may show it: a printable string of 1 to 100 characters."""
    if value.__class__ is str and 0 < len(value) <= ID_LENGTH and value.isprintable():
        return str(value)
    return None


def not_an_object(stream: str) -> Rejected:
    return Rejected(stream, None, None, "is not an object")


class ItemFields:
    """Typed access to one item's fields, with rejections that say where (and never what)."""

    def __init__(self, stream: str, item: dict[str, Any], record_id: str | None) -> None:
        self.stream = stream
        self.item = item
        self.record_id = record_id
        self.updated_at: datetime | None = None

    def fail(self, name: str, problem: str) -> Rejected:
        return Rejected(self.stream, self.record_id, name, problem, self.updated_at)

    def text(self, name: str, max_length: int) -> str:
        value = self.item.get(name)
        if not isinstance(value, str) or not value:
            raise self.fail(name, "must be a non-empty string")
        if len(value) > max_length:
            raise self.fail(name, f"is longer than {max_length} characters")
        return value

    def optional(self, name: str, max_length: int, empty_as: str | None = None) -> str | None:
        value = self.item.get(name)
        if value is None:
            return empty_as
        if not isinstance(value, str):
            raise self.fail(name, "must be a string or null")
        if len(value) > max_length:
            raise self.fail(name, f"is longer than {max_length} characters")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.item.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, "must be true or false")
        return value

    def moment(self, name: str) -> datetime:
        """An RFC 3339 date-time with an offset, as an aware UTC datetime."""
        value = self.text(name, MOMENT_LENGTH)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise self.fail(name, "is not an RFC 3339 date-time") from None
        if parsed.tzinfo is None:
            raise self.fail(name, "has no UTC offset")
        return parsed.astimezone(UTC)

    def updated(self) -> datetime:
        """`updated_at`, remembered for the rejections of the fields checked after it."""
        self.updated_at = self.moment("updated_at")
        return self.updated_at
