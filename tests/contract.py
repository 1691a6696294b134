"""Every answer the API tests receive is checked against the spec, as a generated client would read it.

The test clients (tests/conftest.py) call `check` on each response: the operation must declare its
status (or a `default`); a body must come in a media type that status declares; a JSON body must
validate against the declared schema, `$ref`s resolved in the spec's components; and every header
the spec marks required must be there. So the hundreds of API tests, which reach the odd corners
(cascades, 409s, 412s, CSV, pages), prove the spec tells the truth about each answer they see.

Requests to no operation of the spec (pages and routes outside it, `OPTIONS`, a method the path
does not take, `HEAD`) are not checked: there is nothing to check them against.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
import jsonschema_rs

from app.main import create_app


@dataclass(frozen=True)
class _Operation:
    label: str
    responses: dict[str, Any]


@functools.cache
def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = create_app().openapi()
    return spec


@functools.cache
def _operations() -> list[tuple[re.Pattern[str], str, _Operation]]:
    found = []
    for path, item in _spec()["paths"].items():
        pattern = re.compile(
            "^" + re.sub(r"\{[^}]+\}", "[^/]+", re.escape(path).replace(r"\{", "{").replace(r"\}", "}")) + "$"
        )
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                found.append(
                    (pattern, method.upper(), _Operation(f"{method.upper()} {path}", operation["responses"]))
                )
    # A literal segment wins over a parameter (`/services/export` over `/services/{code}`).
    found.sort(key=lambda entry: entry[0].pattern.count("[^/]+"))
    return found


def _operation(method: str, path: str) -> _Operation | None:
    for pattern, verb, operation in _operations():
        if verb == method and pattern.match(path):
            return operation
    return None


@functools.cache
def _validator(schema_json: str) -> jsonschema_rs.Draft202012Validator:
    schema = json.loads(schema_json)
    return jsonschema_rs.Draft202012Validator({**schema, "components": _spec()["components"]})


def _resolve(entry: dict[str, Any], kind: str) -> dict[str, Any]:
    ref = entry.get("$ref")
    if ref is None:
        return entry
    resolved: dict[str, Any] = _spec()["components"][kind][ref.rsplit("/", 1)[-1]]
    return resolved


def problems(response: httpx.Response) -> list[str]:
    """What in `response` the spec does not declare (empty when it conforms)."""
    request = response.request
    operation = _operation(request.method, request.url.path)
    if operation is None:
        return []
    label = f"{operation.label} → {response.status_code}"
    declared = operation.responses.get(str(response.status_code), operation.responses.get("default"))
    if declared is None:
        return [f"{label}: status not declared (declared: {sorted(operation.responses)})"]
    found = []
    for name, header in declared.get("headers", {}).items():
        if _resolve(header, "headers").get("required") and name.lower() not in response.headers:
            found.append(f"{label}: required header {name} missing")
    content = declared.get("content", {})
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if not content:
        if response.content and response.status_code != 304:
            found.append(f"{label}: a body ({media_type}) where the spec declares none")
        return found
    if media_type not in content:
        return [*found, f"{label}: content type {media_type!r} not declared ({sorted(content)})"]
    schema = content[media_type].get("schema")
    if schema is not None and (media_type == "application/json" or media_type.endswith("+json")):
        errors = [
            str(error)
            for error in _validator(json.dumps(schema, sort_keys=True)).iter_errors(response.json())
        ]
        found += [f"{label}: {error}" for error in errors[:3]]
    return found


async def check(response: httpx.Response) -> None:
    """httpx response hook: fail the test on an answer the spec does not describe."""
    await response.aread()
    wrong = problems(response)
    assert not wrong, "the answer contradicts the spec:\n" + "\n".join(wrong)
