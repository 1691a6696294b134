"""The spec describes the API as a whole and every operation: servers, declared tags, descriptions, and
an explicit security requirement on each operation, empty on the public ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from app.cli import render_openapi

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(render_openapi())
    return loaded


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield f"{method.upper()} {path}", operation


def test_the_spec_names_a_relative_server(spec: dict[str, Any]) -> None:
    # Relative, so the committed spec is the same whatever PORTICO_PUBLIC_URL a deployment sets.
    servers = spec.get("servers", [])
    assert [server["url"] for server in servers] == ["/"], f"servers: {servers}"
    assert servers[0].get("description"), "the server has no description"


def test_every_operation_has_a_description(spec: dict[str, Any]) -> None:
    missing = [label for label, operation in operations(spec) if not operation.get("description", "").strip()]
    assert not missing, f"operations without a description: {missing}"


def test_every_operation_states_its_security(spec: dict[str, Any]) -> None:
    # An operation without `security` inherits the top-level one: say `security: []` for the public ones.
    missing = [label for label, operation in operations(spec) if "security" not in operation]
    assert not missing, f"operations without a security requirement or `security: []`: {missing}"
    public = sorted(label for label, operation in operations(spec) if operation["security"] == [])
    assert public == [
        "GET /healthz",
        "GET /problems",
        "GET /problems/{slug}",
        "GET /readyz",
        "GET /v1/schemas/portal-manifest.json",
        "POST /v1/webhooks/gesdent",
    ]


def test_every_tag_used_is_declared_with_a_description(spec: dict[str, Any]) -> None:
    declared = {tag["name"]: tag.get("description", "") for tag in spec.get("tags", [])}
    used = {tag for _, operation in operations(spec) for tag in operation.get("tags", [])}
    assert used <= set(declared), f"tags used but not declared: {sorted(used - set(declared))}"
    assert set(declared) <= used, f"tags declared but not used: {sorted(set(declared) - used)}"
    undescribed = [name for name, description in declared.items() if not description.strip()]
    assert not undescribed, f"tags without a description: {undescribed}"


def _has_example(schema: dict[str, Any]) -> bool:
    if "examples" in schema or "const" in schema:
        return True
    return any(_has_example(option) for option in schema.get("anyOf", []))


def test_every_field_of_a_request_body_has_an_example(spec: dict[str, Any]) -> None:
    components = spec["components"]["schemas"]

    def resolve(schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref") or next((o["$ref"] for o in schema.get("anyOf", []) if "$ref" in o), None)
        return components[ref.rsplit("/", 1)[-1]] if ref else schema

    missing = []
    for label, operation in operations(spec):
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            if not media_type.endswith("json"):
                continue
            body = resolve(content["schema"])
            body = resolve(body.get("items", body)) if body.get("type") == "array" else body
            missing += [
                f"{label} {name}"
                for name, field in body.get("properties", {}).items()
                if not _has_example(field)
            ]
    assert not missing, f"request body fields without an example: {missing}"
