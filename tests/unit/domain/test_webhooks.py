"""Standard Webhooks signatures."""

from app.domain.webhooks import sign, verification_problem


def test_webhook_timestamp_tolerance_is_five_minutes():
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
