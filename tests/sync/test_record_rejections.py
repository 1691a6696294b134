"""A malformed GESDENT record is rejected naming the record and the field, never a value of it:
whatever a patient's name, birth date, phone, e-mail or member code holds, no rejection quotes it.
No database: app/sync/records.py and app/sync/rejections.py only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.sync.errors import GesdentProtocolError
from app.sync.item_fields import Rejected
from app.sync.records import patient_row, reservation_row, resource_row, slot_row
from app.sync.rejections import KEEP, Rejections

PATIENT: dict[str, Any] = {
    "id": "P-10023",
    "first_name": "Lucía",
    "last_name": "García",
    "phone": "+34600111222",
    "email": "lucia@example.org",
    "birth_date": "1990-04-02",
    "member_code": "S-77812",
    "updated_at": "2026-11-20T08:00:00Z",
    "deleted": False,
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

PERSONAL = ("first_name", "last_name", "phone", "email", "birth_date", "member_code")
# Values marked with a character no message uses, so "it does not appear" means something even for
# a value as short as "1"; and real birth dates, which no message has the digits of either.
MARK = "ß"
marked = st.text(min_size=1, max_size=30).map(lambda text: MARK + text)
personal = st.fixed_dictionaries(
    {
        name: st.dates().map(lambda day: day.isoformat()) if name == "birth_date" else marked
        for name in PERSONAL
    }
)


def rejection(make: Any, *args: Any) -> Rejected:
    with pytest.raises(Rejected) as raised:
        make(*args)
    return raised.value


def said(error: GesdentProtocolError) -> str:
    """Everything the rejection says: its message, its arguments and its fields."""
    return " ".join([str(error), repr(error.args), *(str(value) for value in vars(error).values())])


@given(value=marked)
def test_a_malformed_date_is_named_but_never_quoted(value: str) -> None:
    for make, item, field in (
        (patient_row, {**PATIENT, "birth_date": value[:10]}, "birth_date"),
        (patient_row, {**PATIENT, "updated_at": value}, "updated_at"),
        (reservation_row, {**RESERVATION, "start": value}, "start"),
        (reservation_row, {**RESERVATION, "end": value + "+01:00"}, "end"),
    ):
        error = rejection(make, "i", item)
        assert value[:10] not in said(error), said(error)
        assert f"field {field!r}" in str(error)
        assert error.field == field
        assert error.record_id == item["id"]


def test_the_birth_date_of_the_issue_is_not_quoted() -> None:
    error = rejection(patient_row, "i", {**PATIENT, "id": "P-777", "birth_date": "13/02/1954"})
    assert str(error) == "users: record 'P-777': field 'birth_date' is not a date (YYYY-MM-DD)"
    assert "13/02/1954" not in said(error)
    assert "1954" not in said(error)


@given(values=personal, broken=st.sampled_from(PERSONAL), bad_date=marked)
def test_no_personal_value_appears_whichever_field_is_broken(
    values: dict[str, str], broken: str, bad_date: str
) -> None:
    """Every personal field holds a value of its own; one of them is made too long for its column
    (or, for the birth date, not a date): the rejection names that field and quotes none of them."""
    item = {**PATIENT, **values}
    item[broken] = bad_date[:10] if broken == "birth_date" else item[broken] * 400
    error = rejection(patient_row, "i", item)
    assert error.field == broken
    for value in [*values.values(), bad_date[:10]]:
        assert value not in said(error), (value, said(error))


@given(values=personal)
def test_a_record_broken_elsewhere_quotes_none_of_its_personal_values(values: dict[str, str]) -> None:
    error = rejection(patient_row, "i", {**PATIENT, **values, "deleted": "no"})
    assert error.field == "deleted"
    for value in values.values():
        assert value not in said(error), (value, said(error))


@pytest.mark.parametrize("item", [["P-1", "Lucía"], "P-1 Lucía", 7, None])
def test_a_record_that_is_not_an_object_is_rejected_without_an_id(item: Any) -> None:
    for make in (patient_row, reservation_row):
        error = rejection(make, "i", item)
        assert error.record_id is None
        assert error.field is None
        assert str(error).endswith("a record without a usable id: is not an object")
        assert "Lucía" not in said(error)
    error = rejection(slot_row, "i", "RES-1", item)
    assert error.record_id is None
    assert str(error).startswith("availability: ")


@pytest.mark.parametrize("record_id", [None, "", 10023, "P-\n1", "P" * 101])
def test_a_record_without_a_usable_id_is_rejected_without_one(record_id: Any) -> None:
    """No id, or one a rejection could not show safely (not a string, a line break, too long)."""
    error = rejection(patient_row, "i", {**PATIENT, "id": record_id, "birth_date": "13/02/1954"})
    assert error.record_id is None
    assert "a record without a usable id" in str(error)
    assert "13/02/1954" not in said(error)


def test_a_resource_is_named_by_the_id_asked_for() -> None:
    item = {"id": "RES-2", "name": "Dra. Marta Ruiz", "kind": "dentist", "updated_at": "2026-11-20T08:00:00Z"}
    error = rejection(resource_row, "i", item, "RES-1")
    assert error.record_id == "RES-1"
    assert error.field == "id"
    error = rejection(resource_row, "i", {**item, "id": "RES-1", "updated_at": "20/11/2026"}, "RES-1")
    assert str(error) == "resources: record 'RES-1': field 'updated_at' is not an RFC 3339 date-time"
    assert "Marta" not in said(error)


def test_a_rejected_record_still_moves_the_cursor_when_its_updated_at_is_valid() -> None:
    error = rejection(patient_row, "i", {**PATIENT, "birth_date": "13/02/1954"})
    assert error.updated_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    error = rejection(patient_row, "i", {**PATIENT, "updated_at": "yesterday"})
    assert error.updated_at is None


def test_at_most_100_rejections_per_stream_are_kept() -> None:
    rejections = Rejections(None)
    for position in range(150):
        rejections.add(
            Rejected("users", f"P-{position}", "birth_date", "is not a date (YYYY-MM-DD)"), position
        )
    rejections.add(Rejected("reservations", None, None, "is not an object"), 3, "RES-1")
    assert KEEP == 100
    assert len(rejections.kept) == 101
    assert [r.record_id for r in rejections.kept[:2]] == ["P-0", "P-1"]
    assert str(rejections.kept[-1]) == "record at position 3 of resource RES-1 is not an object"
