"""Standard Webhooks signatures: verify ∘ sign for any delivery, any change refused, the window at
its boundaries, the header's forms. tests/api/test_webhooks.py keeps the path through HTTP (the 401,
replays, the run it queues)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.domain.webhooks import TOLERANCE_SECONDS, sign, verification_problem

NOW = 1_800_000_000
secrets = st.binary(min_size=1, max_size=64).map(lambda key: "whsec_" + base64.b64encode(key).decode())
ids = st.text(min_size=1, max_size=40)
stamps = st.integers(NOW - TOLERANCE_SECONDS, NOW + TOLERANCE_SECONDS).map(str)
bodies = st.binary(max_size=512)


def problem(
    secret: str, webhook_id: str, stamp: str, signatures: str, body: bytes, *, now: float = NOW
) -> str | None:
    return verification_problem(secret, webhook_id, stamp, signatures, body, now=now)


def test_a_known_signature() -> None:
    """The example of the Standard Webhooks specification, so that a peer's library agrees."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    digest = hmac.new(key, b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330." + body, hashlib.sha256).digest()
    assert signature == "v1," + base64.b64encode(digest).decode()


@given(secrets, ids, stamps, bodies)
def test_what_is_signed_verifies(secret: str, webhook_id: str, stamp: str, body: bytes) -> None:
    assert problem(secret, webhook_id, stamp, sign(secret, webhook_id, stamp, body), body) is None


@given(secrets, ids, stamps, bodies.filter(bool), st.data())
def test_a_changed_byte_of_the_body_fails(
    secret: str, webhook_id: str, stamp: str, body: bytes, data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(body) - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != body[index]))
    changed = body[:index] + bytes([byte]) + body[index + 1 :]
    signature = sign(secret, webhook_id, stamp, body)
    assert problem(secret, webhook_id, stamp, signature, changed) == "no signature matches"


def one_change(text: str) -> st.SearchStrategy[str]:
    """`text` with one character replaced, removed or added."""
    positions = st.integers(0, len(text))
    characters = st.characters(exclude_categories=["Cs"])
    return st.one_of(
        st.builds(lambda i, c: text[:i] + c + text[i + 1 :], positions, characters),
        st.builds(lambda i: text[:i] + text[i + 1 :], positions),
        st.builds(lambda i, c: text[:i] + c + text[i:], positions, characters),
    ).filter(lambda changed: changed != text)


@given(secrets, ids, stamps, bodies, st.data())
def test_a_changed_id_fails(
    secret: str, webhook_id: str, stamp: str, body: bytes, data: st.DataObject
) -> None:
    changed = data.draw(one_change(webhook_id))
    signature = sign(secret, webhook_id, stamp, body)
    assert problem(secret, changed, stamp, signature, body) == "no signature matches"


@given(secrets, ids, stamps, bodies, st.data())
def test_a_changed_timestamp_fails(
    secret: str, webhook_id: str, stamp: str, body: bytes, data: st.DataObject
) -> None:
    changed = data.draw(one_change(stamp))
    signature = sign(secret, webhook_id, stamp, body)
    # Another time (even the same number written otherwise, e.g. with a leading 0), or not a time.
    assert problem(secret, webhook_id, changed, signature, body) is not None


@given(secrets, ids, stamps, bodies, st.data())
def test_a_changed_signature_fails(
    secret: str, webhook_id: str, stamp: str, body: bytes, data: st.DataObject
) -> None:
    signature = sign(secret, webhook_id, stamp, body)
    changed = data.draw(one_change(signature))
    assume(not any(part == signature for part in changed.split()))  # e.g. a space added at an end
    assert problem(secret, webhook_id, stamp, changed, body) == "no signature matches"


@given(secrets, secrets, ids, stamps, bodies)
def test_another_secret_fails(secret: str, other: str, webhook_id: str, stamp: str, body: bytes) -> None:
    assume(base64.b64decode(other[6:]) != base64.b64decode(secret[6:]))
    signature = sign(other, webhook_id, stamp, body)
    assert problem(secret, webhook_id, stamp, signature, body) == "no signature matches"


# --- The window ---------------------------------------------------------------------------------------


@given(st.integers(-10 * TOLERANCE_SECONDS, 10 * TOLERANCE_SECONDS), st.floats(0, 1, exclude_max=True))
def test_the_timestamp_is_within_five_minutes_of_now_either_way(seconds: int, fraction: float) -> None:
    secret, body = "whsec_" + base64.b64encode(b"k" * 24).decode(), b"{}"
    stamp = str(NOW)
    now = NOW + seconds + fraction
    found = problem(secret, "m", stamp, sign(secret, "m", stamp, body), body, now=now)
    if abs(now - NOW) <= TOLERANCE_SECONDS:
        assert found is None
    else:
        assert found == "webhook-timestamp is more than 5 minutes away from now"


@pytest.mark.parametrize(
    ("now", "verifies"),
    [
        (NOW + 300, True),
        (NOW - 300, True),
        (NOW + 300.000_001, False),
        (NOW - 300.000_001, False),
        (NOW + 301, False),
        (NOW - 301, False),
    ],
)
def test_the_window_at_its_boundaries(now: float, verifies: bool) -> None:
    secret, body, stamp = "whsec_" + base64.b64encode(b"key").decode(), b"{}", str(NOW)
    assert (problem(secret, "m", stamp, sign(secret, "m", stamp, body), body, now=now) is None) is verifies


# --- The header ---------------------------------------------------------------------------------------

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"type": "data.changed"}'
GOOD = sign(SECRET, "m", str(NOW), BODY)
others = st.lists(
    st.text(st.characters(codec="ascii", exclude_characters=" \t\n\r\x0b\x0c"), min_size=1), max_size=4
)


@given(others, st.data(), st.sampled_from([" ", "  ", "\t", " \n "]))
def test_any_of_several_signatures_may_match(wrong: list[str], data: st.DataObject, space: str) -> None:
    assume(GOOD not in wrong)
    where = data.draw(st.integers(0, len(wrong)))
    header = space.join([*wrong[:where], GOOD, *wrong[where:]])
    assert problem(SECRET, "m", str(NOW), header, BODY) is None
    assert problem(SECRET, "m", str(NOW), space.join(wrong), BODY) == "no signature matches"


@pytest.mark.parametrize(
    "header",
    [
        "",
        " ",
        "v1,",
        "v1",
        GOOD[3:],  # without its version
        "v2," + GOOD[3:],  # another version
        GOOD.upper(),
        GOOD + ",",
        "," + GOOD,
        GOOD.replace("v1,", "v1, "),
        GOOD.replace("=", ""),  # unpadded
    ],
)
def test_malformed_signature_headers(header: str) -> None:
    assert problem(SECRET, "m", str(NOW), header, BODY) == "no signature matches"


@pytest.mark.parametrize("stamp", ["", "soon", "1.8e9", "1800000000.0", "0x6B49D200", "9" * 5000])
def test_a_timestamp_that_is_not_a_unix_time(stamp: str) -> None:
    assert problem(SECRET, "m", stamp, GOOD, BODY) == "webhook-timestamp is not a Unix time"


@pytest.mark.parametrize("secret", ["whsec_abc", "whsec_é", "whsec_" + "A" * 5])
def test_a_stored_secret_that_is_not_base64(secret: str) -> None:
    found = problem(secret, "m", str(NOW), GOOD, BODY)
    assert found == "the stored secret is not a Standard Webhooks secret"


def test_the_secret_prefix_is_optional() -> None:
    assert sign(SECRET.removeprefix("whsec_"), "m", str(NOW), BODY) == GOOD
