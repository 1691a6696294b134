"""`GET /metrics`: the process's metrics in the Prometheus text format (app/metrics.py).

Not in the OpenAPI spec: it is for Prometheus, not for API clients, its answer is not JSON, and its
guard is its own token (`PORTICO_METRICS_TOKEN`), not an API key."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.auth import BEARER_CHALLENGE
from app.domain.errors import Unauthorized
from app.metrics import CONTENT_TYPE
from app.state import EngineDep, MetricsDep, SessionmakerDep, SettingsDep

router = APIRouter()


def metrics_token(request: Request, settings: SettingsDep) -> None:
    """Dependency: when PORTICO_METRICS_TOKEN is set, the request must carry it as a Bearer token."""
    if settings.metrics_token is None:
        return
    expected = settings.metrics_token.get_secret_value().encode()
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected):
        error = Unauthorized("GET /metrics needs `Authorization: Bearer <PORTICO_METRICS_TOKEN>`.")
        error.headers = [("WWW-Authenticate", BEARER_CHALLENGE)]
        raise error


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(metrics_token)])
async def metrics(metrics: MetricsDep, engine: EngineDep, sessionmaker: SessionmakerDep) -> Response:
    """The metrics, text format 0.0.4."""
    return Response(await metrics.scrape(engine, sessionmaker), media_type=CONTENT_TYPE)
