from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)

from app.db.models import Service
from app.domain.values import (
    MAX_DURATION_MINUTES,
    MAX_PRICE,
    NOT_RESERVED_SERVICE_CODE,
    PRICE_DECIMALS,
    PRICE_PATTERN,
    PRICE_RE,
    RESERVED_SERVICE_CODES,
    SERVICE_CODE_PATTERN,
)
from app.schemas.common import Input, Label, Output, Timestamp, WholeNumber, not_null


def _not_reserved(code: str) -> str:
    if code in RESERVED_SERVICE_CODES:
        raise ValueError(f"'{code}' is reserved")
    return code


ServiceCode = Annotated[
    str,
    Field(pattern=SERVICE_CODE_PATTERN, examples=["LIMP"], json_schema_extra=NOT_RESERVED_SERVICE_CODE),
    AfterValidator(_not_reserved),
]
Duration = Annotated[StrictInt, Field(ge=1, le=MAX_DURATION_MINUTES, examples=[30]), WholeNumber]
_PRICE_SCHEMA = {
    "type": "string",
    "pattern": PRICE_PATTERN,
    "description": f"A decimal string, 0 to {MAX_PRICE} with at most {PRICE_DECIMALS} decimals (never a "
    "JSON number, which a client may hold as binary floating point).",
    "examples": ["45.50"],
}


def _price(value: object) -> Decimal:
    if isinstance(value, Decimal):  # from Python (the CSV import, clones): the same rules, as text
        value = format(value, "f")
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "45.50", not a JSON number')
    if not PRICE_RE.match(value):
        raise ValueError(
            f'must be a decimal string from "0" to "{MAX_PRICE}" with at most {PRICE_DECIMALS} decimals'
        )
    return Decimal(value)


# Both ways the same text and the same schema: a model read in a body and written in an answer too (a
# manifest, planned and exported) has one schema, which SDK generators need.
PriceIn = Annotated[
    Decimal,
    PlainValidator(_price),
    PlainSerializer(lambda price: f"{price:.{PRICE_DECIMALS}f}", return_type=str, when_used="json"),
    WithJsonSchema(_PRICE_SCHEMA),
]
PriceOut = Annotated[
    Decimal,
    PlainSerializer(lambda price: f"{price:.{PRICE_DECIMALS}f}", return_type=str),
    WithJsonSchema(_PRICE_SCHEMA, mode="serialization"),
]


class ServiceCreate(Input):
    """A new service of an instance: what the clinic offers, how long it takes, at what price, and
    whether patients may book it online."""

    code: ServiceCode
    name: Label = Field(examples=["Limpieza dental"])
    duration_minutes: Duration
    price: PriceIn | None = Field(None, examples=["45.50"], description="Omitted or null: no price.")
    web_enabled: StrictBool = Field(
        False, examples=[True], description="Bookable online (the Web column's green bullet)."
    )


class ServiceUpdate(Input):
    """A change to a service: the fields sent change, the others stay."""

    name: Label | None = Field(None, examples=["Limpieza dental"], json_schema_extra=not_null)
    duration_minutes: Duration | None = Field(None, json_schema_extra=not_null)
    price: PriceIn | None = Field(None, examples=["39.50"], description="null removes the price.")
    web_enabled: StrictBool | None = Field(None, examples=[True], json_schema_extra=not_null)


class ServicePublic(Output):
    """A service of an instance and, for a member's service, the portal service it maps to."""

    code: str = Field(examples=["LIMP"])
    name: str = Field(examples=["Limpieza dental"])
    duration_minutes: int = Field(examples=[30])
    price: PriceOut | None = Field(examples=["45.50"], description="Null when the service has no price.")
    web_enabled: bool = Field(examples=[True])
    mapped_to: str | None = Field(
        examples=["LIMP"], description="For a member's service: the code of the portal service it maps to."
    )
    version: int = Field(
        examples=[1], description="Goes up by one each time the service changes (PATCH, or an import)."
    )
    created_at: Timestamp = Field(examples=["2026-12-01T02:22:04.134805Z"])
    updated_at: Timestamp = Field(examples=["2026-12-01T02:22:04.134805Z"])

    @classmethod
    def build(cls, service: Service, mapped_to: str | None) -> ServicePublic:
        return cls(
            code=service.code,
            name=service.name,
            duration_minutes=service.duration_minutes,
            price=service.price,
            web_enabled=service.web_enabled,
            mapped_to=mapped_to,
            version=service.version,
            created_at=service.created_at,
            updated_at=service.updated_at,
        )


class ServiceDeleted(Output):
    """The service deleted, and the mappings `cascade` removed with it."""

    code: str = Field(examples=["ORTO"])
    deleted: bool = Field(True, examples=[True])
    removed_mappings: int = Field(examples=[1], description="Mappings removed with it (cascade).")


# `upsert` creates and updates the services of the file; `replace` also deletes those absent from it.
ImportMode = Literal["upsert", "replace"]


class ImportRowError(Output):
    """An invalid line of a CSV import, and what is wrong with it."""

    line: int = Field(examples=[3], description="The line the row starts on; the header is line 1.")
    field: str | None = Field(
        examples=["duration_minutes"], description="The column at fault; null when the line as a whole is."
    )
    message: str = Field(examples=["must be a whole number of minutes from 1 to 1440"])


class ImportCodes(Output):
    """The codes of the services an import created, updated, left unchanged and deleted."""

    created: list[str] = Field(examples=[["IMPL"]])
    updated: list[str] = Field(examples=[["LIMP"]])
    unchanged: list[str] = Field(examples=[["BLANQ", "REV"]])
    deleted: list[str] = Field(examples=[["FLUOR"]], description="Only in `replace` mode.")


class ImportReport(Output):
    """Counts of what the import did (or, on a dry run, would do); `codes` names them."""

    dry_run: bool = Field(examples=[False], description="True when nothing was written.")
    mode: ImportMode = Field(
        examples=["replace"], description="`replace` also deletes the services absent from the file."
    )
    created: int = Field(examples=[1])
    updated: int = Field(examples=[1])
    unchanged: int = Field(examples=[2])
    deleted: int = Field(examples=[1])
    removed_mappings: int = Field(
        examples=[0], description="Mappings removed with deleted services (cascade)."
    )
    errors: list[ImportRowError] = Field(
        examples=[[]],
        description="Always empty: a file with an invalid line is refused whole, with a 422 `invalid-csv` "
        "problem that lists them.",
    )
    codes: ImportCodes
