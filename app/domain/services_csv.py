"""The services CSV (`code,name,duration_minutes,price,web_enabled`): parse and validate every row,
write it back out. Pure: text in, values and errors out. Cells are written neutralised against
formula injection and restored on reading (app/domain/csv_cells.py), so export then import is exact."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from app.domain.csv_cells import neutralise, restore
from app.domain.values import (
    LABEL_LENGTH,
    MAX_DURATION_MINUTES,
    MAX_PRICE,
    PRICE_DECIMALS,
    RESERVED_SERVICE_CODES,
    SERVICE_CODE_RE,
    text_problem,
)

COLUMNS = ("code", "name", "duration_minutes", "price", "web_enabled")
REQUIRED = frozenset({"code", "name", "duration_minutes"})
_TRUE = frozenset({"true", "1", "yes", "y", "si", "sí", "x"})
_FALSE = frozenset({"false", "0", "no", "n", ""})


@dataclass(frozen=True, slots=True)  # slots: a file holds thousands of them
class ServiceRow:
    line: int
    code: str
    name: str
    duration_minutes: int
    price: Decimal | None
    web_enabled: bool


@dataclass(frozen=True)
class RowError:
    line: int
    field: str | None
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "field": self.field, "message": self.message}


class TooManyRows(ValueError):
    def __init__(self, limit: int, line: int) -> None:
        super().__init__(f"more than {limit} rows (row {limit + 1} is on line {line})")
        self.limit = limit
        self.line = line


class NotUtf8(ValueError):
    def __init__(self, line: int, position: int) -> None:
        super().__init__(f"not UTF-8 (byte {position}, line {line}); save the file as UTF-8")
        self.line = line


def decode(data: bytes) -> str:
    """UTF-8 with or without a BOM; anything else is refused with the line of the offending byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotUtf8(data[: exc.start].count(b"\n") + 1, exc.start) from None


def parse(text: str, max_rows: int | None = None) -> tuple[list[ServiceRow], list[RowError]]:
    """Every valid row and every error, with the line each starts on (the header is line 1).
    TooManyRows as soon as the file has more than `max_rows` rows (blank lines do not count)."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        return [], [RowError(1, None, "the file is empty; expected a header row: " + ",".join(COLUMNS))]
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        return [], [RowError(1, None, f"unreadable header: {exc}")]
    errors = _header_errors(header)
    if errors:
        return [], errors
    rows: list[ServiceRow] = []
    seen: dict[str, int] = {}
    count = 0
    line = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(line, None, f"unreadable row: {exc}"))
            break
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in record):
            continue  # blank lines, e.g. a trailing one
        count += 1
        if max_rows is not None and count > max_rows:
            raise TooManyRows(max_rows, start)
        row, row_errors = _row(start, header, record, decimal_comma=delimiter == ";")
        if row is not None and row.code in seen:
            row_errors.append(
                RowError(start, "code", f"duplicate code {row.code} (first on line {seen[row.code]})")
            )
            row = None
        errors += row_errors
        if row is not None:
            seen[row.code] = start
            rows.append(row)
    return rows, errors


def _header_errors(header: list[str]) -> list[RowError]:
    problems = []
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        problems.append(f"unknown column(s) {', '.join(unknown)}")
    missing = sorted(REQUIRED - set(header))
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if len(set(header)) != len(header):
        problems.append("a column appears twice")
    if problems:
        expected = ",".join(COLUMNS)
        return [RowError(1, None, f"bad header: {'; '.join(problems)}. Expected: {expected}")]
    return []


def _row(
    line: int, header: list[str], record: list[str], *, decimal_comma: bool
) -> tuple[ServiceRow | None, list[RowError]]:
    if len(record) != len(header):
        return None, [RowError(line, None, f"expected {len(header)} fields, found {len(record)}")]
    cells = {column: restore(value) for column, value in zip(header, record, strict=True)}
    errors: list[RowError] = []

    def fail(field: str, message: str) -> None:
        errors.append(RowError(line, field, message))

    code = cells["code"]
    if not SERVICE_CODE_RE.match(code):
        fail("code", "must be 1-32 letters, digits, '_', '.' or '-', starting with a letter or digit")
    elif code in RESERVED_SERVICE_CODES:
        fail("code", f"'{code}' is reserved")
    name = cells["name"]
    problem = text_problem(name, single_line=True)
    if not name or len(name) > LABEL_LENGTH or problem:
        fail("name", problem or f"must be 1-{LABEL_LENGTH} characters")
    duration = _duration(cells["duration_minutes"])
    if duration is None:
        fail("duration_minutes", f"must be a whole number of minutes from 1 to {MAX_DURATION_MINUTES}")
    price, price_error = _price(cells.get("price", ""), decimal_comma)
    if price_error:
        fail("price", price_error)
    web = cells.get("web_enabled", "").lower()
    if web not in _TRUE | _FALSE:
        fail("web_enabled", "must be true or false")
    if errors or duration is None:
        return None, errors
    return ServiceRow(line, code, name, duration, price, web in _TRUE), []


def _duration(value: str) -> int | None:
    if not value.isdecimal():  # not isdigit(): int() refuses digits such as '²'
        return None
    try:
        number = int(value)
    except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits): out of range
        return None
    return number if 1 <= number <= MAX_DURATION_MINUTES else None


def _price(value: str, decimal_comma: bool) -> tuple[Decimal | None, str | None]:
    if not value:
        return None, None
    if decimal_comma:
        value = value.replace(",", ".")
    try:
        price = Decimal(value)
    except InvalidOperation:
        return None, "must be a number such as 45.00"
    if not price.is_finite() or price < 0 or price > MAX_PRICE or price.as_tuple().exponent < -PRICE_DECIMALS:  # type: ignore[operator]
        return None, f"must be between 0 and {MAX_PRICE} with at most {PRICE_DECIMALS} decimals"
    return price.quantize(Decimal(10) ** -PRICE_DECIMALS), None


def render(rows: list[tuple[str, str, int, Decimal | None, bool]]) -> str:
    """The CSV that `parse` reads back unchanged: header, then one row per service."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for code, name, duration, price, web_enabled in rows:
        cells = [
            code,
            name,
            str(duration),
            "" if price is None else f"{price:.2f}",
            "true" if web_enabled else "false",
        ]
        writer.writerow([neutralise(cell) for cell in cells])
    return out.getvalue()
