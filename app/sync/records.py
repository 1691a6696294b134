"""GESDENT items → rows of the gesdent_* tables. A field that breaks the contract (missing, wrong
type, too long for its column, a timestamp without an offset) is a `GesdentProtocolError` naming the
stream, the item and the field, rather than a database error halfway through a batch."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from app.sync.client import GesdentProtocolError

Row = dict[str, Any]


class _Item:
    """Typed access to one item's fields, with errors that say where."""

    def __init__(self, stream: str, item: dict[str, Any]) -> None:
        self.stream = stream
        self.item = item
        raw_id = item.get("id")
        self.label = f"item {raw_id!r}" if isinstance(raw_id, str | int) else "an item without id"

    def fail(self, name: str, problem: str) -> GesdentProtocolError:
        return GesdentProtocolError(f"{self.stream}: {self.label}: field {name!r} {problem}", self.stream)

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
        value = self.text(name, 64)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise self.fail(name, f"is not an RFC 3339 date-time: {value!r}") from None
        if parsed.tzinfo is None:
            raise self.fail(name, f"has no UTC offset: {value!r}")
        return parsed.astimezone(UTC)


def resource_row(instance_id: str, item: dict[str, Any], expected_id: str) -> Row:
    fields = _Item("resources", item)
    gesdent_id = fields.text("id", 100)
    if gesdent_id != expected_id:
        raise fields.fail("id", f"is not the resource asked for ({expected_id})")
    fields.moment("updated_at")
    return {
        "instance_id": instance_id,
        "gesdent_id": gesdent_id,
        "name": fields.text("name", 300),
        "kind": fields.text("kind", 32),
        "active": fields.flag("active", True),
        "remote_updated_at": fields.text("updated_at", 64),
    }


# (field, max length, required) of each stream's string fields, for the fast path.
_PATIENT_TEXT = (
    ("id", 100, True),
    ("updated_at", 64, True),
    ("first_name", 200, False),
    ("last_name", 200, False),
    ("phone", 64, False),
    ("email", 320, False),
    ("birth_date", 10, False),
    ("member_code", 64, False),
)
_RESERVATION_TEXT = (
    ("id", 100, True),
    ("updated_at", 64, True),
    ("resource_id", 100, True),
    ("status", 16, True),
    ("user_id", 100, False),
    ("treatment_code", 32, False),
    ("start", 64, True),
    ("end", 64, True),
)


def _texts_valid(item: dict[str, Any], spec: tuple[tuple[str, int, bool], ...]) -> bool:
    for name, limit, required in spec:
        value = item.get(name)
        if value.__class__ is str:
            if len(value) > limit or (required and not value):
                return False
        elif value is not None or required:
            return False
    return True


def _utc(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(value)
    return moment.astimezone(UTC)


# Each row function takes a fast path for a well-formed item (about 3 µs), and otherwise the checked
# path, which names the stream, the item and the field at fault.


def patient_row(instance_id: str, item: dict[str, Any]) -> tuple[Row, datetime]:
    """The row, and the item's updated_at (for the stream's cursor)."""
    try:
        if _texts_valid(item, _PATIENT_TEXT) and item.get("deleted", False).__class__ is bool:
            birth_date = item.get("birth_date")
            if birth_date is not None:
                date.fromisoformat(birth_date)
            row = {
                "instance_id": instance_id,
                "gesdent_id": item["id"],
                "first_name": item.get("first_name") or "",
                "last_name": item.get("last_name") or "",
                "phone": item.get("phone"),
                "email": item.get("email"),
                "birth_date": birth_date,
                "member_code": item.get("member_code"),
                "deleted": item.get("deleted", False),
                "remote_updated_at": item["updated_at"],
            }
            return row, _utc(item["updated_at"])
    except ValueError:
        pass
    return _checked_patient_row(instance_id, item)


def reservation_row(instance_id: str, item: dict[str, Any]) -> tuple[Row, datetime]:
    try:
        if _texts_valid(item, _RESERVATION_TEXT):
            row = {
                "instance_id": instance_id,
                "gesdent_id": item["id"],
                "resource_id": item["resource_id"],
                "user_id": item.get("user_id"),
                "treatment_code": item.get("treatment_code"),
                "starts_at": _utc(item["start"]),
                "ends_at": _utc(item["end"]),
                "status": item["status"],
                "remote_updated_at": item["updated_at"],
            }
            return row, _utc(item["updated_at"])
    except ValueError:
        pass
    return _checked_reservation_row(instance_id, item)


def _checked_patient_row(instance_id: str, item: dict[str, Any]) -> tuple[Row, datetime]:
    fields = _Item("users", item)
    gesdent_id = fields.text("id", 100)
    updated_at = fields.moment("updated_at")
    birth_date = fields.optional("birth_date", 10)
    if birth_date is not None:
        try:
            date.fromisoformat(birth_date)
        except ValueError:
            raise fields.fail("birth_date", f"is not a date (YYYY-MM-DD): {birth_date!r}") from None
    row = {
        "instance_id": instance_id,
        "gesdent_id": gesdent_id,
        "first_name": fields.optional("first_name", 200, empty_as=""),
        "last_name": fields.optional("last_name", 200, empty_as=""),
        "phone": fields.optional("phone", 64),
        "email": fields.optional("email", 320),
        "birth_date": birth_date,
        "member_code": fields.optional("member_code", 64),
        "deleted": fields.flag("deleted", False),
        "remote_updated_at": fields.text("updated_at", 64),
    }
    return row, updated_at


def _checked_reservation_row(instance_id: str, item: dict[str, Any]) -> tuple[Row, datetime]:
    fields = _Item("reservations", item)
    gesdent_id = fields.text("id", 100)
    updated_at = fields.moment("updated_at")
    starts_at, ends_at = fields.moment("start"), fields.moment("end")
    row = {
        "instance_id": instance_id,
        "gesdent_id": gesdent_id,
        "resource_id": fields.text("resource_id", 100),
        "user_id": fields.optional("user_id", 100),
        "treatment_code": fields.optional("treatment_code", 32),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "status": fields.text("status", 16),
        "remote_updated_at": fields.text("updated_at", 64),
    }
    return row, updated_at


def slot_row(instance_id: str, resource_id: str, item: Any) -> Row:
    if not isinstance(item, dict):
        raise GesdentProtocolError(f"availability: resource {resource_id}: a slot is not an object")
    fields = _Item("availability", item)
    fields.label = f"resource {resource_id}, slot {item.get('start')!r}"
    codes = item.get("treatment_codes", [])
    if not isinstance(codes, list) or not all(isinstance(code, str) and code for code in codes):
        raise fields.fail("treatment_codes", "must be a list of strings")
    joined = " ".join(codes)
    if len(joined) > 400:
        raise fields.fail("treatment_codes", "are too many to store (400 characters)")
    return {
        "instance_id": instance_id,
        "resource_id": resource_id,
        "starts_at": fields.moment("start"),
        "ends_at": fields.moment("end"),
        "treatment_codes": joined,
    }
