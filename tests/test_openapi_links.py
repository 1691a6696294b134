"""The spec's links lead somewhere real: each names an operation, gives every path parameter it needs,
and takes its values from fields the producing answer has. A link that half-fills a target (the
code of a service left out) or reads a field that is not there is worse than none: the tools that
follow it send made-up values and report the 404s as the API's fault."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from app.cli import render_openapi
from app.openapi_links import LINKS

EXPRESSION = re.compile(
    r"^\$(?:response\.body#(?P<pointer>/.*)|request\.path\.(?P<path>\w+)|response\.header\.ETag)$"
)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(render_openapi())
    return loaded


def _operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        operation["operationId"]: operation
        for item in spec["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _has_field(spec: dict[str, Any], schema: dict[str, Any], pointer: str) -> bool:
    """Whether every object the answer's schema allows has the field at `pointer`."""
    for name in pointer.strip("/").split("/"):
        schema = _resolve(spec, schema)
        if name not in schema.get("required", []):
            return False
        schema = schema["properties"][name]
    return True


def _links(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str, dict[str, Any]]]:
    for operation_id, operation in _operations(spec).items():
        for status, answer in operation["responses"].items():
            for name, link in answer.get("links", {}).items():
                yield f"{operation_id} {status} → {name}", operation, status, link


def test_the_table_is_in_the_spec(spec):
    declared = sum(1 for _ in _links(spec))
    assert declared == sum(len(links) for links in LINKS.values())
    assert declared > 40


def test_every_link_fills_its_target_from_the_answer(spec):
    operations = _operations(spec)
    for label, producer, status, link in _links(spec):
        target = operations[link["operationId"]]
        parameters = {f"{p['in']}.{p['name']}": p for p in target.get("parameters", [])}
        required = {key for key, p in parameters.items() if p["in"] == "path"}
        assert required <= set(link["parameters"]), f"{label} leaves out {required - set(link['parameters'])}"
        answer = producer["responses"][status]["content"]["application/json"]["schema"]
        producer_paths = {p["name"] for p in producer.get("parameters", []) if p["in"] == "path"}
        values = {**link["parameters"], **{f"body.{k}": v for k, v in link.get("requestBody", {}).items()}}
        for key, expression in values.items():
            if not key.startswith("body."):
                assert key in parameters, f"{label}: {link['operationId']} has no parameter {key}"
            match = EXPRESSION.match(expression)
            assert match, f"{label}: {expression}"
            if match["pointer"]:
                assert _has_field(spec, answer, match["pointer"]), f"{label}: the answer has no {expression}"
            if match["path"]:
                assert match["path"] in producer_paths, f"{label}: the request has no {expression}"
