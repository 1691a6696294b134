"""Injected faults and request statistics.

Faults apply to authenticated requests only (after the Digest check), so the 401 challenge round
trip never consumes one and `times: N` means N client-visible failures. `wrong_credentials` instead
acts in the Digest check: the server behaves as if the family's password had changed.
`malformed_record` sends the real answer with `count` records broken from `record` on: their `field`
set to `value` (by default a birth date written `13/02/1954`), or, with `field` null, each whole
record replaced by `value`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from gesdent_sandbox.config import ENDPOINTS, Endpoint

FaultMode = Literal["5xx", "429", "slow", "drop", "malformed", "malformed_record", "wrong_credentials"]
FAULT_MODES: tuple[str, ...] = (
    "5xx",
    "429",
    "slow",
    "drop",
    "malformed",
    "malformed_record",
    "wrong_credentials",
)
MALFORMED_BODY = b'{"items": [{"id": "P-1", "first_name": "Luc\xc3\xada", "last_name": '


class FaultSpec(BaseModel):
    """Body of POST /_sandbox/faults."""

    model_config = ConfigDict(extra="forbid")

    mode: FaultMode
    # How many upcoming matching requests it affects; null = until cleared. Default 1, except
    # wrong_credentials, which lasts until cleared (a changed password does not heal by itself).
    times: int | None = Field(1, ge=1)
    endpoint: Endpoint | None = None  # null = every endpoint family
    retry_after: int = Field(1, ge=0, description="Retry-After seconds, for 429")
    delay: float = Field(1.0, ge=0, le=300, description="seconds before answering, for slow")
    status: Literal[500, 502, 503] = 503
    record: int = Field(0, ge=0, description="for malformed_record: the first record broken, from 0")
    count: int = Field(1, ge=1, description="for malformed_record: how many records are broken")
    field: str | None = Field(
        "birth_date", description="for malformed_record: the field broken; null: the whole record"
    )
    value: JsonValue = Field("13/02/1954", description="for malformed_record: what it becomes")

    @model_validator(mode="after")
    def _credentials_last(self) -> FaultSpec:
        if self.mode == "wrong_credentials" and "times" not in self.model_fields_set:
            self.times = None
        return self


@dataclass
class Fault:
    spec: FaultSpec
    remaining: int | None

    def matches(self, endpoint: Endpoint) -> bool:
        return self.spec.endpoint in (None, endpoint)

    def as_dict(self) -> dict[str, Any]:
        return {**self.spec.model_dump(), "remaining": self.remaining}


class Faults:
    def __init__(self) -> None:
        self.queue: list[Fault] = []

    def add(self, spec: FaultSpec) -> Fault:
        fault = Fault(spec, spec.times)
        self.queue.append(fault)
        return fault

    def clear(self) -> None:
        self.queue.clear()

    def take(self, endpoint: Endpoint) -> Fault | None:
        """The first queued fault (other than wrong_credentials) for this request, consumed once."""
        for fault in self.queue:
            if fault.spec.mode != "wrong_credentials" and fault.matches(endpoint):
                return self._consume(fault)
        return None

    def credentials_revoked(self, endpoint: Endpoint, attempted: bool) -> bool:
        """Whether this family's password has "changed"; an attempt (a request carrying an
        Authorization header) consumes one of a limited fault."""
        for fault in self.queue:
            if fault.spec.mode == "wrong_credentials" and fault.matches(endpoint):
                if attempted:
                    self._consume(fault)
                return True
        return False

    def _consume(self, fault: Fault) -> Fault:
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining == 0:
                self.queue.remove(fault)
        return fault


@dataclass
class Counters:
    requests: int = 0  # every request to the family, challenged or not
    challenges: int = 0  # 401 answers carrying a Digest challenge
    ok: int = 0  # 2xx answers
    items: int = 0  # list items, slots or resources in 2xx answers
    errors: int = 0  # 4xx other than 401, and answers to bad parameters
    faults: int = 0  # answers shaped by an injected fault


@dataclass
class Stats:
    families: dict[str, Counters] = field(default_factory=lambda: {name: Counters() for name in ENDPOINTS})

    def __getitem__(self, endpoint: Endpoint) -> Counters:
        return self.families[endpoint]

    def as_dict(self) -> dict[str, dict[str, int]]:
        per_family = {name: asdict(counters) for name, counters in self.families.items()}
        total = {key: sum(c[key] for c in per_family.values()) for key in asdict(Counters())}
        return {**per_family, "total": total}


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def fault_response(fault: Fault) -> Response | None:
    """The answer a fault replaces the real one with; None when the real answer goes out (slow, drop)."""
    spec = fault.spec
    if spec.mode == "5xx":
        return error_response(spec.status, "server_error", "injected server error")
    if spec.mode == "429":
        return error_response(
            429, "throttled", "too many requests", headers={"Retry-After": str(spec.retry_after)}
        )
    if spec.mode == "malformed":
        return Response(MALFORMED_BODY, status_code=200, media_type="application/json")
    return None


def break_records(payload: Any, spec: FaultSpec) -> Any:
    """The answer with its records `spec.record` to `spec.record + spec.count - 1` broken (a copy:
    the dataset's items stay as they are). A list's records are its `items` or `slots`; a resource
    answer is one record."""
    records_key = next((key for key in ("items", "slots") if isinstance(payload.get(key), list)), None)
    if records_key is None:
        return _broken(payload, spec) if spec.record == 0 else payload
    records = list(payload[records_key])
    for index in range(spec.record, min(spec.record + spec.count, len(records))):
        records[index] = _broken(records[index], spec)
    return {**payload, records_key: records}


def _broken(record: dict[str, Any], spec: FaultSpec) -> Any:
    return spec.value if spec.field is None else {**record, spec.field: spec.value}


class DroppedResponse(Response):
    """Announces the whole body, sends half of it, then returns without finishing: the server
    closes the connection and the client sees the body cut short."""

    def __init__(self, body: bytes) -> None:
        super().__init__(body, status_code=200, media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send(
            {"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True}
        )


class _DroppedResponseFilter(logging.Filter):
    """uvicorn logs an error when an app leaves a response unfinished; here that is the point."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


_FILTER = _DroppedResponseFilter()


def quiet_dropped_responses() -> None:
    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
