"""Keyset pagination: `limit`, an opaque `cursor`, `{"items", "next_cursor"}` and a `Link` header.

A cursor carries the last row's keys, signed: an HMAC, under a key derived from the secret keys (as
the pages' CSRF tokens are, app/pages/csrf.py), of the list's path and those keys. So the only
cursors accepted are the ones this API issued for this very list: a crafted one (`[1]` where a name
goes, a NUL, `[true]`: each was a 500 on PostgreSQL) or one of another list is a 422
`invalid-cursor` before any query. The keys are also checked against the list's columns (type,
length, no NUL), so that even a leaked secret key could not make a query fail.

The `Link` header is relative (RFC 8288 takes a URI-reference), or absolute on PORTICO_PUBLIC_URL:
never built from the request's `Host`, which the client chooses.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Integer, Select, SQLColumnExpression, String, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import URL

from app.domain.errors import InvalidCursor

T = TypeVar("T")
MAX_LIMIT = 500
DEFAULT_LIMIT = 50
_MAC_BYTES = 16  # 128 bits: a forgery needs 2**128 tries
_MAX_TEXT = 64  # a key's text without a declared length: a moment in ISO form


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class Cursors:
    """Issue cursors under the first secret key; accept them under any, as decryption does (rotation)."""

    def __init__(self, secret_keys: list[str], public_url: str | None = None) -> None:
        self._keys = [_derive(key) for key in secret_keys]
        self.public_url = public_url

    def issue(self, path: str, values: Sequence[str | int]) -> str:
        payload = json.dumps(list(values), separators=(",", ":")).encode()
        token = self._mac(self._keys[0], path, payload) + payload
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def open(self, path: str, cursor: str) -> tuple[Any, ...]:
        """The values of a cursor issued for `path`, or InvalidCursor."""
        try:
            token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            token = b""
        mac, payload = token[:_MAC_BYTES], token[_MAC_BYTES:]
        if len(mac) < _MAC_BYTES or not any(
            hmac.compare_digest(mac, self._mac(key, path, payload)) for key in self._keys
        ):
            raise invalid_cursor("The cursor is not one this API issued for this list.")
        try:
            values = json.loads(payload)
        except ValueError:
            values = None
        if not isinstance(values, list) or not values:
            raise invalid_cursor("The cursor is not one this API issued for this list.")
        return tuple(values)

    def next_link(self, url: URL, cursor: str, limit: int) -> str:
        """The URL of the next page, relative unless PORTICO_PUBLIC_URL is set."""
        query = url.include_query_params(cursor=cursor, limit=limit).query
        target = f"{quote(url.path)}?{query}"
        return f"{self.public_url}{target}" if self.public_url else target

    @staticmethod
    def _mac(key: bytes, path: str, payload: bytes) -> bytes:
        return hmac.new(key, path.encode() + b"\n" + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _derive(secret_key: str) -> bytes:
    # A key of its own, so that a cursor never reveals anything about the key that encrypts secrets.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portico cursor v1").derive(
        secret_key.encode()
    )


def invalid_cursor(detail: str) -> InvalidCursor:
    return InvalidCursor(detail, errors=[{"field": "query.cursor", "message": "not a cursor of this list"}])


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: tuple[Any, ...] | None
    request: Request
    response: Response
    cursors: Cursors


async def page_request(
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=512, pattern=r"^[A-Za-z0-9_-]*$", description="`next_cursor` of the previous page."),
    ] = None,
) -> PageRequest:
    cursors: Cursors = request.app.state.cursors
    after = cursors.open(request.url.path, cursor) if cursor else None
    return PageRequest(limit=limit, after=after, request=request, response=response, cursors=cursors)


PageParams = Annotated[PageRequest, Depends(page_request)]


def _fits(value: Any, key: SQLColumnExpression[Any]) -> bool:
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
    rows = list((await session.execute(stmt.order_by(*order).limit(page.limit + 1))).all())
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    cursor = page.cursors.issue(page.request.url.path, key_of(rows[-1]))
    page.response.headers["Link"] = (
        f'<{page.cursors.next_link(page.request.url, cursor, page.limit)}>; rel="next"'
    )
    return rows, cursor
