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
PUBLIC_PATHS = {"/healthz", "/readyz", "/problems", "/problems/{slug}", "/v1/schemas/portal-manifest.json"}
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


# JSON Schema 2020-12's keywords, and the few OpenAPI 3.1 adds. A constraint under any other name is
# one that no validator or generator reads: pydantic writes bounds that come after a validator in an
# `Annotated` as `ge` and `le`, which the server enforces but clients never hear of.
SCHEMA_KEYWORDS = frozenset(
    {
        "$ref",
        "$defs",
        "$schema",
        "$id",
        "$comment",
        "type",
        "enum",
        "const",
        "format",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "items",
        "prefixItems",
        "contains",
        "minContains",
        "maxContains",
        "minItems",
        "maxItems",
        "uniqueItems",
        "properties",
        "patternProperties",
        "additionalProperties",
        "propertyNames",
        "required",
        "dependentRequired",
        "dependentSchemas",
        "minProperties",
        "maxProperties",
        "unevaluatedItems",
        "unevaluatedProperties",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "contentMediaType",
        "contentEncoding",
        "contentSchema",
        "discriminator",
        "xml",
        "externalDocs",
        "example",
    }
)
_SUBSCHEMA = ("items", "not", "additionalProperties", "propertyNames", "contains", "if", "then", "else")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")


def _schemas(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema of the spec's components, parameters, bodies and responses, with where it is."""
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        yield f"components.schemas.{name}", schema
    for path, method, operation in operations(spec):
        label = f"{method} {path}"
        for parameter in operation.get("parameters", []):
            yield f"{label} parameter {parameter['name']}", parameter.get("schema", {})
        bodies = [("request", operation.get("requestBody", {}))]
        bodies += [(f"response {status}", response) for status, response in operation["responses"].items()]
        for where, body in bodies:
            for media_type, content in body.get("content", {}).items():
                yield f"{label} {where} {media_type}", content.get("schema", {})
            for header, declared in body.get("headers", {}).items():
                yield f"{label} {where} header {header}", declared.get("schema", {})


def _keywords(where: str, schema: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for keyword, value in schema.items():
        yield where, keyword
        if keyword in _SUBSCHEMA and isinstance(value, dict):
            yield from _keywords(f"{where}.{keyword}", value)
        elif keyword in _SUBSCHEMA_MAPS:
            for name, sub in value.items():
                yield from _keywords(f"{where}.{keyword}.{name}", sub)
        elif keyword in ("allOf", "anyOf", "oneOf", "prefixItems"):
            for index, sub in enumerate(value):
                yield from _keywords(f"{where}.{keyword}[{index}]", sub)


def test_every_schema_speaks_json_schema(spec: dict[str, Any]) -> None:
    unknown = [
        f"{where}: {keyword}"
        for location, schema in _schemas(spec)
        for where, keyword in _keywords(location, schema)
        if keyword not in SCHEMA_KEYWORDS
    ]
    assert not unknown, "keywords no JSON Schema tool reads:\n" + "\n".join(unknown)
