"""If-None-Match compares ETags weakly (RFC 9110 §13.1.2): W/ does not count, `*` matches any tag."""

import pytest

from app.etags import etag_of_bytes, none_match

TAG = '"0123abcd"'


@pytest.mark.parametrize(
    ("if_none_match", "current", "matches"),
    [
        (TAG, TAG, True),
        (f"W/{TAG}", TAG, True),
        (TAG, f"W/{TAG}", True),
        (f'"other", W/{TAG}', TAG, True),
        (f' "other" ,{TAG} ', TAG, True),
        ("*", TAG, True),
        ('"other"', TAG, False),
        ('"0123abc"', TAG, False),
        ("", TAG, False),
    ],
)
def test_weak_comparison(if_none_match, current, matches):
    assert none_match(if_none_match, current) is matches


def test_an_etag_of_bytes_is_strong_and_follows_them():
    assert etag_of_bytes(b"report") == etag_of_bytes(b"report")
    assert etag_of_bytes(b"report") != etag_of_bytes(b"report!")
    assert etag_of_bytes(b"report").startswith('"')
