import pytest

from app.domain.errors import InvalidCursor, PreconditionFailed
from app.domain.values import INSTANCE_NAME_RE, text_problem
from app.etags import check_if_match, etag_of
from app.pagination import decode_cursor, encode_cursor


@pytest.mark.parametrize("name", ["tt_a", "tt_portal_sanitas_gesdent_digest", "tt_" + "a" * 60, "tt_0_9"])
def test_valid_instance_names(name):
    assert INSTANCE_NAME_RE.match(name)


@pytest.mark.parametrize("name", ["tt_", "TT_a", "tt_A", "xx_a", "tt_" + "a" * 61, "tt_a-b", "tt_a\n"])
def test_invalid_instance_names(name):
    assert not INSTANCE_NAME_RE.fullmatch(name)


def test_text_problems():
    assert text_problem("Clínica Ñ", single_line=True) is None
    assert text_problem("a\x00b", single_line=False) == "must not contain NUL bytes"
    assert "surrogate" in text_problem("\ud800", single_line=False)
    assert text_problem("two\nlines", single_line=False) is None
    assert text_problem("two\nlines", single_line=True) == "must not contain control characters"


def test_etag_changes_with_state():
    assert etag_of("x", 1) == etag_of("x", 1)
    assert etag_of("x", 1) != etag_of("x", 2)
    assert etag_of("x").startswith('"') and etag_of("x").endswith('"')


def test_if_match():
    tag = etag_of("x", 1)
    check_if_match(None, tag)
    check_if_match(tag, tag)
    check_if_match(f'"other", {tag}', tag)
    check_if_match("*", tag)
    with pytest.raises(PreconditionFailed):
        check_if_match(etag_of("x", 0), tag)
    with pytest.raises(PreconditionFailed):
        check_if_match("*", None)


def test_cursor_round_trip_and_garbage():
    assert decode_cursor(encode_cursor(["tt_a", 3])) == ("tt_a", 3)
    for garbage in ["!!!", "e30", encode_cursor([]), "bm90IGpzb24"]:
        with pytest.raises(InvalidCursor):
            decode_cursor(garbage)


def test_webhook_timestamp_tolerance_is_five_minutes():
    from app.domain.webhooks import sign, verification_problem

    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"type": "data.changed"}'
    now = 1_800_000_000.0
    for age, verifies in [(0, True), (299, True), (300, True), (301, False), (-300, True), (-301, False)]:
        stamp = str(int(now - age))
        problem = verification_problem(secret, "m", stamp, sign(secret, "m", stamp, body), body, now)
        assert (problem is None) is verifies, (age, problem)
    stamp = str(int(now))
    assert (
        verification_problem(secret, "m", stamp, "v1,AAAA " + sign(secret, "m", stamp, body), body, now)
        is None
    )
    assert (
        verification_problem(secret, "m", "soon", "v1,AAAA", body, now)
        == "webhook-timestamp is not a Unix time"
    )
