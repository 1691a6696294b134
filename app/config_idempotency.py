"""The idempotency settings (`PORTICO_IDEMPOTENCY_*`), a mixin of app.config.Settings: how long the
answer to a request sent with an `Idempotency-Key` is kept, and when a claim whose request never
finished (its process died) may be taken over (app/idempotency.py)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class IdempotencySettings(BaseSettings):
    idempotency_key_hours: float = Field(
        24,
        gt=0,
        le=24 * 30,
        description="How long the answer to a request with an `Idempotency-Key` is replayed; the key "
        "is pruned after that and may then be used again.",
    )
    idempotency_claim_seconds: float = Field(
        120,
        gt=0,
        description="A key whose first request is still running after this long is deemed abandoned "
        "(its process died): the next request with it runs. Keep it above the longest request.",
    )
