"""The spec's patterns for GESDENT rules say exactly what the server takes: values generated on both
sides of each pattern, judged by the server's own code (the schemas' validators and app/domain/gesdent.py)."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from app.domain.gesdent import (
    FAMILIES,
    base_url_form_problem,
    base_url_problem,
    listed_ids_problem,
    normalise_resource_ids,
    split_resource_ids,
)
from app.domain.gesdent_patterns import (
    BASE_URL_PATTERN,
    CREDENTIAL_PATTERN,
    MAX_LISTED,
    RESOURCE_ID_ITEM_PATTERN,
    RESOURCE_IDS_TEXT_PATTERN,
)
from app.schemas.gesdent import CREDENTIAL_TEXT_LENGTH, CredentialsIn

# Characters on either side of every rule: separators, whitespace that strip() removes (some of them
# control characters), other controls, letters that upper() turns into ASCII ones, URL punctuation.
EDGES = "aZ09-:,; \t\n\x0b\x1c\x00\x1f\x7f\x85\xa0\u2003\u3000\u00df\u0131/.@?#[]%\u00e9"


def near(pattern: str) -> st.SearchStrategy[str]:
    """Strings that match `pattern`, a little damaged or not, and strings of edge characters."""
    matching = st.from_regex(pattern, fullmatch=True)
    damaged = st.tuples(matching, st.integers(0, 200), st.sampled_from(EDGES)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] :]
    )
    return st.one_of(matching, damaged, st.text(EDGES, max_size=20))


def matches(pattern: str, text: str) -> bool:
    return re.fullmatch(pattern, text) is not None


# --- "username:password" --------------------------------------------------------------------------------


def credential_taken(text: str) -> bool:
    try:
        CredentialsIn.model_validate(dict.fromkeys(FAMILIES, text))
    except ValidationError:
        return False
    return True


def credential_allowed(text: str) -> bool:
    """The schema's verdict: its pattern and its maxLength."""
    return len(text) <= CREDENTIAL_TEXT_LENGTH and matches(CREDENTIAL_PATTERN, text)


@given(near(CREDENTIAL_PATTERN))
def test_a_credential_string_is_taken_exactly_when_the_pattern_allows_it(text):
    assert credential_taken(text) == credential_allowed(text)


@pytest.mark.parametrize(
    ("text", "taken"),
    [
        ("digest: wOPn7rKd2", True),
        ("\u3000digest :\xa0", True),  # whitespace around the parts, no password: keep the stored one
        ("a" * 200 + ":" + "p" * 500, True),
        ("a" * 201 + ":p", False),
        ("a:" + "p" * 501, False),
        (" :p", False),
        ("\tdigest :\tp\n", True),  # a tab or a line break around a part is whitespace too
        ("di\tgest:p", False),  # within one, a control character
        ("digest", False),
        (" " * 998 + "a:p", False),  # over 1000 characters
    ],
)
def test_credential_strings(text, taken):
    assert credential_taken(text) == taken == credential_allowed(text)


# --- Resource IDs ---------------------------------------------------------------------------------------


def item_taken(value: str) -> bool:
    return len(value) <= 100 and normalise_resource_ids([value])[1] == []


def text_taken(text: str) -> bool:
    ids = split_resource_ids(text)
    ok = 1 <= len(text) <= 6000 and listed_ids_problem(text) is None
    return ok and normalise_resource_ids(ids)[1] == []


@given(near(RESOURCE_ID_ITEM_PATTERN))
def test_a_listed_resource_id_is_taken_exactly_when_the_pattern_allows_it(value):
    assert item_taken(value) == (len(value) <= 100 and matches(RESOURCE_ID_ITEM_PATTERN, value))


@given(near(RESOURCE_IDS_TEXT_PATTERN))
def test_a_string_of_resource_ids_is_taken_exactly_when_the_pattern_allows_it(text):
    assert text_taken(text) == (len(text) <= 6000 and matches(RESOURCE_IDS_TEXT_PATTERN, text))


@pytest.mark.parametrize(
    ("text", "taken"),
    [
        ("ejejqkv5-etreaxnr, EJ-2;EJ-3\n", True),
        ("A-" + "B" * 98, True),
        ("A-" + "B" * 99, False),
        ("\u00df-1", False),  # upper() would make it SS-1
        ("\u0131d-1", False),
        (" ,;", False),
        (",".join(["R-1"] * MAX_LISTED), True),
        (",".join(["R-1"] * (MAX_LISTED + 1)), False),  # repeats count in a string
    ],
)
def test_strings_of_resource_ids(text, taken):
    assert text_taken(text) == taken == matches(RESOURCE_IDS_TEXT_PATTERN, text)


# --- Base URL -------------------------------------------------------------------------------------------


def base_url_taken(url: str) -> bool:
    return base_url_problem(url) is None and base_url_form_problem(url) is None


@given(st.from_regex(BASE_URL_PATTERN, fullmatch=True))
def test_every_base_url_the_pattern_allows_passes_the_older_rules_too(url):
    # The pattern is the published form; base_url_problem, also the deployment setting's rule, must
    # not refuse any of it (IPv6 forms, ports, odd paths).
    assert base_url_problem(url) is None, url


@pytest.mark.parametrize(
    ("url", "taken"),
    [
        ("https://gesdent.example.org/api", True),
        ("HTTP://10.0.0.8:8900/", True),
        ("http://[2002:a9fe:a9fe::]/", True),
        ("http://[1:2:3:4:5:6:7::]:0", True),
        ("https://xn--clnica-gva.example/", True),
        ("https://cl\u00ednica.example/", False),  # the xn-- form, please
        ("https://gesdent.example:65536/", False),
        ("https://gesdent.example/a b", False),
        ("https://gesdent.example/?db=1", False),
        ("https://user@gesdent.example/", False),
        ("ftp://gesdent.example/", False),
    ],
)
def test_base_urls(url, taken):
    assert base_url_taken(url) == taken == matches(BASE_URL_PATTERN, url)
