"""The CSV cell escape: a bijection (whitespace around a cell included, which reading drops from
hand-written cells), and nothing it writes starts a formula."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.csv_cells import FORMULA_STARTS, neutralise, restore

# Text that starts, more often than chance would have it, with a formula character, the escape or
# whitespace, or ends with whitespace.
SPACES = [" ", "  ", "\t", "\u00a0", "\u2028", "\x85", "\n"]
cells = st.one_of(
    st.text(),
    st.builds(lambda head, tail: head + tail, st.sampled_from(sorted(FORMULA_STARTS | {"'"})), st.text()),
    st.builds(lambda tail: "'" + tail, st.text()),
    st.builds(
        lambda head, body, tail: head + body + tail,
        st.sampled_from(["", "'", *SPACES]),
        st.text(),
        st.sampled_from(["", *SPACES]),
    ),
)


@given(cells)
def test_restore_undoes_neutralise_for_any_text(cell):
    assert restore(neutralise(cell)) == cell


@given(cells)
def test_no_neutralised_cell_starts_with_a_formula_character(cell):
    assert neutralise(cell)[:1] not in FORMULA_STARTS


@given(cells, cells)
def test_different_cells_stay_different(a, b):
    if a != b:
        assert neutralise(a) != neutralise(b)


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+34 600", "'+34 600"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=already", "''=already"),
        ("'quoted", "''quoted"),
        ("'", "''"),
        ("Limpieza", "Limpieza"),
        ("", ""),
        ("a=b", "a=b"),
        (" Limpieza", "' Limpieza"),
        ("Limpieza ", "'Limpieza "),
        (" ", "' "),
        ("\u00a0x", "'\u00a0x"),
        (" =x", "' =x"),
        ("' ", "'' "),
    ],
)
def test_examples(cell, written):
    assert neutralise(cell) == written
    assert restore(written) == cell


@pytest.mark.parametrize("cell", ["'abc", "'", "x'=y", "'a b", "'Limpieza'"])
def test_a_quote_the_export_would_not_write_is_kept(cell):
    """Hand-written cells: only a quote the export writes (before a formula character, another
    quote, or a cell with whitespace around it) is dropped."""
    assert restore(cell) == cell


@pytest.mark.parametrize(
    ("cell", "read"),
    [("  Limpieza  ", "Limpieza"), (" ", ""), ("\t=x ", "=x"), (" '=x ", "=x "), (" 'abc ", "abc ")],
)
def test_hand_written_cells_lose_the_whitespace_around_them(cell, read):
    assert restore(cell) == read


@given(cells)
def test_a_cell_without_the_escape_is_only_stripped(cell):
    if not cell.lstrip().startswith("'"):
        assert restore(cell) == cell.strip()
