"""The rate limit settings (`PORTICO_RATE_LIMIT`, `PORTICO_AUTH_FAILURE_LIMIT`, `PORTICO_REDIS_URL`,
`PORTICO_RATE_LIMIT_PREFIX`), a part of `Settings` in a module of their own; app/rate_limits.py
applies them (docs/rate-limits.md)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from app.domain.rate_limits import parse_rate

DEFAULT_RATE_LIMIT = "100/second"
DEFAULT_AUTH_FAILURE_LIMIT = "20/minute"
REDIS_SCHEMES = ("redis", "rediss", "unix")


class RateLimitSettings(BaseSettings):
    rate_limit: str = Field(
        DEFAULT_RATE_LIMIT,
        description="Requests each API key may make per window, e.g. 100/second or 6000/minute; a "
        "partner's `rate_limit` overrides it for its keys. The master key is not limited.",
    )
    auth_failure_limit: str = Field(
        DEFAULT_AUTH_FAILURE_LIMIT,
        description="Failed authentications (unknown or revoked key, malformed HTTP Basic) one client "
        "address may make per window; past it, its failures are 429s.",
    )
    redis_url: str | None = Field(
        None,
        description="redis://host:port/db where replicas keep their rate limit counts together; each "
        "process counts alone when unset.",
    )
    rate_limit_prefix: str = Field(
        "portico",
        min_length=1,
        max_length=60,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Prefix of the rate limit keys in Redis (deployments sharing one Redis use their own).",
    )

    @field_validator("rate_limit", "auth_failure_limit")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        return str(parse_rate(value))  # its ValueError names the forms accepted

    @field_validator("redis_url")
    @classmethod
    def _a_redis_url(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:  # an empty variable is no address
            return None
        if urlsplit(value).scheme not in REDIS_SCHEMES:
            raise ValueError("PORTICO_REDIS_URL must be redis://host:port/db, rediss://… or unix://…")
        return value
