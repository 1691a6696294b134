"""Field types shared by the API schemas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from app.domain.time_zones import zone
from app.domain.values import (
    INSTANCE_NAME_INPUT_PATTERN,
    LABEL_LENGTH,
    SINGLE_LINE_PATTERN,
    TEXT_PATTERN,
    canonical_instance_name,
    text_problem,
)


def single_line(value: str) -> str:
    problem = text_problem(value, single_line=True)
    if problem:
        raise ValueError(problem)
    return value


def plain_text(value: str) -> str:
    problem = text_problem(value, single_line=False)
    if problem:
        raise ValueError(problem)
    return value


EXAMPLE_UUID = "0b7f6a52-3c1e-4d8a-9f2b-6e4c1d7a8b90"


def _utc(value: datetime) -> str:
    # SQLite hands back naive datetimes; everything Portico stores is UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


Timestamp = Annotated[
    datetime,
    PlainSerializer(_utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-12-01T02:22:04.134805Z"]}),
]


def _zone_name(value: str) -> str:
    zone(value)  # ValueError (a 422) naming a close match, e.g. europe/madrid -> Europe/Madrid
    return value


# No pattern: an IANA name has no useful one, and the validator's message suggests the right spelling.
TimeZoneName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        examples=["Europe/Madrid"],
        description="IANA time zone of the clinic, e.g. `Europe/Madrid`, `Atlantic/Canary`: date filters "
        "on its imported data mean its local days, and its slots are shown on its clock.",
    ),
    AfterValidator(_zone_name),
]


def _with_offset(value: datetime) -> str:
    # Made by `local` (app/domain/time_zones.py): aware, on the clinic's clock. A clinic on UTC in
    # winter (Atlantic/Canary, Europe/Lisbon) reads +00:00, its offset, rather than Z, the UTC instant.
    return value.isoformat()


# An instant on a clinic's wall clock, with the offset in force there then (summer or winter time).
LocalTimestamp = Annotated[
    datetime,
    PlainSerializer(_with_offset, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 with the clinic's UTC offset at that moment.",
            "examples": ["2027-03-29T09:00:00+02:00"],
        }
    ),
]

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
# The keyword arguments of a path parameter holding such an id.
UUID_FORMAT: dict[str, Any] = {"json_schema_extra": {"format": "uuid"}, "examples": [EXAMPLE_UUID]}
# An id Portico made (str(uuid.UUID)): lower-case, with hyphens.
Uuid = Annotated[str, WithJsonSchema({"type": "string", "format": "uuid", "examples": [EXAMPLE_UUID]})]


def not_null(schema: dict[str, Any]) -> None:
    """`json_schema_extra` of an optional field that may be left out but not sent as null: the spec
    says so (no null branch, no null default); the service refuses the null (app/services/changes.py)."""
    branches = [branch for branch in schema.pop("anyOf", []) if branch != {"type": "null"}]
    if len(branches) == 1:
        schema.update(branches[0])
    elif branches:
        schema["anyOf"] = branches
    schema.pop("default", None)


def instance_name(value: object) -> object:
    """An instance name as the caller wrote it → its stored form (see canonical_instance_name)."""
    return canonical_instance_name(value) if isinstance(value, str) else value


NAME_DESCRIPTION = "Database name, e.g. `tt_sanitas_gesdent_digest`; the `tt_` prefix may be left out."
# The pattern documents what callers may send; the validator answers the stored `tt_…` form, and
# for a near miss (capitals, hyphens) an error that names the valid spelling.
InstanceName = Annotated[
    str,
    Field(pattern=INSTANCE_NAME_INPUT_PATTERN, examples=["tt_portal_sanitas"], description=NAME_DESCRIPTION),
    BeforeValidator(instance_name),
]


@dataclass(frozen=True, slots=True)
class Declared:
    """A pattern the spec states for a rule that a validator enforces with a message of its own
    (pydantic's would quote the pattern back at the caller)."""

    pattern: str

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema: dict[str, Any] = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


# Text that people write: one line without control characters, or any text without NUL bytes.
SingleLine = Annotated[str, AfterValidator(single_line), Declared(SINGLE_LINE_PATTERN)]
PlainText = Annotated[str, AfterValidator(plain_text), Declared(TEXT_PATTERN)]
Label = Annotated[SingleLine, Field(min_length=1, max_length=LABEL_LENGTH)]
DisplayName = Label
MemberCode = Annotated[SingleLine, Field(min_length=1, max_length=64)]
SettingValue = Annotated[PlainText, Field(max_length=2000)]


def _whole_number(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# An integer in a JSON body: JSON has one number type, and to JSON Schema (so to the spec's clients)
# 30.0 is the integer 30; a fraction, a string ("30") or a boolean is refused. WholeNumber goes last,
# after the bounds: pydantic would write bounds put after a validator as unknown keywords (`ge`).
WholeNumber = BeforeValidator(_whole_number)


class Input(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    """Base of response bodies. Every field is always sent, defaults included: the spec says each is
    required (a field that may be null says so)."""

    model_config = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=True)
