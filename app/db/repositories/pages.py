"""Keyset pagination of a query: one page after the cursor's keys, and the cursor of the next."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Integer, Row, Select, SQLColumnExpression, String, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.cursors import invalid_cursor

T = TypeVar("T")
_MAX_TEXT = 64  # a key's text without a declared length: a moment in ISO form


@dataclass(frozen=True)
class PageRequest:
    """A page of a list as the data layer reads it: how many rows, after which keys (those of the
    cursor it was asked with), and how to sign the keys that the next page starts after."""

    limit: int
    after: tuple[object, ...] | None
    issue: Callable[[Sequence[str | int]], str]


async def fetch_page(
    session: AsyncSession,
    stmt: Select[*tuple[Any, ...]],
    keys: Sequence[SQLColumnExpression[Any]],
    page: PageRequest,
    *,
    item: Callable[[Row[*tuple[Any, ...]]], T],
    key_of: Callable[[T], Sequence[str | int]],
    descending: bool = False,
    parse_cursor: Callable[[tuple[object, ...]], tuple[object, ...]] | None = None,
) -> tuple[list[T], str | None]:
    """Run `stmt` ordered by `keys` (unique together) after the cursor, one page long: the page's
    items (`item(row)` of each row) and the next page's cursor, None on the last page. `key_of(item)`
    gives an item's values of `keys`, which the next cursor carries."""
    if page.after is not None:
        if len(page.after) != len(keys) or not all(map(_fits, page.after, keys)):
            raise invalid_cursor("The cursor does not fit this list.")
        after = page.after
        if parse_cursor is not None:
            try:
                after = parse_cursor(after)
            except (TypeError, ValueError):
                raise invalid_cursor("The cursor does not fit this list.") from None
        left = tuple_(*keys) if len(keys) > 1 else keys[0]
        right = tuple_(*after) if len(keys) > 1 else after[0]
        stmt = stmt.where(left < right if descending else left > right)
    order = [key.desc() for key in keys] if descending else list(keys)
    rows = (await session.execute(stmt.order_by(*order).limit(page.limit + 1))).all()
    items = [item(row) for row in rows[: page.limit]]
    if len(rows) <= page.limit:
        return items, None
    return items, page.issue(key_of(items[-1]))


def entity(kind: type[T]) -> Callable[[Row[*tuple[Any, ...]]], T]:
    """The item of a row that selects one `kind` of table model, for `fetch_page`."""

    def item(row: Row[*tuple[Any, ...]]) -> T:
        found: T = row[0]
        return found

    return item


def _fits(value: object, key: SQLColumnExpression[Any]) -> bool:
    """Whether a cursor's value can be compared with `key` by the database."""
    sql_type = getattr(key, "type", None)
    if isinstance(sql_type, Integer):
        return type(value) is int and -(2**63) <= value < 2**63  # a bool is an int only to Python
    # Text, or text that the list's `parse_cursor` reads (a moment in ISO form).
    length = sql_type.length if isinstance(sql_type, String) and sql_type.length else _MAX_TEXT
    return isinstance(value, str) and len(value) <= length and "\x00" not in value and _utf8(value)


def _utf8(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate, which JSON can carry
        return False
    return True
