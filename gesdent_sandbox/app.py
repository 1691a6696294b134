"""The sandbox as a Starlette app: the contract endpoints behind Digest, faults and statistics, plus
the control API under /_sandbox/."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gesdent_sandbox import api
from gesdent_sandbox.config import CREDENTIAL_OF, Credential, Endpoint, SandboxConfig
from gesdent_sandbox.control import control_routes
from gesdent_sandbox.dataset import Dataset
from gesdent_sandbox.digest import DigestAuthority, Verdict
from gesdent_sandbox.faults import (
    DroppedResponse,
    Faults,
    Stats,
    break_records,
    error_response,
    fault_response,
    quiet_dropped_responses,
)

Handler = Callable[[Request], Awaitable[Response]]


class Sandbox:
    """The state behind one sandbox app: data, faults, statistics, Digest nonces."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.dataset = Dataset(config)
        self.credentials = config.credentials
        self.faults = Faults()
        self.stats = Stats()
        self.digest = DigestAuthority(
            config.algorithm, config.nonce_lifetime_seconds, per_user=config.nonce_per_user
        )

    def reset(self) -> None:
        """Initial data, no faults, zero counters. Issued nonces stay valid: clients need not re-auth."""
        self.dataset.reset()
        self.faults.clear()
        self.stats = Stats()

    def credential(self, endpoint: Endpoint) -> Credential:
        return self.credentials[CREDENTIAL_OF[endpoint]]

    def info(self) -> dict[str, Any]:
        return {
            "seed": self.config.seed,
            "algorithm": self.config.algorithm,
            "path_prefix": self.config.path_prefix,
            "today": self.dataset.today.isoformat(),
            "resource_ids": self.dataset.resource_ids,
            "credentials": {family: str(credential) for family, credential in self.credentials.items()},
            "counts": {
                "patients": len(self.dataset.tables.user_by_id),
                "reservations": len(self.dataset.tables.reservation_by_id),
            },
        }


def _target(request: Request) -> str:
    """The request-target as the client sent it: what a Digest `uri` must equal."""
    path: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    query: bytes = request.scope.get("query_string", b"")
    return (path + (b"?" + query if query else b"")).decode("latin-1")


def _authenticate(sandbox: Sandbox, endpoint: Endpoint, request: Request) -> Response | None:
    """None when the request carries a valid Digest answer, else the 401 challenge to send."""
    header = request.headers.get("authorization")
    if sandbox.faults.credentials_revoked(endpoint, attempted=header is not None):
        verdict = Verdict.REJECTED
    else:
        verdict = sandbox.digest.verify(
            request.method, _target(request), header, sandbox.credential(endpoint)
        )
    if verdict is Verdict.ACCEPTED:
        return None
    challenge = sandbox.digest.challenge(stale=verdict is Verdict.STALE)
    return error_response(
        401, "unauthorized", "Digest authentication required", headers={"WWW-Authenticate": challenge}
    )


def contract_handler(sandbox: Sandbox, endpoint: Endpoint, produce: api.Producer) -> Handler:
    async def handle(request: Request) -> Response:
        counters = sandbox.stats[endpoint]
        counters.requests += 1
        challenge = _authenticate(sandbox, endpoint, request)
        if challenge is not None:
            counters.challenges += 1
            return challenge
        fault = sandbox.faults.take(endpoint)
        if fault is not None:
            counters.faults += 1
            if fault.spec.mode == "slow":
                await asyncio.sleep(fault.spec.delay)
            replaced = fault_response(fault)
            if replaced is not None:
                return replaced
        try:
            payload, count = produce(sandbox.dataset, request)
        except api.ApiError as exc:
            counters.errors += 1
            return error_response(exc.status, exc.code, exc.message)
        if fault is not None and fault.spec.mode == "malformed_record":
            payload = break_records(payload, fault.spec)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        if fault is not None and fault.spec.mode == "drop":
            return DroppedResponse(body)
        counters.ok += 1
        counters.items += count
        return Response(body, media_type="application/json")

    return handle


def contract_routes(sandbox: Sandbox) -> list[Route]:
    prefix = sandbox.config.path_prefix
    endpoints: list[tuple[str, Endpoint, api.Producer]] = [
        ("resources/{resource_id}", "resources", api.get_resource),
        ("users", "users", api.list_users),
        ("reservations", "reservations", api.list_reservations),
        ("availability", "availability", api.get_availability),
    ]
    return [
        Route(prefix + path, contract_handler(sandbox, endpoint, produce), methods=["GET"])
        for path, endpoint, produce in endpoints
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


def create_sandbox_app(config: SandboxConfig | None = None) -> Starlette:
    """The sandbox app; its state is `app.state.sandbox` (a `Sandbox`)."""
    quiet_dropped_responses()
    sandbox = Sandbox(config or SandboxConfig())
    app = Starlette(
        routes=[*contract_routes(sandbox), *control_routes(sandbox)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.sandbox = sandbox
    return app
