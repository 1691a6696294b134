"""The services CSV, field by field: each cell's checks and messages (the file's rules are in
test_services_csv.py)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from app.domain.services_csv import ServiceRow, parse
from app.domain.values import RESERVED_SERVICE_CODES

HEADER = "code,name,duration_minutes,price,web_enabled"
SHORT = "code,name,duration_minutes"
PRICED = SHORT + ",price"
CODE_RULE = "must be 1-32 letters, digits, '_', '.' or '-', starting with a letter or digit"
DURATION_RULE = "must be a whole number of minutes from 1 to 1440"
PRICE_RANGE = "must be between 0 and 99999999 with at most 2 decimals"
PRICE_NUMBER = "must be a number such as 45.00"


def one_row(cells: str, header: str = SHORT) -> tuple[list[ServiceRow], list[tuple[str | None, str]]]:
    rows, errors = parse(f"{header}\n{cells}\n")
    assert all(e.line == 2 for e in errors)
    return rows, [(e.field, e.message) for e in errors]


@pytest.mark.parametrize("code", ["A", "0", "a.b-c_d", "LIMP", "A" * 32, "Import", "EXPORT"])
def test_valid_codes(code: str) -> None:
    rows, errors = one_row(f"{code},b,30")
    assert errors == []
    assert rows[0].code == code


@pytest.mark.parametrize("code", ["", "bad code", "-A", "_A", ".A", "A" * 33, "Ñ", "A/B", "'A"])
def test_invalid_codes(code: str) -> None:
    assert one_row(f'"{code}",b,30') == ([], [("code", CODE_RULE)])


@pytest.mark.parametrize("code", sorted(RESERVED_SERVICE_CODES))
def test_reserved_codes(code: str) -> None:
    assert one_row(f"{code},b,30") == ([], [("code", f"'{code}' is reserved")])


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "must be 1-200 characters"),
        ("x" * 201, "must be 1-200 characters"),
        ("a\x00b", "must not contain NUL bytes"),
        ("a\tb", "must not contain control characters"),
        ("a\x7fb", "must not contain control characters"),
        ("a\nb", "must not contain control characters"),
    ],
)
def test_invalid_names(name: str, problem: str) -> None:
    assert one_row(f'A,"{name}",30') == ([], [("name", problem)])


@pytest.mark.parametrize("name", ["x", "x" * 200, "Revisión periódica", "a\x85b", "Ñ ñ", '"q"'])
def test_valid_names(name: str) -> None:
    out = io.StringIO()
    csv.writer(out).writerow(["A", name, "30"])
    rows, errors = one_row(out.getvalue().strip())
    assert errors == []
    assert rows[0].name == name


@pytest.mark.parametrize(("cell", "minutes"), [("1", 1), ("1440", 1440), ("30", 30), ("007", 7)])
def test_valid_durations(cell: str, minutes: int) -> None:
    rows, errors = one_row(f"A,b,{cell}")
    assert errors == []
    assert rows[0].duration_minutes == minutes


@pytest.mark.parametrize(
    "cell", ["", "0", "1441", "-1", "+5", "1.5", "30 min", "1e2", "1_000", "²", "½", "1" * 5000]
)
def test_invalid_durations(cell: str) -> None:
    assert one_row(f"A,b,{cell}") == ([], [("duration_minutes", DURATION_RULE)])


@pytest.mark.parametrize(
    ("cell", "price"),
    [
        ("", None),
        ("0", Decimal("0.00")),
        ("45", Decimal("45.00")),
        ("45.5", Decimal("45.50")),
        ("45.50", Decimal("45.50")),
        ("1e2", Decimal("100.00")),
        ("99999999", Decimal("99999999.00")),
        ("99999999.00", Decimal("99999999.00")),
    ],
)
def test_valid_prices(cell: str, price: Decimal | None) -> None:
    rows, errors = one_row(f"A,b,30,{cell}", PRICED)
    assert errors == []
    stored = rows[0].price
    assert stored == price
    if stored is not None:  # (and so neither is price)
        assert stored.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("-1", PRICE_RANGE),
        ("-0.01", PRICE_RANGE),
        ("99999999.01", PRICE_RANGE),
        ("1e9", PRICE_RANGE),
        ("0.001", PRICE_RANGE),
        ("1.000", PRICE_RANGE),
        ("NaN", PRICE_RANGE),
        ("Infinity", PRICE_RANGE),
        ("abc", PRICE_NUMBER),
        ("45 €", PRICE_NUMBER),
        ("1.234,50", PRICE_NUMBER),
    ],
)
def test_invalid_prices(cell: str, problem: str) -> None:
    assert one_row(f'A,b,30,"{cell}"', PRICED) == ([], [("price", problem)])


@pytest.mark.parametrize(
    ("cell", "enabled"),
    [(c, True) for c in ["true", "TRUE", "1", "yes", "y", "si", "sí", "SÍ", "x", "X"]]
    + [(c, False) for c in ["false", "False", "0", "no", "n", "N", ""]],
)
def test_web_enabled_words(cell: str, enabled: bool) -> None:
    rows, errors = one_row(f"A,b,30,,{cell}", HEADER)
    assert errors == []
    assert rows[0].web_enabled is enabled


@pytest.mark.parametrize("cell", ["perhaps", "2", "on", "verdadero", "t"])
def test_web_enabled_refuses_other_words(cell: str) -> None:
    assert one_row(f"A,b,30,,{cell}", HEADER) == ([], [("web_enabled", "must be true or false")])


def test_a_row_without_web_enabled_or_price_columns() -> None:
    rows, errors = one_row("A,b,30")
    assert errors == []
    assert (rows[0].price, rows[0].web_enabled) == (None, False)


@pytest.mark.parametrize(("cells", "found"), [("A,b", 2), ("A,b,30,4,true,extra", 6), ("A", 1)])
def test_a_row_with_the_wrong_number_of_fields(cells: str, found: int) -> None:
    assert one_row(cells, HEADER) == ([], [(None, f"expected 5 fields, found {found}")])


def test_cells_are_stripped() -> None:
    rows, errors = one_row(" A ,  Limpieza  , 30 , 4.5 , yes ", HEADER)
    assert errors == []
    assert rows == [ServiceRow(2, "A", "Limpieza", 30, Decimal("4.50"), True)]


def test_every_problem_of_a_row_is_reported_in_column_order() -> None:
    assert [field for field, _ in one_row("bad code,,0,-3,perhaps", HEADER)[1]] == [
        "code",
        "name",
        "duration_minutes",
        "price",
        "web_enabled",
    ]
