"""What the application holds for every request (set up by the lifespan in app/main.py), as
dependencies, so that routers never reach into `request.app.state` themselves."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.crypto import SecretBox
from app.cursors import Cursors
from app.pages.csrf import CsrfTokens


def settings(request: Request) -> Settings:
    return request.app.state.settings


def secret_box(request: Request) -> SecretBox:
    return request.app.state.secret_box


def csrf_tokens(request: Request) -> CsrfTokens:
    return request.app.state.csrf


def cursors(request: Request) -> Cursors:
    return request.app.state.cursors


def engine(request: Request) -> AsyncEngine:
    return request.app.state.engine


SettingsDep = Annotated[Settings, Depends(settings)]
SecretBoxDep = Annotated[SecretBox, Depends(secret_box)]
CsrfDep = Annotated[CsrfTokens, Depends(csrf_tokens)]
CursorsDep = Annotated[Cursors, Depends(cursors)]
EngineDep = Annotated[AsyncEngine, Depends(engine)]
