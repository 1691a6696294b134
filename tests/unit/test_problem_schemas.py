"""What the spec says of each problem type is what the server sends: every type's body, with each of its
members, validates against the schema the spec declares for it, and a problem raised with a member
its type does not declare (or without one it promises) is refused at once."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import NotFound, PorticoError, PreconditionFailed, ValidationFailed
from app.main import create_app
from app.problem_schemas import problem_types, schema_name
from app.problems import error_response

SPEC = create_app().openapi()
KINDS = problem_types()


def _validator(kind: type[PorticoError]) -> jsonschema_rs.Draft202012Validator:
    # The spec's components travel with the schema, so that its `$ref`s resolve.
    schema = {"$ref": f"#/components/schemas/{schema_name(kind)}", "components": SPEC["components"]}
    return jsonschema_rs.Draft202012Validator(schema)


def _members(kind: type[PorticoError], data: st.DataObject) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for name, member in kind.extension_members().items():
        if member.optional and not data.draw(st.booleans()):
            continue
        members[name] = data.draw(st.from_type(member.type))
    return members


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.slug)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_every_problem_body_matches_its_schema(kind, data):
    members = _members(kind, data)
    if issubclass(kind, ValidationFailed):
        error: PorticoError = kind("Invalid.", members.pop("errors"))
    else:
        error = kind("What went wrong.", **members)

    body = json.loads(bytes(error_response(error).body))

    _validator(kind).validate(body)
    assert body["type"] == f"/problems/{kind.slug}"


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.slug)
def test_no_other_type_validates_a_problem_body(kind):
    body = {"type": f"/problems/{kind.slug}", "title": kind.title, "status": kind.status}
    others = [other for other in KINDS if other is not kind and _validator(other).is_valid(body)]
    assert not others


def test_a_member_the_type_does_not_declare_is_a_programming_error():
    with pytest.raises(TypeError, match="undeclared members \\['instance_name'\\]"):
        NotFound("Gone.", instance_name="tt_x")
    with pytest.raises(TypeError, match="missing \\['errors'\\]"):
        PorticoError.__init__(ValidationFailed.__new__(ValidationFailed), "Invalid.")
    PreconditionFailed("Stale.")  # `etag` is absent when the resource does not exist
