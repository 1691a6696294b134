"""What the application holds for every request (set up by the lifespan in app/main.py), as
dependencies, so that routers never reach into `request.app.state` themselves."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.crypto import SecretBox
from app.cursors import Cursors
from app.metrics import Metrics
from app.pages.csrf import CsrfTokens
from app.search_cache import SearchCache

T = TypeVar("T")


def _held(request: Request, name: str, kind: type[T]) -> T:
    """What the lifespan put in `app.state` under `name`, checked: `app.state` holds anything."""
    value = getattr(request.app.state, name)
    if not isinstance(value, kind):
        raise TypeError(f"app.state.{name} is a {type(value).__name__}, not a {kind.__name__}")
    return value


async def settings(request: Request) -> Settings:
    return _held(request, "settings", Settings)


async def secret_box(request: Request) -> SecretBox:
    return _held(request, "secret_box", SecretBox)


async def csrf_tokens(request: Request) -> CsrfTokens:
    return _held(request, "csrf", CsrfTokens)


async def cursors(request: Request) -> Cursors:
    return _held(request, "cursors", Cursors)


async def engine(request: Request) -> AsyncEngine:
    return _held(request, "engine", AsyncEngine)


async def metrics(request: Request) -> Metrics:
    return _held(request, "metrics", Metrics)


async def search_cache(request: Request) -> SearchCache:
    return _held(request, "search_cache", SearchCache)


async def sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    return _held(request, "sessionmaker", async_sessionmaker)


SettingsDep = Annotated[Settings, Depends(settings)]
SecretBoxDep = Annotated[SecretBox, Depends(secret_box)]
CsrfDep = Annotated[CsrfTokens, Depends(csrf_tokens)]
CursorsDep = Annotated[Cursors, Depends(cursors)]
EngineDep = Annotated[AsyncEngine, Depends(engine)]
MetricsDep = Annotated[Metrics, Depends(metrics)]
SearchCacheDep = Annotated[SearchCache, Depends(search_cache)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(sessionmaker)]
