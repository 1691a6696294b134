"""Every component schema of the spec says what it is and shows what it holds, truthfully: a description
on each schema, an example on each property, and every example valid against the schema it belongs to,
so that the docs and the SDKs generated from the spec never show a value the server would not send."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest

from app.cli import render_openapi

REF_PREFIX = "#/components/schemas/"
NULL = {"type": "null"}
# Where a schema holds other schemas: by name, in a list, or one.
SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
SCHEMA_ONE = ("items", "additionalProperties", "propertyNames", "contains", "not", "if", "then", "else")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(render_openapi())
    return loaded


def subschemas(schema: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """`schema` and every schema inside it, each with where it is."""
    yield where, schema
    for key in SCHEMA_MAPS:
        for name, sub in schema.get(key, {}).items():
            yield from subschemas(sub, f"{where}.{key}.{name}")
    for key in SCHEMA_LISTS:
        for index, sub in enumerate(schema.get(key, [])):
            yield from subschemas(sub, f"{where}.{key}[{index}]")
    for key in SCHEMA_ONE:
        if isinstance(schema.get(key), dict):
            yield from subschemas(schema[key], f"{where}.{key}")


class Examples:
    """Which schemas show an example: their own, or through the schemas they refer to."""

    def __init__(self, schemas: dict[str, dict[str, Any]]) -> None:
        self.schemas = schemas
        self.pending: set[str] = set()

    def of_property(self, schema: dict[str, Any]) -> bool:
        """Its own `examples` (a `const` or an `enum` is its own example), or a reference, possibly
        nullable or in an array, to a schema that shows examples."""
        if {"examples", "const", "enum"} & schema.keys():
            return True
        if schema.get("type") == "array":
            return "$ref" in schema.get("items", {}) and self.of_property(schema["items"])
        branches = [branch for branch in schema.get("anyOf", []) if branch != NULL]
        if len(branches) == 1:
            return "$ref" in branches[0] and self.of_property(branches[0])
        ref = schema.get("$ref")
        return ref is not None and self.of_component(ref.removeprefix(REF_PREFIX))

    def of_component(self, name: str) -> bool:
        if name in self.pending:  # a cycle: each schema on it is checked on its own
            return True
        self.pending.add(name)
        try:
            return not self.missing(self.schemas[name])
        finally:
            self.pending.discard(name)

    def missing(self, schema: dict[str, Any]) -> list[str]:
        """The properties of `schema` that show no example, neither their own nor in an example of
        `schema`; for a map (no properties) without examples, `schema` itself."""
        if {"const", "enum"} & schema.keys():
            return []
        if schema.get("type") == "object" and not schema.get("properties"):
            return [] if "examples" in schema else ["(the schema itself)"]
        shown = {name for example in schema.get("examples", []) for name in example}
        return [
            name
            for name, prop in schema.get("properties", {}).items()
            if name not in shown and not self.of_property(prop)
        ]


def test_every_component_schema_has_a_description(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    missing = sorted(name for name, schema in schemas.items() if not schema.get("description", "").strip())
    assert not missing, f"component schemas without a description (a docstring): {missing}"


def test_every_property_shows_an_example(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    examples = Examples(schemas)
    missing = [f"{name}.{prop}" for name, schema in schemas.items() for prop in examples.missing(schema)]
    assert not missing, f"properties without an example (Field(examples=[...])): {missing}"


def test_every_example_is_valid_against_its_schema(spec: dict[str, Any]) -> None:
    components = spec["components"]
    invalid = []
    for name, schema in components["schemas"].items():
        for where, sub in subschemas(schema, name):
            if "examples" not in sub:
                continue
            # The schema at hand, its references resolved against the spec's components.
            validator = jsonschema_rs.Draft202012Validator(
                {"allOf": [sub], "components": components}, validate_formats=True
            )
            invalid += [
                f"{where}: {example!r}: {error.message}"
                for example in sub["examples"]
                for error in validator.iter_errors(example)
            ]
    # A problem member's example comes from app/problem_examples.py (null: it has none there).
    assert not invalid, "examples that their own schema refuses:\n" + "\n".join(invalid)
