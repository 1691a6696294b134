"""ETags and If-Match."""

import pytest

from app.domain.errors import PreconditionFailed
from app.etags import check_if_match, etag_of


def test_etag_changes_with_state():
    assert etag_of("x", 1) == etag_of("x", 1)
    assert etag_of("x", 1) != etag_of("x", 2)
    assert etag_of("x").startswith('"')
    assert etag_of("x").endswith('"')


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
