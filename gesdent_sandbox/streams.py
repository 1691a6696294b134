"""A paged stream: items kept sorted by (updated_at, id), served by keyset cursors.

The cursor is the key of the last item served, not an offset: a record changed between runs gets a
later `updated_at` and moves to the end, so a page walk never skips an item, whatever changed since
the cursor was issued (an item may come twice: at-least-once, as the contract says).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Item = dict[str, Any]
Key = tuple[int, str]  # (updated_at as Unix seconds, id)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def format_timestamp(epoch: int) -> str:
    """RFC 3339 UTC, whole seconds. Built by hand around a cached date: generating 100k records
    spends most of its time here otherwise."""
    days, seconds = divmod(epoch, 86400)
    hours, rest = divmod(seconds, 3600)
    return f"{_day(days)}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}Z"


@functools.lru_cache(maxsize=4096)
def _day(days_since_epoch: int) -> str:
    return datetime.fromtimestamp(days_since_epoch * 86400, UTC).date().isoformat()


def key_of(item: Item) -> Key:
    return (item["_epoch"], item["id"])


@dataclass
class Stream:
    """Items sorted by key. Items are never changed in place: a change replaces the dict, so
    snapshots (reset) can share them."""

    keys: list[Key] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)

    @classmethod
    def of(cls, items: Iterable[Item]) -> Stream:
        ordered = sorted(items, key=key_of)
        return cls([key_of(item) for item in ordered], ordered)

    def copy(self) -> Stream:
        return Stream(list(self.keys), list(self.items))

    def replace(self, changed: list[Item]) -> None:
        """Remove the previous versions of `changed` (by id) and add the new ones.
        O(n) per call, whatever the number of changes: mutations come in batches."""
        ids = {item["id"] for item in changed}
        kept = [(key, item) for key, item in zip(self.keys, self.items, strict=True) if key[1] not in ids]
        fresh = sorted(changed, key=key_of)
        self.keys = [key for key, _ in kept] + [key_of(item) for item in fresh]
        self.items = [item for _, item in kept] + fresh
        if kept and fresh and self.keys[len(kept) - 1] > self.keys[len(kept)]:
            # Changes normally carry the newest timestamp, so appending keeps the order; if not, sort.
            order = sorted(range(len(self.keys)), key=self.keys.__getitem__)
            self.keys = [self.keys[i] for i in order]
            self.items = [self.items[i] for i in order]

    def page(self, since: int | None, after: Key | None, limit: int) -> tuple[list[Item], Key | None]:
        """Items with updated_at >= since (inclusive), strictly after the cursor key; and the key to
        resume from, or None when this page reaches the end."""
        start = 0
        if since is not None:
            start = bisect.bisect_left(self.keys, (since, ""))
        if after is not None:
            start = max(start, bisect.bisect_right(self.keys, after))
        end = min(start + limit, len(self.items))
        page = self.items[start:end]
        more = end < len(self.items)
        return page, (self.keys[end - 1] if more and page else None)


def public(item: Item) -> Item:
    """The item as the contract shows it (internal fields start with an underscore)."""
    return {name: value for name, value in item.items() if not name.startswith("_")}


def encode_cursor(key: Key) -> str:
    raw = json.dumps([key[0], key[1]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class BadCursor(ValueError):
    pass


def decode_cursor(cursor: str) -> Key:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        epoch, item_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BadCursor("cursor is not one this server issued") from exc
    if not isinstance(epoch, int) or not isinstance(item_id, str):
        raise BadCursor("cursor is not one this server issued")
    return (epoch, item_id)


def parse_since(value: str) -> int:
    """RFC 3339 date-time with an offset → the first whole second at or after it."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("updated_since must be an RFC 3339 date-time, e.g. 2026-11-20T08:00:00Z") from exc
    if moment.tzinfo is None or "T" not in value.upper():
        raise ValueError("updated_since must be an RFC 3339 date-time with an offset (Z or ±hh:mm)")
    epoch = moment.timestamp()
    whole = int(epoch)
    return whole if whole == epoch else whole + 1
