"""Strong ETags derived from a resource's state, and the If-Match check."""

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
