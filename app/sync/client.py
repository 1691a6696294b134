"""HTTP client of the GESDENT contract (GESDENT-CONTRACT.md): its paths, parameters and paging.
Everything the wire looks like lives in this module and the ones it uses, so that a site whose
server differs is a change there: one request, with Digest, retries and deadlines, in
app/sync/requests.py; when to retry in app/sync/retries.py; reading an answer under its size limit
in app/sync/answers.py; the errors in app/sync/errors.py; the contract's vocabulary (endpoint and
credential families, and the credential each endpoint is read with) in app/domain/gesdent.py.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncGenerator, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from app.domain.gesdent import Endpoint
from app.sync.answers import Answer, AnswerLimits
from app.sync.errors import GesdentProtocolError
from app.sync.requests import DEFAULT_REQUEST_SECONDS, Requester
from app.sync.retries import RetryPolicy

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from app.config import Settings

PAGE_LIMIT = 1000  # the contract's maximum


def client_limits(settings: Settings) -> dict[str, Any]:
    """The GesdentClient options that PORTICO_GESDENT_* settings give: answer sizes, request deadline."""
    return {
        "limits": AnswerLimits(
            page_bytes=settings.gesdent_max_page_bytes,
            availability_bytes=settings.gesdent_max_availability_bytes,
            resource_bytes=settings.gesdent_max_resource_bytes,
        ),
        "request_seconds": settings.gesdent_request_seconds,
    }


class GesdentClient:
    """Async context manager; `credentials` maps a family (users, reservations, availability) to
    (username, password). Unless `allow_private_networks`, every connection it opens goes to a
    public address, checked as it connects. `limits`: the largest answer per endpoint family;
    `request_seconds`: the total deadline of one attempt; `deadline`: a `time.monotonic()` value
    by which every request, retries included, has ended (the run's deadline), or None;
    `tracer_provider`: a client span per request (app/tracing.py), or none."""

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, tuple[str, str]],
        *,
        timeout: httpx.Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        page_limit: int = PAGE_LIMIT,
        transport: httpx.AsyncBaseTransport | None = None,
        allow_private_networks: bool = False,
        limits: AnswerLimits | None = None,
        request_seconds: float = DEFAULT_REQUEST_SECONDS,
        deadline: float | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        if not 1 <= page_limit <= PAGE_LIMIT:
            raise ValueError(f"page_limit must be from 1 to {PAGE_LIMIT}")
        self.page_limit = page_limit
        self._requester = Requester(
            base_url,
            credentials,
            timeout=timeout,
            retry=retry,
            transport=transport,
            allow_private_networks=allow_private_networks,
            limits=limits,
            request_seconds=request_seconds,
            deadline=deadline,
            tracer_provider=tracer_provider,
        )

    # The requester keeps these options; they stay readable on the client.
    @property
    def retry(self) -> RetryPolicy:
        return self._requester.retry

    @property
    def limits(self) -> AnswerLimits:
        return self._requester.limits

    @property
    def request_seconds(self) -> float:
        return self._requester.request_seconds

    @property
    def deadline(self) -> float | None:
        return self._requester.deadline

    async def __aenter__(self) -> GesdentClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._requester.aclose()

    # --- The contract ------------------------------------------------------------------------

    async def resource(self, resource_id: str) -> dict[str, Any]:
        path = f"resources/{quote(resource_id, safe='')}"
        body = await self._requester.get("resources", path, None, resource_id)
        if not isinstance(body, dict):
            raise GesdentProtocolError(
                f"resources: the answer for resource {resource_id} is not an object", "resources"
            )
        return body

    def users(self, updated_since: str | None) -> AsyncGenerator[list[dict[str, Any]], None]:
        return self._pages("users", "users", {}, updated_since, None)

    def reservations(
        self, resource_id: str, updated_since: str | None
    ) -> AsyncGenerator[list[dict[str, Any]], None]:
        params = {"resource_id": resource_id}
        return self._pages("reservations", "reservations", params, updated_since, resource_id)

    async def availability(self, resource_id: str, from_: date, to: date) -> dict[str, Any]:
        params = {"resource_id": resource_id, "from": from_.isoformat(), "to": to.isoformat()}
        body = await self._requester.get("availability", "availability", params, resource_id)
        if not isinstance(body, dict) or not isinstance(body.get("slots"), list):
            raise GesdentProtocolError(
                f"availability: the answer for resource {resource_id} has no list of slots", "availability"
            )
        return body

    async def _pages(
        self,
        endpoint: Endpoint,
        path: str,
        params: dict[str, str],
        updated_since: str | None,
        resource_id: str | None,
    ) -> AsyncGenerator[list[dict[str, Any]], None]:
        """Every page of a list, following next_cursor.

        Cursor paging is a chain: GESDENT prepares a page only once it has been asked for it, with
        the cursor from the page before. To keep the chain short, the request for the next page goes
        out as soon as a page's body is in, before it is parsed: the cursor is read off the end of
        the body, where GESDENT writes it (_peek_next_cursor). That request is used only if the
        parsed page says the same; otherwise (a server that writes the cursor elsewhere) it is
        dropped and the right page is asked for. In memory: the page handed out, and the raw body
        of the next. The importer's page reader (app/sync/pages.py) runs this ahead of its writer;
        the early request still pays: without it a no-op resync takes a sixth longer (bench/README.md)."""
        params = {**params, "limit": str(self.page_limit)}
        if updated_since:
            params["updated_since"] = updated_since
        cursor: str | None = None
        ahead: tuple[str, asyncio.Task[Answer]] | None = None  # (its cursor, the request)
        try:
            while True:
                if ahead is not None and ahead[0] == cursor:
                    response = await ahead[1]
                else:
                    await _drop(ahead)
                    response = await self._requester.request(
                        endpoint, path, {**params, **({"cursor": cursor} if cursor else {})}
                    )
                ahead = None
                guess = (
                    _peek_next_cursor(response.content) if httpx.codes.is_success(response.status) else None
                )
                if guess is not None and guess != cursor:
                    request = self._requester.request(endpoint, path, {**params, "cursor": guess})
                    ahead = (guess, asyncio.ensure_future(request))
                    for _ in range(SEND_TURNS):  # let it reach the socket before parsing this page
                        await asyncio.sleep(0)
                body = self._requester.decode(endpoint, response, resource_id)
                if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                    raise GesdentProtocolError(f"{endpoint}: a page has no list of items", endpoint)
                next_cursor = body.get("next_cursor")
                if next_cursor is not None and (not isinstance(next_cursor, str) or not next_cursor):
                    raise GesdentProtocolError(
                        f"{endpoint}: next_cursor is neither a string nor null", endpoint
                    )
                if next_cursor is not None and next_cursor == cursor:
                    raise GesdentProtocolError(
                        f"{endpoint}: the server answered the same cursor again", endpoint
                    )
                # An item that is not an object is rejected on its own (app/sync/records.py), by its
                # position: the rest of the page imports.
                yield body["items"]
                if next_cursor is None:
                    return
                cursor = next_cursor
        finally:
            await _drop(ahead)


# Event-loop turns a freshly started request needs to get onto the socket (httpx and httpcore take
# a few locks on the way, each a turn): the page in hand is parsed only after them.
SEND_TURNS = 4
# `"next_cursor": <string or null>` closing the top-level object, at the very end of a page's body.
_NEXT_CURSOR_AT_END = re.compile(rb'"next_cursor"\s*:\s*(null|"(?:[^"\\]|\\.)*")\s*\}\s*$')


def _peek_next_cursor(content: bytes) -> str | None:
    """A page's next_cursor read off the end of its body without parsing the page; None when it is
    null, or not there. A guess: _pages checks it against the parsed page."""
    match = _NEXT_CURSOR_AT_END.search(content, max(0, len(content) - 4096))
    if match is None or match.group(1) == b"null":
        return None
    try:
        value = json.loads(match.group(1))
    except ValueError:
        return None
    return value if isinstance(value, str) and value else None


async def _drop(ahead: tuple[str, asyncio.Task[Answer]] | None) -> None:
    """Stop a request made ahead that turned out not to be needed (or no longer is). Its outcome is
    of no use, but this task's own cancellation still goes through (asyncio.wait does not catch it)."""
    if ahead is None:
        return
    task = ahead[1]
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled():
        task.exception()  # retrieved: asyncio would log an exception nobody asked for
