"""Idempotency keys as plain rules (after draft-ietf-httpapi-idempotency-key-header and Stripe): what
a key may be, when two requests are the same one, which answers are kept for replay and which of
their headers, and the problem types a key can meet. No I/O here: app/idempotency.py applies them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode

from app.domain.errors import Conflict, PorticoError, ValidationFailed

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_LENGTH = 255
# Printable ASCII without the space at the ends: what a header carries intact through every proxy.
WELL_FORMED = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?")
# The headers a replay repeats: those that describe the answer itself. Not the request's id, its
# date, its rate-limit counters or its length (each answer has its own).
KEPT_HEADERS = frozenset(
    {
        "cache-control",
        "content-disposition",
        "content-language",
        "content-location",
        "content-type",
        "etag",
        "last-modified",
        "link",
        "location",
        "preference-applied",
    }
)
# Answers given before the request was accepted (who is asking, how fast), not about what it asks.
_NOT_KEPT = frozenset({401, 403, 408, 425, 429})
_SERVER_ERROR = 500
_CONCURRENT_CHANGE = "/problems/concurrent-change"  # app/domain/conflicts.py ConcurrentChange


class IdempotencyKeyInvalid(ValidationFailed):
    """The `Idempotency-Key` header is empty, longer than 255 characters, not printable ASCII, or given
    more than once."""

    slug, title = "idempotency-key-invalid", "Invalid Idempotency-Key"
    fix = "Send one key of 1 to 255 printable ASCII characters, e.g. a UUID, new for each new request."


class IdempotencyKeyReused(PorticoError):
    """The `Idempotency-Key` was used before, within its lifetime, for another request: another
    method, path, query string or body, or by another API key. Nothing was done."""

    status, slug, title = 422, "idempotency-key-reused", "The Idempotency-Key belongs to another request"
    fix = "Send a new key for a new request; repeat a request with its own key, exactly as it was first sent."


class IdempotencyKeyInUse(Conflict):
    """The first request with this `Idempotency-Key` is still being answered. Nothing was done."""

    slug, title = "idempotency-key-in-use", "The request with this Idempotency-Key is still running"
    fix = "Retry after the seconds `Retry-After` gives: you will get the first request's answer."


def check_key(values: list[str]) -> str:
    """The key the header carries, or IdempotencyKeyInvalid. The draft sends it as a structured-field
    string (`"abc"`), Stripe's clients bare (`abc`): both name the key `abc`."""
    if len(values) == 1 and len(values[0]) > 1 and values[0][0] == values[0][-1] == '"':
        values = [values[0][1:-1].replace('\\"', '"').replace("\\\\", "\\")]
    if len(values) != 1:
        message = f"the header is given {len(values)} times; send it once"
    elif len(values[0]) > MAX_LENGTH:
        message = f"{len(values[0])} characters; at most {MAX_LENGTH}"
    elif not WELL_FORMED.fullmatch(values[0]):
        message = "1 to 255 printable ASCII characters, no space at either end"
    else:
        return values[0]
    raise IdempotencyKeyInvalid(
        f"Invalid {HEADER}: {message}.", errors=[{"field": f"header.{HEADER}", "message": message}]
    )


def fingerprint(method: str, path: str, query: str, content_type: str, body: bytes) -> str:
    """What makes two requests the same one: method, path, query (in any order), media type, body."""
    ordered = urlencode(sorted(parse_qsl(query, keep_blank_values=True)))
    digest = hashlib.sha256()
    for part in (method.upper(), path, ordered, content_type.lower()):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(body)
    return digest.hexdigest()


def kept(status: int, problem_type: str | None) -> bool:
    """Whether an answer is stored and replayed. Every answer of a request the route took, success or
    refusal (a retry gets the same answer, whatever changed meanwhile); not a 5xx, not a refusal of the
    caller rather than of the request (401, 403, 429...), not a `concurrent-change` (its fix is to
    run the request again): a retry with the same key then runs it."""
    if status >= _SERVER_ERROR or status in _NOT_KEPT:
        return False
    return not (status == Conflict.status and problem_type == _CONCURRENT_CHANGE)


def kept_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers of an answer that its replay repeats (KEPT_HEADERS), in order."""
    return [(name, value) for name, value in headers if name.lower() in KEPT_HEADERS]
