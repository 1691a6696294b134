"""The outbound events settings (`PORTICO_WEBHOOK_*`, `PORTICO_EVENT_RETENTION_DAYS`), a part of
`Settings` kept in a module of its own (app/config.py is at its size limit); app/events applies them.
Webhook URLs obey PORTICO_GESDENT_ALLOW_PRIVATE_NETWORKS, the one switch for private addresses."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from app.domain.events import RETRY_SCHEDULE


class EventSettings(BaseSettings):
    webhook_timeout_seconds: float = Field(
        10, gt=0, le=60, description="How long a receiver has to answer one delivery."
    )
    webhook_lease_seconds: float = Field(
        60,
        gt=0,
        description="How long a worker holds a delivery it is sending; a delivery whose worker died is "
        "sent again once this has passed. Keep it above the timeout.",
    )
    webhook_retry_schedule: str = Field(
        ",".join(f"{s:g}" for s in RETRY_SCHEDULE),
        description="Seconds before each attempt of a delivery, comma-separated; after the last one "
        "fails, the delivery is given up.",
    )
    event_retention_days: int = Field(
        30, ge=1, description="Events older than this many days are pruned with their deliveries."
    )

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        try:
            delays = [float(part) for part in value.split(",")]
        except ValueError:
            raise ValueError("must be seconds separated by commas, e.g. 0,5,300") from None
        if not delays or any(d < 0 for d in delays):
            raise ValueError("must list at least one attempt, each after 0 or more seconds")
        return value

    @property
    def webhook_retry_delays(self) -> tuple[float, ...]:
        return tuple(float(part) for part in self.webhook_retry_schedule.split(","))
