"""The logging settings (`PORTICO_LOG_LEVEL`, `PORTICO_LOG_FORMAT`), a part of `Settings` kept in a
module of their own (app/config.py is at its size limit); app/logs.py applies them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
LogFormat = Literal["auto", "json", "console"]


class LogSettings(BaseSettings):
    log_level: str = Field(
        "info", description="Least severe level logged: critical, error, warning, info, debug or trace."
    )
    log_format: LogFormat = Field(
        "auto",
        description="`json`: one JSON object a line; `console`: lines for people; `auto`: console when "
        "stderr is a terminal, JSON otherwise.",
    )

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.lower() not in LOG_LEVELS:  # uvicorn would fail on it with a KeyError
            raise ValueError(f"PORTICO_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        return value.lower()

    @field_validator("log_format", mode="before")
    @classmethod
    def _known_log_format(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().lower()
        if value not in ("auto", "json", "console"):
            raise ValueError("PORTICO_LOG_FORMAT must be one of auto, json, console")
        return value
