"""GESDENT items → rows of the gesdent_* tables.

An item that breaks the contract (not an object, a field missing, of the wrong type, too long for
its column, a timestamp without an offset) is `Rejected`, naming the stream, the record and the
field, rather than a database error halfway through a batch. The stream skips it, counts it and
keeps the rejection (see app/sync/streams.py); the rest of the stream imports.

No message here is ever built from an item's values. They are patient data (names, birth dates,
phones, e-mails, member codes), and a rejection reaches the run's error, the logs and keys without
`patients:read`: it says which record (by its id, or by its position when it has no usable id),
which field, and what is wrong with it, in words of this module's own.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from app.domain.gesdent import (
    DATE_LENGTH,
    EMAIL_LENGTH,
    ID_LENGTH,
    KIND_LENGTH,
    MEMBER_CODE_LENGTH,
    MOMENT_LENGTH,
    PERSON_NAME_LENGTH,
    PHONE_LENGTH,
    RESOURCE_NAME_LENGTH,
    STATUS_LENGTH,
    TREATMENT_CODE_LENGTH,
    TREATMENT_CODES_LENGTH,
)
from app.sync.item_fields import ItemFields, Rejected, not_an_object, usable_id

Row = dict[str, Any]


def resource_row(instance_id: str, item: Any, expected_id: str) -> Row:
    """The row of the resource asked for; its rejections name it by the id asked for."""
    if item.__class__ is not dict:
        raise Rejected("resources", expected_id, None, "is not an object")
    fields = ItemFields("resources", item, expected_id)
    gesdent_id = fields.text("id", ID_LENGTH)
    if gesdent_id != expected_id:
        raise fields.fail("id", "is not the resource asked for")
    fields.moment("updated_at")
    return {
        "instance_id": instance_id,
        "gesdent_id": gesdent_id,
        "name": fields.text("name", RESOURCE_NAME_LENGTH),
        "kind": fields.text("kind", KIND_LENGTH),
        "active": fields.flag("active", True),
        "remote_updated_at": fields.text("updated_at", MOMENT_LENGTH),
    }


def _utc(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(value)
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


# Each row function takes a fast path for a well-formed item (about 2.5 µs for a reservation: this
# runs for every record, and was a fifth of a no-op resync's time at 5 µs), and otherwise the
# checked path, which finds the field at fault and rejects the item. The fast path checks the same
# things — types, lengths, required fields, dates — inline rather than in a loop over a spec.


def patient_row(instance_id: str, item: Any) -> tuple[Row, datetime]:
    """The row, and the item's updated_at (for the stream's cursor); or Rejected."""
    if item.__class__ is not dict:
        raise not_an_object("users")
    get = item.get
    gesdent_id, updated_at = get("id"), get("updated_at")
    first_name, last_name = get("first_name"), get("last_name")
    phone, email, birth_date, member_code = get("phone"), get("email"), get("birth_date"), get("member_code")
    deleted = get("deleted", False)
    if (
        gesdent_id.__class__ is str
        and 0 < len(gesdent_id) <= ID_LENGTH
        and updated_at.__class__ is str
        and 0 < len(updated_at) <= MOMENT_LENGTH
        and (first_name is None or (first_name.__class__ is str and len(first_name) <= PERSON_NAME_LENGTH))
        and (last_name is None or (last_name.__class__ is str and len(last_name) <= PERSON_NAME_LENGTH))
        and (phone is None or (phone.__class__ is str and len(phone) <= PHONE_LENGTH))
        and (email is None or (email.__class__ is str and len(email) <= EMAIL_LENGTH))
        and (birth_date is None or (birth_date.__class__ is str and len(birth_date) <= DATE_LENGTH))
        and (member_code is None or (member_code.__class__ is str and len(member_code) <= MEMBER_CODE_LENGTH))
        and deleted.__class__ is bool
    ):
        try:
            if birth_date is not None:
                date.fromisoformat(birth_date)
            moment = _utc(updated_at)
        except ValueError:
            pass
        else:
            row = {
                "instance_id": instance_id,
                "gesdent_id": gesdent_id,
                "first_name": first_name or "",
                "last_name": last_name or "",
                "phone": phone,
                "email": email,
                "birth_date": birth_date,
                "member_code": member_code,
                "deleted": deleted,
                "remote_updated_at": updated_at,
            }
            return row, moment
    return _checked_patient_row(instance_id, item)


def reservation_row(instance_id: str, item: Any) -> tuple[Row, datetime]:
    """The row, and the item's updated_at (for the stream's cursor); or Rejected."""
    if item.__class__ is not dict:
        raise not_an_object("reservations")
    get = item.get
    gesdent_id, updated_at = get("id"), get("updated_at")
    resource_id, status = get("resource_id"), get("status")
    start, end, user_id, treatment_code = get("start"), get("end"), get("user_id"), get("treatment_code")
    if (
        gesdent_id.__class__ is str
        and 0 < len(gesdent_id) <= ID_LENGTH
        and updated_at.__class__ is str
        and 0 < len(updated_at) <= MOMENT_LENGTH
        and resource_id.__class__ is str
        and 0 < len(resource_id) <= ID_LENGTH
        and status.__class__ is str
        and 0 < len(status) <= STATUS_LENGTH
        and start.__class__ is str
        and 0 < len(start) <= MOMENT_LENGTH
        and end.__class__ is str
        and 0 < len(end) <= MOMENT_LENGTH
        and (user_id is None or (user_id.__class__ is str and len(user_id) <= ID_LENGTH))
        and (
            treatment_code is None
            or (treatment_code.__class__ is str and len(treatment_code) <= TREATMENT_CODE_LENGTH)
        )
    ):
        try:
            moment, starts_at, ends_at = _utc(updated_at), _utc(start), _utc(end)
        except ValueError:
            pass
        else:
            row = {
                "instance_id": instance_id,
                "gesdent_id": gesdent_id,
                "resource_id": resource_id,
                "user_id": user_id,
                "treatment_code": treatment_code,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "status": status,
                "remote_updated_at": updated_at,
            }
            return row, moment
    return _checked_reservation_row(instance_id, item)


def _checked_patient_row(instance_id: str, item: dict[str, Any]) -> tuple[Row, datetime]:
    fields = ItemFields("users", item, usable_id(item.get("id")))
    updated_at = fields.updated()  # first: the cursor moves past the item whatever else is wrong
    gesdent_id = fields.text("id", ID_LENGTH)
    birth_date = fields.optional("birth_date", DATE_LENGTH)
    if birth_date is not None:
        try:
            date.fromisoformat(birth_date)
        except ValueError:
            raise fields.fail("birth_date", "is not a date (YYYY-MM-DD)") from None
    row = {
        "instance_id": instance_id,
        "gesdent_id": gesdent_id,
        "first_name": fields.optional("first_name", PERSON_NAME_LENGTH, empty_as=""),
        "last_name": fields.optional("last_name", PERSON_NAME_LENGTH, empty_as=""),
        "phone": fields.optional("phone", PHONE_LENGTH),
        "email": fields.optional("email", EMAIL_LENGTH),
        "birth_date": birth_date,
        "member_code": fields.optional("member_code", MEMBER_CODE_LENGTH),
        "deleted": fields.flag("deleted", False),
        "remote_updated_at": fields.text("updated_at", MOMENT_LENGTH),
    }
    return row, updated_at


def _checked_reservation_row(instance_id: str, item: dict[str, Any]) -> tuple[Row, datetime]:
    fields = ItemFields("reservations", item, usable_id(item.get("id")))
    updated_at = fields.updated()  # first: the cursor moves past the item whatever else is wrong
    gesdent_id = fields.text("id", ID_LENGTH)
    starts_at, ends_at = fields.moment("start"), fields.moment("end")
    row = {
        "instance_id": instance_id,
        "gesdent_id": gesdent_id,
        "resource_id": fields.text("resource_id", ID_LENGTH),
        "user_id": fields.optional("user_id", ID_LENGTH),
        "treatment_code": fields.optional("treatment_code", TREATMENT_CODE_LENGTH),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "status": fields.text("status", STATUS_LENGTH),
        "remote_updated_at": fields.text("updated_at", MOMENT_LENGTH),
    }
    return row, updated_at


def slot_row(instance_id: str, resource_id: str, item: Any) -> Row:
    """A free slot of the resource; or Rejected (slots have no id: the stream names them by
    resource and position)."""
    if item.__class__ is not dict:
        raise not_an_object("availability")
    fields = ItemFields("availability", item, None)
    codes = item.get("treatment_codes", [])
    if not isinstance(codes, list) or not all(isinstance(code, str) and code for code in codes):
        raise fields.fail("treatment_codes", "must be a list of strings")
    joined = " ".join(codes)
    if len(joined) > TREATMENT_CODES_LENGTH:
        raise fields.fail("treatment_codes", f"are too many to store ({TREATMENT_CODES_LENGTH} characters)")
    return {
        "instance_id": instance_id,
        "resource_id": resource_id,
        "starts_at": fields.moment("start"),
        "ends_at": fields.moment("end"),
        "treatment_codes": joined,
    }
