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
    portal: str = Field(examples=["tt_portal_sanitas"])
    member: str = Field(examples=["tt_clinic_north"])
    member_service: str = Field(examples=["LIMP"])
    member_service_name: str = Field(examples=["Limpieza"])
    portal_service: str = Field(examples=["LIMP"])
    portal_service_name: str = Field(examples=["Limpieza dental"])
    created_at: Timestamp = Field(examples=["2026-12-01T02:22:04.134805Z"])


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
