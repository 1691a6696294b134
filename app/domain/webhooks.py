"""Standard Webhooks verification (https://www.standardwebhooks.com): HMAC-SHA256 over
`{id}.{timestamp}.{raw body}`, keyed with the base64 secret after `whsec_`; signatures `v1,<base64>`,
several separated by spaces; a timestamp within the tolerance of now."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

TOLERANCE_SECONDS = 5 * 60


def sign(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    message = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def verification_problem(
    secret: str, webhook_id: str, timestamp: str, signatures: str, body: bytes, *, now: float
) -> str | None:
    """Why the delivery does not verify, or None when it does."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "webhook-timestamp is not a Unix time"
    if abs(now - sent_at) > TOLERANCE_SECONDS:
        return "webhook-timestamp is more than 5 minutes away from now"
    try:
        expected = sign(secret, webhook_id, timestamp, body)
    except (binascii.Error, ValueError):
        return "the stored secret is not a Standard Webhooks secret"
    for candidate in signatures.split():
        if hmac.compare_digest(candidate.encode(), expected.encode()):
            return None
    return "no signature matches"
