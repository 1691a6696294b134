"""The services CSV without a database: export then import is exact, whatever the names."""

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import services_csv
from app.domain.csv_cells import FORMULA_STARTS
from app.domain.values import text_problem

names = st.text(min_size=1, max_size=200).filter(
    lambda name: name == name.strip() and text_problem(name, single_line=True) is None
)
formula_names = st.builds(lambda head, tail: head + tail, st.sampled_from(["=", "+", "-", "@", "'"]), names)
services = st.lists(
    st.tuples(
        st.one_of(names, formula_names),
        st.integers(1, 1440),
        st.one_of(st.none(), st.decimals(0, 99_999_999, places=2)),
        st.booleans(),
    ),
    max_size=20,
)


@given(services)
def test_render_then_parse_is_exact(values):
    rows = [(f"C{i}", name, duration, price, web) for i, (name, duration, price, web) in enumerate(values)]
    text = services_csv.render(rows)
    parsed, errors = services_csv.parse(text)
    assert errors == []
    assert [(r.code, r.name, r.duration_minutes, r.price, r.web_enabled) for r in parsed] == rows
    for record in csv.reader(io.StringIO(text, newline="")):
        assert all(cell[:1] not in FORMULA_STARTS for cell in record), record


def test_a_formula_name_is_written_escaped():
    text = services_csv.render([("A", "=1+1", 30, Decimal("5.00"), True), ("B", "'x", 30, None, False)])
    assert text.splitlines()[1:] == ["A,'=1+1,30,5.00,true", "B,''x,30,,false"]


def test_more_rows_than_the_limit():
    text = "code,name,duration_minutes\nA,a,1\n\nB,b,1\nC,c,1\n"
    assert len(services_csv.parse(text, max_rows=3)[0]) == 3
    with pytest.raises(services_csv.TooManyRows) as raised:
        services_csv.parse(text, max_rows=2)
    assert (raised.value.limit, raised.value.line) == (2, 5)
