"""The bounds on request bodies, a mixin of app.config.Settings: every route's, the larger one of the
routes that take a whole portal at once (a manifest), and the rows of a services CSV."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class BodySettings(BaseSettings):
    max_body_bytes: int = Field(1_048_576, description="Largest accepted JSON request body.")
    max_manifest_bytes: int = Field(
        16_777_216,
        ge=1024,
        description="Largest portal manifest (POST /v1/portal-manifests/plan and /apply): a chain of "
        "200 clinics with 100 services each is about 2.5 MB.",
    )
    max_csv_rows: int = Field(
        10_000,
        ge=1,
        le=1_000_000,
        description="Most rows a services CSV import may have (the body is bounded by max_body_bytes too).",
    )
