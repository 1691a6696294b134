from __future__ import annotations

from pydantic import Field

from app.schemas.common import Input, Output, Timestamp
from app.schemas.services import ServiceCode


class MappingCreate(Input):
    member_service: ServiceCode = Field(description="Code of the member's service.")
    portal_service: ServiceCode = Field(description="Code of the portal's service it maps to.")


class MappingTarget(Input):
    portal_service: ServiceCode


class MappingPublic(Output):
    portal: str
    member: str
    member_service: str
    member_service_name: str
    portal_service: str
    portal_service_name: str
    created_at: Timestamp


class MappingsReplaced(Output):
    """The member's new set of mappings, and what changed to get there."""

    items: list[MappingPublic]
    added: int
    retargeted: int
    removed: int
    unchanged: int


class MappingDeleted(Output):
    member_service: str
    deleted: bool = True


class SuggestionPublic(Output):
    portal_service: str
    name: str
    score: float = Field(ge=0, le=100, description="Similarity, 100 for the same code.")


class ServiceSuggestions(Output):
    member_service: str
    name: str
    suggestions: list[SuggestionPublic]


class SuggestionList(Output):
    items: list[ServiceSuggestions] = Field(description="One entry per unmapped member service, by code.")
