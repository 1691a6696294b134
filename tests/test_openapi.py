"""The committed OpenAPI spec is current, and follows the conventions of DESIGN.md §3."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.cli import render_openapi

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"
PROBLEM_JSON = "application/problem+json"
PUBLIC_PATHS = {"/healthz", "/readyz", "/problems", "/problems/{slug}"}
SIGNED_PATHS = {"/v1/webhooks/gesdent"}  # Standard Webhooks signature instead of a key
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
OPERATION_ID = re.compile(r"^[a-z_]+$")


@pytest.fixture(scope="module")
def rendered() -> str:
    return render_openapi()


@pytest.fixture(scope="module")
def spec(rendered: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(rendered)
    return loaded


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method.upper(), operation


def test_committed_spec_is_current(rendered: str) -> None:
    committed = SPEC_PATH.read_text(encoding="utf-8") if SPEC_PATH.exists() else ""
    assert committed == rendered, (
        "openapi/openapi.json is stale: the API changed but the committed spec did not. "
        "Run `make openapi` and commit the result."
    )


def test_every_operation_has_a_stable_snake_case_id(spec: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for path, method, operation in operations(spec):
        label = f"{method} {path}"
        operation_id = operation.get("operationId")
        assert operation_id, f"{label} has no operationId"
        assert OPERATION_ID.fullmatch(operation_id), f"{label}: operationId {operation_id!r} is not ^[a-z_]+$"
        assert operation_id not in seen, (
            f"{label} and {seen[operation_id]} share the operationId {operation_id!r}"
        )
        seen[operation_id] = label


def test_every_operation_declares_its_errors_as_problems(spec: dict[str, Any]) -> None:
    schemas = spec.get("components", {}).get("schemas", {})
    assert "Problem" in schemas, "components.schemas has no Problem"
    for path, method, operation in operations(spec):
        if path in PUBLIC_PATHS:
            continue
        label = f"{method} {path}"
        errors = {status: r for status, r in operation["responses"].items() if status[0] in "45"}
        assert errors, f"{label} declares no error responses"
        assert "401" in errors, f"{label} needs a key but does not declare 401"
        if "requestBody" in operation:
            # An unparseable body (400), one over the size limit (413), an invalid one (422).
            missing = {"400", "413", "422"} - set(errors)
            assert not missing, f"{label} takes a body but does not declare {sorted(missing)}"
        for status, response in errors.items():
            content = response.get("content", {})
            # A page for people (it takes HTTP Basic) answers a browser's errors as pages too.
            page = {"_PageBasic": []} in operation["security"]
            assert list(content) == [PROBLEM_JSON, "text/html"] if page else [PROBLEM_JSON], (
                f"{label} {status}: error content must be {PROBLEM_JSON} (and a page), got {sorted(content)}"
            )
            schema = content[PROBLEM_JSON].get("schema", {})
            refs = [schema] if "$ref" in schema else schema.get("oneOf", [])
            assert refs, f"{label} {status}: neither a $ref nor a oneOf of problem types: {schema}"
            types = {}
            for ref in refs:
                name = ref["$ref"].removeprefix("#/components/schemas/")
                assert name.endswith("Problem"), f"{label} {status}: {ref}"
                assert name in schemas, f"{label} {status}: {ref}"
                problem = schemas[name]["properties"]
                assert problem["status"].get("const", int(status)) == int(status), (
                    f"{label}: {name} in {status}"
                )
                types[problem["type"]["const"]] = ref["$ref"]
            if len(refs) > 1:
                assert schema["discriminator"] == {"propertyName": "type", "mapping": types}, label


def test_every_operation_but_the_probes_needs_a_bearer_key(spec: dict[str, Any]) -> None:
    schemes = spec.get("components", {}).get("securitySchemes", {})
    bearer = {name for name, s in schemes.items() if s.get("type") == "http" and s.get("scheme") == "bearer"}
    assert bearer, "no HTTP bearer security scheme in components.securitySchemes"
    global_security = spec.get("security")
    for path, method, operation in operations(spec):
        label = f"{method} {path}"
        security = operation.get("security", global_security) or []
        if path in PUBLIC_PATHS:
            assert not security, f"{label} is a probe and must not need a key, has {security}"
            continue
        if path in SIGNED_PATHS:
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= headers, label
            assert not security, f"{label} is authenticated by its signature, not a key"
            continue
        assert any(set(requirement) & bearer for requirement in security), (
            f"{label} has no bearer security requirement (security: {security})"
        )
