"""The four contract endpoints, as functions from (dataset, request) to (JSON payload, item count).
Authentication, faults and statistics are the caller's business (see app.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from starlette.requests import Request

from gesdent_sandbox.availability import MAX_WINDOW_DAYS, free_slots
from gesdent_sandbox.dataset import Dataset
from gesdent_sandbox.streams import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    BadCursor,
    Stream,
    decode_cursor,
    encode_cursor,
    parse_since,
    public,
)

RESOURCE_ID = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")

Payload = dict[str, Any]
Producer = Callable[[Dataset, Request], tuple[Payload, int]]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def bad_request(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


def _resource(dataset: Dataset, value: str | None, name: str = "resource_id") -> str:
    if not value:
        raise bad_request(f"{name} is required")
    if not RESOURCE_ID.match(value):
        raise bad_request(f"{name} must be upper-case letters and digits in hyphen-separated groups")
    if value not in dataset.resource_by_id:
        raise ApiError(404, "not_found", f"unknown resource {value}")
    return value


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise bad_request(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def _page(stream: Stream, request: Request) -> tuple[Payload, int]:
    """One page: updated_at >= updated_since, after the cursor if any, ordered by (updated_at, id)."""
    params = request.query_params
    limit = _limit(request)
    since = None
    if params.get("updated_since"):
        try:
            since = parse_since(params["updated_since"])
        except ValueError as exc:
            raise bad_request(str(exc)) from exc
    after = None
    if params.get("cursor"):
        try:
            after = decode_cursor(params["cursor"])
        except BadCursor as exc:
            raise bad_request(str(exc)) from exc
    items, resume = stream.page(since, after, limit)
    next_cursor = encode_cursor(resume) if resume is not None else None
    return {"items": [public(item) for item in items], "next_cursor": next_cursor}, len(items)


def get_resource(dataset: Dataset, request: Request) -> tuple[Payload, int]:
    resource_id = _resource(dataset, request.path_params["resource_id"])
    return public(dataset.resource_by_id[resource_id]), 1


def list_users(dataset: Dataset, request: Request) -> tuple[Payload, int]:
    return _page(dataset.tables.users, request)


def list_reservations(dataset: Dataset, request: Request) -> tuple[Payload, int]:
    # Without resource_id: the reservations of every resource (the contract always sends one).
    value = request.query_params.get("resource_id")
    if value is None:
        return _page(dataset.tables.reservations, request)
    return _page(dataset.tables.reservations_by_resource[_resource(dataset, value)], request)


def _date(request: Request, name: str) -> date:
    value = request.query_params.get(name)
    if not value:
        raise bad_request(f"{name} is required (YYYY-MM-DD)")
    try:
        if len(value) != len("YYYY-MM-DD"):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError as exc:
        raise bad_request(f"{name} must be a date, YYYY-MM-DD") from exc


def get_availability(dataset: Dataset, request: Request) -> tuple[Payload, int]:
    resource_id = _resource(dataset, request.query_params.get("resource_id"))
    first, last = _date(request, "from"), _date(request, "to")
    if last < first:
        raise bad_request("to must not be before from")
    if (last - first).days + 1 > MAX_WINDOW_DAYS:
        raise bad_request(f"the window may span at most {MAX_WINDOW_DAYS} days")
    slots = free_slots(dataset, resource_id, first, last)
    payload = {"resource_id": resource_id, "from": first.isoformat(), "to": last.isoformat(), "slots": slots}
    return payload, len(slots)
