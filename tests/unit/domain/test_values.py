"""Value rules shared by every layer: instance names and text without control bytes."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.values import (
    INSTANCE_NAME_INPUT_PATTERN,
    INSTANCE_NAME_RE,
    SINGLE_LINE_PATTERN,
    TEXT_PATTERN,
    canonical_instance_name,
    text_problem,
)


@pytest.mark.parametrize("name", ["tt_a", "tt_portal_sanitas_gesdent_digest", "tt_" + "a" * 60, "tt_0_9"])
def test_valid_instance_names(name):
    assert INSTANCE_NAME_RE.match(name)


@pytest.mark.parametrize("name", ["tt_", "TT_a", "tt_A", "xx_a", "tt_" + "a" * 61, "tt_a-b", "tt_a\n"])
def test_invalid_instance_names(name):
    assert not INSTANCE_NAME_RE.fullmatch(name)


def test_text_problems():
    assert text_problem("Clínica Ñ", single_line=True) is None
    assert text_problem("a\x00b", single_line=False) == "must not contain NUL bytes"
    surrogate = text_problem("\ud800", single_line=False)
    assert surrogate is not None
    assert "surrogate" in surrogate
    assert text_problem("two\nlines", single_line=False) is None
    assert text_problem("two\nlines", single_line=True) == "must not contain control characters"


# --- Names as the procedure writes them -------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("tt_sanitas_gesdent_digest", "tt_sanitas_gesdent_digest"),
        ("sanitas_gesdent_digest", "tt_sanitas_gesdent_digest"),  # the clone step's example
        ("tt", "tt_tt"),
        ("tt_", "tt_tt_"),  # what the published pattern, ^(tt_)?[a-z0-9_]{1,60}$, lets through
        ("a" * 60, "tt_" + "a" * 60),
    ],
)
def test_the_tt_prefix_may_be_left_out(written, stored):
    assert canonical_instance_name(written) == stored


@pytest.mark.parametrize(
    ("written", "suggested"),
    [
        ("Sanitas_Gesdent", "tt_sanitas_gesdent"),
        ("sanitas-gesdent-digest", "tt_sanitas_gesdent_digest"),
        ("TT-Clinica Madrid", "tt_clinica_madrid"),
        ("clínica", "tt_clinica"),
        (" tt_x ", "tt_x"),
    ],
)
def test_a_near_miss_is_refused_with_the_valid_name(written, suggested):
    with pytest.raises(ValueError, match=f"did you mean '{suggested}'") as raised:
        canonical_instance_name(written)
    assert "lower-case letters, digits and underscores" in str(raised.value)


@pytest.mark.parametrize("written", ["---", "", "a" * 61, "tt_" + "a" * 61])
def test_no_suggestion_when_there_is_no_valid_name_near(written):
    with pytest.raises(ValueError, match="is not a database name") as raised:
        canonical_instance_name(written)
    assert "did you mean" not in str(raised.value)


@given(st.from_regex(INSTANCE_NAME_INPUT_PATTERN, fullmatch=True))
def test_every_name_the_pattern_allows_is_accepted(written):
    """What the spec publishes is what the server takes: no schema-valid name is refused."""
    stored = canonical_instance_name(written)
    assert INSTANCE_NAME_RE.match(stored)
    assert stored in (written, "tt_" + written)
    assert canonical_instance_name(stored) == stored  # a stored name is taken as it is


@given(
    st.text(st.characters(codec="utf-8") | st.sampled_from(["\x00", "\n", "\t", "\x7f", "\x85", "\ud800"]))
)
def test_text_problems_name_exactly_nul_lone_surrogates_and_control_characters(text):
    """C1 controls such as NEL (\\x85) are taken: only C0 and DEL are control characters here."""
    surrogate = any("\ud800" <= c <= "\udfff" for c in text)
    control = any(ord(c) < 32 or ord(c) == 127 for c in text)
    assert (text_problem(text, single_line=False) is None) == ("\x00" not in text and not surrogate)
    assert (text_problem(text, single_line=True) is None) == (not control and not surrogate)


def test_the_text_patterns_say_what_text_problem_enforces():
    """The spec's patterns and the validators agree on every character (but lone surrogates, which
    no JSON encoder produces and no pattern can name)."""
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        single_line = re.fullmatch(SINGLE_LINE_PATTERN, char) is not None
        text = re.fullmatch(TEXT_PATTERN, char) is not None
        assert single_line == (text_problem(char, single_line=True) is None), hex(code)
        assert text == (text_problem(char, single_line=False) is None), hex(code)
