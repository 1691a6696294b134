"""Liveness and readiness probes (no key needed)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.db.engine import ping
from app.state import EngineDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """What a probe found."""

    status: Literal["ok", "unavailable"] = Field(examples=["ok"])


@router.get("/healthz", operation_id="health_live", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="health_ready",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database does not answer"}},
)
async def readyz(engine: EngineDep) -> JSONResponse:
    """The database answers."""
    try:
        await ping(engine)
    except Exception:  # any failure to reach the database means not ready
        return JSONResponse(Health(status="unavailable").model_dump(), status_code=503)
    return JSONResponse(Health(status="ok").model_dump())
