"""Mapping suggestions and near-miss names, without a database. tests/api/test_mappings.py keeps the
path through HTTP (mapped services left out, the query's limits)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz import fuzz

from app.domain.matching import Candidate, Suggestion, closest_names, normalize, suggest

# Spanish service names and codes, which is what clinics write; ACCENTED maps a letter to the forms
# that must match it.
ACCENTED = {"a": "aáAÁ", "e": "eéEÉ", "i": "iíIÍ", "o": "oóOÓ", "u": "uúüUÚÜ", "n": "nñNÑ"}
LETTERS = "abcdefghijklmnopqrstuvwxyz"
words = st.text(LETTERS, min_size=1, max_size=8)
texts = st.lists(words, min_size=1, max_size=4).map(" ".join)
candidates = st.lists(
    st.builds(Candidate, st.text(LETTERS.upper() + "0123456789", min_size=1, max_size=6), texts),
    max_size=8,
    unique_by=lambda c: normalize(c.code),
)


def written_otherwise(text: str) -> st.SearchStrategy[str]:
    """`text` with any letter in another case or accent, and punctuation for some spaces."""
    forms = [
        st.sampled_from(ACCENTED.get(c, c + c.upper()) if c != " " else [" ", "  ", "-", ", "]) for c in text
    ]
    return st.tuples(*forms).map("".join)


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("Revisión  Periódica", "revision periodica"),
        ("LIMPIEZA-Dental", "limpieza dental"),
        ("  Ñandú, (niños) ", "nandu ninos"),
        ("Straße", "strasse"),
        ("ﬁjación", "fijacion"),
        ("", ""),
        ("---", ""),
    ],
)
def test_normalize(text: str, normalised: str) -> None:
    assert normalize(text) == normalised


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    assert normalize(normalize(text)) == normalize(text)


@given(texts.flatmap(lambda text: st.tuples(st.just(text), written_otherwise(text))))
def test_case_accents_and_punctuation_do_not_count(pair: tuple[str, str]) -> None:
    text, other = pair
    assert normalize(other) == normalize(text)


# --- suggest ------------------------------------------------------------------------------------------


def test_no_candidates_no_suggestions() -> None:
    assert suggest("LIMP", "Limpieza", []) == []


def test_the_same_code_scores_100_whatever_the_name() -> None:
    found = suggest("limp", "Higiene", [Candidate("LÍMP", "Limpieza"), Candidate("HIG", "Higiene")])
    assert found == [Suggestion("HIG", "Higiene", 100.0), Suggestion("LÍMP", "Limpieza", 100.0)]
    strict = suggest("limp", "Higiene", [Candidate("LÍMP", "Limpieza")], min_score=100)  # at least 100
    assert strict == [Suggestion("LÍMP", "Limpieza", 100.0)]


def test_equal_scores_are_ordered_by_code() -> None:
    found = suggest("X", "limpieza", [Candidate("Z1", "Limpieza"), Candidate("A1", "Limpieza dental")])
    assert [(s.code, s.score) for s in found] == [("A1", 100.0), ("Z1", 100.0)]


def test_the_same_name_written_otherwise_scores_100() -> None:
    found = suggest("R1", "Revision periodica", [Candidate("REV", "Revisión Periódica")])
    assert found == [Suggestion("REV", "Revisión Periódica", 100.0)]


def test_a_near_code_counts_slightly_less_than_the_same_code() -> None:
    (found,) = suggest("LIMP01", "Otra cosa", [Candidate("LIMP1", "Nada que ver")])
    assert found.score == round(0.9 * fuzz.ratio("limp01", "limp1"), 1)
    assert 50 <= found.score < 100


def test_unrelated_services_are_left_out() -> None:
    assert suggest("ORT", "Ortodoncia", [Candidate("LIMP", "Limpieza dental")]) == []
    assert suggest("ORT", "Ortodoncia", [Candidate("LIMP", "Limpieza dental")], min_score=0) != []


@given(st.text(max_size=8), texts, candidates, st.integers(0, 10), st.floats(0, 100))
def test_suggestions_are_candidates_in_bounds_best_first(
    code: str, name: str, among: list[Candidate], limit: int, min_score: float
) -> None:
    found = suggest(code, name, among, limit=limit, min_score=min_score)
    assert len(found) <= limit
    assert {(s.code, s.name) for s in found} <= {(c.code, c.name) for c in among}
    assert all(0 <= s.score <= 100 and s.score == round(s.score, 1) for s in found)
    assert all(s.score >= min_score - 0.05 for s in found)  # the score shown is rounded to 0.1
    assert found == sorted(found, key=lambda s: (-s.score, s.code))


@given(
    code=st.text(max_size=8),
    name=texts,
    among=candidates,
    limit=st.integers(0, 10),
    min_score=st.floats(0, 100),
    rng=st.randoms(),
)
def test_the_order_of_the_candidates_does_not_matter(
    *, code: str, name: str, among: list[Candidate], limit: int, min_score: float, rng: random.Random
) -> None:
    shuffled = list(among)
    rng.shuffle(shuffled)
    assert suggest(code, name, shuffled, limit=limit, min_score=min_score) == suggest(
        code, name, among, limit=limit, min_score=min_score
    )


@given(
    code=st.text(max_size=8),
    name=texts,
    among=candidates,
    low=st.floats(0, 100),
    high=st.floats(0, 100),
    limit=st.integers(0, 10),
)
def test_a_higher_bar_or_a_lower_limit_only_leaves_out(
    *, code: str, name: str, among: list[Candidate], low: float, high: float, limit: int
) -> None:
    low, high = sorted((low, high))
    everything = suggest(code, name, among, limit=len(among), min_score=low)
    stricter = suggest(code, name, among, limit=len(among), min_score=high)
    assert [s for s in everything if s in stricter] == stricter
    assert suggest(code, name, among, limit=limit, min_score=low) == everything[:limit]


@given(
    texts.flatmap(lambda text: st.tuples(st.just(text), written_otherwise(text))),
    st.text(LETTERS, min_size=1, max_size=6),
    candidates,
)
def test_a_candidate_with_the_same_code_or_name_written_otherwise_scores_100(
    pair: tuple[str, str], code: str, among: list[Candidate]
) -> None:
    name, written = pair
    by_code = Candidate(code.upper(), "zzz")
    by_name = Candidate("ZZZ9", written)
    others = [c for c in among if normalize(c.code) not in (normalize(code), "zzz9")]
    found = suggest(code, name, [*others, by_code, by_name], limit=len(others) + 2)
    scores = {s.code: s.score for s in found}
    assert scores[by_code.code] == scores[by_name.code] == 100.0


@given(st.text(max_size=8), texts, candidates)
def test_case_and_accents_of_the_member_service_do_not_change_the_scores(
    code: str, name: str, among: list[Candidate]
) -> None:
    # The same service written with capitals and accents.
    assert suggest(code.upper(), name.upper().replace("A", "Á"), among, min_score=0) == suggest(
        code, name, among, min_score=0
    )


# --- closest_names --------------------------------------------------------------------------------------


def test_closest_names_ignore_the_shared_prefix() -> None:
    names = ["tt_sanitas_gesdent_digest", "tt_sanitas_gesdent_md5", "tt_portal", "tt_a"]
    # The procedure's own manual-run example misspells gesdent as gedent.
    assert closest_names("tt_sanitas_gedent_digest", names, prefix="tt_")[0] == "tt_sanitas_gesdent_digest"
    assert closest_names("tt_b", names, prefix="tt_") == []  # tt_a is not close: only the prefix is shared
    assert closest_names("tt_x", [], prefix="tt_") == []


def test_close_means_a_ratio_of_75_or_more() -> None:
    among = ["tt_abcdefgxyz", "tt_abcdefghxy"]  # ratios 70 and 80 to abcdefghij
    assert closest_names("tt_abcdefghij", among, prefix="tt_") == ["tt_abcdefghxy"]
    assert closest_names("tt_abcd", ["tt_abce"], prefix="tt_") == ["tt_abce"]  # 75: close


names = st.lists(st.text("abcdeg_", min_size=1, max_size=12).map("tt_".__add__), max_size=12, unique=True)


@given(st.text("abcdeg_", max_size=12).map("tt_".__add__), names, st.integers(1, 5))
def test_closest_names_are_the_close_ones_best_first(wanted: str, among: list[str], limit: int) -> None:
    found = closest_names(wanted, among, prefix="tt_", limit=limit)

    def score(name: str) -> float:
        return fuzz.ratio(wanted[3:], name[3:])

    assert len(found) <= limit
    assert set(found) <= set(among)
    assert [score(n) for n in found] == sorted((score(n) for n in found), reverse=True)
    assert all(score(n) >= 75 for n in found)
    if len(found) < limit:  # then every close name is there
        assert set(found) == {n for n in among if score(n) >= 75}
    if wanted in among:
        assert found[0] == wanted
