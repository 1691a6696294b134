"""Which `X-Request-ID` a request keeps: the caller's when well formed, a new one otherwise."""

from __future__ import annotations

import pytest

from app.request_log import WELL_FORMED, accepted_id, current_request_id


@pytest.mark.parametrize("given", ["a", "4bf92f3577b34da6", "trace:01.ab_CD-9", "x" * 128])
def test_a_well_formed_id_is_kept(given):
    assert accepted_id(given) == given


@pytest.mark.parametrize("given", [None, "", "x" * 129, "has space", "new\nline", "ünïcode", "a/b", '"q"'])
def test_anything_else_is_replaced_by_a_new_id(given):
    chosen = accepted_id(given)
    assert chosen != given
    assert WELL_FORMED.fullmatch(chosen)
    assert accepted_id(given) != chosen  # a new one each time


def test_outside_a_request_every_id_is_new():
    assert current_request_id() != current_request_id()
