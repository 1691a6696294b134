"""The metrics setting (`PORTICO_METRICS_TOKEN`), a part of `Settings` kept in a module of its own
(app/config.py is at its size limit); app/routers/metrics.py applies it."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings


class MetricsSettings(BaseSettings):
    metrics_token: SecretStr | None = Field(
        None,
        description="When set, `GET /metrics` answers only `Authorization: Bearer <this token>`; "
        "unset, it is open (keep it on a private network then).",
    )
