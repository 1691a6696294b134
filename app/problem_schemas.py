"""The problem types as the spec shows them: a `Problem` schema (what every problem has) and one schema
per type of `app/domain/errors.py` and `app/domain/conflicts.py`, with its `type` and `status` as
constants, its extension members typed, and examples the server could send (app/problem_examples.py).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from app.domain import conflicts, errors, idempotency, manifest_problems
from app.domain.errors import HttpError, PorticoError
from app.problem_examples import OBJECTS, REQUEST_ID, member_example

REF = "#/components/schemas/{model}"
REQUEST_ID_DESCRIPTION = (
    "The id of the request, as the `X-Request-ID` header of the answer gives it: every log line of "
    "the request carries it; quote it to the operator."
)


class Problem(BaseModel):
    """An RFC 9457 problem. `type` is stable: branch on it, not on `title` or `detail`. Each type has
    its own schema (e.g. `NotFoundProblem`) with the extension members it carries."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/not-found",
                    "title": "Not found",
                    "status": 404,
                    "detail": "Instance tt_clinic_nort not found. Did you mean tt_clinic_north?",
                    "request_id": REQUEST_ID,
                }
            ]
        },
    )

    type: str = Field(description="A URI reference naming the problem type; it answers a page about it.")
    title: str = Field(description="A short summary of the problem type, the same for every occurrence.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(None, description="What went wrong this time, for people.")
    request_id: str = Field(description=REQUEST_ID_DESCRIPTION, examples=[REQUEST_ID])


DEFINED_IN = (errors, conflicts, idempotency, manifest_problems)


def problem_types() -> list[type[PorticoError]]:
    """Every problem type, the base first: the subclasses of PorticoError the modules that define them
    (`DEFINED_IN`, imported here) declare."""
    found: list[type[PorticoError]] = []
    pending: list[type[PorticoError]] = [PorticoError]
    while pending:
        kind = pending.pop(0)
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return found


def schema_name(kind: type[PorticoError]) -> str:
    return "".join(part.capitalize() for part in kind.slug.split("-")) + "Problem"


def type_uri(kind: type[PorticoError]) -> str:
    return f"/problems/{kind.slug}"


def problem_schemas() -> dict[str, dict[str, Any]]:
    """The `Problem` schema, one per problem type, and the schemas their members use."""
    schemas = {"Problem": Problem.model_json_schema(ref_template=REF, mode="serialization")}
    for kind in problem_types():
        properties: dict[str, Any] = {
            "type": {"type": "string", "const": type_uri(kind), "description": "The problem type."},
            "title": {"type": "string", "examples": [kind.title]},
            # An HttpError has the status of the framework's error it stands for.
            "status": {"type": "integer"} if kind is HttpError else {"type": "integer", "const": kind.status},
            "detail": {"type": "string", "description": "What went wrong this time, for people."},
            "request_id": {"type": "string", "description": REQUEST_ID_DESCRIPTION, "examples": [REQUEST_ID]},
        }
        required = ["type", "title", "status", "request_id"]
        example = {"type": type_uri(kind), "title": kind.title, "status": kind.status, "detail": kind.fix}
        for name, member in kind.extension_members().items():
            member_schema = TypeAdapter(member.type).json_schema(ref_template=REF)
            schemas.update(member_schema.pop("$defs", {}))
            shown = member_example(kind, name)
            properties[name] = {**member_schema, "description": member.description, "examples": [shown]}
            if not member.optional:
                required.append(name)
                example[name] = shown
        example["request_id"] = REQUEST_ID
        schemas[schema_name(kind)] = {
            "title": schema_name(kind),
            "description": f"{kind.description()} {kind.fix}",
            "type": "object",
            "properties": properties,
            "required": required,
            "examples": [example],
        }
    for name, objects in OBJECTS.items():  # what the members hold (FieldError, ...)
        schemas[name]["examples"] = objects
    return schemas
