"""Strong ETags derived from a resource's state or a representation's bytes, and the If-Match and
If-None-Match checks."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from app.domain.errors import PreconditionFailed


def etag_of(*parts: Any) -> str:
    """A strong ETag over the JSON of `parts`: equal state, equal tag; any change, a new one."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return f'"{digest[:32]}"'


def check_if_match(if_match: str | None, current: str | None) -> None:
    """Raise 412 unless `If-Match` is absent, `*` (with a current state), or lists the current tag."""
    if if_match is None:
        return
    if if_match.strip() == "*" and current is not None:
        return
    candidates = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if current is None or current not in candidates:
        now = "the resource does not exist" if current is None else f"the current ETag is {current}"
        raise PreconditionFailed(f"If-Match {if_match} does not match: {now}.", etag=current)


def none_match(if_none_match: str, current: str) -> bool:
    """Whether `If-None-Match` matches the current ETag by the weak comparison of RFC 9110 §13.1.2,
    which GET uses: `*`, or a listed tag whose quoted part is the current one's, `W/` or not. A match
    means the client's copy is current: 304 Not Modified."""
    if if_none_match.strip() == "*":
        return True
    opaque = current.strip().removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in if_none_match.split(","))


def etag_of_bytes(body: bytes) -> str:
    """A strong ETag of a representation's bytes (for a document with no state of its own to tag)."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'
