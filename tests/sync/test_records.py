"""GESDENT items → rows: the fast path and the checked path agree, and an item that breaks the
contract is rejected naming the stream, the record and the field (never a database error, and
never the value: see test_record_rejections.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.domain.gesdent import ConnectionRules
from app.sync.importer import run_import
from app.sync.item_fields import Rejected
from app.sync.records import (
    _checked_patient_row,
    _checked_reservation_row,
    patient_row,
    reservation_row,
    slot_row,
)

PATIENT: dict[str, Any] = {
    "id": "P-10023",
    "first_name": "Lucía",
    "last_name": "García",
    "phone": "+34600111222",
    "email": None,
    "birth_date": "1990-04-02",
    "member_code": "S-77812",
    "updated_at": "2026-11-20T08:00:00Z",
    "deleted": True,
}
RESERVATION: dict[str, Any] = {
    "id": "R-556001",
    "resource_id": "EJEJQKV5-ETREAXNR",
    "user_id": "P-10023",
    "treatment_code": "LIMP",
    "start": "2026-11-24T09:00:00+01:00",
    "end": "2026-11-24T09:30:00+01:00",
    "status": "booked",
    "updated_at": "2026-11-20T08:00:00Z",
}


def test_well_formed_items_become_rows() -> None:
    row, updated_at = reservation_row("i", RESERVATION)
    assert row["starts_at"] == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # stored in UTC
    assert row["ends_at"].tzinfo == UTC
    assert row["remote_updated_at"] == "2026-11-20T08:00:00Z"
    assert updated_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert (row, updated_at) == _checked_reservation_row("i", RESERVATION)
    patient, _ = patient_row("i", PATIENT)
    assert patient["deleted"] is True
    assert patient["email"] is None
    assert patient["first_name"] == "Lucía"
    assert patient_row("i", PATIENT) == _checked_patient_row("i", PATIENT)
    nameless, _ = patient_row("i", {**PATIENT, "first_name": None})
    assert nameless["first_name"] == ""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"start": "2026-11-24T09:00:00"}, "record 'R-556001': field 'start' has no UTC offset"),
        ({"end": "tomorrow"}, "field 'end' is not an RFC 3339 date-time"),
        ({"status": None}, "field 'status' must be a non-empty string"),
        ({"treatment_code": "X" * 33}, "field 'treatment_code' is longer than 32 characters"),
        ({"user_id": 10023}, "field 'user_id' must be a string or null"),
        ({"id": None}, "a record without a usable id: field 'id' must be a non-empty string"),
    ],
)
def test_a_broken_reservation_is_rejected(change: dict[str, Any], message: str) -> None:
    with pytest.raises(Rejected) as raised:
        reservation_row("i", {**RESERVATION, **change})
    assert str(raised.value).startswith("reservations: ")
    assert message in str(raised.value)
    assert raised.value.endpoint == raised.value.stream == "reservations"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"deleted": "no"}, "field 'deleted' must be true or false"),
        ({"birth_date": "02/04/1990"}, "field 'birth_date' is not a date (YYYY-MM-DD)"),
        ({"updated_at": None}, "field 'updated_at' must be a non-empty string"),
    ],
)
def test_a_broken_patient_is_rejected(change: dict[str, Any], message: str) -> None:
    with pytest.raises(Rejected, match="users: record 'P-10023'") as raised:
        patient_row("i", {**PATIENT, **change})
    assert message in str(raised.value)


def test_a_broken_slot_is_rejected_without_an_id() -> None:
    good = {
        "start": "2026-11-24T10:00:00+01:00",
        "end": "2026-11-24T10:30:00+01:00",
        "treatment_codes": ["A", "B"],
    }
    assert slot_row("i", "RES-1", good)["treatment_codes"] == "A B"
    with pytest.raises(Rejected, match="availability: a record without a usable id: field 'treatment_codes'"):
        slot_row("i", "RES-1", {**good, "treatment_codes": "A B"})
    with pytest.raises(Rejected, match="availability: a record without a usable id: is not an object"):
        slot_row("i", "RES-1", ["2026-11-24T10:00:00+01:00"])


def test_connection_rules_never_show_passwords() -> None:
    rules = ConnectionRules("https://g.example/", ["R-1"], {"users": ("digest-users", "hunter2")}, 14)
    assert "hunter2" not in repr(rules)
    assert "digest-users" in repr(rules)


async def test_unknown_streams_are_refused() -> None:
    rules = ConnectionRules("https://g.example/", ["R-1"], {}, 14)
    with pytest.raises(ValueError, match="unknown streams: patients"):
        # A sessionmaker bound to no database: the streams are refused before any session opens.
        await run_import(async_sessionmaker(), "i", rules, streams=["patients"])
