"""The RateLimit fields in the spec (draft-ietf-httpapi-ratelimit-headers-06), sent on the answers to
a caller whose requests are counted (app/quotas.py): not to the master key, which is not
limited, nor on a 401, where no caller is known, nor on the 429 of too many failed authentications."""

from __future__ import annotations

from typing import Any

_SECONDS = {"type": "integer", "minimum": 0}
RATE_LIMIT_HEADERS: dict[str, dict[str, Any]] = {
    "RateLimit-Limit": {
        "description": "Requests the API key may make per window (its partner's `rate_limit`, or the "
        "deployment's default).",
        "schema": {"type": "integer", "minimum": 1, "examples": [100]},
    },
    "RateLimit-Remaining": {
        "description": "Requests the API key may still make now, this one counted.",
        "schema": {"type": "integer", "minimum": 0, "examples": [99]},
    },
    "RateLimit-Reset": {
        "description": "Seconds until the oldest request of the window leaves it, giving one back.",
        "schema": {**_SECONDS, "examples": [1]},
    },
    "RateLimit-Policy": {
        "description": "The limit and its window in seconds: `100;w=1` is 100 requests in any second.",
        "schema": {"type": "string", "pattern": "^[0-9]+;w=[0-9]+$", "examples": ["100;w=1"]},
    },
}
