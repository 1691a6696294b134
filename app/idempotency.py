"""`Idempotency-Key`: a retried write answers as its first attempt did, whatever the replica.

A pure ASGI middleware, inside BodyLimit (bodies are bounded) and outside the routes. A request
without the header, or to a route that does not take it (app/openapi_idempotency.py), goes on
untouched: the header is looked for, nothing more. With it:

1. the key is checked (app/domain/idempotency.py) and the caller's API key resolved as the route will
   (app/auth.py): answers are kept per partner (or the master key); without a valid key, the route
   answers its 401 and nothing is kept;
2. the body is read, and the request's fingerprint taken;
3. the key is claimed in its own short transaction, committed before the route's transaction begins
   (app/services/idempotency.py): or its kept answer is replayed, with `Idempotent-Replayed: true`;
   or the problem of a key reused (422) or in use (409) answers;
4. the route runs; its answer is held back until it is kept (or the key freed), then sent. The route's
   session commits before the route returns (app/db/session.py), so an answer kept is that of a
   committed request: a commit that fails is a 409 `concurrent-change` or a 5xx, neither kept. A
   request that fails with an exception frees the key; one whose process dies leaves a claim that
   the next request with the key takes over after PORTICO_IDEMPOTENCY_CLAIM_SECONDS.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import bearer_principal
from app.domain import idempotency as rules
from app.domain.errors import PorticoError
from app.openapi_idempotency import honours
from app.problems import error_response
from app.query_strings import route_path
from app.services import idempotency as service

log = logging.getLogger("portico")
_HEADER = rules.HEADER.lower().encode()
_METHODS = frozenset({"POST", "PUT"})
_REPLAYED = (rules.REPLAYED_HEADER.lower().encode(), b"true")


@dataclass(frozen=True, slots=True)
class _Route:
    regex: re.Pattern[str]
    methods: frozenset[str]
    honours: bool


class Idempotency:
    """Keep and replay the answers of requests sent with an `Idempotency-Key` (see the module's doc)."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router
        self._routes: list[_Route] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS:
            await self.app(scope, receive, send)
            return
        values = [value for name, value in scope["headers"] if name == _HEADER]
        if not values or not self._honoured(scope):
            await self.app(scope, receive, send)
            return
        try:
            key = rules.check_key([value.decode("latin-1") for value in values])
        except PorticoError as error:
            await error_response(error)(scope, receive, send)
            return
        state = scope["app"].state
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        principal = await bearer_principal(state, headers.get("authorization"))
        if principal is None:  # the route answers its 401; nothing to key the answer to
            await self.app(scope, receive, send)
            return
        messages, body = await _read_body(receive)
        request = service.KeyedRequest(
            owner=principal.partner_id or "master",
            partner_id=principal.partner_id,
            api_key_id=principal.key_id,
            key=key,
            fingerprint=rules.fingerprint(
                scope["method"],
                scope["path"],
                scope["query_string"].decode("latin-1"),
                headers.get("content-type", ""),
                body,
            ),
            method=scope["method"],
            path=scope["path"],
        )
        settings = state.settings
        policy = service.Policy(
            keep=timedelta(hours=settings.idempotency_key_hours),
            abandoned_after=timedelta(seconds=settings.idempotency_claim_seconds),
        )
        try:
            outcome = await service.claim(state.sessionmaker, request, policy, state.secret_box)
        except PorticoError as error:
            await error_response(error)(scope, receive, send)
            return
        if isinstance(outcome, service.Answer):
            await _replay(outcome, send)
            return
        await self._run(scope, _replaying(messages, receive), send, outcome, policy)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, claim: service.Claim, policy: service.Policy
    ) -> None:
        """Run the request that holds `claim`, keep its answer or free the key, then send the answer."""
        state = scope["app"].state
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        try:
            await self.app(scope, receive, hold)
        except BaseException:
            await _free(state, claim)  # then the error goes on: UnexpectedErrors answers its 500
            raise
        answer = _answer(held)
        try:
            if answer is not None and rules.kept(answer.status, _problem_type(answer)):
                await service.complete(state.sessionmaker, claim, answer, policy, state.secret_box)
            else:
                await service.release(state.sessionmaker, claim)
        except Exception:
            # The request committed: its answer goes out. Its key stays claimed until it is deemed
            # abandoned; a retry meanwhile is a 409, then runs again.
            log.exception(
                "the answer of %s %s could not be kept for its Idempotency-Key",
                scope["method"],
                scope["path"],
            )
        for message in held:
            await send(message)

    def _honoured(self, scope: Scope) -> bool:
        """Whether the route the router will pick for this request takes the header."""
        if self._routes is None:  # the routes as included: FastAPI includes routers lazily
            self._routes = [
                _Route(route.path_regex, frozenset(route.methods or ()), honours(route))
                for route in (context.route for context in iter_route_contexts(self.router.routes))
                if isinstance(route, APIRoute)
            ]
        path = route_path(scope)
        chosen = next((r for r in self._routes if scope["method"] in r.methods and r.regex.match(path)), None)
        return chosen is not None and chosen.honours


async def _read_body(receive: Receive) -> tuple[list[Message], bytes]:
    """The request's body messages, and the body they carry."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    return messages, b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    pending = iter(messages)

    async def replay() -> Message:
        return next(pending, None) or await receive()

    return replay


def _answer(held: list[Message]) -> service.Answer | None:
    start = next((m for m in held if m["type"] == "http.response.start"), None)
    if start is None:
        return None
    headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in start.get("headers", [])]
    body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
    return service.Answer(start["status"], rules.kept_headers(headers), body)


def _problem_type(answer: service.Answer) -> str | None:
    content_type = next((v for n, v in answer.headers if n.lower() == "content-type"), "")
    if not content_type.startswith("application/problem+json"):
        return None
    try:
        problem: Any = json.loads(answer.body)
    except ValueError:
        return None
    kind = problem.get("type") if isinstance(problem, dict) else None
    return kind if isinstance(kind, str) else None


async def _replay(answer: service.Answer, send: Send) -> None:
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers]
    headers += [(b"content-length", str(len(answer.body)).encode()), _REPLAYED]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


async def _free(state: Any, claim: service.Claim) -> None:
    try:
        await service.release(state.sessionmaker, claim)
    except Exception:
        log.exception("an Idempotency-Key could not be freed; it will be deemed abandoned")
