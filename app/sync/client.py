"""HTTP client of the GESDENT contract (GESDENT-CONTRACT.md): paths, parameters, paging, Digest,
retries. Everything the wire looks like lives here, so that a site whose server differs is a change
in this one module.

One `httpx.AsyncClient` per run (connection reuse; the TLS context, whose CA bundle is costly to
load, is built once per process), explicit timeouts, redirects not followed. One
`httpx.DigestAuth` per credential, kept for the run: after the first 401 challenge it answers every
later request from the cached challenge (nonce count), so a request costs one round trip.

Transient failures (connect errors, timeouts, dropped connections, 429, 5xx) are retried with
exponential backoff and jitter, honouring `Retry-After` up to a cap. A 401 that survives the digest
answer means the credential is wrong: `CredentialsRejected` at once, never retried. Passwords never
appear in errors or logs.

Bounds, so that one GESDENT server cannot exhaust the shared process: every answer is read under a
size limit per endpoint family (app/sync/answers.py); every attempt has a total deadline
(`request_seconds`: the request, its Digest round trip and the whole body; httpx's own timeouts are
per read, and a server sending a byte every few seconds never trips them); and a run's deadline
(`deadline`), when given, is never overstepped, by an attempt or by a wait before a retry.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import logging
import random
import re
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import httpx

from app.sync.answers import (
    ERROR_BODY_BYTES,
    Answer,
    AnswerLimits,
    Limit,
    TooLarge,
    Undecodable,
    read_body,
)
from app.sync.network import AddressRefused, PublicOnlyTransport

if TYPE_CHECKING:
    from app.config import Settings

logger = logging.getLogger("portico.sync.gesdent")

Family = Literal["users", "reservations", "availability"]
# Endpoint families; resources are read with the availability credential.
Endpoint = Literal["resources", "users", "reservations", "availability"]
CREDENTIAL_OF: dict[str, Family] = {
    "resources": "availability",
    "users": "users",
    "reservations": "reservations",
    "availability": "availability",
}
PAGE_LIMIT = 1000  # the contract's maximum
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0, pool=10.0)  # per connect, read, write
DEFAULT_REQUEST_SECONDS = 60.0  # per attempt, all of it
REQUEST_SETTING = "PORTICO_GESDENT_REQUEST_SECONDS"
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# Transport failures worth another attempt: connect/read/write errors and timeouts, and a peer that
# closed the connection mid-answer. Not: unsupported scheme, invalid request, proxy trouble.
RETRIED_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR), built
    once per process: loading the CA bundle costs about 30 ms of CPU, which every new client paid."""
    return httpx.create_ssl_context()


class GesdentError(Exception):
    """Anything that stops a GESDENT request from yielding usable data. `endpoint` is the family."""

    def __init__(self, message: str, endpoint: str | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint


def request_context(endpoint: str, path: str) -> str:
    """How an error names the request: the endpoint, the path and the credential family it used."""
    family = CREDENTIAL_OF[endpoint]
    why = ", which GESDENT asks for on resources" if endpoint != family else ""
    return f"{endpoint} endpoint (GET {path}, with the {family} credential{why})"


class CredentialsRejected(GesdentError):
    """GESDENT answered 401 to the digest answer: the credential of that family is wrong."""

    def __init__(self, endpoint: str, path: str, credential: tuple[str, str], answered: bool = True) -> None:
        family = CREDENTIAL_OF[endpoint]
        username, password = credential
        how = "after the Digest answer" if answered else "without a Digest challenge"
        message = (
            f"GESDENT rejected the {family} credentials (username {username!r}) on the "
            f"{request_context(endpoint, path)}: 401 {how}. Check the {family} username and password "
            "of the connection rules"
        )
        if username != username.strip() or password != password.strip():
            what = "username" if username != username.strip() else "password"
            message += (
                f'; the stored {what} starts or ends with whitespace (the "username:password" form '
                "removes it, the object form keeps it)"
            )
        super().__init__(message, endpoint)
        self.family = family


class GesdentUnavailable(GesdentError):
    """Transient failures until the retries ran out."""


class RunDeadlineExceeded(GesdentUnavailable):
    """The run's deadline leaves no time for the request, or for the wait before retrying it."""


class GesdentProtocolError(GesdentError):
    """An answer that breaks the contract: not JSON, unexpected shape, redirect, 4xx (unknown resource…)."""


class AnswerTooLarge(GesdentProtocolError):
    """An answer larger than its endpoint family's limit; not retried (it would come again)."""

    def __init__(self, endpoint: str, where: str, limit: Limit, announced: int | None) -> None:
        size = f"{limit.bytes} bytes ({limit.bytes / 2**20:g} MiB)"
        if announced is not None:
            what = f"announced an answer of {announced} bytes (Content-Length), more than {size}"
        else:
            what = f"answered more than {size}"
        super().__init__(
            f"{where} {what}, the limit for {limit.what}; the answer was not read further. If "
            f"GESDENT's answers are really this large, raise {limit.setting}",
            endpoint,
        )


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5  # attempts in all, the first included
    base_delay: float = 0.5  # seconds before the 2nd attempt; doubles each time
    max_delay: float = 30.0  # cap on the backoff delay
    max_retry_after: float = 120.0  # cap on a server's Retry-After

    def backoff(self, attempt: int) -> float:
        """Delay after failed attempt number `attempt` (1-based): exponential, half of it jittered."""
        delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return delay / 2 + random.uniform(0, delay / 2)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is None:
            return self.backoff(attempt)
        return min(retry_after, self.max_retry_after)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


class AddressForbidden(GesdentError):
    """base_url leads to an address a GESDENT server may not have (see app/sync/network.py)."""


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
    by which every request, retries included, has ended (the run's deadline), or None."""

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
    ) -> None:
        if not 1 <= page_limit <= PAGE_LIMIT:
            raise ValueError(f"page_limit must be from 1 to {PAGE_LIMIT}")
        if request_seconds <= 0:
            raise ValueError("request_seconds must be positive")
        self.retry = retry or RetryPolicy()
        self.page_limit = page_limit
        self.limits = limits or AnswerLimits()
        self.request_seconds = request_seconds
        self.deadline = deadline
        self._credentials = {
            family: (str(user), str(password)) for family, (user, password) in credentials.items()
        }
        self._auths: dict[tuple[str, str], httpx.DigestAuth] = {}
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            follow_redirects=False,
            verify=_tls_context(),
            transport=transport
            if transport is not None or allow_private_networks
            else PublicOnlyTransport(_tls_context()),
            # Only the codings answers.py inflates under its limit (httpx would add br and zstd when
            # their packages are installed).
            headers={
                "Accept": "application/json",
                "Accept-Encoding": "gzip, deflate",
                "User-Agent": "portico-gesdent-sync",
            },
        )

    async def __aenter__(self) -> GesdentClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- The contract ------------------------------------------------------------------------

    async def resource(self, resource_id: str) -> dict[str, Any]:
        body = await self._get("resources", f"resources/{quote(resource_id, safe='')}", None, resource_id)
        if not isinstance(body, dict):
            raise GesdentProtocolError(
                f"resources: the answer for resource {resource_id} is not an object", "resources"
            )
        return body

    def users(self, updated_since: str | None) -> AsyncIterator[list[dict[str, Any]]]:
        return self._pages("users", "users", {}, updated_since, None)

    def reservations(
        self, resource_id: str, updated_since: str | None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        params = {"resource_id": resource_id}
        return self._pages("reservations", "reservations", params, updated_since, resource_id)

    async def availability(self, resource_id: str, from_: date, to: date) -> dict[str, Any]:
        params = {"resource_id": resource_id, "from": from_.isoformat(), "to": to.isoformat()}
        body = await self._get("availability", "availability", params, resource_id)
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
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of a list, following next_cursor.

        Cursor paging is a chain: GESDENT prepares a page only once it has been asked for it, with
        the cursor from the page before. To keep the chain short, the request for the next page goes
        out as soon as a page's body is in, before it is parsed: the cursor is read off the end of
        the body, where GESDENT writes it (_peek_next_cursor). That request is used only if the
        parsed page says the same; otherwise (a server that writes the cursor elsewhere) it is
        dropped and the right page is asked for. In memory: the page handed out, and the raw body
        of the next."""
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
                    response = await self._request(
                        endpoint, path, {**params, **({"cursor": cursor} if cursor else {})}
                    )
                ahead = None
                guess = _peek_next_cursor(response.content) if 200 <= response.status < 300 else None
                if guess is not None and guess != cursor:
                    request = self._request(endpoint, path, {**params, "cursor": guess})
                    ahead = (guess, asyncio.ensure_future(request))
                    for _ in range(SEND_TURNS):  # let it reach the socket before parsing this page
                        await asyncio.sleep(0)
                body = self._decode(endpoint, response, resource_id)
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

    # --- One request, with retries ------------------------------------------------------------

    def _auth(self, endpoint: Endpoint) -> tuple[httpx.DigestAuth, tuple[str, str]]:
        family = CREDENTIAL_OF[endpoint]
        if family not in self._credentials:
            raise GesdentError(f"no {family} credentials are configured (needed for {endpoint})", endpoint)
        credential = self._credentials[family]
        auth = self._auths.get(credential)
        if auth is None:
            auth = self._auths[credential] = httpx.DigestAuth(*credential)
        return auth, credential

    async def _get(
        self, endpoint: Endpoint, path: str, params: dict[str, str] | None, resource_id: str | None
    ) -> Any:
        return self._decode(endpoint, await self._request(endpoint, path, params), resource_id)

    async def _request(self, endpoint: Endpoint, path: str, params: dict[str, str] | None) -> Answer:
        """The answer to one GET, retried on transient failures; its status is not checked further
        (see _decode) unless it is 401 or one that is retried."""
        auth, credential = self._auth(endpoint)
        shown = self._http.base_url.join(path).path  # in errors: the path on the server, base_url's included
        where = request_context(endpoint, shown)
        last = ""
        policy = self.retry
        for attempt in range(1, policy.max_attempts + 1):
            retry_after: float | None = None
            started = time.monotonic()
            budget = self.request_seconds
            left = self._time_left()
            if left is not None:
                if left <= 0:
                    raise RunDeadlineExceeded(
                        f"{where} was not sent: the run reached its deadline"
                        + (f" (last attempt: {last})" if last else ""),
                        endpoint,
                    )
                budget = min(budget, left)
            timer = asyncio.timeout(budget)
            try:
                async with timer:
                    response = await self._attempt(endpoint, path, params, auth, shown)
            except TimeoutError:
                if not timer.expired():
                    raise
                if budget < self.request_seconds:
                    raise RunDeadlineExceeded(
                        f"{where} was cut short after {_seconds(budget)} s: the run reached its deadline",
                        endpoint,
                    ) from None
                last = f"no complete answer within {_seconds(budget)} s ({REQUEST_SETTING})"
            except RETRIED_ERRORS as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            except AddressRefused as exc:
                raise AddressForbidden(f"{endpoint}: base_url {exc}", endpoint) from exc
            except httpx.HTTPError as exc:
                raise GesdentProtocolError(f"{where} failed: {type(exc).__name__}: {exc}", endpoint) from exc
            else:
                status = response.status
                if status == 401:
                    raise CredentialsRejected(endpoint, shown, credential, response.authorized)
                if status in RETRIED_STATUSES:
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
                    last = f"HTTP {status}" + (
                        f" (Retry-After: {response.headers['retry-after']})"
                        if retry_after is not None
                        else ""
                    )
                else:
                    return response
            if attempt == policy.max_attempts:
                break
            delay = policy.delay(attempt, retry_after)
            left = self._time_left()
            if left is not None and delay >= left:
                if retry_after is not None:
                    raise RunDeadlineExceeded(
                        f"{where} answered {last}: GESDENT asked to retry after {_seconds(retry_after)} s; "
                        f"the run has {_seconds(max(left, 0))} s left",
                        endpoint,
                    )
                raise RunDeadlineExceeded(
                    f"{where} failed ({last}); the run has {_seconds(max(left, 0))} s left, too little "
                    f"to wait {_seconds(delay)} s and retry",
                    endpoint,
                )
            logger.warning(
                "GESDENT %s: attempt %d/%d failed after %.2fs (%s); retrying in %.2fs",
                endpoint,
                attempt,
                policy.max_attempts,
                time.monotonic() - started,
                last,
                delay,
            )
            await asyncio.sleep(delay)
        raise GesdentUnavailable(
            f"{where} failed {policy.max_attempts} times "
            f"(connect errors, timeouts, 429 and 5xx are retried); last: {last}",
            endpoint,
        )

    async def _attempt(
        self,
        endpoint: Endpoint,
        path: str,
        params: dict[str, str] | None,
        auth: httpx.DigestAuth,
        shown: str,
    ) -> Answer:
        """One GET, its body read under the endpoint's limit (a failure's body: its start only)."""
        limit = self.limits.of(endpoint)
        request = self._http.build_request("GET", path, params=params)
        response = await self._http.send(request, auth=auth, stream=True)
        try:
            if 200 <= response.status_code < 300:
                content = await read_body(response, limit.bytes)
            else:
                content = await read_body(response, ERROR_BODY_BYTES, truncate=True)
        except TooLarge as exc:
            where = request_context(endpoint, shown)
            raise AnswerTooLarge(endpoint, where, limit, exc.announced) from None
        except Undecodable as exc:
            where = request_context(endpoint, shown)
            raise GesdentProtocolError(
                f"{where} answered a body Portico cannot read: {exc}", endpoint
            ) from None
        finally:
            await response.aclose()  # before the end of the body: the connection is closed, not reused
        authorized = "authorization" in response.request.headers
        return Answer(response.status_code, response.headers, content, shown, authorized)

    def _time_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def _decode(self, endpoint: Endpoint, response: Answer, resource_id: str | None) -> Any:
        status = response.status
        where = request_context(endpoint, response.path)
        if 300 <= status < 400:
            location = response.headers.get("location", "nowhere")
            raise GesdentProtocolError(
                f"{where} answered {status}, redirecting to {location}; redirects are not "
                "followed (check base_url)",
                endpoint,
            )
        if status == 404 and resource_id is not None:
            raise GesdentProtocolError(
                f"{where}: GESDENT does not know resource {resource_id} (404); check the resource IDs",
                endpoint,
            )
        if not 200 <= status < 300:
            hint = " (check base_url)" if status == 404 else ""
            # Not the body: a server may echo what it was sent or hold, patient data included.
            raise GesdentProtocolError(
                f"{where} answered HTTP {status}{hint} ({_described(response)})", endpoint
            )
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError) as exc:
            # The body itself stays out of the message: it may hold patient data.
            raise GesdentProtocolError(
                f"{where} answered malformed JSON ({_described(response)}): {exc}", endpoint
            ) from exc


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


def _seconds(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _described(response: Answer) -> str:
    """What an answer was, without what it said: its size and content type."""
    return f"{len(response.content)} bytes, {response.headers.get('content-type', 'no content type')}"
