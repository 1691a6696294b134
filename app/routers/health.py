"""Liveness and readiness probes (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.db.engine import ping
from app.state import EngineDep

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="health_live", include_in_schema=True)
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", operation_id="health_ready", responses={503: {"description": "Database unreachable"}})
async def readyz(engine: EngineDep) -> JSONResponse:
    """The database answers."""
    try:
        await ping(engine)
    except Exception:  # any failure to reach the database means not ready
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
