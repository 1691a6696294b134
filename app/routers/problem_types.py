"""The problem types: every `type` URI a problem carries answers a short description of the problem and
how to fix it, as a page for a browser and as JSON for anything else."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, TypeAdapter

from app.domain.conflicts import AlreadyMapped
from app.domain.errors import NotFound, PorticoError
from app.negotiation import JSON, vary_on, wants_html
from app.openapi_contract import raises
from app.pages.render import page
from app.problem_schemas import problem_types, schema_name, type_uri

router = APIRouter(tags=["problems"])
_HTML = {"text/html": {"schema": {"type": "string"}}}


class ProblemMember(BaseModel):
    """A member a problem type's body carries beyond `type`, `title`, `status` and `detail`."""

    name: str = Field(examples=["existing_portal_service"])
    description: str = Field(examples=["The portal service it maps to now."])
    always: bool = Field(examples=[True], description="Whether every occurrence of the problem carries it.")


class ProblemType(BaseModel):
    """A problem type: what it means, what to do about it, and the members its body carries."""

    type: str = Field(examples=["/problems/already-mapped"])
    title: str = Field(examples=["The member service already maps to another portal service"])
    status: int = Field(examples=[409], description="The HTTP status it comes with (400 for `http-error`).")
    description: str = Field(examples=[AlreadyMapped.description()], description="When it happens.")
    fix: str = Field(examples=[AlreadyMapped.fix], description="How to fix it.")
    schema_name: str = Field(
        examples=["AlreadyMappedProblem"], description="Its schema in the OpenAPI spec's components."
    )
    members: list[ProblemMember]


def _described(kind: type[PorticoError]) -> ProblemType:
    return ProblemType(
        type=type_uri(kind),
        title=kind.title,
        status=kind.status,
        description=kind.description(),
        fix=kind.fix,
        schema_name=schema_name(kind),
        members=[
            ProblemMember(name=name, description=member.description, always=not member.optional)
            for name, member in kind.extension_members().items()
        ],
    )


TYPES = {kind.slug: _described(kind) for kind in problem_types()}


_LIST = TypeAdapter(list[ProblemType])


def _answer(request: Request, template: str, json: bytes, **context: Any) -> Response:
    """The page for a browser, the JSON for anything else: the answer depends on `Accept`."""
    response = page(request, template, **context) if wants_html(request) else Response(json, media_type=JSON)
    vary_on(response.headers, "Accept")
    return response


@router.get(
    "/problems",
    operation_id="problem_types_list",
    response_model=list[ProblemType],
    responses={200: {"description": "Every problem type", "content": _HTML}},
)
async def list_problem_types(request: Request) -> Response:
    """Every problem type Portico answers with (JSON, or a page for a browser)."""
    return _answer(request, "problem_types.html", _LIST.dump_json(list(TYPES.values())), types=TYPES.values())


@router.get(
    "/problems/{slug}",
    operation_id="problem_types_get",
    response_model=ProblemType,
    responses={200: {"description": "The problem type", "content": _HTML}},
)
@raises(NotFound)
async def get_problem_type(
    request: Request,
    slug: Annotated[str, Path(pattern=r"^[a-z]+(-[a-z]+)*$", max_length=100, examples=["already-mapped"])],
) -> Response:
    """What a problem `type` means and how to fix it: the URI in a problem's `type` answers this."""
    found = TYPES.get(slug)
    if found is None:
        raise NotFound(f"There is no problem type {slug}; GET /problems lists them.")
    return _answer(request, "problem_type.html", found.model_dump_json().encode(), problem=found)
