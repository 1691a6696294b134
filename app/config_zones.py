"""The time zone setting (`PORTICO_DEFAULT_TIMEZONE`), a mixin of app.config.Settings: the zone an
instance gets when its create names none."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from app.domain.time_zones import DEFAULT_TIME_ZONE, zone


class ZoneSettings(BaseSettings):
    default_timezone: str = Field(
        DEFAULT_TIME_ZONE,
        description="IANA time zone of a new instance whose create gives no `time_zone`, e.g. "
        "Europe/Madrid or Atlantic/Canary.",
    )

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """Checked at start-up: an unknown zone would otherwise surface as a 422 on every create."""
        zone(value.strip())
        return value.strip()
