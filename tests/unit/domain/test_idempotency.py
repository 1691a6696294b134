"""The rules of idempotency keys, without a database (app/domain/idempotency.py)."""

from __future__ import annotations

import pytest

from app.domain.idempotency import IdempotencyKeyInvalid, check_key, fingerprint, kept, kept_headers


@pytest.mark.parametrize(
    "value", ["a", "5b0f6a52-3c0e-4a53-9a55-4a1c3f6b8e21", "with inner space", "~" * 255]
)
def test_a_key_is_1_to_255_printable_characters(value: str) -> None:
    assert check_key([value]) == value


@pytest.mark.parametrize("values", [[""], ["x" * 256], [" a"], ["a "], ["é"], ["a\tb"], ["a", "b"], []])
def test_anything_else_is_refused(values: list[str]) -> None:
    with pytest.raises(IdempotencyKeyInvalid):
        check_key(values)


def test_the_drafts_quoted_form_names_the_same_key() -> None:
    assert check_key(['"abc"']) == "abc"
    assert check_key(['"a\\"b"']) == 'a"b'
    with pytest.raises(IdempotencyKeyInvalid):
        check_key(['""'])


def test_a_request_is_the_same_when_method_path_query_type_and_body_are() -> None:
    base = fingerprint("POST", "/v1/instances", "a=1&b=2", "application/json", b"{}")
    assert fingerprint("post", "/v1/instances", "b=2&a=1", "Application/JSON", b"{}") == base
    assert fingerprint("PUT", "/v1/instances", "a=1&b=2", "application/json", b"{}") != base
    assert fingerprint("POST", "/v1/portals", "a=1&b=2", "application/json", b"{}") != base
    assert fingerprint("POST", "/v1/instances", "a=1", "application/json", b"{}") != base
    assert fingerprint("POST", "/v1/instances", "a=1&b=2", "text/csv", b"{}") != base
    assert fingerprint("POST", "/v1/instances", "a=1&b=2", "application/json", b"{ }") != base


@pytest.mark.parametrize(
    ("status", "problem", "expected"),
    [
        (201, None, True),
        (200, None, True),
        (303, None, True),
        (404, "/problems/not-found", True),
        (409, "/problems/name-taken", True),
        (422, "/problems/validation-error", True),
        (409, "/problems/concurrent-change", False),
        (401, "/problems/unauthorized", False),
        (403, "/problems/missing-scope", False),
        (429, "/problems/rate-limited", False),
        (500, "/problems/internal-error", False),
        (503, "/problems/database-busy", False),
    ],
)
def test_which_answers_are_kept(status: int, problem: str | None, expected: bool) -> None:
    assert kept(status, problem) is expected


def test_a_replay_repeats_the_headers_that_describe_the_answer() -> None:
    headers = [
        ("Content-Type", "application/json"),
        ("Location", "/v1/instances/tt_a"),
        ("ETag", '"1"'),
        ("Cache-Control", "no-store"),
        ("X-Request-ID", "abc"),
        ("Content-Length", "2"),
        ("RateLimit-Remaining", "9"),
    ]
    assert [name for name, _ in kept_headers(headers)] == [
        "Content-Type",
        "Location",
        "ETag",
        "Cache-Control",
    ]
