"""Keyset pagination: `limit`, an opaque `cursor`, `{"items", "next_cursor"}` and a `Link` header."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Select, SQLColumnExpression, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.errors import InvalidCursor

T = TypeVar("T")
MAX_LIMIT = 500
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: tuple[Any, ...] | None
    request: Request
    response: Response


def encode_cursor(values: Sequence[Any]) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps(list(values), separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )


def decode_cursor(cursor: str) -> tuple[Any, ...]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or not values or not all(isinstance(v, str | int) for v in values):
        raise InvalidCursor(
            "The cursor is not one this API issued.",
            errors=[{"field": "query.cursor", "message": "not a cursor issued by this API"}],
        )
    return tuple(values)


async def page_request(
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=512, pattern=r"^[A-Za-z0-9_-]*$", description="`next_cursor` of the previous page."),
    ] = None,
) -> PageRequest:
    return PageRequest(
        limit=limit, after=decode_cursor(cursor) if cursor else None, request=request, response=response
    )


PageParams = Annotated[PageRequest, Depends(page_request)]


async def fetch_page(
    session: AsyncSession,
    stmt: Select[*tuple[Any, ...]],
    keys: Sequence[SQLColumnExpression[Any]],
    page: PageRequest,
    key_of: Callable[[Any], Sequence[str | int]],
    *,
    descending: bool = False,
    parse_cursor: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None,
) -> tuple[list[Any], str | None]:
    """Run `stmt` ordered by `keys` (unique together) after the cursor, one page long.
    `key_of(row)` gives a row's values of `keys`, which the next cursor carries."""
    if page.after is not None:
        if len(page.after) != len(keys):
            raise InvalidCursor(
                "The cursor belongs to another list.",
                errors=[{"field": "query.cursor", "message": "cursor of another list"}],
            )
        after = page.after
        if parse_cursor is not None:
            try:
                after = parse_cursor(after)
            except (TypeError, ValueError):
                raise InvalidCursor(
                    "The cursor is not one this API issued.",
                    errors=[{"field": "query.cursor", "message": "not a cursor issued by this API"}],
                ) from None
        left = tuple_(*keys) if len(keys) > 1 else keys[0]
        right = tuple_(*after) if len(keys) > 1 else after[0]
        stmt = stmt.where(left < right if descending else left > right)
    order = [key.desc() for key in keys] if descending else list(keys)
    rows = list((await session.execute(stmt.order_by(*order).limit(page.limit + 1))).all())
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    cursor = encode_cursor(key_of(rows[-1]))
    next_url = page.request.url.include_query_params(cursor=cursor, limit=page.limit)
    page.response.headers["Link"] = f'<{next_url}>; rel="next"'
    return rows, cursor
