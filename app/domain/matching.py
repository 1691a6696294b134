"""Mapping suggestions: which portal services a member service most likely is.
Accent- and case-insensitive; rapidfuzz scores the similarity of names."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils


@dataclass(frozen=True)
class Candidate:
    code: str
    name: str


@dataclass(frozen=True)
class Suggestion:
    code: str
    name: str
    score: float


def normalize(text: str) -> str:
    """'Revisión  Periódica' → 'revision periodica': no accents, case folded, punctuation to spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(utils.default_process(plain.casefold()).split())


def suggest(
    code: str, name: str, candidates: list[Candidate], *, limit: int = 3, min_score: float = 50.0
) -> list[Suggestion]:
    """The best `limit` candidates scoring at least `min_score` (0 to 100), best first.
    The same code (normalised) scores 100; otherwise the better of name similarity and a
    slightly discounted code similarity, so a near-identical code still counts."""
    if not candidates:
        return []
    wanted_code, wanted_name = normalize(code), normalize(name)
    codes = [normalize(c.code) for c in candidates]
    names = [normalize(c.name) for c in candidates]
    scored = []
    for index, candidate in enumerate(candidates):
        if codes[index] == wanted_code:
            score = 100.0
        else:
            name_score = fuzz.token_set_ratio(wanted_name, names[index])
            score = max(name_score, 0.9 * fuzz.ratio(wanted_code, codes[index]))
        if score >= min_score:
            scored.append(Suggestion(candidate.code, candidate.name, round(score, 1)))
    scored.sort(key=lambda s: (-s.score, s.code))
    return scored[:limit]


def closest_names(wanted: str, names: list[str], *, prefix: str = "", limit: int = 3) -> list[str]:
    """The names most like `wanted` (a typo, a missing letter), best first; `prefix`, shared by
    every name, is left out of the comparison so that it does not make unrelated names look alike."""
    if not names:
        return []
    matches = process.extract(
        wanted.removeprefix(prefix),
        {name: name.removeprefix(prefix) for name in names},
        scorer=fuzz.ratio,
        limit=limit,
        score_cutoff=75,
    )
    return [name for _, _, name in matches]
