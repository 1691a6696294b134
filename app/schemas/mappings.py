from __future__ import annotations

from pydantic import Field

from app.schemas.common import Input, Output, Timestamp
from app.schemas.services import ServiceCode


class MappingCreate(Input):
    """A new mapping: the member's service stands for the portal's service on the portal."""

    member_service: ServiceCode = Field(examples=["LIMPIEZA"], description="Code of the member's service.")
    portal_service: ServiceCode = Field(
        examples=["LIMP"], description="Code of the portal's service it maps to."
    )


class MappingTarget(Input):
    """The portal service a member service is to map to."""

    portal_service: ServiceCode = Field(examples=["LIMP"])


class MappingPublic(Output):
    """A mapping: which member service stands for which portal service, with their names."""

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
    added: int = Field(examples=[1], description="Mappings of member services that had none.")
    retargeted: int = Field(examples=[1], description="Mappings that now point at another portal service.")
    removed: int = Field(examples=[0], description="Mappings of member services the new set leaves out.")
    unchanged: int = Field(examples=[1])


class MappingDeleted(Output):
    """The mapping removed: the member service maps to no portal service now."""

    member_service: str = Field(examples=["LIMPIEZA"])
    deleted: bool = Field(True, examples=[True])


class SuggestionPublic(Output):
    """A portal service a member service may map to, and how alike the two are."""

    portal_service: str = Field(examples=["LIMP"])
    name: str = Field(examples=["Limpieza dental"])
    score: float = Field(ge=0, le=100, examples=[75.9], description="Similarity, 100 for the same code.")


class ServiceSuggestions(Output):
    """An unmapped service of the member, and the portal services most like it, best first."""

    member_service: str = Field(examples=["PROFILAXIS"])
    name: str = Field(examples=["Limpieza bucal"])
    suggestions: list[SuggestionPublic] = Field(
        description="At most `limit`, each scoring at least `min_score`; empty when none does."
    )


class SuggestionList(Output):
    """Mapping suggestions for every service of the member that maps to nothing yet."""

    items: list[ServiceSuggestions] = Field(description="One entry per unmapped member service, by code.")
