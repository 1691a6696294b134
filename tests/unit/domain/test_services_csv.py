"""The services CSV without a database: every rule of reading a file (each field's checks are in
test_services_csv_fields.py), with the line each error names, and the export that reads back
exactly. tests/api/test_services_csv.py keeps the paths through HTTP (multipart, the 413, dry runs,
what is written)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.domain import services_csv
from app.domain.csv_cells import FORMULA_STARTS
from app.domain.services_csv import NotUtf8, RowError, ServiceRow, TooManyRows, decode, parse, render
from app.domain.values import MAX_PRICE, RESERVED_SERVICE_CODES, SERVICE_CODE_PATTERN, SERVICE_CODE_RE
from app.schemas.services import ServiceCreate

HEADER = "code,name,duration_minutes,price,web_enabled"
SHORT = "code,name,duration_minutes"
EXPECTED = "Expected: code,name,duration_minutes,price,web_enabled"
DURATION_RULE = "must be a whole number of minutes from 1 to 1440"
PRICE_NUMBER = "must be a number such as 45.00"


def errors_of(text: str) -> list[tuple[int, str | None, str]]:
    return [(e.line, e.field, e.message) for e in parse(text)[1]]


# --- Decoding ------------------------------------------------------------------------------------


@given(st.text())
def test_utf8_decodes_with_or_without_a_bom(text: str) -> None:
    assert decode(b"\xef\xbb\xbf" + text.encode()) == text
    assert decode(text.encode()) == text.removeprefix("\ufeff")  # a leading U+FEFF is a BOM


def test_a_file_that_is_not_utf8_names_the_line_and_byte_of_the_first_bad_byte() -> None:
    data = "code,name,duration_minutes\nA,ok,3\nB,Revisión,3\n".encode("latin-1")
    with pytest.raises(NotUtf8) as raised:
        decode(data)
    position = data.index(b"\xf3")
    assert raised.value.line == 3
    assert str(raised.value) == f"not UTF-8 (byte {position}, line 3); save the file as UTF-8"


@given(st.lists(st.text(st.characters(exclude_characters="\n", codec="utf-8")), min_size=1, max_size=5))
def test_the_bad_byte_line_counts_the_lines_before_it(lines: list[str]) -> None:
    data = "\n".join(lines).encode() + b"\xff"
    with pytest.raises(NotUtf8) as raised:
        decode(data)
    assert raised.value.line == len(lines)


# --- Empty files and headers -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "\r\n", "\ufeff", "\ufeff \n"])
def test_an_empty_file_asks_for_a_header(text: str) -> None:
    assert parse(text) == (
        [],
        [RowError(1, None, f"the file is empty; expected a header row: {HEADER}")],
    )


def test_a_header_alone_is_an_empty_list() -> None:
    assert parse(HEADER + "\n") == ([], [])
    assert parse(HEADER) == ([], [])


@pytest.mark.parametrize(
    "header",
    [
        "code,name,duration_minutes",  # price and web_enabled may be left out
        "duration_minutes,name,code",  # in any order
        " Code , NAME ,Duration_Minutes",  # case and spaces forgiven
        "web_enabled,price,code,name,duration_minutes",
    ],
)
def test_header_columns_in_any_order_and_case(header: str) -> None:
    columns = [c.strip().lower() for c in header.split(",")]
    values = {"code": "A", "name": "Limpieza", "duration_minutes": "30", "price": "5", "web_enabled": "yes"}
    rows, errors = parse(header + "\n" + ",".join(values[c] for c in columns) + "\n")
    assert errors == []
    assert [(r.code, r.name, r.duration_minutes) for r in rows] == [("A", "Limpieza", 30)]


@pytest.mark.parametrize(
    ("header", "problems"),
    [
        ("code,name,duration_minutes,colour", "unknown column(s) colour"),
        ("name", "missing column(s) code, duration_minutes"),
        ("code,name,duration_minutes,code", "a column appears twice"),
        ("code,nombre,colour", "unknown column(s) nombre, colour; missing column(s) duration_minutes, name"),
        (
            "code,code,name,minutes",
            "unknown column(s) minutes; missing column(s) duration_minutes; a column appears twice",
        ),
    ],
)
def test_a_bad_header_names_every_problem_and_the_expected_columns(header: str, problems: str) -> None:
    assert parse(f"{header}\nA,b,3,4\n") == ([], [RowError(1, None, f"bad header: {problems}. {EXPECTED}")])


def test_an_unreadable_header_is_line_1() -> None:
    ((line, field, message),) = errors_of('"code"x,name,duration_minutes\nA,b,3\n')
    assert (line, field) == (1, None)
    assert message.startswith("unreadable header: ")


# --- Separators, BOM, line endings, quoting -------------------------------------------------------------


def test_semicolons_take_decimal_commas() -> None:
    rows, errors = parse("code;name;duration_minutes;price\nLIMP;Limpieza, dental;30;45,50\n")
    assert errors == []
    assert [(r.name, r.price) for r in rows] == [("Limpieza, dental", Decimal("45.50"))]


def test_commas_do_not_take_decimal_commas() -> None:
    assert errors_of('code,name,duration_minutes,price\nA,b,30,"45,50"\n') == [(2, "price", PRICE_NUMBER)]


def test_the_separator_is_the_one_the_header_uses_most() -> None:
    # A header with more semicolons than commas is a semicolon file, whatever the rows hold.
    rows, errors = parse("code;name;duration_minutes\nA;b,c;30\n")
    assert errors == []
    assert rows[0].name == "b,c"
    rows, errors = parse("code,name,duration_minutes\nA,b;c,30\n")
    assert errors == []
    assert rows[0].name == "b;c"


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_a_bom_and_any_line_ending(eol: str) -> None:
    text = "\ufeffcode;name;duration_minutes;price;web_enabled" + eol + "LIMP;Limpieza;30;45,50;sí" + eol
    assert parse(text) == ([ServiceRow(2, "LIMP", "Limpieza", 30, Decimal("45.50"), True)], [])


def test_quoted_cells_keep_separators_and_doubled_quotes() -> None:
    rows, errors = parse('code,name,duration_minutes\nA,"Limpieza, ""dental""",30\n')
    assert errors == []
    assert rows[0].name == 'Limpieza, "dental"'


def test_an_unreadable_row_is_named_and_ends_the_reading() -> None:
    text = 'code,name,duration_minutes\nA,ok,30\nB,"bad"quote,30\nC,never read,30\n'
    rows, errors = parse(text)
    assert [r.code for r in rows] == ["A"]
    ((line, field, message),) = [(e.line, e.field, e.message) for e in errors]
    assert (line, field) == (3, None)
    assert message.startswith("unreadable row: ")


def test_an_unclosed_quote_is_unreadable_from_the_line_it_opens_on() -> None:
    ((line, field, message),) = errors_of('code,name,duration_minutes\nA,ok,30\n\nB,"open,30\nC,x,30\n')
    assert (line, field) == (4, None)
    assert message.startswith("unreadable row: ")


@given(
    st.lists(st.tuples(st.integers(0, 2), st.booleans(), st.booleans()), max_size=12),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.sampled_from([",", ";"]),
)
def test_every_row_and_error_names_the_line_it_starts_on(
    shape: list[tuple[int, bool, bool]], eol: str, separator: str
) -> None:
    """Blank lines before rows, rows over two lines (a quoted line break), any line ending."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator=eol)
    writer.writerow(["code", "name", "duration_minutes"])
    line, rows, errors = 2, [], []
    for index, (blanks, valid, two_lines) in enumerate(shape):
        out.write(eol * blanks)
        line += blanks
        writer.writerow(
            [f"C{index}", f"Name{eol}{index}" if two_lines else f"Name {index}", "30" if valid else "0"]
        )
        if two_lines:
            errors.append((line, "name", "must not contain control characters"))
        if not valid:
            errors.append((line, "duration_minutes", DURATION_RULE))
        if valid and not two_lines:
            rows.append((line, f"C{index}"))
        line += 2 if two_lines else 1
    parsed, found = parse(out.getvalue())
    assert [(r.line, r.code) for r in parsed] == rows
    assert [(e.line, e.field, e.message) for e in found] == errors


# --- Duplicates and blank lines -------------------------------------------------------------------------


def test_a_repeated_code_names_the_line_of_the_first() -> None:
    text = "code,name,duration_minutes\nA,one,30\nB,two,30\nA,again,30\nA,thrice,30\na,lower case,30\n"
    rows, errors = parse(text)
    assert [(r.line, r.code, r.name) for r in rows] == [
        (2, "A", "one"),
        (3, "B", "two"),
        (6, "a", "lower case"),
    ]
    assert errors == [
        RowError(4, "code", "duplicate code A (first on line 2)"),
        RowError(5, "code", "duplicate code A (first on line 2)"),
    ]


def test_blank_lines_are_skipped_but_counted() -> None:
    text = "code,name,duration_minutes\n\n  \n,,\n , \nA,b,30\n\n"
    rows, errors = parse(text)
    assert errors == []
    assert [(r.line, r.code) for r in rows] == [(6, "A")]


# --- The row limit --------------------------------------------------------------------------------------


def test_more_rows_than_the_limit() -> None:
    text = "code,name,duration_minutes\nA,a,1\n\nB,b,1\nC,c,1\n"
    assert len(parse(text, max_rows=3)[0]) == 3
    with pytest.raises(TooManyRows) as raised:
        parse(text, max_rows=2)
    assert (raised.value.limit, raised.value.line) == (2, 5)
    assert str(raised.value) == "more than 2 rows (row 3 is on line 5)"


def test_invalid_rows_count_toward_the_limit_and_blank_lines_do_not() -> None:
    text = "code,name,duration_minutes\nbad code,a,1\n\n\nB,,0\n"
    assert len(parse(text, max_rows=2)[1]) == 3
    with pytest.raises(TooManyRows) as raised:
        parse(text, max_rows=1)
    assert raised.value.line == 5
    with pytest.raises(TooManyRows):
        parse(text, max_rows=0)
    assert parse("code,name,duration_minutes\n\n\n", max_rows=0) == ([], [])


@given(st.integers(0, 30), st.integers(0, 30))
def test_the_limit_is_exact(rows: int, limit: int) -> None:
    text = "code,name,duration_minutes\n" + "".join(f"C{i},n,1\n\n" for i in range(rows))
    if rows <= limit:
        assert len(parse(text, max_rows=limit)[0]) == rows
    else:
        with pytest.raises(TooManyRows) as raised:
            parse(text, max_rows=limit)
        assert raised.value.line == 2 + 2 * limit


# --- Anything at all ------------------------------------------------------------------------------------

cells = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["", "A", "30", "0", "²", "1e2", "45,5", "'=1", '"', '""', "\n", "\r", ";", "sí", "nan"]),
)


@given(st.lists(st.lists(cells, min_size=1, max_size=6), max_size=6), st.sampled_from([",", ";"]))
@example([["A", "b", "²"]], ",")  # a digit that int() does not read
@example([["A", "b", "1" * 5000]], ",")  # more digits than int() reads
def test_any_text_gives_rows_and_errors_never_an_exception(records: list[list[str]], separator: str) -> None:
    """Cells joined as they come (quotes unbalanced, separators inside): whatever a file holds, the
    answer is valid rows and errors that name a line of the file."""
    text = separator.join(["code", "name", "duration_minutes"]) + "\n"
    text += "\n".join(separator.join(record) for record in records) + "\n"
    rows, errors = parse(text)
    lines = len(text.splitlines()) + 1
    for row in rows:
        assert SERVICE_CODE_RE.match(row.code)
        assert 1 <= row.duration_minutes <= 1440
        assert row.name
    assert all(1 <= e.line <= lines for e in errors)
    assert len({r.line for r in rows} | {e.line for e in errors}) >= len(rows)


@given(st.text(max_size=300))
def test_any_text_at_all_never_raises(text: str) -> None:
    parse(text)
    parse("code,name,duration_minutes\n" + text)


# --- Export, and export then import ---------------------------------------------------------------------


def test_the_export_format() -> None:
    text = render([("A", "Limpieza", 30, Decimal("45.5"), True), ("B", "Revisión", 1440, None, False)])
    assert text == f"{HEADER}\r\nA,Limpieza,30,45.50,true\r\nB,Revisión,1440,,false\r\n"
    assert render([]) == HEADER + "\r\n"


def test_a_formula_name_is_written_escaped() -> None:
    text = render([("A", "=1+1", 30, Decimal("5.00"), True), ("B", "'x", 30, None, False)])
    assert text.splitlines()[1:] == ["A,'=1+1,30,5.00,true", "B,''x,30,,false"]


CONTROL = "".join(map(chr, [*range(32), 127]))
# What the API takes as a service name (Label in app/schemas/common.py): 1-200 characters on one line.
plain_names = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters=CONTROL), min_size=1, max_size=200
)
EDGES = [
    "=",
    "+",
    "-",
    "@",
    "'",
    "''",
    "'=",
    '"',
    ",",
    ";",
    " ",
    "  ",
    "\u00a0",
    "\u2028",
    "\x85",
    "\ufeff",
    "ñ",
    "é",
]
tricky_names = st.builds(
    lambda head, body, tail: (head + body + tail)[:200],
    st.sampled_from(EDGES),
    st.one_of(st.just(""), plain_names),
    st.sampled_from(["", *EDGES]),
)
codes = st.from_regex(SERVICE_CODE_PATTERN, fullmatch=True).filter(lambda c: c not in RESERVED_SERVICE_CODES)
services = st.lists(
    st.tuples(
        codes,
        st.one_of(plain_names, tricky_names),
        st.integers(1, 1440),
        st.one_of(st.none(), st.decimals(0, MAX_PRICE, places=2)),
        st.booleans(),
    ),
    max_size=20,
    unique_by=lambda service: service[0],
)


@given(services)
@example([("A", " ", 30, None, False)])  # a name of spaces only: the API takes it
@example([("A", " Limpieza ", 30, None, False)])
def test_any_services_the_api_takes_export_to_a_csv_that_imports_back_exactly(
    values: list[tuple[str, str, int, Decimal | None, bool]],
) -> None:
    for code, name, duration, price, web in values:
        ServiceCreate(code=code, name=name, duration_minutes=duration, price=price, web_enabled=web)
    text = render(values)
    rows, errors = parse(decode(text.encode()))
    assert errors == []
    assert [(r.code, r.name, r.duration_minutes, r.price, r.web_enabled) for r in rows] == values
    assert [r.line for r in rows] == list(range(2, len(values) + 2))
    for record in csv.reader(io.StringIO(text, newline="")):
        assert all(cell[:1] not in FORMULA_STARTS for cell in record), record


def test_the_columns_are_the_ones_the_export_writes() -> None:
    assert ",".join(services_csv.COLUMNS) == HEADER
