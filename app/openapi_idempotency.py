"""Which routes honour `Idempotency-Key`, and how the spec says so.

A route honours it when it is a POST authenticated by an API key in `Authorization: Bearer` (not the
pages' forms, which take HTTP Basic and a CSRF token, nor the GESDENT webhook, which is signed and has
its own `webhook-id`), or when its endpoint is marked `idempotent` (the PUT that replaces a member's
whole set of mappings). One rule for the spec (app/openapi_contract.py) and the middleware
(app/idempotency.py), so that the spec declares the header on exactly the routes that take it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fastapi.routing import APIRoute

from app.domain.errors import PorticoError
from app.domain.idempotency import (
    HEADER,
    MAX_LENGTH,
    REPLAYED_HEADER,
    IdempotencyKeyInUse,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
)

BEARER_ATTRIBUTE = "__bearer__"
IDEMPOTENT_ATTRIBUTE = "__idempotent__"
F = TypeVar("F", bound=Callable[..., Any])
PROBLEMS: tuple[type[PorticoError], ...] = (IdempotencyKeyInvalid, IdempotencyKeyReused, IdempotencyKeyInUse)
PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": "Makes the request safe to retry: the first answer is kept for 24 hours (by default) "
    "and replayed, with `Idempotent-Replayed: true`, to every later request with the same key and the "
    "same method, path, query and body. A new key for each new request, e.g. a UUID. The same key with "
    "another request is a 422 (`idempotency-key-reused`); while the first request runs, a 409 "
    "(`idempotency-key-in-use`). See docs/idempotency.md.",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_LENGTH,
        "pattern": "^[!-~]([ -~]*[!-~])?$",
        "examples": ["5b0f6a52-3c0e-4a53-9a55-4a1c3f6b8e21"],
    },
}
REPLAYED = {
    "description": "`true` on the replay of a kept answer to a request with the same `Idempotency-Key`.",
    "schema": {"type": "string", "const": "true"},
}
IN_USE_RETRY_AFTER = {
    "description": "On `idempotency-key-in-use`: seconds to wait before asking again.",
    "schema": {"type": "integer", "minimum": 0, "examples": [1]},
}


def bearer(function: F) -> F:
    """Mark the dependency that authenticates a route by an API key in `Authorization: Bearer`."""
    setattr(function, BEARER_ATTRIBUTE, True)
    return function


def idempotent(function: F) -> F:
    """Mark an endpoint that is not a POST as honouring `Idempotency-Key`."""
    setattr(function, IDEMPOTENT_ATTRIBUTE, True)
    return function


def _calls(route: APIRoute) -> Iterator[Any]:
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        yield dependant.call
        pending.extend(dependant.dependencies)


def honours(route: APIRoute) -> bool:
    """Whether `route` takes `Idempotency-Key` (see the module's doc)."""
    if getattr(route.endpoint, IDEMPOTENT_ATTRIBUTE, False):
        return True
    return "POST" in (route.methods or ()) and any(getattr(c, BEARER_ATTRIBUTE, False) for c in _calls(route))


def declare(operation: dict[str, Any]) -> None:
    """Declare the header on an operation of a route that honours it, and what its answers carry."""
    operation.setdefault("parameters", []).append(PARAMETER)


def declare_answers(responses: dict[str, Any]) -> None:
    """`Idempotent-Replayed` on what a replay may repeat; `Retry-After` on the 409 of a key in use."""
    for status, response in responses.items():
        if status[0] in "234" and status not in ("401", "403", "429"):  # domain/idempotency.py kept()
            response.setdefault("headers", {})[REPLAYED_HEADER] = REPLAYED
    responses["409"].setdefault("headers", {})["Retry-After"] = IN_USE_RETRY_AFTER
