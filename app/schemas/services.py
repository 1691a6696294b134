from __future__ import annotations

from decimal import Decimal
from typing import Annotated

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
    PRICE_DECIMALS,
    PRICE_PATTERN,
    PRICE_RE,
    RESERVED_SERVICE_CODES,
    SERVICE_CODE_PATTERN,
)
from app.schemas.common import Input, Label, Output, Timestamp


def _not_reserved(code: str) -> str:
    if code in RESERVED_SERVICE_CODES:
        raise ValueError(f"'{code}' is reserved")
    return code


ServiceCode = Annotated[
    str, Field(pattern=SERVICE_CODE_PATTERN, examples=["LIMP"]), AfterValidator(_not_reserved)
]
Duration = Annotated[StrictInt, Field(ge=1, le=MAX_DURATION_MINUTES, examples=[30])]
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


PriceIn = Annotated[Decimal, PlainValidator(_price), WithJsonSchema(_PRICE_SCHEMA, mode="validation")]
PriceOut = Annotated[
    Decimal,
    PlainSerializer(lambda price: f"{price:.{PRICE_DECIMALS}f}", return_type=str),
    WithJsonSchema(_PRICE_SCHEMA, mode="serialization"),
]


class ServiceCreate(Input):
    code: ServiceCode
    name: Label = Field(examples=["Limpieza dental"])
    duration_minutes: Duration
    price: PriceIn | None = None
    web_enabled: StrictBool = Field(
        False, examples=[True], description="Bookable online (the Web column's green bullet)."
    )


class ServiceUpdate(Input):
    name: Label | None = Field(None, examples=["Limpieza dental"])
    duration_minutes: Duration | None = None
    price: PriceIn | None = Field(None, description="null removes the price.")
    web_enabled: StrictBool | None = Field(None, examples=[True])


class ServicePublic(Output):
    code: str = Field(examples=["LIMP"])
    name: str = Field(examples=["Limpieza dental"])
    duration_minutes: int = Field(examples=[30])
    price: PriceOut | None = Field(examples=["45.50"])
    web_enabled: bool = Field(examples=[True])
    mapped_to: str | None = Field(
        examples=["LIMP"], description="For a member's service: the code of the portal service it maps to."
    )
    version: int = Field(examples=[1])
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
    code: str
    deleted: bool = True
    removed_mappings: int = Field(description="Mappings removed with it (cascade).")


class ImportRowError(Output):
    line: int
    field: str | None
    message: str


class ImportCodes(Output):
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    deleted: list[str]


class ImportReport(Output):
    """Counts of what the import did (or, on a dry run, would do); `codes` names them."""

    dry_run: bool
    mode: str
    created: int
    updated: int
    unchanged: int
    deleted: int
    removed_mappings: int = Field(description="Mappings removed with deleted services (cascade).")
    errors: list[ImportRowError]
    codes: ImportCodes
