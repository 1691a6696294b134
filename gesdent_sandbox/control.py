"""The control API, without authentication, under /_sandbox/ (outside any contract path):

GET    /_sandbox/info     seed, algorithm, today, resource ids, credentials, counts
POST   /_sandbox/faults   a FaultSpec, or a list of them, queued in order
GET    /_sandbox/faults   the queue
DELETE /_sandbox/faults   clear the queue
POST   /_sandbox/mutate   a MutationRequest; answers what changed
GET    /_sandbox/stats    counters per endpoint family, and their total
DELETE /_sandbox/stats    zero the counters
POST   /_sandbox/reset    initial data, no faults, zero counters
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gesdent_sandbox.faults import FaultSpec, Stats
from gesdent_sandbox.mutate import Mutation, MutationRequest

if TYPE_CHECKING:
    from gesdent_sandbox.app import Sandbox

CONTROL_PREFIX = "/_sandbox/"
Model = TypeVar("Model", bound=BaseModel)
_FAULT_BODY: TypeAdapter[FaultSpec | list[FaultSpec]] = TypeAdapter(FaultSpec | list[FaultSpec])


class BadBody(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


async def _body(request: Request, adapter: TypeAdapter[Any]) -> Any:
    raw = await request.body()
    try:
        return adapter.validate_json(raw or b"{}")
    except ValidationError as exc:
        errors = json.loads(exc.json(include_url=False, include_context=False))
        raise BadBody(JSONResponse({"error": "invalid_body", "errors": errors}, status_code=422)) from exc


def _guarded(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except BadBody as exc:
            return exc.response

    return run


def control_routes(sandbox: Sandbox) -> list[Route]:
    async def info(request: Request) -> Response:
        return JSONResponse(sandbox.info())

    async def add_faults(request: Request) -> Response:
        body = await _body(request, _FAULT_BODY)
        for spec in body if isinstance(body, list) else [body]:
            sandbox.faults.add(spec)
        return JSONResponse(_queue(sandbox), status_code=201)

    async def list_faults(request: Request) -> Response:
        return JSONResponse(_queue(sandbox))

    async def clear_faults(request: Request) -> Response:
        sandbox.faults.clear()
        return JSONResponse(_queue(sandbox))

    async def mutate(request: Request) -> Response:
        body = await _body(request, TypeAdapter(MutationRequest))
        return JSONResponse(Mutation(sandbox.dataset, body).run())

    async def stats(request: Request) -> Response:
        return JSONResponse(sandbox.stats.as_dict())

    async def clear_stats(request: Request) -> Response:
        sandbox.stats = Stats()
        return JSONResponse(sandbox.stats.as_dict())

    async def reset(request: Request) -> Response:
        sandbox.reset()
        return JSONResponse(sandbox.info())

    table: list[tuple[str, str, Callable[[Request], Awaitable[Response]]]] = [
        ("info", "GET", info),
        ("faults", "POST", add_faults),
        ("faults", "GET", list_faults),
        ("faults", "DELETE", clear_faults),
        ("mutate", "POST", mutate),
        ("stats", "GET", stats),
        ("stats", "DELETE", clear_stats),
        ("reset", "POST", reset),
    ]
    # Starlette keeps looking when only the method differs, so one route per (path, method) is fine.
    return [
        Route(CONTROL_PREFIX + path, _guarded(handler), methods=[method]) for path, method, handler in table
    ]


def _queue(sandbox: Sandbox) -> dict[str, Any]:
    return {"faults": [fault.as_dict() for fault in sandbox.faults.queue]}
