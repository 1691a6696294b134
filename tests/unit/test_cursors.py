"""Cursors: signed for one list's path, accepted under any secret key, opaque and URL-safe."""

import base64
import re

import pytest

from app.crypto import new_key
from app.cursors import Cursors
from app.domain.errors import InvalidCursor

KEY, OLD_KEY = new_key(), new_key()
PATH = "/v1/instances"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_cursor_opens_on_its_own_list_only():
    cursors = Cursors([KEY])
    cursor = cursors.issue(PATH, ["tt_a", 3])
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert len(cursor) < 512
    assert cursors.open(PATH, cursor) == ("tt_a", 3)
    with pytest.raises(InvalidCursor):
        cursors.open("/v1/portals", cursor)


def test_crafted_and_tampered_cursors_are_refused():
    cursors = Cursors([KEY])
    genuine = base64.urlsafe_b64decode(cursors.issue(PATH, ["tt_a"]) + "==")
    tampered = genuine.replace(b"tt_a", b"tt_b")
    crafted = [b"[1]", b'["\\u0000"]', b"[true]", b'["tt_a"]', b""]
    for cursor in [*map(_b64, crafted), _b64(tampered), "!!!", "e30", "A"]:
        with pytest.raises(InvalidCursor) as raised:
            cursors.open(PATH, cursor)
        assert raised.value.slug == "invalid-cursor"


def test_a_cursor_issued_before_a_key_rotation_still_opens():
    issued = Cursors([OLD_KEY]).issue(PATH, ["tt_a"])
    assert Cursors([KEY, OLD_KEY]).open(PATH, issued) == ("tt_a",)
    with pytest.raises(InvalidCursor):
        Cursors([KEY]).open(PATH, issued)  # once the old key is dropped
