"""Keyset pagination over HTTP: `limit` and an opaque `cursor` in, `{"items", "next_cursor"}` and a
`Link` header out. The data layer reads the page (app/db/repositories/pages.py); the cursors are
signed (app/cursors.py); only the router answers, here.

The `Link` header is relative (RFC 8288 takes a URI-reference), or absolute on PORTICO_PUBLIC_URL:
never built from the request's `Host`, which the client chooses.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Generic, TypeVar
from urllib.parse import quote

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import URL

from app.db.repositories.pages import PageRequest
from app.state import CursorsDep, SettingsDep

T = TypeVar("T")
MAX_LIMIT = 500
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    """One page of a list, in a stable order: its items, and the cursor of the next page."""

    # Each Page[X] is a class of its own, which does not inherit the docstring (the schema's description).
    model_config = ConfigDict(json_schema_extra={"description": __doc__})

    items: list[T] = Field(description="At most `limit` items.")
    next_cursor: str | None = Field(
        examples=["9hPdMpHItlwvPB_xaFYb_VsidHRfY2xpbmljX25vcnRoIl0"],
        description="Pass as `cursor` to get the next page; null on the last page.",
    )


def next_link(url: URL, cursor: str, limit: int, public_url: str | None) -> str:
    """The URL of the next page, relative unless PORTICO_PUBLIC_URL is set."""
    query = url.include_query_params(cursor=cursor, limit=limit).query
    target = f"{quote(url.path)}?{query}"
    return f"{public_url}{target}" if public_url else target


@dataclass(frozen=True)
class Pagination:
    """A list route's page: what the data layer reads (`request`), and how the route answers."""

    request: PageRequest
    url: URL
    public_url: str | None

    def answer(self, items: list[T], next_cursor: str | None, response: Response) -> Page[T]:
        """The page, with a `Link` to the next one when there is one."""
        if next_cursor is not None:
            link = next_link(self.url, next_cursor, self.request.limit, self.public_url)
            response.headers["Link"] = f'<{link}>; rel="next"'
        return Page(items=items, next_cursor=next_cursor)


async def pagination(
    request: Request,
    cursors: CursorsDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=512, pattern=r"^[A-Za-z0-9_-]*$", description="`next_cursor` of the previous page."),
    ] = None,
) -> Pagination:
    path = request.url.path
    after = cursors.open(path, cursor) if cursor else None
    page = PageRequest(limit=limit, after=after, issue=partial(cursors.issue, path))
    return Pagination(page, request.url, settings.public_url)


PageParams = Annotated[Pagination, Depends(pagination)]
