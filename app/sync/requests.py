"""One GET to a GESDENT server, as the client (app/sync/client.py) sends every request: Digest,
retries, deadlines, the answer read under its limit and its status checked.

One `httpx.AsyncClient` per run (connection reuse; the TLS context, whose CA bundle is costly to
load, is built once per process), explicit timeouts, redirects not followed. Digest: one
challenge per run, not one per credential (app/sync/digest.py); every later request, whatever its
credential, answers the cached challenge (nonce count), so a request costs one round trip.

Transient failures are retried (app/sync/retries.py: which ones, and how long to wait). A 401 that
survives the digest answer means the credential is wrong: `CredentialsRejected` at once, never
retried. Passwords never appear in errors or logs.

Bounds, so that one GESDENT server cannot exhaust the shared process: every answer is read under a
size limit per endpoint family (app/sync/answers.py); every attempt has a total deadline
(`request_seconds`: the request, its Digest round trip and the whole body; httpx's own timeouts are
per read, and a server sending a byte every few seconds never trips them); and a run's deadline
(`deadline`), when given, is never overstepped, by an attempt or by a wait before a retry.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import ssl
import time
from collections.abc import Mapping
from typing import Any

import httpx
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider

from app.domain.gesdent import CREDENTIAL_OF, Endpoint
from app.sync.answers import ERROR_BODY_BYTES, Answer, AnswerLimits, TooLarge, Undecodable, read_body
from app.sync.digest import RunDigest, ServerChallenge
from app.sync.errors import (
    AddressForbidden,
    AnswerTooLarge,
    CredentialsRejected,
    GesdentError,
    GesdentProtocolError,
    GesdentUnavailable,
    RunDeadlineExceeded,
    request_context,
)
from app.sync.network import AddressRefused, PublicOnlyTransport
from app.sync.retries import RETRIED_ERRORS, RETRIED_STATUSES, RetryPolicy, parse_retry_after

logger = logging.getLogger("portico.sync.gesdent")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0, pool=10.0)  # per connect, read, write
DEFAULT_REQUEST_SECONDS = 60.0  # per attempt, all of it
REQUEST_SETTING = "PORTICO_GESDENT_REQUEST_SECONDS"
_WHOLE_SECONDS_FROM = 10.0


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR), built
    once per process: loading the CA bundle costs about 30 ms of CPU, which every new client paid."""
    return httpx.create_ssl_context()


class Requester:
    """The requests of one GesdentClient; its options are the client's (see GesdentClient)."""

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, tuple[str, str]],
        *,
        timeout: httpx.Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        allow_private_networks: bool = False,
        limits: AnswerLimits | None = None,
        request_seconds: float = DEFAULT_REQUEST_SECONDS,
        deadline: float | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        if request_seconds <= 0:
            raise ValueError("request_seconds must be positive")
        self.retry = retry or RetryPolicy()
        self.limits = limits or AnswerLimits()
        self.request_seconds = request_seconds
        self.deadline = deadline
        self._credentials = {
            family: (str(user), str(password)) for family, (user, password) in credentials.items()
        }
        self._auths: dict[tuple[str, str], RunDigest] = {}
        self._challenge = ServerChallenge()  # the server's, shared by the run's credentials
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

        if tracer_provider is not None:  # a client span per attempt, under the run's (app/tracing.py)
            HTTPXClientInstrumentor.instrument_client(self._http, tracer_provider=tracer_provider)

    async def aclose(self) -> None:
        await self._http.aclose()

    def _auth(self, endpoint: Endpoint) -> tuple[RunDigest, tuple[str, str]]:
        family = CREDENTIAL_OF[endpoint]
        if family not in self._credentials:
            raise GesdentError(f"no {family} credentials are configured (needed for {endpoint})", endpoint)
        credential = self._credentials[family]
        auth = self._auths.get(credential)
        if auth is None:
            auth = self._auths[credential] = RunDigest(*credential, self._challenge)
        return auth, credential

    async def get(
        self, endpoint: Endpoint, path: str, params: dict[str, str] | None, resource_id: str | None
    ) -> Any:
        """The JSON of one GET (request, then decode)."""
        return self.decode(endpoint, await self.request(endpoint, path, params), resource_id)

    async def request(self, endpoint: Endpoint, path: str, params: dict[str, str] | None) -> Answer:
        """The answer to one GET, retried on transient failures; its status is not checked further
        (see decode) unless it is 401 or one that is retried."""
        auth, credential = self._auth(endpoint)
        shown = self._http.base_url.join(path).path  # in errors: the path on the server, base_url's included
        where = request_context(endpoint, shown)
        last = ""
        policy = self.retry
        for attempt in range(1, policy.max_attempts + 1):
            retry_after: float | None = None
            started = time.monotonic()
            budget = self._budget(endpoint, where, last)
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
                if status == httpx.codes.UNAUTHORIZED:
                    raise CredentialsRejected(endpoint, shown, credential, response.authorized)
                if status not in RETRIED_STATUSES:
                    return response
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                last = f"HTTP {status}" + (
                    f" (Retry-After: {response.headers['retry-after']})" if retry_after is not None else ""
                )
            if attempt == policy.max_attempts:
                break
            delay = self._delay(endpoint, where, last, attempt, retry_after)
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
        auth: RunDigest,
        shown: str,
    ) -> Answer:
        """One GET, its body read under the endpoint's limit (a failure's body: its start only)."""
        limit = self.limits.of(endpoint)
        request = self._http.build_request("GET", path, params=params)
        response = await self._http.send(request, auth=auth, stream=True)
        try:
            if response.is_success:
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

    def _budget(self, endpoint: Endpoint, where: str, last: str) -> float:
        """The time an attempt may take: the per-request limit, or what is left of the run's."""
        left = self._time_left()
        if left is None:
            return self.request_seconds
        if left <= 0:
            raise RunDeadlineExceeded(
                f"{where} was not sent: the run reached its deadline"
                + (f" (last attempt: {last})" if last else ""),
                endpoint,
            )
        return min(self.request_seconds, left)

    def _delay(
        self, endpoint: Endpoint, where: str, last: str, attempt: int, retry_after: float | None
    ) -> float:
        """How long to wait before the next attempt; RunDeadlineExceeded if the run cannot wait."""
        delay = self.retry.delay(attempt, retry_after)
        left = self._time_left()
        if left is None or delay < left:
            return delay
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

    def _time_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def decode(self, endpoint: Endpoint, response: Answer, resource_id: str | None) -> Any:
        """The JSON of a successful answer; for any other (redirect, 4xx, 5xx), or malformed JSON, a
        GesdentProtocolError that says what came back without quoting it."""
        status = response.status
        where = request_context(endpoint, response.path)
        if httpx.codes.is_redirect(status):
            location = response.headers.get("location", "nowhere")
            raise GesdentProtocolError(
                f"{where} answered {status}, redirecting to {location}; redirects are not "
                "followed (check base_url)",
                endpoint,
            )
        if status == httpx.codes.NOT_FOUND and resource_id is not None:
            raise GesdentProtocolError(
                f"{where}: GESDENT does not know resource {resource_id} (404); check the resource IDs",
                endpoint,
            )
        if not httpx.codes.is_success(status):
            hint = " (check base_url)" if status == httpx.codes.NOT_FOUND else ""
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


def _seconds(value: float) -> str:
    """Seconds as a message shows them: whole from ten on, else to a tenth."""
    return f"{value:.0f}" if value >= _WHOLE_SECONDS_FROM else f"{value:.1f}"


def _described(response: Answer) -> str:
    """What an answer was, without what it said: its size and content type."""
    return f"{len(response.content)} bytes, {response.headers.get('content-type', 'no content type')}"
