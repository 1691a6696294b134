"""The bounds of the portal search's answer cache (app/search_cache.py), a mixin of
app.config.Settings: how many answers one process keeps, and how many bytes of them."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class SearchCacheSettings(BaseSettings):
    search_cache_entries: int = Field(
        1000,
        ge=0,
        description="Most answers of the portal availability search and summary one process keeps "
        "(the least recently used go first); 0 keeps none.",
    )
    search_cache_bytes: int = Field(
        64 * 2**20,
        ge=0,
        description="Most bytes of those answers one process keeps.",
    )
